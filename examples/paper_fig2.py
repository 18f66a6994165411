"""Reproduce paper Fig. 2: correlated disorder (a), 1D stripes (b) and a 2D chessboard (c).

Each scenario is a resumable temperature sweep of its configuration in examples/
(paper_correlated.toml: beta = -4, N_d = 0.7, one sweep per seed; paper_stripes.toml:
N_d = 0.5; paper_chessboard.toml: N_d = 0.75) under OUT/<scenario>[_seed<N>]/.  The panels go
to OUT/figures/fig2<a|b|c>_*.png (maps and profiles, panels 1-2, in *_bcde.png; mean gaps,
panel 3, in *_a_gaps.png; Delta_2^(0) with Eq. (26), panel 4, in *_f_delta0.png) and the
critical temperatures to OUT/tc_<scenario>.json.  Rerunning skips the points already solved.

    python examples/paper_fig2.py --out runs/fig2
    python examples/paper_fig2.py --out runs/fig2 --scenarios stripes,chessboard
    python examples/paper_fig2.py --out runs/fig2_common_mu --scenarios chessboard --common-mu

Run it from anywhere: it imports the shared helpers of paper_fig1.py next to it.
"""

import sys
from pathlib import Path

from paper_fig1 import HERE, base_config, make_parser, parse_values, run_seeds, run_sweep

SCENARIOS = {
    # name: (config, panel letter, temperatures); the paper finds T_c / T_c^(0) = 1.9 (a),
    # 1.6 (b), 2.2 (c), i.e. T_c = 0.21, 0.17, 0.24; the grids reach beyond, since our T_c
    # come out higher (docs/reproduction.md)
    "correlated": ("paper_correlated.toml", "a", "0.06,0.098,0.14,0.18,0.2,0.22,0.24,0.26"),
    "stripes": ("paper_stripes.toml", "b", "0.06,0.098,0.12,0.14,0.16,0.18,0.2,0.22,0.24"),
    "chessboard": ("paper_chessboard.toml", "c", "0.06,0.098,0.14,0.18,0.22,0.24,0.26,0.28"),
}


def main(argv=None):
    parser = make_parser(__doc__, seeds="1", T_points=None)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="comma-separated subset of %(default)s")
    args = parser.parse_args(argv)
    scenarios = args.scenarios.split(",")
    unknown = sorted(set(scenarios) - set(SCENARIOS))
    if unknown:
        parser.error(f"unknown scenario(s) {', '.join(unknown)}; "
                     f"choose from {', '.join(SCENARIOS)}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in scenarios:
        config_file, letter, grid = SCENARIOS[name]
        config = base_config(args, HERE / config_file)
        temperatures = args.T_points or grid
        if name == "correlated":
            dirs = run_seeds(args, config, name, temperatures)
        else:
            dirs = [out / name]
            run_sweep(config, parse_values(temperatures, name="--T-points"), dirs[0], args.quiet)
        if args.no_figures:
            continue
        from largebdg.plotting.paper import write_figure_set

        for path in write_figure_set(dirs, out / "figures", prefix=f"fig2{letter}",
                                     tc_file=out / f"tc_{name}.json"):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
