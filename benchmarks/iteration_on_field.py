"""Final-accuracy iterations of any version's Chebyshev engine on a stored, converged field.

``bench_engines.one_iteration`` times an iteration on the *initial* state (uniform gaps), on
which the weak band is homogeneous, so the control variate removes its whole probing error and
the engine may probe it with the shortest distance -- not what a converged solve does.  This
script builds each version's engine with its default settings (tolerance 1e-3, automatic
plan, default threads) and model (``bench_engines.representative_state``) and times two
iterations (both bands) on the mean field of a converged result: the first makes the plans,
the second reuses them, as the iterations of a solve at one accuracy level do:

    # once, with this tree: the field of a converged result (paper random case, band 1 seed 1)
    python benchmarks/iteration_on_field.py save RESULT.h5 FIELD.npz
    # then with any version's checkout, e.g. v0.1.0 and this one, alternating
    python benchmarks/iteration_on_field.py time FIELD.npz --tree TREE

``--tree`` puts TREE and TREE/benchmarks first on the import path (default: this
repository).  ``time`` prints one JSON line: the tree's package path, T, ``first_seconds``
and ``seconds`` (the second iteration; ``band_seconds`` per band) and the plans' moments and
distances.  The disorder potential of the version's model must equal the stored one
(checked), so both versions iterate the same map on the same field.  ``--strategy exact``
times the per-site method (one unit start vector per site) instead of the default, and
``--averages OUT.npz`` keeps the local averages to compare the two::

    python benchmarks/iteration_on_field.py time FIELD.npz --averages default.npz
    python benchmarks/iteration_on_field.py time FIELD.npz --strategy exact --averages exact.npz
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np


def save(result_path, out):
    from largebdg import load_result

    res = load_result(result_path)
    model = res.model()
    seed = res.config.disorder[0].params.get("seed", 1)  # checked against the potential in time
    fields = {f"onsite{b}": model.onsite(b, res.density[b], res.mu[b]) for b in range(2)}
    fields.update({f"delta{b}": np.ravel(res.delta[b]) for b in range(2)})
    np.savez(out, L=model.L, T=res.T, seed=seed,
             potential=model.potential.reshape(2, -1), **fields)


def engine_for(model, tolerance, strategy=None):
    """The version's Chebyshev engine with its default settings at ``tolerance`` (and
    ``chebyshev.strategy``, if given), as a solve builds it (config -> engine options;
    v0.1.0 took ``tolerance`` and defaults directly)."""
    from largebdg.config import RunConfig
    from largebdg.engines.chebyshev import ChebyshevEngine

    section = {"tolerance": tolerance, **({"strategy": strategy} if strategy else {})}
    cheb = RunConfig.from_dict({"chebyshev": section}).chebyshev
    if hasattr(cheb, "engine_options"):
        return ChebyshevEngine(model, **cheb.engine_options())
    if strategy:
        raise SystemExit("--strategy needs a version whose config builds the engine")
    return ChebyshevEngine(model, tolerance=tolerance)


def time_iteration(field_path, tree, strategy=None, averages=None):
    sys.path[:0] = [str(tree), str(tree / "benchmarks")]
    import bench_engines

    import largebdg

    f = np.load(field_path)
    L, seed, T = int(f["L"]), int(f["seed"]), float(f["T"])
    _, model, _ = bench_engines.representative_state(L, seed)
    if not np.array_equal(model.potential.reshape(2, -1), f["potential"]):
        raise SystemExit("this version's disorder potential differs from the stored one")
    fields = [(f[f"onsite{b}"], f[f"delta{b}"]) for b in range(2)]
    engine = engine_for(model, 1e-3, strategy)
    seconds = []
    for _ in range(2):  # the first makes the plans (as a solve does once per level)
        out, band_seconds = [], []
        for b in range(2):
            t0 = time.perf_counter()
            out.append(engine.averages(b, *fields[b], T))
            band_seconds.append(time.perf_counter() - t0)
        seconds.append(sum(band_seconds))
    if averages is not None:
        np.savez(averages, F=np.array([a.F for a in out]), n=np.array([a.n for a in out]))
    s = engine.settings()
    print(json.dumps({"package": largebdg.__file__, "L": L, "T": T, "strategy": strategy,
                      "band_seconds": band_seconds,
                      "first_seconds": seconds[0], "seconds": seconds[1],
                      "num_moments": s.get("num_moments"),
                      "probing_distance": s.get("probing_distance"),
                      "control_variate": s.get("control_variate"), "threads": s.get("threads")}),
          flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("save", help="store the mean field of a converged result")
    p.add_argument("result")
    p.add_argument("out")
    p = sub.add_parser("time", help="time one iteration of the importable version on FIELD")
    p.add_argument("field")
    p.add_argument("--tree", type=Path, default=Path(__file__).resolve().parents[1],
                   help="checkout whose largebdg and bench_engines to time (default: this one)")
    p.add_argument("--strategy", choices=("probing", "exact"),
                   help="chebyshev.strategy (default: the version's default)")
    p.add_argument("--averages", type=Path,
                   help="also save the second iteration's F and n per band (npz)")
    args = parser.parse_args()
    if args.command == "save":
        save(args.result, args.out)
    else:
        time_iteration(args.field, args.tree.resolve(), args.strategy, args.averages)


if __name__ == "__main__":
    main()
