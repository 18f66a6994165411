"""The slow modes of the self-consistency map at a converged result (Arnoldi on its Jacobian).

The final accuracy level of a solve converges at the rate of the map's leading Jacobian
eigenvalues (Anderson mixing helps little when many eigenvalues are close to 1).  This script
rebuilds the result's model and engine, evaluates the map :math:`G`
(:class:`largebdg.scf.MeanFieldMap`) at the final accuracy, and runs ``K`` Arnoldi steps on
the finite-difference Jacobian :math:`J v \\approx (G(x^* + h v) - G(x^*)) / h`, one map
evaluation each.  It prints the largest Ritz values after every step and, for the leading
Ritz vectors, the weight of each part of the mean field (band-1 gaps, band-2 gaps, band-1
densities, band-2 densities, chemical potentials) and the share of the band-1 parts on the
sites without impurity potential::

    python benchmarks/scf_jacobian.py RESULT.h5 [--steps K] [--threads N]

First it checks that the Jacobian is linear at the step used (``|Jv|`` at three step sizes).
"""

import argparse
import time

import numpy as np


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("result")
    p.add_argument("--steps", type=int, default=20)
    p.add_argument("--threads", type=int, default=1)
    args = p.parse_args()

    from largebdg import load_result
    from largebdg.engines import make_engine
    from largebdg.scf import MeanFieldMap
    from largebdg.workflows.run import build_model

    res = load_result(args.result)
    config = res.config
    model, _ = build_model(config)
    options = config.engine_options()
    if config.solver.method == "chebyshev":
        options["threads"] = args.threads
    engine = make_engine(config.solver.method, model, **options)
    accuracy = engine.accuracy_schedule(0.0, engine.accuracy_schedule(np.inf, None))
    G = MeanFieldMap(model, engine, res.T)
    x0 = G.pack(res.state())
    N = model.n_sites

    def g(x):
        return G.pack(G(x, accuracy)[2])

    g0 = g(x0)  # the first call makes the engine's plans at the final accuracy
    print(f"L = {model.L}, T = {res.T}, residual max|G(x*) - x*| = {np.abs(g0 - x0).max():.2e}")
    rng = np.random.default_rng(0)
    v = rng.standard_normal(x0.size)
    v /= np.linalg.norm(v)
    scale = 1e-2 * np.linalg.norm(x0) / np.sqrt(x0.size)
    for eps in (1e-1, 1e-2, 1e-3):
        h = eps * scale * np.sqrt(x0.size)
        print(f"step {h:.1e}: |Jv| = {np.linalg.norm((g(x0 + h * v) - g0) / h):.6f}")
    h = 1e-2 * scale * np.sqrt(x0.size)
    K = args.steps
    Q = np.zeros((x0.size, K + 1))
    H = np.zeros((K + 1, K))
    Q[:, 0] = v
    for j in range(K):
        t0 = time.perf_counter()
        u = (g(x0 + h * Q[:, j]) - g0) / h
        for i in range(j + 1):  # modified Gram-Schmidt
            H[i, j] = Q[:, i] @ u
            u -= H[i, j] * Q[:, i]
        H[j + 1, j] = np.linalg.norm(u)
        Q[:, j + 1] = u / H[j + 1, j]
        ritz = np.linalg.eigvals(H[:j + 1, :j + 1])
        ritz = ritz[np.argsort(-np.abs(ritz))][:8]
        print(f"{j + 1:3d} {time.perf_counter() - t0:5.1f} s  "
              + " ".join(f"{z.real:.3f}" + (f"{z.imag:+.3f}j" if abs(z.imag) > 1e-6 else "")
                         for z in ritz), flush=True)
    ritz, W = np.linalg.eig(H[:K, :K])
    clean = np.ravel(model.potential[0]) == 0
    print("leading Ritz vectors: eigenvalue; weight on gap 1, gap 2, density 1, density 2, mu; "
          "share of the band-1 weight on sites without impurity")
    for i in np.argsort(-np.abs(ritz))[:6]:
        y = (Q[:, :K] @ W[:, i]).real
        y /= np.linalg.norm(y)
        parts = [y[:N], y[N:2 * N], y[2 * N:3 * N], y[3 * N:4 * N], y[4 * N:]]
        band1 = y[:N] ** 2 + y[2 * N:3 * N] ** 2
        print(f"{ritz[i].real:.3f}  " + " ".join(f"{np.sum(q ** 2):.2f}" for q in parts)
              + f"  {band1[clean].sum() / band1.sum():.3f}")


if __name__ == "__main__":
    main()
