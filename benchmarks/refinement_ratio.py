r"""How well the refining colouring measures the probing error, against exact columns.

The engine estimates the probing error of distance d from the difference of the probes of d
and of a refining colouring D at every site, times ``refinement_safety(rho, r)``
(:data:`largebdg.engines.chebyshev.REFINEMENT_RHO`): the bound holds while the ratio of the
lattice maxima of the two colourings' errors, rho = e_D / e_d, stays below the allowed value.
This measures rho directly, as the ratio of the lattice maxima (``rho``, a sufficient
condition) and at the entry of the largest coarse error (``rho_at_largest``: the bound holds
exactly when ``safety >= 1 / (1 - rho_at_largest)``, since the largest difference is at least
the one there).  On the mean field of a stored converged result (the ``save``
file of ``iteration_on_field.py``) and with the series of the engine's default plan for it,
it computes the exact entries (one unit start vector per site), then for every given d the
realised errors e_d and e_D of the probes as they are, minus the homogeneous tails and minus
those to first order (where the colouring is a sublattice), their ratio rho, the spacing
ratio r, and the engine's whole-lattice estimate over the realised error (>= 1: it covers)::

    python benchmarks/iteration_on_field.py save RESULT.h5 FIELD.npz
    python benchmarks/refinement_ratio.py FIELD.npz BAND 12,14,16,18,21

One JSON line per distance (after one line with the plan and the time of the exact columns).
The exact columns cost L² start vectors: about 75 s per band at 128², T = 0.098, on two cores.
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_engines  # noqa: E402
from iteration_on_field import engine_for  # noqa: E402

from largebdg.engines.chebyshev import REFINEMENT_RHO, refinement_safety  # noqa: E402
from largebdg.kpm.probing import (colour_count, colouring, refining_colouring,  # noqa: E402
                                  refinement_ratio)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("field", help="npz of iteration_on_field.py save")
    parser.add_argument("band", type=int, choices=(0, 1))
    parser.add_argument("distances", help="comma-separated probing distances (< L)")
    args = parser.parse_args()
    f = np.load(args.field)
    band, L, T = args.band, int(f["L"]), float(f["T"])
    _, model, _ = bench_engines.representative_state(L, int(f["seed"]))
    if not np.array_equal(model.potential.reshape(2, -1), f["potential"]):
        raise SystemExit("this version's disorder potential differs from the stored one")
    engine = engine_for(model, 1e-3)
    onsite, delta = f[f"onsite{band}"], f[f"delta{band}"]
    plan = engine.plan(band, onsite, delta, T)
    coeffs = plan.coefficients()
    entries = engine._entries(band, onsite, delta, plan.scale, coeffs)
    tails = engine._tails(band, onsite, delta, plan.scale, coeffs)
    t0 = time.perf_counter()
    exact = engine._probe(entries, colouring(L, L), np.arange(L * L))
    print(json.dumps({"field": args.field, "L": L, "T": T, "band": band,
                      "num_moments": plan.num_moments, "gap": plan.gap,
                      "exact_seconds": time.perf_counter() - t0}), flush=True)

    def errors(d, nested=False):
        """Per control variate, the errors of every entry (None without tails)."""
        labels = colouring(L, d, nested)
        probes = engine._probe(entries, labels, np.arange(labels.max() + 1))
        return [None if subtract is None else np.abs(probes - subtract - exact)
                for subtract in [0.0] + [tails(d, order, nested) for order in (1, 2)]]

    def ratio_at_largest(fine, coarse):  # e_D / e_d at the entry of the largest coarse error
        at = np.unravel_index(np.argmax(coarse), coarse.shape)
        return float(fine[at] / coarse[at])

    for d in (int(x) for x in args.distances.split(",")):
        D, nested, _, _ = refining_colouring(L, d, np.arange(L * L), sublattice=True)
        ratio = refinement_ratio(L, d, D, nested)
        coarse, fine = errors(d), errors(D, nested)
        e_d = [None if e is None else float(e.max()) for e in coarse]
        e_D = [None if e is None else float(e.max()) for e in fine]
        estimate = engine._measured_probing(band, entries, d, colour_count(L, d),
                                            tails=tails).max(1)
        rows = range(3)
        print(json.dumps({
            "d": d, "q": L // d, "refining": {"D": D, "nested": bool(nested)}, "ratio": ratio,
            "e_d": e_d, "e_D": e_D,
            "rho": [None if e_d[k] is None or e_D[k] is None else e_D[k] / e_d[k] for k in rows],
            "rho_at_largest": [None if coarse[k] is None or fine[k] is None
                               else ratio_at_largest(fine[k], coarse[k]) for k in rows],
            "rho_allowed": [REFINEMENT_RHO[k] ** min(ratio - 1, np.log2(ratio)) for k in rows],
            "safety": [refinement_safety(REFINEMENT_RHO[k], ratio) for k in rows],
            "estimate_over_realised": [None if e_d[k] is None or not np.isfinite(estimate[k])
                                       else float(estimate[k] / e_d[k]) for k in rows]}),
              flush=True)


if __name__ == "__main__":
    main()
