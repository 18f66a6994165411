"""Run one workload with a baseline version and with the working tree, alternating; print ratios.

The baseline (default: the tag ``v0.1.0``, or the commit :data:`BASELINE_COMMIT` it was made
on if the tag is gone) is checked out once as a detached git worktree in
``benchmarks/.worktrees/`` (a git-ignored cache, reused by later runs).  Every run is a fresh
``python -m largebdg solve CONFIG ... --out RUN.h5 --force -q`` subprocess in a temporary
directory, with the same interpreter (:data:`sys.executable`) for both versions; only
``PYTHONPATH`` differs: the worktree for the baseline ("old"), the repository root for the
working tree ("new").  ``PYTHONPATH`` precedes the editable install of the venv, and the
children run outside the repository (``python -m`` puts the current directory first on
``sys.path``); a probe child checks that ``largebdg.__file__`` lies in the expected tree, and
the ``git_revision`` attribute of every baseline result is checked against the baseline commit.

Usage::

    python benchmarks/compare_versions.py WORKLOAD [--baseline REF] [--repeat N] [--json OUT]
    python benchmarks/compare_versions.py smoke --repeat 1          # test of this script
    python benchmarks/compare_versions.py iter128 --json iter128.json
    python benchmarks/compare_versions.py --args "examples/demo.toml --L 24"   # ad hoc
    python benchmarks/compare_versions.py iter128 --args "--set chebyshev.block_size=16"
    python benchmarks/compare_versions.py --list                   # the named workloads

Runs alternate old, new, old, new, ... (``--repeat`` pairs, default 3), after one small
untimed warm-up run per version (Numba's on-disk cache, file cache; ``--no-warmup`` skips it).
Exit status 0 and 3 (not converged, e.g. with a capped ``solver.max_iter``) of a run count as
success; any other status stops the comparison and prints the child's stderr.

From each result file: the solve's ``wall_time`` attribute, ``iterations``, the median of
``history/seconds``, the last iteration's time (the last iterations run at full accuracy), the
median over the iterations at the last iteration's accuracy (``history/accuracy``), the final
``mean_abs_gap`` per band and the Chebyshev moments and probing distances from
``solver_settings``.  Around each child: its wall time, CPU time and peak RSS (``os.wait4``).
Printed: one row per run, then the medians and the ratio old/new (> 1: the working tree is
faster or smaller), the iterations of each run and max |mean_abs_gap_old - mean_abs_gap_new|.
``--json OUT`` writes all of it with the machine (platform, CPU model, cores, load, date) and
both git revisions.

Notes
-----
**One iteration at the final accuracy** (``iter*`` workloads).  The Chebyshev engine runs an
accuracy schedule (``ChebyshevEngine.accuracy_schedule``, used by ``largebdg.scf.solve``): the
first iteration always runs at accuracy max(``chebyshev.tolerance``, 1e-1), and the accuracy
only tightens (by decades, following max|dDelta|) to ``chebyshev.tolerance`` late in the
solve.  With ``solver.max_iter=1`` alone, L = 128 and T = 0.098 would run M = 76/50 moments
and probing distance 9/9 (bands 1/2) instead of 182/118 and 26/33 at 1e-3: about 3 % of the
work of a final-accuracy iteration.  ``chebyshev.tolerance`` cannot help (it only sets the end
of the schedule; the start stays at 1e-1).  Fixed ``chebyshev.num_moments`` and
``chebyshev.probing_distance`` are used whatever the scheduled accuracy, so the ``iter*``
workloads fix them at the values the engine chooses for ``chebyshev.tolerance = 1e-3`` on the
initial mean field of the solve (the "representative" field of ``bench_engines.py``), computed
with v0.1.0's ``ChebyshevEngine.plan``:

=====  =====  ================  =========  ==========================
L      T      M (band 1, 2)     d (1, 2)   fixed here (both bands)
=====  =====  ================  =========  ==========================
128    0.098  182, 118          26, 33     M = 182, d = 33
128    0.025  710, 458          33, 43     M = 710, d = 43
64     0.098  182, 118          22, 33     M = 182; d = 22 or exact
=====  =====  ================  =========  ==========================

The config has one value for both bands, so the larger of the two bands' values is used: both
bands are at least as accurate as with the automatic final plan, and the iteration does 1.66x
(T = 0.098) and 1.82x (T = 0.025) the work (moments x colours) of the automatic plan.  Both
versions run exactly the same work, so these workloads compare the code's speed at fixed
settings; a change in how M and d are chosen shows only in the ``full*`` workloads.  The
result's ``history/accuracy`` still says 1e-1, the scheduled level that fixed M and d
override; the M and d actually used are printed from ``solver_settings``.  At L = 64, band 2's
automatic distance 33 >= L/2 already means exact columns, so ``iter64`` uses band 1's d = 22
as the probing counterpart of ``iter64_exact``.  The one iteration includes the SLEPc spectral
bounds and the first call of the Numba kernels (about 0.1 s after the warm-up).  The CLI is
used as it is; the alternative, patching the schedule inside the child, would depend on
internal module paths.

**"tol 1e-4"** (``full*`` workloads) is ``solver.tol = 1e-4``: the stopping threshold on
max|dDelta| between iterations.  ``chebyshev.tolerance`` is a different quantity, the target
error of the engine's local averages (default 1e-3, the end of the accuracy schedule); it
stays at 1e-3.  The other thresholds are those of the full solves in ``docs/performance.md``
(``bench_engines.py``): ``solver.tol_density = 1e-3``, ``solver.tol_filling = 1e-4``.  All of
them are given explicitly, so that a change of the defaults does not change the workload.

Both versions read the same config file, from the working tree.  Numba's cache goes to
``benchmarks/.worktrees/numba_cache`` (``NUMBA_CACHE_DIR``, unless already set), not into the
package trees.  The ``.worktrees`` folder holds a ``.gitignore`` of its own; the repository's
``.gitignore`` should also list ``benchmarks/.worktrees/``.
"""

