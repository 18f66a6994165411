"""Paper Fig. 1 on a 128 x 128 lattice with the Chebyshev engine (random impurities, N_d = 0.5).

The same resumable sweeps and panels as paper_fig1.py, for examples/paper_random_128.toml
(method = "chebyshev", tolerance 1e-3): results under OUT/random128_seed<N>/, figures in
OUT/figures/fig1_128_*.png, critical temperatures in OUT/tc.json.  A cold solve at
T = 0.098 takes about 56 iterations (15 minutes on two busy cores); warm-started points need
fewer iterations but the sweep is still hours of CPU time, so use a machine with many cores
(or MPI, see docs/sweeps.md) and rerun the same command to continue after an interruption.

    python examples/paper_128.py --out runs/fig1_128
    python examples/paper_128.py --out runs/fig1_128 --seeds 1,2 --T-points 0.06:0.26:0.04
"""

import sys
from pathlib import Path

from paper_fig1 import HERE, base_config, make_parser, run_seeds

DEFAULT_T = "0.06,0.098,0.14,0.18,0.22,0.26"


def main(argv=None):
    args = make_parser(__doc__, seeds="1", T_points=DEFAULT_T).parse_args(argv)
    config = base_config(args, HERE / "paper_random_128.toml")
    dirs = run_seeds(args, config, "random128", args.T_points)
    if args.no_figures:
        return 0
    from largebdg.plotting.paper import write_figure_set

    out = Path(args.out)
    for path in write_figure_set(dirs, out / "figures", prefix="fig1_128",
                                 tc_file=out / "tc.json"):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
