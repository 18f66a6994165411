"""Superfluid stiffness against temperature, like paper Fig. 1g (Neverov et al. 2025).

Three systems on an L x L lattice (paper parameters, band 2 clean):

* ``coupled``: random impurities V = 4, N_d = 0.5 in band 1, g12 = 0.25;
* ``uncoupled``: the same disorder with g12 = 0 (the strong band on its own);
* ``clean``: no disorder, g12 = 0.25 (T_c^(0) = 0.109).

Every T is solved with the dense engine, warm-started from the previous
(lower) temperature, saved to ``OUT/CASE_T0.1234.h5`` and given the exact
stiffness of both bands (``largebdg.workflows.stiffness.attach_stiffness``).
Existing files are reused, so an interrupted run resumes where it stopped.
Writes ``OUT/stiffness_vs_T.png`` and ``OUT/stiffness_vs_T.txt``.

Usage::

    python examples/stiffness_vs_T.py --out runs/stiffness --L 32
    python examples/stiffness_vs_T.py --out /tmp/s --L 8 --T 0.05 0.1 0.2   # quick look
    python examples/stiffness_vs_T.py --out runs/stiffness --L 32 --plot-only  # what exists

Keep in mind that on a finite lattice the normal state has a nonzero
"stiffness", a finite-size Drude remainder (docs/model.md: 0.020 at L = 32,
T = 0.1 for a clean band), so at L = 32 a value of a few 1e-2 is not evidence
of superconductivity.
"""

import argparse
import time
from pathlib import Path

import numpy as np

from largebdg.config import RunConfig
from largebdg.io import load_result, save_result
from largebdg.model.clean import mu_for_filling, uniform_band_stiffness
from largebdg.workflows.run import run
from largebdg.workflows.stiffness import attach_stiffness

CASES = {
    "coupled": dict(g12=0.25, disorder=True),
    "uncoupled": dict(g12=0.0, disorder=True),
    "clean": dict(g12=0.25, disorder=False),
}
DEFAULT_T = (0.02, 0.06, 0.10, 0.14, 0.18, 0.22)


def config(L, T, g12, disorder, seed, tol, max_iter):
    band1 = {"kind": "random", "strength": 4.0, "density": 0.5, "seed": seed} if disorder else {}
    return RunConfig.from_dict({
        "lattice": {"L": L},
        "model": {"t": [1.0, 1.0], "g": [2.0, 1.0], "g12": g12, "filling": [0.5, 0.8]},
        "disorder": {"band1": band1},
        "solver": {"method": "dense", "T": T, "tol": tol, "max_iter": max_iter},
    })


def sweep(case, args):
    """Solve (or reuse) every T of one case; return rows (T, mean|D1|, mean|D2|, Ds1, Ds2)."""
    rows = []
    previous = None
    for T in sorted(args.T):
        path = args.out / f"{case}_L{args.L}_T{T:.4f}.h5"
        if path.exists():
            result = load_result(path)
        elif args.plot_only:
            continue
        else:
            t0 = time.perf_counter()
            result = run(config(args.L, T, seed=args.seed, tol=args.tol, max_iter=args.max_iter,
                                **CASES[case]),
                         initial=previous)
            save_result(result, path)
            print(f"{case:9s} T = {T:.4f}: {result.iterations:3d} iterations, "
                  f"converged = {result.converged}, {time.perf_counter() - t0:6.1f} s", flush=True)
        if result.stiffness is None:
            ds, _, _ = attach_stiffness(path, "exact")
        else:
            ds = result.stiffness
        gap = result.mean_abs_gap
        rows.append((T, gap[0], gap[1], ds[0], ds[1]))
        print(f"{case:9s} T = {T:.4f}: mean|Delta| = {gap[0]:.4f} {gap[1]:.4f}, "
              f"D_s = {ds[0]:+.4f} {ds[1]:+.4f}", flush=True)
        previous = result
    return np.array(rows).reshape(-1, 5)


