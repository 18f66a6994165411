r"""Cheap large-scale *approximation* of the superfluid stiffness: a network of bond stiffnesses.

This is not the Kubo stiffness of :mod:`largebdg.observables.stiffness`; it
is a model built from local quantities of a converged solution, solved
exactly as a resistor network with PyAMG.  Use it for a quick look at large
lattices (cost ~ one AMG solve on N sites) and check it against the Kubo
value where one is available (numbers in ``docs/stiffness.md``).

Notes
-----
**Local bond stiffness.**  For the bond from site i to i + e,

.. math::

    g^e_i = 2t\, b^e_i \,\big[1 - Y(\bar\Delta^e_i / 2T)\big], \qquad
    \bar\Delta^e_i = \tfrac12 (|\Delta_i| + |\Delta_{i+e}|),

with :math:`b^e_i = \sum_\sigma \langle c^\dagger_{i+e,\sigma} c_{i\sigma}\rangle`
the bond average (so :math:`2t b^e_i` is the bond's diamagnetic term, paper
Eq. 33, and :math:`(1/N)\sum_i 2t b^x_i = \langle -k_x \rangle`) and the
Yosida function

.. math::

    Y(u) = \int_0^\infty \frac{ds}{\cosh^2 \sqrt{s^2 + u^2}}, \qquad Y(0) = 1,

the paramagnetic fraction :math:`\Lambda/\langle -k_x\rangle` of a clean BCS
superconductor with gap :math:`\Delta = 2Tu` (continuum, quadratic band).  So a
bond is as stiff as its kinetic energy where the local gap is large compared
with T, and carries no supercurrent where the gap vanishes.  This local
density approximation ignores the non-local paramagnetic response of
disorder scattering (the reason why D_s of a dirty BCS superconductor is
below :math:`\langle -k_x\rangle` even at T = 0) and lattice corrections to Y; it
is exact for a network of clean BCS bonds in the continuum limit only.

**Network.**  Under a uniform phase twist A per x bond the phases
:math:`\theta_i` relax to minimise
:math:`E = \tfrac12 \sum_i g^x_i (\theta_{i+x} - \theta_i - A)^2 + \tfrac12 \sum_i
g^y_i (\theta_{i+y} - \theta_i)^2` (periodic boundaries).  With the weighted
graph Laplacian :math:`\mathcal L` and :math:`s_k = g^x_{k-x} - g^x_k`, the
minimum satisfies :math:`\mathcal L \theta = A s`, and

.. math::

    D_{\rm net} = \frac{1}{N} \frac{\partial^2 E_{\min}}{\partial A^2}
    = \frac{1}{N}\Big(\sum_i g^x_i - s^T \mathcal L^{+} s\Big),

the analogue of :math:`\langle -k_x\rangle - \Lambda`: the first term is the mean
bond stiffness, the second the phase relaxation.  Uniform conductances give
:math:`D_{\rm net} = g`; conductances varying only along x give their harmonic
mean; a cut of zero-conductance bonds across the sample gives 0.
:math:`\mathcal L` is singular (constants, and every isolated cluster), but
:math:`s` sums to zero on every connected cluster, so the system is
consistent; one site per cluster is grounded (this shifts the solution by a
constant per cluster only, which leaves :math:`s^T\theta` unchanged), and the
SPD system is solved by smoothed-aggregation AMG as a preconditioner of
conjugate gradients.
"""

import functools

import numpy as np
import scipy.sparse as sp
import scipy.sparse.csgraph  # noqa: F401 - sp.csgraph

from .. import _validate as v
from ..errors import AccuracyWarning, ParameterError
from ..model.lattice import hopping_pattern, lattice_size, neighbour_index
from .current import site_array

__all__ = ["yosida", "bond_conductances", "network_stiffness"]


@functools.lru_cache(maxsize=1)
def _yosida_table():
    u = np.linspace(0.0, 40.0, 4001)
    s, w = np.polynomial.legendre.leggauss(400)
    s = 20.0 * (s + 1.0)  # [0, 40]
    w = 20.0 * w
    e = np.sqrt(s[None, :] ** 2 + u[:, None] ** 2)
    return u, (w[None, :] / np.cosh(np.minimum(e, 350.0)) ** 2).sum(axis=1)


def yosida(u):
    r"""Yosida function :math:`Y(u) = \int_0^\infty ds\, \cosh^{-2}\sqrt{s^2 + u^2}`, u = Δ/2T.

    Equals :math:`\int d\xi\, (-\partial f/\partial E)` with :math:`E = \sqrt{\xi^2 + \Delta^2}`:
    1 at u = 0, about :math:`\sqrt{2\pi u}\, e^{-2u}` for large u.  Tabulated
    (4001 points on [0, 40], 400-point Gauss-Legendre), linear interpolation.
    """
    grid, table = _yosida_table()
    u = np.abs(np.asarray(u, dtype=float))
    return np.interp(u, grid, table, right=0.0)


