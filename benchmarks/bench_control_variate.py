"""The weak band's probing error with and without the control variate: realised and estimated.

At low temperature the clean weak band's entries of tanh(H/2T) decay over tens of sites, so
plain probing with distance d < L/2 misses the tolerance (docs/performance.md, T = 0.025).
The engine's control variate (``ChebyshevEngine(control_variate=True)``, the default)
subtracts from each probed entry the homogeneous band's tail over the other sites of its
colour class (:func:`largebdg.kpm.probing.class_tails`; to first order in the field where the
colouring is a sublattice, :func:`largebdg.kpm.probing.tail_response`), leaving only the
remainder as probing error.  For band 2 of a disordered mean field
(``bench_probing.disordered_field``) and each probing distance d this prints the realised
largest error (tau units, against exact columns) of the plain probes and of the engine's
choice (``Plan.control_variate``: 0 plain, 1 homogeneous tails, 2 to first order), and the
engine's whole-lattice estimate of the latter.

    python benchmarks/bench_control_variate.py 128 0.025 --distances 32,42,64
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from largebdg.engines import ChebyshevEngine
from largebdg.kpm.probing import colouring

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_probing import disordered_field, tau  # noqa: E402

BAND = 1  # the weak band (band 2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("L", type=int)
    parser.add_argument("T", type=float)
    parser.add_argument("--seed", type=int, default=1, help="disorder seed of band 1")
    parser.add_argument("--distances", default="32,42,64")
    args = parser.parse_args()
    L, T = args.L, args.T
    model, s = disordered_field(L, T, "random", args.seed)
    onsite, delta = model.onsite(BAND, s.density[BAND], s.mu[BAND]), s.delta[BAND]
    unit = ChebyshevEngine(model, tolerance=1e-3, start_vectors="unit")
    exact = tau(unit.averages(BAND, onsite, delta, T))
    M = unit.last[BAND].num_moments
    print(f"# L = {L}, T = {T}, band 2, random disorder in band 1 (seed {args.seed}); M = {M}; "
          f"gap {delta.min():.4f}-{delta.max():.4f} (mean {delta.mean():.4f}); tau units")
    print("# d  classes  realised(plain)  realised(engine)  estimate(engine)  control_variate  "
          "plain/engine")
    for d in [int(x) for x in args.distances.split(",") if int(x) < L]:
        realised = {}
        for cv in (False, True):
            engine = ChebyshevEngine(model, tolerance=1e-3, probing_distance=d,
                                     control_variate=cv)
            realised[cv] = np.abs(tau(engine.averages(BAND, onsite, delta, T)) - exact).max()
            assert engine.last[BAND].num_moments == M
        estimate = engine.error_estimate(BAND, onsite, delta, T)["probing"]
        print(f"{d:3d}  {colouring(L, d).max() + 1:6d}  {realised[False]:.2e}  "
              f"{realised[True]:.2e}  {estimate:.2e}  {engine.last[BAND].control_variate:d}  "
              f"{realised[False] / realised[True]:.1f}", flush=True)


if __name__ == "__main__":
    main()
