r"""The Chebyshev engine's error on a large self-consistent state, measured with the dense map.

A full dense self-consistent solve at L = 64 takes hours; applying the exact (dense) mean-field
map once to a converged Chebyshev result takes minutes and measures what matters: how far the
Chebyshev answer is from a fixed point of the exact equations.  For one result file this prints,
on the same input mean field x (the result's gaps, densities and chemical potentials),

* ``|G_dense(x) - x|``: the residual of the exact map (gaps, densities), i.e. the distance of the
  Chebyshev result from self-consistency of the exact equations;
* ``|G_cheb(x) - x|``: the same for a fresh Chebyshev engine with the result's tolerance (its
  plan is made anew on x, so it may differ from the solve's last plan, printed as
  ``chebyshev_plan``);
* ``|G_cheb(x) - G_dense(x)|``: the engine's error in the gaps (g times the error of F) and
  densities, against the engine's own error estimate (in units of tanh(H/2T) entries: the gaps'
  error is at most (g + g12) times it).

    python benchmarks/bench_dense_residual.py RESULT.h5
"""

import argparse
import json
import time

import numpy as np

from largebdg.engines import make_engine
from largebdg.io.hdf5 import load_result
from largebdg.workflows.run import build_model


def apply_map(model, engine, T, delta, density, mu):
    """One evaluation of the mean-field map (gap equations 9a-b, densities) at fixed mu."""
    avg = [engine.averages(b, model.onsite(b, density[b], mu[b]), delta[b], T) for b in range(2)]
    return model.gaps([a.F for a in avg]), np.array([a.n for a in avg])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result")
    args = parser.parse_args()
    r = load_result(args.result)
    model, _ = build_model(r.config)
    T = r.T
    s = r.solver_settings
    N = model.n_sites
    x = (np.asarray(r.delta).reshape(2, N), np.asarray(r.density).reshape(2, N),
         np.asarray(r.mu))
    out = {"result": args.result, "L": r.L, "T": T, "converged": bool(r.converged),
           "solver_tol": r.config.solver.tol, "chebyshev_settings": {
               k: s[k] for k in ("tolerance", "num_moments", "probing_distance")},
           "engine_error_estimate": [e["estimate"] for e in s["error_estimate"]]}
    cheb = make_engine("chebyshev", model, tolerance=s["tolerance"])
    t0 = time.perf_counter()
    dc, nc = apply_map(model, cheb, T, *x)
    out["seconds_chebyshev"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    dd, nd = apply_map(model, make_engine("dense", model), T, *x)
    out["seconds_dense"] = time.perf_counter() - t0
    for name, (d, n) in {"dense_residual": (dd - x[0], nd - x[1]),
                         "chebyshev_residual": (dc - x[0], nc - x[1]),
                         "chebyshev_minus_dense": (dc - dd, nc - nd)}.items():
        out[name] = {"max_gap_band": np.abs(d).max(axis=1).tolist(),
                     "max_density_band": np.abs(n).max(axis=1).tolist(),
                     "rms_gap_band": np.sqrt((d ** 2).mean(axis=1)).tolist()}
    out["chebyshev_plan"] = {"num_moments": [cheb.last[b].num_moments for b in range(2)],
                             "probing_distance": [cheb.last[b].probing_distance
                                                  for b in range(2)]}
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
