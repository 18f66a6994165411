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
from ..model.lattice import neighbour_table
from ..operators.stencil import BdGStencil
from .kernels import KERNELS
from .recursion import chebyshev_vectors
from .vectors import unit_block

__all__ = ["local_moments", "local_dos"]


def local_moments(stencil, sites, num_moments):
    """mu_m = <i|T_m(H/a)|i> for the particle row of each site (two moments per product).

    Uses T_{2m} = 2 T_m^2 - 1 and T_{2m+1} = 2 T_{m+1} T_m - T_1, so M moments
    need M/2 products of :func:`~largebdg.kpm.recursion.chebyshev_vectors` on
    unit start vectors (Weisse et al., Eqs. 34-35).
    """
    M = v.positive_int("num_moments", num_moments, minimum=2)
    sites = np.asarray(sites, dtype=np.int64)
    cols = np.arange(sites.size)
    mu = np.zeros((M, sites.size))
    mu[0] = 1.0
    previous = None
    vectors = chebyshev_vectors(stencil, unit_block(2 * stencil.n_sites, sites), M // 2 + 1)
    for m, X in enumerate(vectors):
        if m == 1:
            mu[1] = X[sites, cols]
        if m >= 1 and 2 * m < M:
            mu[2 * m] = 2 * np.einsum("ij,ij->j", X, X) - mu[0]
        if m >= 2 and 2 * m - 1 < M:
            mu[2 * m - 1] = 2 * np.einsum("ij,ij->j", X, previous) - mu[1]
        previous = X
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
        Half-width of the spectral window, at least the spectral radius
        (:func:`largebdg.operators.window.band_window`).
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
    stencil = BdGStencil(neighbour_table(L), t, onsite, delta, scale)
    sites = np.asarray(sites, dtype=np.int64)
    mu = local_moments(stencil, sites, num_moments) * KERNELS[kernel](num_moments)[:, None]
    x = energies / scale
    Tm = np.cos(np.arange(num_moments)[:, None] * np.arccos(x)[None, :])
    series = mu[0][None, :] + 2 * Tm[1:].T @ mu[1:]
    return series / (np.pi * scale * np.sqrt(1 - x**2))[:, None]