def bond_conductances(L, t, bond, delta, T, direction):
    r"""Local bond stiffnesses :math:`g^e_i = 2 t b^e_i [1 - Y(\bar\Delta^e_i/2T)]`, clipped at 0.

    Parameters
    ----------
    L : int
    t : float
    bond : array_like, shape (L*L,)
        :math:`b^e_i` along ``direction``.
    delta : array_like, shape (L*L,)
    T : float
        Temperature (>= 0; at T = 0 the factor is 1 wherever Δ ≠ 0).
    direction : {"x", "y"}

    Returns
    -------
    ndarray, shape (L*L,)
    """
    nb = neighbour_index(L, direction)
    gap = 0.5 * (np.abs(delta) + np.abs(delta[nb]))
    if T == 0:
        factor = (gap > 0).astype(float)
    else:
        factor = 1.0 - yosida(gap / (2.0 * T))
    return np.clip(2.0 * t * bond * factor, 0.0, None)


def network_stiffness(L, t, bond_x, bond_y, delta, T, *, direction="x", tol=1e-10,
                      conductances=None):
    r"""Effective stiffness per site of the network of local bond stiffnesses (an approximation).

    Parameters
    ----------
    L : int
        Linear lattice size (>= :data:`~largebdg.model.lattice.MIN_L` = 3).
    t : float
        Hopping of the band.
    bond_x, bond_y : array_like, shape (L*L,)
        Bond averages of the band (``Result.bond_x[band].ravel()``, ...).
    delta : array_like, shape (L*L,)
        Gap of the band.
    T : float
        Temperature (>= 0).
    direction : {"x", "y"}
        Direction of the twist.
    tol : float
        Relative residual of the AMG-preconditioned CG solve.
    conductances : tuple of two arrays, optional
        ``(g_x, g_y)`` to use instead of :func:`bond_conductances` (then
        ``bond_x``, ``bond_y``, ``delta`` and ``T`` are ignored).

    Returns
    -------
    stiffness : float
        :math:`D_{\rm net}` (see the module notes), per site, comparable with
        the SWZ :math:`D_s` of :func:`~largebdg.observables.stiffness.exact_stiffness`.
    info : dict
        ``mean_bond`` (the unrelaxed mean :math:`\sum_i g^e_i / N`),
        ``relaxation`` (:math:`s^T \mathcal L^+ s / N`), ``iterations``,
        ``residual``, ``seconds``.
    """
    import time

    import pyamg

    L = lattice_size(L)
    t = v.real("t", t)
    v.choice("direction", direction, ("x", "y"))
    tol = v.real("tol", tol, 0.0, 1.0, low_open=True, high_open=True)
    t0 = time.perf_counter()
    N = L * L
    if conductances is None:
        bond_x = site_array("bond_x", bond_x, L)
        bond_y = site_array("bond_y", bond_y, L)
        delta = site_array("delta", delta, L)
        T = v.real("T", T, 0.0)
        gx = bond_conductances(L, t, bond_x, delta, T, "x")
        gy = bond_conductances(L, t, bond_y, delta, T, "y")
    else:
        if len(conductances) != 2:
            raise ParameterError("'conductances' must be a pair (g_x, g_y)")
        gx, gy = (site_array(f"conductances[{k}]", g, L) for k, g in enumerate(conductances))
        if np.any(gx < 0) or np.any(gy < 0):
            raise ParameterError("'conductances' must be non-negative")
    nx, ny = neighbour_index(L, "x"), neighbour_index(L, "y")
    g_par, nb_par = (gx, nx) if direction == "x" else (gy, ny)
    rows, cols = hopping_pattern(L)  # x bonds both ways, then y bonds
    w = np.concatenate([gx, gx, gy, gy])
    W = sp.csr_matrix((w, (rows, cols)), shape=(N, N))
    W.eliminate_zeros()  # a zero-conductance bond does not connect its sites
    lap = (sp.diags(np.asarray(W.sum(axis=1)).ravel()) - W).tocsr()
    # s_k = g_{k-e} - g_k (bond k-e -> k enters k, bond k -> k+e leaves it)
    s = np.zeros(N)
    np.add.at(s, nb_par, g_par)
    s -= g_par
    mean_bond = float(g_par.sum()) / N
    scale = float(np.abs(s).max())
    if scale == 0.0:
        return mean_bond, {"mean_bond": mean_bond, "relaxation": 0.0, "iterations": 0,
                           "residual": 0.0, "seconds": time.perf_counter() - t0}
    # ground one site of every connected cluster (theta = 0 there): the grounded Laplacian is
    # SPD, and since s sums to zero on each cluster its solution differs from a solution of
    # the singular system by a constant per cluster, which leaves s^T theta unchanged
    n_comp, label = sp.csgraph.connected_components(W, directed=False)
    first = np.unique(label, return_index=True)[1]
    degree = lap.diagonal()
    ground = np.zeros(N)
    ground[first] = np.where(degree[first] > 0, degree[first], 1.0)
    lap = (lap + sp.diags(ground)).tocsr()
    ml = pyamg.smoothed_aggregation_solver(lap, B=np.ones((N, 1)), symmetry="hermitian")
    residuals = []
    theta = ml.solve(s, tol=tol, accel="cg", maxiter=500, residuals=residuals)
    residual = float(np.linalg.norm(s - lap @ theta) / np.linalg.norm(s))
    if residual > 100 * tol:
        import warnings

        warnings.warn(f"network solve reached a relative residual of {residual:.1e} only",
                      AccuracyWarning, stacklevel=2)
    relaxation = float(s @ theta) / N
    return mean_bond - relaxation, {
        "mean_bond": mean_bond, "relaxation": relaxation, "iterations": len(residuals) - 1,
        "residual": residual, "clusters": int(n_comp), "seconds": time.perf_counter() - t0,
    }
