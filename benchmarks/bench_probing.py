"""Measured probing error against the realised one, at every site (issue 11).

For a disordered mean field (three Chebyshev iterations at tolerance 1e-2 from the uniform
start) and each probing distance d, prints the realised largest error of the entries of
tanh(H/2T) the engine reads (against unit start vectors with the same moments), the engine's
estimate on all colour classes (:meth:`ChebyshevEngine.error_estimate`, what a solve reports),
and the estimate on the four classes of a plan.

    python benchmarks/bench_probing.py 64 0.098 random 7
    python benchmarks/bench_probing.py 64 0.2 correlated 2
    python benchmarks/bench_probing.py 128 0.025 random 1 --distances 32,42,64
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _helpers import paper_config  # noqa: E402

from largebdg.engines import ChebyshevEngine  # noqa: E402
from largebdg.scf import initial_state  # noqa: E402
from largebdg.workflows.run import build_model  # noqa: E402

BAND1 = {
    "random": lambda seed: {"kind": "random", "strength": 4.0, "density": 0.5, "seed": seed},
    "correlated": lambda seed: {"kind": "correlated", "strength": 4.0, "density": 0.7,
                                "seed": seed},
    "stripes": lambda seed: {"kind": "stripes", "period": 8, "width": 4},
}


def tau(avg):
    return np.array([1 - avg.n, 2 * avg.F, -avg.bond_x, -avg.bond_y])


def disordered_field(L, T, kind, seed):
    """Model and a disordered, not yet self-consistent mean field (SCFState): three Chebyshev
    iterations at tolerance 1e-2 from the uniform start."""
    model, _ = build_model(paper_config(L, T=T, method="chebyshev", band1=BAND1[kind](seed)))
    s = initial_state(model, T)
    warm = ChebyshevEngine(model, tolerance=1e-2)
    for _ in range(3):
        av = [warm.averages(b, model.onsite(b, s.density[b], s.mu[b]), s.delta[b], T)
              for b in range(2)]
        s.density = np.array([a.n for a in av])
        s.delta = model.gaps(np.array([a.F for a in av]))
    return model, s


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("L", type=int)
    parser.add_argument("T", type=float)
    parser.add_argument("kind", choices=tuple(BAND1))
    parser.add_argument("seed", type=int)
    parser.add_argument("--distances", default="8,10,12,16,21,32",
                        help="probing distances d < L to compare (default 8,10,12,16,21,32)")
    args = parser.parse_args()
    L, T = args.L, args.T
    model, s = disordered_field(L, T, args.kind, args.seed)
    reference = ChebyshevEngine(model, tolerance=1e-3, start_vectors="unit")
    print(f"# L = {L}, T = {T}, {args.kind} disorder (seed {args.seed}); errors in tau units")
    print("# band  d  realised  estimate(all classes)  realised/estimate  plan(4 classes)")
    for b in range(2):
        onsite, delta = model.onsite(b, s.density[b], s.mu[b]), s.delta[b]
        exact = tau(reference.averages(b, onsite, delta, T))
        for d in [int(x) for x in args.distances.split(",") if int(x) < L]:
            engine = ChebyshevEngine(model, tolerance=1e-3, probing_distance=d)
            realised = np.abs(tau(engine.averages(b, onsite, delta, T)) - exact).max()
            full = engine.error_estimate(b, onsite, delta, T)["probing"]
            plan = engine.last[b].probing
            print(f"{b + 1:6d} {engine.last[b].probing_distance:2d}  {realised:.2e}  "
                  f"{full:.2e}  {realised / full:.2f}  {plan:.2e}", flush=True)


if __name__ == "__main__":
    main()
