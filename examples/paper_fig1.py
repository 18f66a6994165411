"""Reproduce paper Fig. 1 (random impurities, N_d = 0.5) with resumable temperature sweeps.

For every seed it sweeps examples/paper_random.toml over the temperatures (one result file per
point under OUT/random_seed<N>/), then writes the panels of Fig. 1 as PNGs into OUT/figures/
and the critical temperatures into OUT/tc.json.  Rerunning the same command skips every point
already solved, so it can be interrupted and restarted at will (or rerun to redraw).

    python examples/paper_fig1.py --out runs/fig1                  # L = 32, seeds 1 and 2
    python examples/paper_fig1.py --out runs/fig1 --seeds 1,2,3 --T-points 0.06:0.28:0.02
    python examples/paper_fig1.py --out runs/fig1_common_mu --common-mu

The clean reference (open circles of Fig. 1a) is the momentum-space solution of the same
finite lattice (largebdg.model.clean), which is what a real-space sweep of the clean lattice
converges to; --clean-sweep also runs that real-space sweep (OUT/clean/), whose result files
can take a stiffness for the clean curve of Fig. 1g.  Panel g needs the stiffness in the result
files (``largebdg stiffness`` on each point file); without it the panel is skipped.
"""

import argparse
import sys
from pathlib import Path

from largebdg.config import apply_overrides, load_config
from largebdg.workflows.sweep import parse_values, sweep

HERE = Path(__file__).resolve().parent
DEFAULT_T = "0.06,0.098,0.14,0.16,0.18,0.2,0.22,0.24,0.26"


def make_parser(description, *, seeds="1,2", T_points=DEFAULT_T):
    """Options shared by the paper examples."""
    parser = argparse.ArgumentParser(description=description.splitlines()[0])
    parser.add_argument("--L", type=int, default=None, help="lattice size (default: config's)")
    parser.add_argument("--method", choices=("dense", "chebyshev"), default=None,
                        help="solver engine (default: the config's)")
    parser.add_argument("--T-points", default=T_points,
                        help="temperatures, START:STOP:STEP or a list (default: %(default)s)")
    parser.add_argument("--seeds", default=seeds,
                        help="disorder seeds, a list or range (default: %(default)s)")
    parser.add_argument("--common-mu", action="store_true",
                        help="one chemical potential with the clean-limit band offsets "
                             "(model.common_mu, paper Eq. 12) instead of per-band fillings")
    parser.add_argument("--out", required=True, help="output directory (created if missing)")
    parser.add_argument("--no-figures", action="store_true", help="only run the sweeps")
    parser.add_argument("--quiet", action="store_true", help="no per-point progress")
    return parser


def base_config(args, path):
    """The configuration file with the --L, --method and --common-mu overrides."""
    overrides = ["model.common_mu=true"] if args.common_mu else []
    if args.L is not None:
        overrides.append(f"lattice.L={args.L}")
    if args.method is not None:
        overrides.append(f"solver.method={args.method}")
    return apply_overrides(load_config(path), overrides)


def run_sweep(config, temperatures, outdir, quiet):
    """One resumable temperature sweep with a line per point."""
    def report(point):
        if not quiet:
            print(f"  {outdir.name}: T = {point.value:<6g} {point.status:8} "
                  f"mean|Delta| = {point.mean_abs_gap[0]:.5f}, {point.mean_abs_gap[1]:.5f}  "
                  f"({point.iterations} it, {point.wall_time:.0f} s"
                  f"{'' if point.converged else ', NOT converged'})", flush=True)

    return sweep(config, temperatures, outdir=outdir, on_point=report)


def run_seeds(args, config, name, temperatures):
    """Sweep ``config`` for every seed into OUT/<name>_seed<N>; return the directories."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    temperatures = parse_values(temperatures, name="--T-points")
    dirs = []
    for seed in parse_values(args.seeds, name="--seeds"):
        cfg = apply_overrides(config, [f"disorder.band1.seed={seed}"])
        dirs.append(out / f"{name}_seed{seed}")
        run_sweep(cfg, temperatures, dirs[-1], args.quiet)
    return dirs


def main(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument("--config", default=str(HERE / "paper_random.toml"),
                        help="base TOML configuration (default: %(default)s)")
    parser.add_argument("--clean-sweep", action="store_true",
                        help="also sweep the clean lattice in real space (OUT/clean)")
    args = parser.parse_args(argv)
    config = base_config(args, args.config)
    dirs = run_seeds(args, config, "random", args.T_points)
    clean_dir = None
    if args.clean_sweep:
        clean_dir = Path(args.out) / "clean"
        clean = base_config(args, HERE / "paper_clean.toml")
        run_sweep(clean, parse_values(args.T_points, name="--T-points"), clean_dir, args.quiet)
    if args.no_figures:
        return 0
    from largebdg.plotting.paper import write_figure_set

    written = write_figure_set(dirs, Path(args.out) / "figures", prefix="fig1",
                               clean_dir=clean_dir, tc_file=Path(args.out) / "tc.json")
    for path in written:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
