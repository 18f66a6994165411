"""Dense vs Chebyshev engines: per-iteration cost, full solves, scaling, memory, kernel bandwidth.

Every number is measured in this one run (each size in its own subprocess, so the peak memory
is that size's).  Usage::

    python benchmarks/bench_engines.py                      # the default set of measurements
    python benchmarks/bench_engines.py --quick              # small sizes only (a few minutes)

The per-iteration cost is that of one self-consistency iteration (both bands, final accuracy)
on a representative mean field: the paper's random disorder (V = 4, N_d = 0.5) in band 1,
uniform clean gaps, target densities.  Full solves run the real self-consistency loop.
"""

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time

import numpy as np

T = 0.098


def representative_state(L, seed=1):
    """Model, and per band (onsite, delta), of the paper's random-disorder setting."""
    from largebdg.config import RunConfig
    from largebdg.scf import initial_state
    from largebdg.workflows.run import build_model

    cfg = RunConfig.from_dict({"lattice": {"L": L}, "disorder": {"band1": {
        "kind": "random", "strength": 4.0, "density": 0.5, "seed": seed}}})
    model, _ = build_model(cfg)
    s = initial_state(model, T)
    pot = model.potential.reshape(2, -1)
    fields = [(pot[b] - model.g[b] * s.density[b] / 2 - s.mu[b], s.delta[b]) for b in range(2)]
    return cfg, model, fields


def one_iteration(L, method, tolerance, strategy="probing"):
    """Seconds for one iteration (two bands) and the settings used."""
    from largebdg.config import apply_overrides
    from largebdg.engines.chebyshev import ChebyshevEngine
    from largebdg.engines.dense import DenseEngine

    cfg, model, fields = representative_state(L)
    if method == "dense":
        engine = DenseEngine(model)
    else:
        cfg = apply_overrides(cfg, [f"chebyshev.tolerance={tolerance}",
                                    f'chebyshev.strategy="{strategy}"'])
        engine = ChebyshevEngine(model, **cfg.chebyshev.engine_options())  # as a solve would
        engine.averages(1, *fields[1], T)  # compile the kernel outside the timing
    t0 = time.perf_counter()
    avg = [engine.averages(b, *fields[b], T) for b in range(2)]
    dt = time.perf_counter() - t0
    return {"seconds": dt, "settings": engine.settings(),
            "F": [a.F.tolist() for a in avg] if L <= 96 else None}


def full_solve(L, method, tolerance):
    from largebdg.config import apply_overrides
    from largebdg.workflows.run import run

    cfg, _, _ = representative_state(L)
    cfg = apply_overrides(cfg, [f"solver.method={method!r}".replace("'", '"'), f"solver.T={T}",
                                "solver.tol=1e-4", "solver.tol_density=1e-3",
                                "solver.tol_filling=1e-4", f"chebyshev.tolerance={tolerance}"])
    t0 = time.perf_counter()
    res = run(cfg)
    return {"seconds": time.perf_counter() - t0, "iterations": res.iterations,
            "converged": res.converged, "settings": res.solver_settings,
            "per_iteration": list(res.history["seconds"])}


