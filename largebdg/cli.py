"""Command-line interface: ``largebdg COMMAND ...`` (or ``python -m largebdg COMMAND ...``).

The CLI is a thin layer: it parses arguments into a
:class:`~largebdg.config.RunConfig`, calls :func:`largebdg.workflows.run.run` and
stores the :class:`~largebdg.io.Result` with :mod:`largebdg.io`.

Exit status: 0 on success, 2 on bad input (a one-line
``largebdg: error: ...`` message, never a traceback), 3 when a solve did not
converge (the result is saved all the same, marked ``converged = False``).

Adding a subcommand takes one function ``f(args) -> int`` and one entry in
:data:`COMMANDS`::

    def _sweep(args):
        ...
        return EXIT_OK

    COMMANDS["sweep"] = Command(
        help="solve a temperature sweep",
        run=_sweep,
        arguments=(CONFIG_ARGUMENT, arg("--T", metavar="GRID", help="...")),
    )

Under MPI (mpi4py available and more than one rank) only rank 0 prints and
writes files.
"""

import argparse
import contextlib
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from . import plotting
from ._optional import rank_size, world
from ._version import __version__
from .engines import ENGINES
from .errors import AccuracyWarning, ConvergenceWarning, ParameterError, RecoveryWarning
from .workflows.stiffness import EXACT_MAX_L
from .workflows.study import STIFFNESS_CHOICES

__all__ = [
    "main",
    "Command",
    "COMMANDS",
    "arg",
    "build_parser",
    "EXIT_OK",
    "EXIT_ERROR",
    "EXIT_NOT_CONVERGED",
    "EXIT_INTERRUPTED",
]