import argparse
import datetime
import json
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".worktrees"
DEFAULT_BASELINE = "v0.1.0"
BASELINE_COMMIT = "8677c8ca2556d20d938bf6099bdf4373d9dd0a7a"
"""The commit tagged v0.1.0, the baseline if the tag does not exist."""
OK_STATUS = (0, 3)  # converged, not converged (the result is saved all the same)

_ITER = "--set solver.max_iter=1 --set chebyshev.tolerance=1e-3"
_FULL = ("--set solver.tol=1e-4 --set solver.tol_density=1e-3 --set solver.tol_filling=1e-4 "
         "--set solver.max_iter=200 --set chebyshev.tolerance=1e-3")

WORKLOADS = {
    # name: config (relative to the repository root), solve arguments, description
    "iter128": {
        "config": "examples/paper_random_128.toml",
        "args": f"--L 128 --method chebyshev --T 0.098 {_ITER} "
                "--set chebyshev.num_moments=182 --set chebyshev.probing_distance=33",
        "about": "one iteration at the final accuracy (M, d fixed), L = 128, T = 0.098",
    },
    "iter128_lowT": {
        "config": "examples/paper_random_128.toml",
        "args": f"--L 128 --method chebyshev --T 0.025 {_ITER} "
                "--set chebyshev.num_moments=710 --set chebyshev.probing_distance=43",
        "about": "one iteration at the final accuracy (M, d fixed), L = 128, T = 0.025",
    },
    "full128": {
        "config": "examples/paper_random_128.toml",
        "args": f"--L 128 --method chebyshev --T 0.098 {_FULL}",
        "about": "full solve to max|dDelta| <= 1e-4, L = 128, T = 0.098",
    },
    "full128_lowT": {
        "config": "examples/paper_random_128.toml",
        "args": f"--L 128 --method chebyshev --T 0.025 {_FULL}",
        "about": "full solve to max|dDelta| <= 1e-4, L = 128, T = 0.025",
    },
    "iter64_exact": {
        "config": "examples/paper_random.toml",
        "args": f"--L 64 --method chebyshev --T 0.098 {_ITER} "
                "--set chebyshev.strategy=exact --set chebyshev.num_moments=182",
        "about": "one iteration with exact columns (one start vector per site), L = 64",
    },
    "iter64": {
        "config": "examples/paper_random.toml",
        "args": f"--L 64 --method chebyshev --T 0.098 {_ITER} "
                "--set chebyshev.num_moments=182 --set chebyshev.probing_distance=22",
        "about": "the same iteration with probing (d = 22), the counterpart of iter64_exact",
    },
    "smoke": {
        "config": "examples/paper_random.toml",
        "args": "--L 16 --method chebyshev --T 0.098 --set solver.max_iter=8",
        "about": "a few seconds: 8 iterations at L = 16 (a test of this script)",
    },
}

