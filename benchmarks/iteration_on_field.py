"""One final-accuracy iteration of any version's Chebyshev engine on a stored, converged mean field.

``bench_engines.one_iteration`` times an iteration on the *initial* state (uniform gaps), on
which the weak band is homogeneous, so the control variate removes its whole probing error and
the engine may probe it with the shortest distance -- not what a converged solve does.  This
script times each version's own ``bench_engines.one_iteration`` (its automatic plan, default
threads) with that version's model but the mean field of a converged result instead:

    # once, with this tree: the field of a converged result (paper random case, band 1 seed 1)
    python benchmarks/iteration_on_field.py save RESULT.h5 FIELD.npz
    # then with any tree (PYTHONPATH=TREE:TREE/benchmarks), e.g. v0.1.0 and this one, alternating
    PYTHONPATH=$TREE:$TREE/benchmarks python benchmarks/iteration_on_field.py time FIELD.npz

``time`` prints one JSON line: the tree's package path, T, seconds and the plan's moments
and distances.  The disorder potential of the version's model must equal the stored one
(checked), so both versions iterate the same map on the same field.
"""

import argparse
import json

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


def time_iteration(field_path):
    import bench_engines

    import largebdg

    f = np.load(field_path)
    L, seed = int(f["L"]), int(f["seed"])
    initial = bench_engines.representative_state

    def converged_state(L, seed=seed):
        cfg, model, _ = initial(L, seed)
        if not np.array_equal(model.potential.reshape(2, -1), f["potential"]):
            raise SystemExit("this version's disorder potential differs from the stored one")
        return cfg, model, [(f[f"onsite{b}"], f[f"delta{b}"]) for b in range(2)]

    bench_engines.representative_state = converged_state
    bench_engines.T = float(f["T"])
    r = bench_engines.one_iteration(L, "chebyshev", 1e-3)
    s = r["settings"]
    print(json.dumps({"package": largebdg.__file__, "L": L, "T": float(f["T"]),
                      "seconds": r["seconds"],
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
    args = parser.parse_args()
    if args.command == "save":
        save(args.result, args.out)
    else:
        time_iteration(args.field)


if __name__ == "__main__":
    main()