EXIT_OK = 0
"""Exit status of a successful command."""
EXIT_ERROR = 2
"""Exit status for bad input (as argparse uses for bad arguments)."""
EXIT_NOT_CONVERGED = 3
"""Exit status of a solve that stopped before meeting its tolerances."""
EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT, as shells report it)."""

PROG = "largebdg"


def arg(*flags, **kwargs):
    """Describe one argparse argument: ``arg("--out", help=...)`` as for ``add_argument``."""
    return flags, kwargs


@dataclass(frozen=True)
class Command:
    """A subcommand of the CLI.

    Attributes
    ----------
    help : str
        One-line summary shown by ``largebdg --help``.
    run : callable
        ``run(args) -> int``, the exit status; ``args`` is the parsed
        :class:`argparse.Namespace`.  It may raise ``ParameterError``,
        ``FileExistsError`` or ``OSError``, which :func:`main` reports as
        one-line errors with exit status 2.
    arguments : tuple
        Arguments made with :func:`arg`.
    description : str
        Longer text shown by ``largebdg COMMAND --help`` (default: ``help``).
    """

    help: str
    run: Callable
    arguments: tuple = ()
    description: str = ""


def _rank():
    """MPI rank in ``COMM_WORLD``; 0 without mpi4py."""
    return rank_size(world())[0]


def _say(args, text, *, file=None):
    """Print ``text`` on rank 0 unless ``--quiet``."""
    if not getattr(args, "quiet", False) and _rank() == 0:
        print(text, file=file or sys.stdout, flush=True)


def _error(text):
    """Print a one-line error on rank 0."""
    if _rank() == 0:
        print(f"{PROG}: error: {text}", file=sys.stderr, flush=True)


FORCE_ARGUMENT = arg("--force", action="store_true",
                     help="overwrite existing output files (otherwise they are never replaced)")
QUIET_ARGUMENT = arg("--quiet", "-q", action="store_true",
                     help="print nothing except errors and failures (such as a solve that "
                          "did not converge)")


# ---------------------------------------------------------------------------- solve

_SHORTHANDS = (("T", "solver.T"), ("L", "lattice.L"), ("method", "solver.method"))


def _overrides(args, options=("T", "L", "method")):
    """``--set`` items followed by those of the shorthand ``options`` (which take precedence;
    a command whose --T or --L is a grid passes the others only)."""
    items = list(args.set or [])
    for option, key in _SHORTHANDS:
        value = getattr(args, option) if option in options else None
        if value is not None:
            items.append(f"{key}={value!r}" if isinstance(value, float) else f"{key}={value}")
    return items


@contextlib.contextmanager
def _reported_warnings(args):
    """Collect the warnings of a run and report them once each.

    Accuracy warnings become one line on stderr at the end, recovery notes (resumed
    checkpoints, repaired files) one line each *when they happen* (a study resuming a point
    from its checkpoint says so in its log at once) and even with --quiet, convergence
    warnings are dropped (the command reports non-convergence from its results), any other
    warning is passed on.
    """
    caught = []

    def keep(message, category, filename, lineno, file=None, line=None):
        if issubclass(category, RecoveryWarning) and _rank() == 0:
            print(f"{PROG}: note: {message}", file=sys.stderr, flush=True)
        caught.append(warnings.WarningMessage(message, category, filename, lineno, file, line))

    with warnings.catch_warnings():
        warnings.showwarning = keep
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.simplefilter("always", AccuracyWarning)
        warnings.simplefilter("always", RecoveryWarning)
        yield
    for message in sorted({str(w.message) for w in caught
                           if issubclass(w.category, AccuracyWarning)}):
        _say(args, f"{PROG}: warning: {message}", file=sys.stderr)
    for w in caught:
        if not issubclass(w.category, (ConvergenceWarning, AccuracyWarning, RecoveryWarning)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


class _Progress:
    """``callback(iteration, record)`` of :func:`largebdg.workflows.run.run`, one line each."""

    HEADER = (f"{'iter':>5}  {'max|dDelta| 1, 2':>19}  {'filling err 1, 2':>19}  "
              f"{'mean|Delta| 1, 2':>19}  {'seconds':>8}")

    def __init__(self, args):
        self.args = args

    def __call__(self, iteration, record):
        if iteration == 1:
            _say(self.args, self.HEADER)
        d, f, m = record["max_ddelta"], record["filling_error"], record["mean_abs_delta"]
        _say(self.args, f"{iteration:5d}  {d[0]:9.2e} {d[1]:9.2e}  {f[0]:9.2e} {f[1]:9.2e}  "
                        f"{m[0]:9.5f} {m[1]:9.5f}  {record['seconds']:8.2f}")


def _solve(args):
    """``largebdg solve``: config -> overrides -> run -> save (and plot)."""
    from .config import apply_overrides, load_config
    from .io import check_output_path, remove_stale_temporaries, save_result
    from .io.checkpoint import checkpoint_path
    from .io.lock import output_lock
    from .workflows.run import on_root, run

    config = apply_overrides(load_config(args.config), _overrides(args))
    out = check_output_path(args.out, force=args.force, name="--out")
    png = fmt = None
    if args.plot:
        png, fmt = plotting.check_figure_path(args.plot, force=args.force, name="--plot")
        if png.resolve() == out.resolve():
            raise ParameterError(f"'--out' and '--plot' name the same file '{out}'; the figure "
                                 "would replace the result: give two different files")
    checkpoint = check_output_path(checkpoint_path(out), force=True, name="checkpoint")
    s = config.solver
    _say(args, f"{PROG} solve: L = {config.lattice.L}, T = {s.T:g}, method = {s.method}, "
               f"tol = {s.tol:g}, max_iter = {s.max_iter} -> {out}")
    with contextlib.ExitStack() as lock:
        world_comm = world()
        on_root(world_comm, lambda: lock.enter_context(output_lock(out, what="solve")))
        if _rank() == 0:  # temporaries of a killed run of this output
            remove_stale_temporaries(out.parent, names=(out.name, checkpoint.name))
        with _reported_warnings(args):
            result = run(config, callback=_Progress(args), checkpoint=checkpoint,
                         restart=args.force)
        if _rank() == 0:
            if args.stiffness:
                _attach_stiffness(args, result)
            save_result(result, out, force=args.force)
            checkpoint.unlink(missing_ok=True)
            if png is not None:
                _write_figure("summary", result, None, png, fmt)
    gaps = ", ".join(f"{g:.5g}" for g in result.mean_abs_gap)
    if result.converged:
        _say(args, f"{PROG}: converged in {result.iterations} iterations, wall time "
                   f"{result.wall_time:.2f} s, mean|Delta| = {gaps}; saved {out}")
        return EXIT_OK
    if _rank() == 0:
        reason = result.solver_settings.get("not_converged", "")
        print(f"{PROG}: not converged after {result.iterations} iterations ({reason}), wall time "
              f"{result.wall_time:.2f} s; result saved to {out} with converged = False",
              file=sys.stderr, flush=True)
    return EXIT_NOT_CONVERGED


def _attach_stiffness(args, result):
    """Compute D_s of both bands into ``result`` (``--stiffness`` of solve)."""
    from .workflows.stiffness import compute_stiffness, resolve_method

    method = resolve_method(args.stiffness, result.L)
    obs = compute_stiffness(result, method=method)
    result.observables["stiffness"] = obs
    pairs = zip(obs.value, obs.stderr, strict=True)
    _say(args, f"{PROG}: stiffness ({method}) D_s = "
               + ", ".join(f"{d:.5g} +- {e:.1g}" for d, e in pairs))


CONFIG_ARGUMENT = arg("config", metavar="CONFIG.toml",
                      help="run configuration (TOML; see largebdg.config for the layout)")

SOLVE = Command(
    help="solve the self-consistent BdG equations of one configuration",
    description=(
        "Solve the self-consistent BdG equations described by CONFIG.toml and save the result "
        "(HDF5, see docs/output_format.md). Prints one line per iteration: max|dDelta| and "
        "filling error per band, mean|Delta| per band, seconds. Exit status: 0 converged, "
        "2 bad input, 3 not converged (the result is saved, marked converged = False)."
    ),
    run=_solve,
    arguments=(
        CONFIG_ARGUMENT,
        arg("--out", "-o", required=True, metavar="RESULT.h5",
            help="output file (required; an existing file is refused unless --force). While "
                 "solving, the state is saved to RESULT.h5.checkpoint every "
                 "solver.checkpoint_seconds (default 60 s); rerunning the same command resumes "
                 "from it, and it is removed once the result is saved"),
        arg("--force", action="store_true",
            help="overwrite an existing output file, and start over from a checkpoint of "
                 "another configuration (a matching checkpoint is still resumed)"),
        arg("--set", action="append", metavar="SECTION.KEY=VALUE",
            help="override one config value, VALUE as a TOML literal, e.g. --set solver.T=0.08 "
                 "--set 'model.filling=[0.5, 0.7]' --set disorder.band1.kind=stripes "
                 "(repeatable)"),
        arg("--T", type=float, metavar="T", help="temperature, shorthand for --set solver.T=T"),
        arg("--L", type=int, metavar="L", help="lattice size, shorthand for --set lattice.L=L"),
        arg("--method", choices=tuple(ENGINES),
            help="solver engine, shorthand for --set solver.method=METHOD"),
        QUIET_ARGUMENT,
        arg("--plot", metavar="PNG",
            help="also write the summary figure to this file (any matplotlib format by its "
                 "suffix; checked before solving)"),
        arg("--stiffness", choices=STIFFNESS_CHOICES,
            help="also compute the superfluid stiffness of both bands at the end and store it "
                 f"(as 'largebdg stiffness' with default settings; auto = exact up to L = "
                 f"{EXACT_MAX_L}, "
                 "kpm above; kpm = colour-signed probing with an error bar of 1e-4)"),
    ),
)


# ---------------------------------------------------------------------------- plot

_PLOTS = {
    "summary": lambda result, row: plotting.plot_summary(result, row=row),
    "maps": lambda result, row: plotting.plot_gap_maps(result, row=row),
    "profiles": lambda result, row: plotting.plot_profiles(result, row=row),
    "histograms": lambda result, row: plotting.plot_histograms(result),
    "convergence": lambda result, row: plotting.plot_convergence(result),
}


def _write_figure(kind, result, row, path, fmt):
    """Draw figure ``kind`` of ``result`` into ``path`` (format ``fmt``) and release it."""
    plotting.save_figure(_PLOTS[kind](result, row), path, fmt)


def _plot(args):
    """``largebdg plot``: load a result and write one figure."""
    from .io import load_result

    result = load_result(args.result)
    source = Path(args.result)
    out = args.out or source.with_name(f"{source.stem}_{args.kind}.png")
    out, fmt = plotting.check_figure_path(out, force=args.force, name="--out")
    if out.resolve() == source.resolve():
        raise ParameterError(f"'--out' names the result file '{source}' itself")
    if _rank() == 0:
        _write_figure(args.kind, result, args.row, out, fmt)
    _say(args, f"{PROG}: wrote {out}")
    return EXIT_OK


PLOT = Command(
    help="draw figures of a saved result",
    description="Draw a figure of a result file written by 'largebdg solve' into a PNG file.",
    run=_plot,
    arguments=(
        arg("result", metavar="RESULT.h5", help="result file written by 'largebdg solve'"),
        arg("--out", "-o", metavar="PNG",
            help="output image, any matplotlib format by its suffix (.png, .pdf, .svg, ...; "
                 "no suffix: PNG under exactly that name); default: RESULT with the suffix "
                 "_KIND.png, e.g. run_summary.png"),
        arg("--kind", choices=tuple(_PLOTS), default="summary",
            help="figure: summary (maps, profiles and histograms), maps (|Delta| of both bands), "
                 "profiles (|Delta| along one row), histograms (P(|Delta|)) or convergence "
                 "(max|dDelta| per iteration); default: summary"),
        arg("--row", type=int, metavar="Y",
            help="row y of the gap profiles and of the dashed line in the maps "
                 "(default: the row of the largest |Delta_1|)"),
        FORCE_ARGUMENT,
        QUIET_ARGUMENT,
    ),
)


COMMANDS = {"solve": SOLVE, "plot": PLOT}
"""Registry of subcommands: name -> :class:`Command`."""


# ---------------------------------------------------------------------------- stiffness


def _stiffness(args):
    """``largebdg stiffness``: D_s per band of a result file, stored in that file."""
    from . import _validate as v
    from .io import load_result
    from .kpm.coefficients import check_tolerance
    from .workflows.stiffness import attach_stiffness, resolve_method

    # checked whatever the method (names as in compute_stiffness)
    v.positive_int("num_vectors", args.vectors, minimum=2)
    if args.moments is not None:
        v.positive_int("num_moments", args.moments, minimum=2)
    check_tolerance("tolerance", args.tolerance)
    v.seed("seed", args.seed)
    result = load_result(args.result)
    if not result.converged:
        _say(args, f"{PROG}: warning: '{args.result}' did not converge (converged = False, "
                   f"{result.iterations} iterations); its stiffness is that of an unconverged "
                   "mean field", file=sys.stderr)
    method = resolve_method(args.method, result.L)
    kwargs = {}
    if method == "stochastic":
        kwargs = dict(num_vectors=args.vectors, num_moments=args.moments, seed=args.seed,
                      tolerance=args.tolerance)
    elif method == "kpm":
        kwargs = dict(seed=args.seed, tolerance=args.tolerance)
    _say(args, f"{PROG} stiffness: {args.result}, method = {method}"
               + (f", {args.vectors} random vectors" if method == "stochastic" else "")
               + (f", target uncertainty {args.tolerance:g}" if method == "kpm" else ""))
    ds, err, settings = attach_stiffness(args.result, method, force=args.force,
                                         direction=args.direction, **kwargs)
    for band in range(2):
        _say(args, f"D_s band {band + 1} = {ds[band]:.6f} +- {err[band]:.2e}")
    _say(args, f"{PROG}: stored 'stiffness' and 'stiffness_stderr' in {args.result} "
               f"({settings['wall_time']:.1f} s)")
    return EXIT_OK


STIFFNESS = Command(
    help="compute the superfluid stiffness of a result file and store it there",
    description=(
        "Superfluid stiffness D_s = <-k_x> - Lambda_xx per site of both bands (SWZ convention, "
        "see docs/stiffness.md) of a result written by 'largebdg solve', added to that file as "
        "the datasets 'stiffness' and 'stiffness_stderr' (shape (2,), band 1 first; the error "
        "is 0 for 'exact', the standard error for 'stochastic' and the full uncertainty, 99 % "
        "statistical half-width plus truncation bound, for 'kpm') with the attribute "
        "'stiffness_settings'."
    ),
    run=_stiffness,
    arguments=(
        arg("result", metavar="RESULT.h5", help="result file written by 'largebdg solve'"),
        arg("--method", choices=STIFFNESS_CHOICES, default="auto",
            help=f"exact: dense diagonalisation, L <= {EXACT_MAX_L}; kpm: colour-signed "
                 "probing of the "
                 "Kubo trace with Chebyshev expansions, any L, with an uncertainty that meets "
                 "--tolerance; stochastic: plain random-vector trace (standard error only); "
                 f"auto (default): exact up to L = {EXACT_MAX_L}, kpm above"),
        arg("--vectors", type=int, default=64, metavar="R",
            help="stochastic: number of random vectors (default 64)"),
        arg("--moments", type=int, metavar="M",
            help="stochastic: Chebyshev moments (default: from T and --tolerance)"),
        arg("--tolerance", type=float, default=1e-4,
            help="kpm: target of the reported uncertainty of D_s (statistical + truncation); "
                 "stochastic: bound on the truncation error of D_s; in [1e-12, 0.1] "
                 "(default 1e-4)"),
        arg("--seed", type=int,
            help="stochastic and kpm: random seed, an integer >= 0 (default: drawn and "
                 "recorded)"),
        arg("--direction", choices=("x", "y"), default="x",
            help="current direction (default x)"),
        arg("--force", action="store_true", help="replace a stiffness already in the file"),
        QUIET_ARGUMENT,
    ),
)

COMMANDS["stiffness"] = STIFFNESS


# ---------------------------------------------------------------------------- sweep


def _sweep(args):
    """``largebdg sweep``: config -> overrides -> resumable sweep (-> figures)."""
    from .config import apply_overrides, load_config
    from .workflows.sweep import describe_values, parse_values, sweep

    if (args.param is None) != (args.values is None):
        raise ParameterError("'--param' and '--values' go together: give both or neither")
    if args.param is not None and args.T is not None:
        raise ParameterError("'--T' is the temperature grid; with '--param' fix the temperature "
                             "with --set solver.T=VALUE")
    if args.param is None and args.T is None:
        raise ParameterError("give a grid: '--T START:STOP:STEP' (or a list T1,T2,...), or "
                             "'--param SECTION.KEY --values GRID'")
    parameter, values = ((args.param, parse_values(args.values, name="--values")) if args.param
                         else ("solver.T", parse_values(args.T, name="--T")))
    config = apply_overrides(load_config(args.config), _overrides(args, ("L", "method")))
    _say(args, f"{PROG} sweep: {parameter} over {len(values)} points "
               f"({describe_values(values)}), L = {config.lattice.L}, "
               f"method = {config.solver.method} -> {args.out}")
    progress = _Progress(args)

    def report(point):
        what = ("existing file kept" if point.status == "existing"
                else f"{'converged' if point.converged else 'NOT converged'} in "
                     f"{point.iterations} iterations, {point.wall_time:.1f} s")
        _say(args, f"point {point.index + 1}/{len(values)}: {parameter} = {point.value}: {what}; "
                   f"mean|Delta| = {point.mean_abs_gap[0]:.5g}, {point.mean_abs_gap[1]:.5g}; "
                   f"{point.path.name}")

    with _reported_warnings(args):
        summary = sweep(config, values, parameter=parameter, outdir=args.out, force=args.force,
                        repair=args.repair,
                        callback=lambda index, it, record: progress(it, record), on_point=report)
        _say(args, f"{PROG}: sweep finished, {summary.computed} points computed and "
                   f"{len(values) - summary.computed} found on disk; table "
                   f"{summary.outdir}/summary.csv")
        if args.plot and _rank() == 0:
            from .plotting.paper import write_sweep_figures

            for path in write_sweep_figures(summary.outdir):
                _say(args, f"{PROG}: wrote {path}")
    failed = [p for p in summary.points if not p.converged]
    if failed and _rank() == 0:
        print(f"{PROG}: {len(failed)} point(s) did not converge ({parameter} = "
              f"{', '.join(str(p.value) for p in failed)}); their files are marked converged = "
              "False and a rerun keeps them (delete them, or use --force, to retry)",
              file=sys.stderr, flush=True)
    return EXIT_NOT_CONVERGED if failed else EXIT_OK


SWEEP = Command(
    help="solve a resumable sweep over temperature (or another parameter)",
    description=(
        "Solve CONFIG.toml for each value of a grid, each point warm-started from the previous "
        "one, and write one result file per point into --out (the layout of 'largebdg solve', "
        "named point_<index>_<key>=<value>.h5) plus summary.csv and summary.json, rewritten "
        "after every point. Rerunning the same command skips every finished point, leaving its "
        "file untouched; files from a different configuration are refused. See docs/sweeps.md. "
        "Exit status: 0 all converged, 2 bad input, 3 some point did not converge."
    ),
    run=_sweep,
    arguments=(
        CONFIG_ARGUMENT,
        arg("--T", metavar="GRID",
            help="temperatures: START:STOP:STEP (STOP included when on the grid) or a list "
                 "T1,T2,...; solved in the order given"),
        arg("--out", "-o", required=True, metavar="DIR",
            help="output directory (created if missing; rerun with the same DIR to resume)"),
        arg("--param", metavar="SECTION.KEY",
            help="sweep this config key instead of the temperature, e.g. model.g12, "
                 "disorder.band1.density or disorder.band1.seed (needs --values)"),
        arg("--values", metavar="GRID", help="grid of --param, as for --T"),
        arg("--set", action="append", metavar="SECTION.KEY=VALUE",
            help="override one config value (TOML literal), repeatable, as for 'solve'"),
        arg("--L", type=int, metavar="L", help="lattice size, shorthand for --set lattice.L=L"),
        arg("--method", choices=tuple(ENGINES),
            help="solver engine, shorthand for --set solver.method=METHOD"),
        arg("--plot", action="store_true",
            help="afterwards write figures into DIR/figures (mean gaps, and for temperature "
                 "sweeps maps, Delta_2^(0) with Eq. (26) and the stiffness if present) and the "
                 "critical temperatures into DIR/tc.json"),
        arg("--force", action="store_true",
            help="recompute every point and overwrite existing files, whatever produced them"),
        arg("--repair", action="store_true",
            help="recompute point files that cannot be read (damaged), keeping all others"),
        QUIET_ARGUMENT,
    ),
)

COMMANDS["sweep"] = SWEEP


# ---------------------------------------------------------------------------- study


class _StudyDisplay:
    """Progress of ``largebdg study`` on the rank 0 of each process group.

    On a terminal a status line (point, iteration, counts, time left) is redrawn
    after every self-consistency iteration; otherwise (a log file) only one line is
    printed per finished point, without carriage returns.
    """

    def __init__(self, args):
        self.args = args
        self.tty = sys.stdout.isatty()
        self.pending = False

    def _print(self, text, end="\n"):
        if not self.args.quiet:
            print(text, end=end, flush=True)

    def iteration(self, chain, index, iteration, record, progress):
        if not self.tty:
            return
        T = self.args.temperatures[index]
        self._print(f"\r\x1b[K{chain.name} T = {T:g}: iteration {iteration}, max|dDelta| = "
                    f"{max(record['max_ddelta']):.1e} | {progress.describe()}", end="")
        self.pending = True

    def point(self, done, progress):
        p = done.point
        if done.status == "existing":
            return
        what = ("solve kept" if p.status == "existing" else
                f"{'converged' if p.converged else 'NOT converged'} in {p.iterations} "
                f"iterations, {p.wall_time:.1f} s")
        if done.stiffness_status == "computed":
            obs = done.stiffness
            what += (f"; D_s ({obs.settings['method']}) = "
                     + ", ".join(f"{d:.4g}" for d in obs.value)
                     + f" in {obs.settings.get('wall_time', 0.0):.1f} s")
        prefix = "\r\x1b[K" if self.pending else ""
        self.pending = False
        self._print(f"{prefix}{done.chain.name} T = {p.value:g}: {what}; mean|Delta| = "
                    f"{p.mean_abs_gap[0]:.4g}, {p.mean_abs_gap[1]:.4g} | {progress.describe()}")

    def close(self):
        if self.pending:
            self._print("")
            self.pending = False


def _report_lines(tables):
    """Short text of a study report: T_c / T_c0 per size and the extrapolations."""
    from .analysis.scaling import PRIMARY_POWER

    lines = []
    for row in tables.by_L:
        lines.append(f"L = {row['L']}: T_c/T_c0 ({row['quantity']}) = {row['ratio_mean']:.4f} "
                     f"+- {row['ratio_sem']:.4f} ({row['n_seeds']} seed(s))")
    for row in tables.extrapolation:
        name = "1/L" if row["power"] == 1 else f"1/L^{row['power']}"
        if row["n_sizes"] < 2:
            if row["power"] == PRIMARY_POWER:
                lines.append(f"{row['quantity']}: fewer than 2 sizes with a T_c, no "
                             "extrapolation to L -> infinity")
            continue
        lines.append(f"{row['quantity']}: T_c/T_c0 (L -> infinity, fit in {name}"
                     f"{'' if row['power'] == PRIMARY_POWER else ', check'}) = "
                     f"{row['intercept']:.4f} +- {row['intercept_err']:.4f}"
                     + ("" if row["weighted"] else " (unweighted)"))
    return lines


def _write_report(args, outdir, sources=None):
    """Write the report of study directories into ``outdir`` and print its summary (rank 0)."""
    from .plotting.scaling import write_study_report

    tables, written = write_study_report(outdir, sources=sources)
    for line in _report_lines(tables):
        _say(args, line)
    _say(args, f"{PROG}: wrote {', '.join(str(p) for p in written)}")


def _study(args):
    """``largebdg study``: L x seeds x T as independent resumable chains (-> report)."""
    from .config import apply_overrides, load_config
    from .workflows.study import parse_seeds, parse_shard, parse_sizes, study
    from .workflows.sweep import parse_values

    sizes, seeds = parse_sizes(args.L), parse_seeds(args.seeds)
    args.temperatures = parse_values(args.T, name="--T")
    shard = parse_shard(args.shard) if args.shard else (1, 1)
    config = apply_overrides(load_config(args.config), _overrides(args, ("method",)))
    n = len(sizes) * len(seeds) * len(args.temperatures)
    _say(args, f"{PROG} study: L = {', '.join(map(str, sizes))} x seeds "
               f"{', '.join(map(str, seeds))} x {len(args.temperatures)} temperatures = {n} "
               f"points, method = {config.solver.method}, stiffness = {args.stiffness or 'none'}"
               + (f", shard {shard[0]}/{shard[1]}" if args.shard else "") + f" -> {args.out}")
    display = _StudyDisplay(args)
    with _reported_warnings(args):
        try:
            summary = study(config, sizes, seeds, args.temperatures, outdir=args.out,
                            stiffness=args.stiffness, shard=shard,
                            ranks_per_chain=args.ranks_per_chain, force=args.force,
                            callback=display.iteration, on_point=display.point)
        finally:
            display.close()
        _say(args, f"{PROG}: {len(summary.chains)} chain(s) done here "
                   f"({', '.join(c.name for c in summary.chains) or 'none'}), "
                   f"{summary.computed} point(s) computed")
        if not args.no_report and _rank() == 0:
            _write_report(args, summary.outdir)
    if summary.unconverged and _rank() == 0:
        print(f"{PROG}: {len(summary.unconverged)} point(s) did not converge ("
              + ", ".join(f"L{L}_seed{s} T = {T}" for L, s, T in summary.unconverged)
              + "); they are kept with converged = False and left out of T_c", file=sys.stderr,
              flush=True)
    return EXIT_NOT_CONVERGED if summary.unconverged else EXIT_OK


STUDY = Command(
    help="finite-size scaling study: lattice sizes x disorder seeds x temperatures",
    description=(
        "Solve every (L, seed) of the grid as a resumable temperature sweep (a chain, warm-"
        "started along T) in DIR/L<L>_seed<seed>/, optionally with the stiffness of every "
        "point, then write the report (as 'largebdg report DIR'). Rerunning the same command "
        "resumes; DIR/study.json records the definition and a different one is refused. "
        "--shard K/N runs the K-th of N disjoint sets of chains (job arrays); under mpiexec "
        "the ranks form groups of --ranks-per-chain ranks that share the chains. See "
        "docs/scaling.md. Exit status: 0 all converged, 2 bad input, 3 some point did not "
        "converge."
    ),
    run=_study,
    arguments=(
        CONFIG_ARGUMENT,
        arg("--L", required=True, metavar="SIZES",
            help="lattice sizes: a list 32,64,128 (or START:STOP:STEP)"),
        arg("--seeds", default="1", metavar="SEEDS",
            help="disorder seeds, written into every seeded disorder kind: 1:3 (1, 2, 3), a "
                 "list 1,5,9 or START:STOP:STEP (default 1)"),
        arg("--T", required=True, metavar="GRID",
            help="temperatures: START:STOP:STEP or a list, solved in this order (upwards)"),
        arg("--out", "-o", required=True, metavar="DIR",
            help="study directory (created if missing; rerun with the same DIR to resume)"),
        arg("--set", action="append", metavar="SECTION.KEY=VALUE",
            help="override one config value (TOML literal), repeatable, as for 'solve'"),
        arg("--method", choices=tuple(ENGINES),
            help="solver engine, shorthand for --set solver.method=METHOD"),
        arg("--stiffness", choices=STIFFNESS_CHOICES,
            help="also compute the superfluid stiffness of every point right after it is "
                 f"solved (auto = exact up to L = {EXACT_MAX_L}, kpm above)"),
        arg("--shard", metavar="K/N",
            help="run only the K-th (1..N) of N disjoint sets of chains, e.g. "
                 "--shard $SLURM_ARRAY_TASK_ID/4"),
        arg("--ranks-per-chain", type=int, default=1, metavar="G",
            help="under mpiexec -n R: R/G groups of G ranks, each solving its own chains "
                 "(G > 1 parallelises the Chebyshev engine; default 1)"),
        arg("--no-report", action="store_true",
            help="do not write the report at the end (run 'largebdg report DIR' later)"),
        arg("--force", action="store_true",
            help="accept a different stored definition and recompute every point of the "
                 "chains run here"),
        QUIET_ARGUMENT,
    ),
)

COMMANDS["study"] = STUDY


def _report(args):
    """``largebdg report``: the tables and figures of one or several study directories."""
    if len(args.dir) > 1 and args.out is None:
        raise ParameterError("'--out' is required with several study directories (the "
                             "combined report would otherwise replace the first one's)")
    if _rank() == 0:
        with _reported_warnings(args):
            _write_report(args, args.out or args.dir[0], sources=args.dir)
    return EXIT_OK


REPORT = Command(
    help="write the tables and figures of a study directory",
    description=(
        "Read whatever a study directory holds (finished points of all shards) and write "
        "DIR/points.csv (one row per point), DIR/tc.csv (T_c per chain with errors), "
        "DIR/tc_by_L.csv (seed means per L), DIR/extrapolation.csv (T_c/T_c0 for L -> "
        "infinity) and DIR/figures/study_*.png. Several study directories of the same model "
        "(e.g. a 256 x 256 chain run apart) are analysed as one study, into --out. See "
        "docs/scaling.md."
    ),
    run=_report,
    arguments=(
        arg("dir", metavar="DIR", nargs="+",
            help="study directory written by 'largebdg study' (or several, with --out)"),
        arg("--out", metavar="OUT", default=None,
            help="directory of the report (default DIR; required with several DIRs)"),
        QUIET_ARGUMENT,
    ),
)

COMMANDS["report"] = REPORT


def build_parser():
    """Build the argparse parser of all commands in :data:`COMMANDS`."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Self-consistent Bogoliubov-de Gennes solver for disordered two-band "
                    "superconductors.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}",
                        help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                help="one of: " + ", ".join(COMMANDS))
    for name, command in COMMANDS.items():
        p = sub.add_parser(name, help=command.help,
                           description=command.description or command.help)
        for flags, kwargs in command.arguments:
            p.add_argument(*flags, **kwargs)
    return parser


def main(argv=None):
    """Run the CLI.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status: 0 success, 2 bad input, 3 not converged.
    """
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as e:  # --help, --version and argparse's own errors
        return e.code if isinstance(e.code, int) else EXIT_ERROR
    try:
        return COMMANDS[args.command].run(args)
    except (ParameterError, OSError) as e:  # OSError includes FileExistsError
        _error(str(e))
        return EXIT_ERROR
    except KeyboardInterrupt:
        _error("interrupted")
        return EXIT_INTERRUPTED