def plot(tables, args):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(13, 4.0))
    style = {"coupled": ("o", "-", "disordered, $g_{12}=0.25$"),
             "uncoupled": ("s", "--", "disordered, $g_{12}=0$"),
             "clean": ("^", ":", "clean, $g_{12}=0.25$")}
    hot = 0.1  # the zoom panel: T >= 0.1, around and above T_c^(0)
    for case, rows in tables.items():
        marker, line, label = style[case]
        T = rows[:, 0]
        ax0.plot(T, rows[:, 1], marker=marker, ls=line, color="tab:red", label=f"band 1, {label}")
        ax0.plot(T, rows[:, 2], marker=marker, ls=line, color="tab:blue", mfc="none",
                 label=f"band 2, {label}")
        for ax, keep in ((ax1, T > -1), (ax2, T >= hot)):
            ax.plot(T[keep], rows[keep, 4], marker=marker, ls=line, color="tab:blue",
                    label=f"$D_{{s,2}}$, {label}")
            ax.plot(T[keep], rows[keep, 3], marker=marker, ls=line, color="tab:red", mfc="none",
                    label=f"$D_{{s,1}}$, {label}")
    for ax, lo in ((ax1, min(args.T)), (ax2, hot)):
        Tg = np.linspace(lo, max(args.T), 60)
        # clean band 2 in its normal state (filling 0.8): the finite-size remainder of this lattice
        normal = [uniform_band_stiffness(T, mu_for_filling(T, 0.8), 0.0, L=args.L) for T in Tg]
        ax.plot(Tg, normal, color="grey",
                lw=0.8, label=f"normal clean band 2 (finite-size remainder), L = {args.L}")
        if "coupled" in tables and len(tables["coupled"]):
            rows = tables["coupled"][tables["coupled"][:, 0] >= lo]
            # reference, not data: a clean band 2 with the sample-mean gap, this L and L -> inf
            for size, ls in ((args.L, "-"), (512, "--")):
                ref = [uniform_band_stiffness(T, mu_for_filling(T, 0.8), g, L=size)
                       for T, g in rows[:, [0, 2]]]
                ax.plot(rows[:, 0], ref, color="tab:green", lw=0.8, ls=ls,
                        label=f"clean BCS band 2 at mean $|\\Delta_2|$, L = {size}")
        ax.axhline(0, color="k", lw=0.5)
        ax.set_ylabel(r"$D_s$ (per site, exact)")
    ax2.set_title(f"zoom: T >= {hot}", fontsize=8)
    for ax in (ax0, ax1, ax2):
        ax.axvline(0.109, color="k", lw=0.6, ls="--")
        ax.set_xlabel("$T$")
    ax0.legend(fontsize=6)
    ax1.legend(fontsize=6, loc="upper right")
    ax0.set_ylabel(r"$\overline{|\Delta_\nu|}$")
    fig.suptitle(f"Random disorder V = 4, N_d = 0.5 in band 1, L = {args.L} "
                 "(dashed line: $T_c^{(0)} = 0.109$)", fontsize=9)
    fig.tight_layout()
    return fig


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="output directory (created)")
    p.add_argument("--L", type=int, default=32)
    p.add_argument("--T", type=float, nargs="+", default=DEFAULT_T)
    p.add_argument("--cases", nargs="+", choices=tuple(CASES), default=("coupled", "uncoupled"),
                   help="systems to sweep (default: coupled uncoupled; clean converges slowly "
                        "near its T_c)")
    p.add_argument("--seed", type=int, default=1, help="disorder seed")
    p.add_argument("--tol", type=float, default=1e-5, help="self-consistency tolerance")
    p.add_argument("--max-iter", type=int, default=200, help="self-consistency iterations")
    p.add_argument("--plot-only", action="store_true",
                   help="solve nothing: tabulate and plot the T points whose files exist")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    tables = {case: sweep(case, args) for case in args.cases}
    with open(args.out / "stiffness_vs_T.txt", "w") as fh:
        fh.write(f"# L = {args.L}, seed = {args.seed}; exact stiffness per site (SWZ)\n")
        fh.write("# case T mean|Delta_1| mean|Delta_2| D_s1 D_s2\n")
        for case, rows in tables.items():
            for r in rows:
                fh.write(f"{case} {r[0]:.4f} {r[1]:.6f} {r[2]:.6f} {r[3]:+.6f} {r[4]:+.6f}\n")
    fig = plot(tables, args)
    fig.savefig(args.out / "stiffness_vs_T.png", dpi=110)
    print(f"wrote {args.out / 'stiffness_vs_T.png'}")


if __name__ == "__main__":
    main()
