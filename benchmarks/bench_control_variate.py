"""Probing the weak band with the homogeneous band's tail subtracted: the realised error.

At low temperature the clean weak band's entries of tanh(H/2T) decay over tens of sites, so
probing with distance d < L/2 misses the tolerance (docs/performance.md, T = 0.025).  Much of
what a colour class picks up from its other sites is the tail of the *homogeneous* band, which
is known exactly: for uniform onsite energy e and gap Delta the same Chebyshev series acts on
the 2 x 2 Nambu blocks H_k = [[xi_k, Delta], [Delta, -xi_k]] (xi_k = -2t(cos kx + cos ky) + e),
and an inverse FFT gives its entries at every offset.  Subtracting, for every site, the
homogeneous entries between the site and the other sites of its colour class (a control
variate) leaves only the inhomogeneous remainder as probing error.  This script measures that
remainder against exact columns; nothing in the engine uses it yet.

For the weak band (band 2) of a disordered mean field (``bench_probing.disordered_field``) and each probing distance d it prints
the realised largest error of the probed entries (tau units) without and with the subtraction
(reference mean field: the band's mean onsite energy and mean gap).  First it checks the
k-space entries against exact columns on a uniform field (L = 12).

    python benchmarks/bench_control_variate.py 128 0.025 --distances 32,42,64
"""

import argparse
import sys
from pathlib import Path

import numpy as np
from numpy.polynomial import chebyshev

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _helpers import paper_config  # noqa: E402

from largebdg.engines import ChebyshevEngine  # noqa: E402
from largebdg.kpm.coefficients import tanh_coefficients  # noqa: E402
from largebdg.kpm.probing import colouring  # noqa: E402
from largebdg.model.lattice import neighbour_index  # noqa: E402
from largebdg.workflows.run import build_model  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_probing import disordered_field, tau  # noqa: E402

BAND = 1  # the weak band (band 2)


def homogeneous_entries(L, t, e, delta, scale, coeffs):
    """Particle-particle and hole-particle entries of sum_m c_m T_m(H/scale), shape (L, L).

    Indexed [dy, dx] by the offset between row and column site (periodic; both are even).
    """
    k = 2 * np.pi * np.arange(L) / L
    xi = -2 * t * (np.cos(k)[None, :] + np.cos(k)[:, None]) + e
    E = np.sqrt(xi ** 2 + delta ** 2)
    up, down = chebyshev.chebval(E / scale, coeffs), chebyshev.chebval(-E / scale, coeffs)
    even, odd = (up + down) / 2, (up - down) / 2
    pp = np.fft.ifft2(even + odd * xi / E).real
    hp = np.fft.ifft2(odd * delta / E).real
    return pp, hp


def tail_of_classes(L, labels, pp, hp):
    """Per site, the homogeneous entries the probe of its class adds: shape (4, N) like tau."""
    N = L * L
    x, y = np.arange(N) % L, np.arange(N) // L
    rows = [np.arange(N), np.arange(N), neighbour_index(L, "x"), neighbour_index(L, "y")]
    tables = [pp, hp, pp, pp]
    order = np.argsort(labels, kind="stable")
    bounds = np.cumsum(np.bincount(labels))[:-1]
    out = np.zeros((4, N))
    for members in np.split(order, bounds):
        i, j = np.meshgrid(members, members, indexing="ij")
        i, j = i[i != j], j[i != j]
        for a in range(4):
            p = rows[a][i]
            np.add.at(out[a], i, tables[a][(y[p] - y[j]) % L, (x[p] - x[j]) % L])
    return out


def check_uniform(T):
    """k-space entries against exact columns on a uniform field (prints the difference)."""
    model, _ = build_model(paper_config(12, T=T, method="chebyshev",
                                        band1={"kind": "none"}))
    onsite, delta = np.full(model.n_sites, -0.3), np.full(model.n_sites, 0.08)
    unit = ChebyshevEngine(model, tolerance=1e-3, start_vectors="unit")
    exact = tau(unit.averages(BAND, onsite, delta, T))
    plan = unit.last[BAND]
    pp, hp = homogeneous_entries(12, model.t[BAND], -0.3, 0.08, plan.scale,
                                 tanh_coefficients(T, plan.scale, plan.num_moments))
    k_space = np.array([pp[0, 0], hp[0, 0], pp[0, 1], pp[1, 0]])[:, None]
    print(f"# check, uniform field L = 12: max |exact columns - k-space| = "
          f"{np.abs(exact - k_space).max():.1e}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("L", type=int)
    parser.add_argument("T", type=float)
    parser.add_argument("--seed", type=int, default=1, help="disorder seed of band 1")
    parser.add_argument("--distances", default="32,42,64")
    args = parser.parse_args()
    L, T = args.L, args.T
    check_uniform(T)
    model, s = disordered_field(L, T, "random", args.seed)
    onsite, delta = model.onsite(BAND, s.density[BAND], s.mu[BAND]), s.delta[BAND]
    unit = ChebyshevEngine(model, tolerance=1e-3, start_vectors="unit")
    exact = tau(unit.averages(BAND, onsite, delta, T))
    plan = unit.last[BAND]
    pp, hp = homogeneous_entries(L, model.t[BAND], onsite.mean(), delta.mean(), plan.scale,
                                 tanh_coefficients(T, plan.scale, plan.num_moments))
    print(f"# L = {L}, T = {T}, band 2, random disorder in band 1 (seed {args.seed}); "
          f"M = {plan.num_moments}; gap {delta.min():.4f}-{delta.max():.4f} "
          f"(mean {delta.mean():.4f}); errors in tau units")
    print("# d  classes  realised(plain)  realised(tail subtracted)  plain/subtracted")
    for d in [int(x) for x in args.distances.split(",") if int(x) < L]:
        engine = ChebyshevEngine(model, tolerance=1e-3, probing_distance=d)
        probed = tau(engine.averages(BAND, onsite, delta, T))
        used = engine.last[BAND]
        assert (used.scale, used.num_moments) == (plan.scale, plan.num_moments)
        labels = colouring(L, d)
        plain = np.abs(probed - exact).max()
        subtracted = np.abs(probed - tail_of_classes(L, labels, pp, hp) - exact).max()
        print(f"{d:3d}  {labels.max() + 1:6d}  {plain:.2e}  {subtracted:.2e}  "
              f"{plain / subtracted:.1f}", flush=True)


if __name__ == "__main__":
    main()
