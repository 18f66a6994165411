r"""Local density of states from Chebyshev moments with a damping kernel.

The particle-sector local density of states of site i,
:math:`\rho_i(E) = \sum_n |u_n(i)|^2 \delta(E - E_n)` over the full BdG
spectrum, is expanded as (Weisse et al., RMP 78, 275, Eqs. 71-73)

.. math::

    \rho_i(a x) = \frac{1}{a \pi \sqrt{1 - x^2}}
    \Big[g_0 \mu_0 + 2 \sum_{m \ge 1} g_m \mu_m T_m(x)\Big],
    \qquad \mu_m = \langle i | T_m(H/a) | i \rangle,

with the Jackson kernel :math:`g_m` by default: a positive, normalised
estimate with resolution about :math:`\pi a / M`.
"""

import numpy as np

from .. import _validate as v
from ..errors import ParameterError
from ..lattice import neighbour_index
from .coefficients import KERNELS
from .recursion import BdGStencil

__all__ = ["local_moments", "local_dos"]


def local_moments(stencil, sites, num_moments):
    """mu_m = <i|T_m(H/a)|i> for the particle row of each site (two moments per product).

    Uses T_{2m} = 2 T_m^2 - 1 and T_{2m+1} = 2 T_{m+1} T_m - T_1, so M moments
    need M/2 products (Weisse et al., Eqs. 34-35).
    """
    M = v.positive_int("num_moments", num_moments, minimum=2)
    N2 = 2 * stencil.n_sites
    X0 = np.zeros((N2, len(sites)))
    X0[sites, np.arange(len(sites))] = 1.0
    mu = np.zeros((M, len(sites)))
    prev, cur = X0, stencil.matmat(X0)
    mu[0] = 1.0
    mu[1] = cur[sites, np.arange(len(sites))]
    for m in range(1, (M + 1) // 2):
        a, b = 2 * m, 2 * m + 1
        if a < M:
            mu[a] = 2 * np.einsum("ij,ij->j", cur, cur) - mu[0]
        if b < M:
            nxt = 2 * stencil.matmat(cur) - prev
            mu[b] = 2 * np.einsum("ij,ij->j", nxt, cur) - mu[1]
            prev, cur = cur, nxt
    return mu


def local_dos(L, t, onsite, delta, sites, energies, *, scale, num_moments=512,
              kernel="jackson"):
    """Particle-sector local DOS rho_i(E) of one band at ``sites``.

    Parameters
    ----------
    L : int
    t : float
    onsite, delta : ndarray, shape (L*L,)
        Particle-block diagonal V - g n/2 - mu and gap of the band.
    sites : sequence of int
    energies : ndarray
        Energies inside (-scale, scale).
    scale : float
        Half-width of the spectral window (at least the spectral radius, e.g.
        ``PetscBdGOperator.spectral_bound()`` times 1.03).
    num_moments : int
    kernel : {"jackson", "lorentz", "none"}

    Returns
    -------
    ndarray, shape (len(energies), len(sites))
    """
    v.choice("kernel", kernel, tuple(KERNELS))
    scale = v.real("scale", scale, 0.0, low_open=True)
    energies = np.asarray(energies, dtype=float)
    if np.any(np.abs(energies) >= scale):
        raise ParameterError("'energies' must lie inside (-scale, scale)")
    nx, ny = neighbour_index(L, "x"), neighbour_index(L, "y")
    nbr = np.stack([nx, np.argsort(nx), ny, np.argsort(ny)], axis=1)
    stencil = BdGStencil(nbr, t, onsite, delta, scale)
    sites = np.asarray(sites, dtype=np.int64)
    mu = local_moments(stencil, sites, num_moments) * KERNELS[kernel](num_moments)[:, None]
    x = energies / scale
    Tm = np.cos(np.arange(num_moments)[:, None] * np.arccos(x)[None, :])
    series = mu[0][None, :] + 2 * Tm[1:].T @ mu[1:]
    return series / (np.pi * scale * np.sqrt(1 - x**2))[:, None]