def kernel_bandwidth(L=128, K=32, steps=200):
    """Achieved bytes/s of the fused Chebyshev step vs a STREAM-like copy, same process."""
    from largebdg.kpm.recursion import chebyshev_series
    from largebdg.model.lattice import neighbour_index
    from largebdg.operators.stencil import BdGStencil

    N = L * L
    rng = np.random.default_rng(0)
    nx, ny = neighbour_index(L, "x"), neighbour_index(L, "y")
    nbr = np.stack([nx, np.argsort(nx), ny, np.argsort(ny)], axis=1)
    st = BdGStencil(nbr, 1.0, rng.normal(size=N), rng.normal(size=N) * 0.2, 10.0)
    X0 = rng.normal(size=(2 * N, K))
    rows, cols = np.arange(4 * N // K), np.zeros(4 * N // K, dtype=int)
    c = rng.normal(size=steps) * 1e-3
    chebyshev_series(st, c[:3], X0, rows, cols)
    t0 = time.perf_counter()
    chebyshev_series(st, c, X0, rows, cols)
    per_step = (time.perf_counter() - t0) / (steps - 1)
    moved = 3 * X0.nbytes  # read X_m, read and write X_{m-1}: the minimum traffic of a step
    a = np.ones(2**25)  # 256 MiB, well beyond cache
    b = np.empty_like(a)
    best = np.inf
    for _ in range(5):
        t0 = time.perf_counter()
        np.copyto(b, a)
        best = min(best, time.perf_counter() - t0)
    return {"L": L, "K": K, "step_ms": per_step * 1e3,
            "kernel_GBs": moved / per_step / 1e9, "copy_GBs": 2 * a.nbytes / best / 1e9,
            "petsc": petsc_formats_ms(L, K, st)}


def _petsc_operator_formats(L, st):
    """The BdG matrix of ``st`` as PETSc AIJ (our Nambu-block ordering), AIJ with particle and
    hole of each site interleaved, and BAIJ with 2 x 2 Nambu blocks (same interleaving).

    Returns ``{name: (petsc Mat, scipy CSR in the same ordering)}``.
    """
    import scipy.sparse as sp

    from largebdg._optional import petsc
    from largebdg.operators.petsc import PetscBdGOperator

    PETSc = petsc()
    N = L * L
    op = PetscBdGOperator(L)
    op.update(1.0, st.onsite, st.delta)
    H = op.pattern.matrix(1.0, st.onsite, st.delta)
    perm = np.concatenate([2 * np.arange(N), 2 * np.arange(N) + 1])
    P = sp.csr_matrix((np.ones(2 * N), (perm, np.arange(2 * N))), shape=(2 * N, 2 * N))
    Hi = (P @ H @ P.T).tocsr()
    Hi.sort_indices()
    aij = PETSc.Mat().createAIJ([2 * N, 2 * N], comm=PETSc.COMM_SELF,
                                csr=(Hi.indptr.astype(PETSc.IntType),
                                     Hi.indices.astype(PETSc.IntType), Hi.data))
    B = Hi.tobsr(blocksize=(2, 2))
    B.sort_indices()
    baij = PETSc.Mat().createBAIJ([2 * N, 2 * N], 2, comm=PETSc.COMM_SELF,
                                  csr=(B.indptr.astype(PETSc.IntType),
                                       B.indices.astype(PETSc.IntType), B.data.ravel()))
    for A in (aij, baij):
        A.assemble()
    return {"AIJ": (op.mat, H), "AIJ interleaved": (aij, Hi), "BAIJ 2x2": (baij, Hi)}


def petsc_formats_ms(L, K, st, repeat=20):
    """ms per MatMatMult H @ X (X dense, K columns, result reused) and per MatMult (one
    vector) for each format of :func:`_petsc_operator_formats`; each product is checked
    against SciPy."""
    from largebdg._optional import petsc

    PETSc = petsc()
    rng = np.random.default_rng(1)
    X0 = rng.normal(size=(2 * L * L, K))
    out = {}
    for name, (A, H) in _petsc_operator_formats(L, st).items():
        X = PETSc.Mat().createDense([2 * L * L, K], comm=PETSc.COMM_SELF)
        X.setUp()
        X.getDenseArray()[:] = X0
        X.assemble()
        Y = A.matMult(X)
        err = float(np.abs(Y.getDenseArray() - H @ X0).max())
        if err > 1e-10:
            raise RuntimeError(f"{name}: MatMatMult differs from SciPy by {err:.1e}")
        t0 = time.perf_counter()
        for _ in range(repeat):
            A.matMult(X, Y)
        matmat = (time.perf_counter() - t0) / repeat * 1e3
        x, y = A.createVecs()
        x.getArray()[:] = X0[:, 0]
        t0 = time.perf_counter()
        for _ in range(repeat * K):
            A.mult(x, y)
        mult = (time.perf_counter() - t0) / (repeat * K) * 1e3
        out[name] = {"matmat_ms": matmat, "mult_ms": mult}
    return out


def _child(args):
    kind, L, method, tol, strategy = args.child
    L, tol = int(L), float(tol)
    if kind == "iter":
        out = one_iteration(L, method, tol, strategy)
    elif kind == "solve":
        out = full_solve(L, method, tol)
    else:
        out = kernel_bandwidth()
    out["peak_rss_MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print("RESULT " + json.dumps(out))


def measure(*child):
    proc = subprocess.run([sys.executable, __file__, "--child", *map(str, child)],
                          capture_output=True, text=True)
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    raise RuntimeError(f"benchmark child {child} failed:\n{proc.stderr[-2000:]}")


def fit_exponent(Ls, seconds):
    """Exponent p of seconds ~ (L^2)^p, least squares in log-log."""
    return float(np.polyfit(np.log(np.square(Ls)), np.log(seconds), 1)[0])


def section_iterations(args, tol):
    dense_sizes = [16, 24, 32] if args.quick else [32, 48, 64]
    cheb_sizes = [32, 48, 64] if args.quick else [32, 48, 64, 96, 128, 192, 256]
    print("\n## one self-consistency iteration (both bands)")
    print(f"{'L':>5} {'method':>10} {'seconds':>9} {'peak MB':>8}  settings")
    rows = {}
    for L in dense_sizes:
        r = measure("iter", L, "dense", tol, "probing")
        rows[("dense", L)] = r
        print(f"{L:5d} {'dense':>10} {r['seconds']:9.2f} {r['peak_rss_MB']:8.0f}")
    for L in cheb_sizes:
        r = measure("iter", L, "chebyshev", tol, "probing")
        rows[("cheb", L)] = r
        s = r["settings"]
        print(f"{L:5d} {'chebyshev':>10} {r['seconds']:9.2f} {r['peak_rss_MB']:8.0f}  "
              f"M = {s['num_moments']}, d = {s['probing_distance']}")
    for L in dense_sizes:
        if ("cheb", L) in rows:
            ratio = rows[("dense", L)]["seconds"] / rows[("cheb", L)]["seconds"]
            err = np.abs(np.array(rows[("dense", L)]["F"]) - np.array(rows[("cheb", L)]["F"]))
            print(f"L = {L}: dense / chebyshev time = {ratio:.2f}; max |F_cheb - F_dense| = "
                  f"{err.max():.1e}")
    Ld = np.array(dense_sizes)
    print(f"dense exponent of time vs L^2: "
          f"{fit_exponent(Ld, [rows[('dense', L)]['seconds'] for L in Ld]):.2f}")
    big = [L for L in cheb_sizes if L >= 64]
    if len(big) >= 2:
        e = fit_exponent(np.array(big), [rows[("cheb", L)]["seconds"] for L in big])
        print(f"chebyshev exponent of time vs L^2 (L >= 64, fixed tolerance): {e:.2f}")
        m = fit_exponent(np.array(big), [rows[("cheb", L)]["peak_rss_MB"] for L in big])
        print(f"chebyshev exponent of peak memory vs L^2 (L >= 64): {m:.2f}")


def section_probing(args, tol):
    """Probing vs exact columns at a size where the automatic distance really probes."""
    Lp = 32 if args.quick else 96
    print(f"\n## probing vs exact columns at L = {Lp} (same tolerance {tol})")
    ex = measure("iter", Lp, "chebyshev", tol, "exact")
    pr = measure("iter", Lp, "chebyshev", tol, "probing")
    err = np.abs(np.array(pr["F"]) - np.array(ex["F"])).max()
    print(f"   exact: {ex['seconds']:8.2f} s ({Lp * Lp} start vectors per band)")
    print(f" probing: {pr['seconds']:8.2f} s, d = {pr['settings']['probing_distance']}, "
          f"max |F_probing - F_exact| = {err:.1e} (truncation error is common to both)")
    print(f"probing speed-up over exact columns: {ex['seconds'] / pr['seconds']:.1f}x")


def section_bandwidth(args, tol):
    print("\n## fused kernel bandwidth (L = 128, blocks of 32 vectors)")
    bw = measure("bw", 0, "-", 0, "-")
    print(f"step {bw['step_ms']:.2f} ms: {bw['kernel_GBs']:.1f} GB/s (minimum traffic) vs "
          f"STREAM-like copy {bw['copy_GBs']:.1f} GB/s = {bw['kernel_GBs'] / bw['copy_GBs']:.0%}")
    for name, r in bw["petsc"].items():
        print(f"PETSc {name:16s} MatMatMult H @ X (same block, product only): "
              f"{r['matmat_ms']:7.2f} ms = {r['matmat_ms'] / bw['step_ms']:.1f}x the fused step; "
              f"{bw['K']} MatMults: {bw['K'] * r['mult_ms']:7.2f} ms")


def section_solves(args, tol):
    print("\n## full self-consistent solves (tol 1e-4 on max|dDelta|)")
    for L in [24] if args.quick else [32]:
        r = measure("solve", L, "dense", tol, "-")
        print(f"L = {L:4d} dense:     {r['seconds']:8.1f} s, {r['iterations']} iterations, "
              f"converged {r['converged']}, peak {r['peak_rss_MB']:.0f} MB")
    sizes = [24, 32] if args.quick else [int(x) for x in args.solve_sizes.split(",")]
    for L in sizes:
        r = measure("solve", L, "chebyshev", tol, "-")
        print(f"L = {L:4d} chebyshev: {r['seconds']:8.1f} s, {r['iterations']} iterations, "
              f"converged {r['converged']}, peak {r['peak_rss_MB']:.0f} MB, "
              f"M = {r['settings']['num_moments']}, d = {r['settings']['probing_distance']}")


SECTIONS = {"iterations": section_iterations, "probing": section_probing,
            "bandwidth": section_bandwidth, "solves": section_solves}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes only")
    p.add_argument("--tolerance", type=float, default=1e-3, help="Chebyshev tolerance")
    p.add_argument("--solve-sizes", default="32,64,128,256", help="sizes of full Chebyshev solves")
    p.add_argument("--sections", default=",".join(SECTIONS),
                   help=f"comma-separated subset of {', '.join(SECTIONS)}")
    p.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return _child(args)
    print(f"# machine: {platform.node()} {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores; python {platform.python_version()}; "
          f"{time.strftime('%Y-%m-%d %H:%M')}; load average {os.getloadavg()[0]:.1f}")
    print(f"# T = {T}, paper parameters, random disorder V = 4, N_d = 0.5; "
          f"tolerance {args.tolerance}")
    for name in args.sections.split(","):
        SECTIONS[name](args, args.tolerance)


if __name__ == "__main__":
    main()