_PROBE = """\
import json, sys
import largebdg
info = {"file": largebdg.__file__, "version": getattr(largebdg, "__version__", None)}
for name in ("numpy", "scipy", "numba", "petsc4py", "slepc4py", "h5py"):
    try:
        info[name] = __import__(name).__version__
    except Exception:
        info[name] = None
print(json.dumps(info))
"""


def git(*args, cwd=ROOT, check=True):
    """Output of ``git args`` in ``cwd`` (stripped); ``None`` on failure unless ``check``."""
    proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        if check:
            raise SystemExit(f"git {' '.join(args)} failed in {cwd}:\n{proc.stderr.strip()}")
        return None
    return proc.stdout.strip()


def resolve_baseline(ref):
    """(label, commit) of ``ref``; the default tag falls back to :data:`BASELINE_COMMIT`."""
    commit = git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    if commit:
        return ref, commit
    if ref == DEFAULT_BASELINE:
        commit = git("rev-parse", "--verify", "--quiet", f"{BASELINE_COMMIT}^{{commit}}",
                     check=False)
        if commit:
            print(f"# tag {ref} not found; using the commit it was made on, "
                  f"{BASELINE_COMMIT[:10]}", file=sys.stderr)
            return ref, commit  # the same worktree folder as with the tag
    raise SystemExit(f"baseline '{ref}' is not a commit of {ROOT}")


def ensure_worktree(label, commit):
    """Path of a detached worktree of ``commit`` in :data:`CACHE`, created if missing."""
    CACHE.mkdir(parents=True, exist_ok=True)
    ignore = CACHE / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# cache of benchmarks/compare_versions.py\n*\n")
    path = CACHE / f"{re.sub(r'[^A-Za-z0-9._-]', '_', label)}-{commit[:10]}"
    if path.exists():
        top = git("rev-parse", "--show-toplevel", cwd=path, check=False)
        if not (path / ".git").is_file() or top is None or Path(top) != path:
            raise SystemExit(f"{path} exists but is not a git worktree; remove it")
        head = git("rev-parse", "HEAD", cwd=path)
        if head != commit:
            raise SystemExit(f"worktree {path} is at {head[:10]}, not {commit[:10]}; remove it "
                             f"with: git worktree remove --force {path}")
        if git("status", "--porcelain", "--untracked-files=no", cwd=path):
            print(f"# warning: the baseline worktree {path} has local changes", file=sys.stderr)
        return path
    cmd = ("worktree", "add", "--detach", str(path), commit)
    if git(*cmd, check=False) is None:  # e.g. a stale registration of a deleted folder
        git("worktree", "prune")
        git(*cmd)
    print(f"# created the worktree {path.relative_to(ROOT)} of {label} ({commit[:10]})",
          file=sys.stderr)
    return path


