"""128 x 128 two-band solve with the Chebyshev engine (paper parameters, random disorder).

Run ``python examples/large_128.py --out results/large_128`` (add ``--L 256`` for a bigger
lattice; ``mpiexec -n K python examples/large_128.py ...`` splits the work over K ranks).
Writes RESULT.h5 and a figure of both gap maps, profiles and histograms.
"""

import argparse
import pathlib
import time

from largebdg._optional import rank_size, world
from largebdg.config import apply_overrides, load_config
from largebdg.io import save_result
from largebdg.plotting import plot_summary
from largebdg.workflows.run import run

HERE = pathlib.Path(__file__).parent


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/large_128", help="output directory")
    parser.add_argument("--L", type=int, default=128, help="linear lattice size")
    parser.add_argument("--config", default=HERE / "large_128.toml", help="TOML config")
    parser.add_argument("--force", action="store_true", help="overwrite an existing result")
    args = parser.parse_args()
    rank, _ = rank_size(world())
    config = apply_overrides(load_config(args.config), [f"lattice.L={args.L}"])
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    def progress(it, rec):
        if rank == 0:
            print(f"iter {it:3d}  max|dDelta| = {rec['max_ddelta'].max():.2e}  "
                  f"accuracy = {rec['accuracy']:.0e}  mean|Delta| = {rec['mean_abs_delta']}  "
                  f"{rec['seconds']:.1f} s", flush=True)

    t0 = time.perf_counter()
    result = run(config, callback=progress)
    if rank == 0:
        path = out / f"L{args.L}.h5"
        save_result(result, path, force=args.force)
        fig = plot_summary(result)
        fig.savefig(out / f"L{args.L}.png", dpi=120)
        print(f"L = {args.L}: converged = {result.converged} in {result.iterations} iterations, "
              f"{time.perf_counter() - t0:.0f} s; settings {result.solver_settings}; wrote {path}")


if __name__ == "__main__":
    main()