def child_env(tree, extra):
    """Environment of a child running the package from ``tree``."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree)] + ([env["PYTHONPATH"]]
                                                       if env.get("PYTHONPATH") else []))
    env.setdefault("NUMBA_CACHE_DIR", str(CACHE / "numba_cache"))
    env.update(extra)
    return env


def probe(side, tree, env, cwd):
    """Import ``largebdg`` as a child would and check that it comes from ``tree``."""
    proc = subprocess.run([sys.executable, "-c", _PROBE], cwd=cwd, env=env, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{side}: 'import largebdg' failed with PYTHONPATH={tree}:\n"
                         f"{proc.stderr[-3000:]}")
    info = json.loads(proc.stdout.strip().splitlines()[-1])
    if not Path(info["file"]).resolve().is_relative_to(tree / "largebdg"):
        raise SystemExit(f"{side}: the child imported {info['file']}, not the package in {tree}")
    return info


def run_once(side, env, solve_args, tmp, tag):
    """One ``largebdg solve`` child; its measurements (a dict)."""
    out = Path(tmp) / f"{tag}.h5"
    cmd = [sys.executable, "-m", "largebdg", "solve", *solve_args, "--out", str(out),
           "--force", "-q"]
    load = os.getloadavg()[0]
    with open(Path(tmp) / f"{tag}.stdout", "w+") as fo, open(Path(tmp) / f"{tag}.stderr",
                                                                "w+") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=tmp, env=env, stdout=fo, stderr=fe)
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        fe.seek(0)
        stderr = fe.read()
    if proc.returncode not in OK_STATUS or not out.is_file():
        raise SystemExit(f"{side} run {tag} failed with exit status {proc.returncode}:\n"
                         f"  {shlex.join(cmd)}\n  (cwd {tmp}, PYTHONPATH={env['PYTHONPATH']})\n"
                         f"--- stderr ---\n{stderr[-5000:]}")
    rec = read_result(out)
    rec.update(side=side, tag=tag, exit_status=proc.returncode, process_seconds=seconds,
               cpu_seconds=usage.ru_utime + usage.ru_stime, peak_rss_MB=usage.ru_maxrss / 1024,
               load_before=load)
    return rec


def _text(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def read_result(path):
    """Timings, iterations, accuracy and settings stored in a result file."""
    with h5py.File(path, "r") as fh:
        a = fh.attrs
        sec = np.asarray(fh["history/seconds"][()], dtype=float)
        acc = (np.asarray(fh["history/accuracy"][()], dtype=float)
               if "history/accuracy" in fh else np.full(sec.shape, np.nan))
        settings = json.loads(_text(a["solver_settings"]))
        rec = {"wall_time": float(a["wall_time"]), "iterations": int(a["iterations"]),
               "converged": bool(a["converged"]),
               "mean_abs_gap": np.asarray(a["mean_abs_gap"], dtype=float).tolist(),
               "git_revision": _text(a.get("git_revision", "unknown")),
               "solver_settings": settings, "history_seconds": sec.tolist(),
               "history_accuracy": [None if np.isnan(x) else float(x) for x in acc]}
    final = acc == acc[-1] if np.isfinite(acc[-1]) else np.ones(sec.shape, dtype=bool)
    rec.update(sec_per_iter_median=float(np.median(sec)), sec_last_iter=float(sec[-1]),
               sec_per_iter_final=float(np.median(sec[final])), final_iterations=int(final.sum()),
               final_accuracy=None if np.isnan(acc[-1]) else float(acc[-1]))
    return rec


def check_revision(rec, expected, side):
    """Stop if a baseline result was not computed by the baseline commit."""
    got = rec["git_revision"]
    if expected is not None and got != expected:
        if side == "old" or got != "unknown":
            raise SystemExit(f"{side} run {rec['tag']} reports git revision {got}, expected "
                             f"{expected}: the child did not run the intended tree")


def resolve_config(text):
    path = Path(text).expanduser()
    for candidate in ([path] if path.is_absolute() else [Path.cwd() / path, ROOT / path]):
        if candidate.is_file():
            return str(candidate.resolve())
    raise SystemExit(f"config file '{text}' not found (relative paths: from the current "
                     f"directory or {ROOT})")


def workload_arguments(args):
    """(name, solve arguments with an absolute config path) from WORKLOAD and --args."""
    extra = shlex.split(args.args or "")
    if any(a in ("--out", "-o") or a.startswith("--out=") for a in extra):
        raise SystemExit("--args must not contain --out (each run writes its own file)")
    if args.workload is None:
        if not extra or extra[0].startswith("-"):
            raise SystemExit("give a WORKLOAD, or --args 'CONFIG.toml [solve options]'")
        return "adhoc", [resolve_config(extra[0]), *extra[1:]]
    if args.workload not in WORKLOADS:
        raise SystemExit(f"unknown workload '{args.workload}'; known: {', '.join(WORKLOADS)}")
    w = WORKLOADS[args.workload]
    return args.workload, [resolve_config(w["config"]), *shlex.split(w["args"]), *extra]


def machine_info():
    cpu = None
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((ln.split(":", 1)[1].strip() for ln in fh
                        if ln.startswith("model name")), None)
    except OSError:
        pass
    return {"hostname": platform.node(), "platform": platform.platform(),
            "cpu": cpu or platform.processor() or platform.machine(), "nproc": os.cpu_count(),
            "affinity": len(os.sched_getaffinity(0)), "python": platform.python_version(),
            "executable": sys.executable,
            "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "load_average": list(os.getloadavg()),
            "threads_env": {k: os.environ.get(k) for k in (
                "NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS")}}


METRICS = (  # key, label, format
    ("wall_time", "solve wall_time (s)", "{:.2f}"),
    ("sec_per_iter_median", "s/iteration, median", "{:.3f}"),
    ("sec_per_iter_final", "s/iteration, final accuracy", "{:.3f}"),
    ("sec_last_iter", "s, last iteration", "{:.3f}"),
    ("process_seconds", "process wall (s)", "{:.2f}"),
    ("cpu_seconds", "process CPU (s)", "{:.2f}"),
    ("peak_rss_MB", "peak RSS (MB)", "{:.0f}"),
)


def summarise(runs):
    """Medians per side, ratios old/new and the accuracy difference."""
    side = {s: [r for r in runs if r["side"] == s] for s in ("old", "new")}
    out = {"medians": {}, "ratio_old_new": {}}
    for key, _, _ in METRICS:
        med = {s: statistics.median(r[key] for r in side[s]) for s in side}
        out["medians"][key] = med
        out["ratio_old_new"][key] = med["old"] / med["new"] if med["new"] > 0 else None
    out["iterations"] = {s: [r["iterations"] for r in side[s]] for s in side}
    gaps = {s: np.array([r["mean_abs_gap"] for r in side[s]]) for s in side}
    diff = np.abs(gaps["old"][:, None, :] - gaps["new"][None, :, :])  # every old/new pair
    out["mean_abs_gap"] = {s: gaps[s][0].tolist() for s in side}
    out["max_abs_diff_mean_abs_gap"] = float(diff.max())
    out["max_abs_diff_mean_abs_gap_per_band"] = diff.max(axis=(0, 1)).tolist()
    out["spread_mean_abs_gap"] = {s: float(np.ptp(gaps[s], axis=0).max()) for s in side}
    out["settings"] = {s: {k: side[s][-1]["solver_settings"].get(k) for k in (
        "method", "strategy", "tolerance", "num_moments", "probing_distance")} for s in side}
    for s in side:
        out["settings"][s].update(final_accuracy=side[s][-1]["final_accuracy"],
                                  final_iterations=side[s][-1]["final_iterations"])
    return out


def print_report(runs, summary):
    print(f"\n{'run':>4} {'side':>4} {'wall_time':>9} {'iter':>4} {'s/it med':>8} "
          f"{'s/it fin':>8} {'last it':>8} {'process':>8} {'CPU':>8} {'peak MB':>7} "
          f"{'load':>5} {'exit':>4}")
    for r in runs:
        print(f"{r['tag'].split('_')[-1]:>4} {r['side']:>4} {r['wall_time']:9.2f} "
              f"{r['iterations']:4d} {r['sec_per_iter_median']:8.3f} "
              f"{r['sec_per_iter_final']:8.3f} {r['sec_last_iter']:8.3f} "
              f"{r['process_seconds']:8.2f} {r['cpu_seconds']:8.2f} {r['peak_rss_MB']:7.0f} "
              f"{r['load_before']:5.1f} {r['exit_status']:4d}")
    print(f"\n{'median':<30} {'old':>10} {'new':>10} {'old/new':>8}")
    for key, label, fmt in METRICS:
        med, ratio = summary["medians"][key], summary["ratio_old_new"][key]
        print(f"{label:<30} {fmt.format(med['old']):>10} {fmt.format(med['new']):>10} "
              f"{'-' if ratio is None else f'{ratio:.3f}':>8}")
    it = summary["iterations"]
    print(f"{'iterations (each run)':<30} {','.join(map(str, it['old'])):>10} "
          f"{','.join(map(str, it['new'])):>10}")
    for s in ("old", "new"):
        st = summary["settings"][s]
        print(f"{s} settings: {st['method']}, strategy {st['strategy']}, tolerance "
              f"{st['tolerance']}, M = {st['num_moments']}, d = {st['probing_distance']} "
              f"(bands 1, 2, last iteration; the last {st['final_iterations']} iteration(s) "
              f"at accuracy {st['final_accuracy']})")
    g = summary["mean_abs_gap"]
    print(f"mean|Delta| (band 1, 2): old {g['old'][0]:.8f} {g['old'][1]:.8f}, new "
          f"{g['new'][0]:.8f} {g['new'][1]:.8f}; max |old - new| = "
          f"{summary['max_abs_diff_mean_abs_gap']:.2e} (per band "
          + ", ".join(f"{x:.1e}" for x in summary["max_abs_diff_mean_abs_gap_per_band"])
          + f"); spread within old {summary['spread_mean_abs_gap']['old']:.1e}, "
          f"new {summary['spread_mean_abs_gap']['new']:.1e}")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workload", nargs="?", help=f"named workload: {', '.join(WORKLOADS)}")
    p.add_argument("--baseline", default=DEFAULT_BASELINE, metavar="REF",
                   help=f"git ref of the old version (default {DEFAULT_BASELINE}, else "
                        f"{BASELINE_COMMIT[:10]})")
    p.add_argument("--repeat", type=int, default=3, help="old/new pairs of runs (default 3)")
    p.add_argument("--json", metavar="OUT", help="write runs, summary and machine to OUT")
    p.add_argument("--args", metavar="'ARGS'",
                   help="solve arguments: 'CONFIG.toml [options]' without WORKLOAD (ad hoc), "
                        "or extra options appended to WORKLOAD's")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="environment of both children, e.g. NUMBA_NUM_THREADS=1 (repeatable)")
    p.add_argument("--no-warmup", action="store_true", help="skip the untimed warm-up runs")
    p.add_argument("--keep", action="store_true", help="keep the result files and logs")
    p.add_argument("--list", action="store_true", help="list the named workloads and exit")
    args = p.parse_args(argv)
    if args.list:
        for name, w in WORKLOADS.items():
            print(f"{name:14s} {w['about']}\n{'':14s} {w['config']} {w['args']}")
        return 0
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
    extra_env = dict(item.split("=", 1) for item in args.env)
    name, solve_args = workload_arguments(args)
    label, base_commit = resolve_baseline(args.baseline)
    trees = {"old": ensure_worktree(label, base_commit), "new": ROOT}
    new_commit = git("rev-parse", "HEAD", check=False)
    # read-only queries (no 'git status', which may rewrite the index of the working tree)
    dirty = bool(git("diff", "--name-only", "HEAD", "--", "largebdg", check=False)
                 or git("ls-files", "--others", "--exclude-standard", "--", "largebdg",
                        check=False))
    expected = {"old": base_commit, "new": new_commit}
    machine = machine_info()
    print(f"# compare_versions {name}: {machine['date']}, {machine['hostname']}, "
          f"{machine['cpu']}, {machine['nproc']} cores, python {machine['python']}, "
          f"load average {machine['load_average'][0]:.1f}")
    print(f"# old: {label} = {base_commit[:10]} ({trees['old'].relative_to(ROOT)}); new: "
          f"working tree at {(new_commit or 'unknown')[:10]}{' + changes' if dirty else ''}")
    print(f"# largebdg solve {shlex.join(solve_args)}")
    tmp_obj = tempfile.TemporaryDirectory(prefix="compare_versions_")
    tmp = tmp_obj.name
    try:
        envs = {s: child_env(trees[s], extra_env) for s in trees}
        versions = {s: probe(s, trees[s], envs[s], tmp) for s in trees}
        for s in trees:
            v = versions[s]
            print(f"# {s}: {v['file']} (largebdg {v['version']}, numpy {v['numpy']}, "
                  f"numba {v['numba']}, petsc4py {v['petsc4py']})")
        if not args.no_warmup:
            warm = [*solve_args, "--L", "16", "--set", "solver.max_iter=1"]
            for s in trees:
                try:
                    w = run_once(s, envs[s], warm, tmp, f"{s}_warmup")
                    print(f"# warm-up {s} (L = 16, one iteration): process "
                          f"{w['process_seconds']:.2f} s", flush=True)
                except SystemExit as e:  # the timed runs will show a real problem
                    print(f"# warning: warm-up of {s} failed: {str(e)[:500]}", file=sys.stderr)
        runs = []
        for k in range(1, args.repeat + 1):
            for s in ("old", "new"):
                rec = run_once(s, envs[s], solve_args, tmp, f"{s}_{k}")
                check_revision(rec, expected[s], s)
                runs.append(rec)
                print(f"# {s} run {k}: wall_time {rec['wall_time']:.2f} s, "
                      f"{rec['iterations']} iterations, process {rec['process_seconds']:.2f} s",
                      flush=True)
        summary = summarise(runs)
        print_report(runs, summary)
        if args.keep:
            print(f"# result files and logs kept in {tmp}")
    finally:
        if not args.keep:
            tmp_obj.cleanup()
    machine["date_end"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    machine["load_average_end"] = list(os.getloadavg())
    if args.json:
        report = {"workload": name, "about": WORKLOADS.get(name, {}).get("about", "ad hoc"),
                  "solve_args": solve_args, "repeat": args.repeat, "env": extra_env,
                  "machine": machine, "versions": versions,
                  "old": {"ref": label, "commit": base_commit, "tree": str(trees["old"])},
                  "new": {"commit": new_commit, "tree": str(ROOT), "modified": dirty},
                  "runs": runs, "summary": summary}
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
        print(f"# wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
