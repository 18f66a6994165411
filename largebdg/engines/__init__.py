r"""Engines that compute one band's local averages for a given mean field.

Every engine offers ``averages(band, onsite, delta, T, accuracy=None)``
returning :class:`LocalAverages`; the self-consistency loop
(:mod:`largebdg.scf`) drives all of them the same way.

All averages follow from one matrix function of the BdG matrix,
:math:`\tau(H) = \tanh(H / 2T) = 1 - 2 f(H)` (paper Eqs. 13-14):

* :math:`F_i = \langle c_{i\uparrow} c_{i\downarrow}\rangle = \tfrac12 \tau_{i, N+i}`,
* :math:`n_i = 1 - \tau_{ii}` (both spins),
* :math:`b^{e}_i = \sum_\sigma \langle c^\dagger_{i+e,\sigma} c_{i\sigma}\rangle = -\tau_{i+e, i}`,

so only the particle columns of :math:`\tau(H)` are needed, and only their
entries at rows i, N+i, i+e_x and i+e_y.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["LocalAverages", "make_engine"]


@dataclass(frozen=True)
class LocalAverages:
    """Local averages of one band, each of shape (N,) with N = L*L.

    Attributes
    ----------
    F : anomalous average <c_i up c_i down> (paper Eq. 13).
    n : total density of both spins (paper Eq. 14).
    bond_x, bond_y : sum over spins of <c^dagger_{i+e} c_i> for e = e_x, e_y.
    """

    F: np.ndarray
    n: np.ndarray
    bond_x: np.ndarray
    bond_y: np.ndarray

    @classmethod
    def from_tau(cls, tau_ii, tau_hole, tau_x, tau_y):
        """Build from the needed entries of tanh(H/2T) (see module notes)."""
        return cls(
            F=0.5 * np.asarray(tau_hole),
            n=1.0 - np.asarray(tau_ii),
            bond_x=-np.asarray(tau_x),
            bond_y=-np.asarray(tau_y),
        )


def make_engine(model, config, comm=None):
    """Engine for ``config.solver.method`` ("dense" or "chebyshev") on ``model``."""
    if config.solver.method == "dense":
        from .dense import DenseEngine

        return DenseEngine(model)
    from .chebyshev import ChebyshevEngine

    return ChebyshevEngine(model, comm=comm, **config_kwargs(config.chebyshev))


def config_kwargs(cheb):
    """Keyword arguments of :class:`ChebyshevEngine` from a ``ChebyshevConfig``."""
    return dict(
        tolerance=cheb.tolerance,
        num_moments=cheb.num_moments or None,
        probing_distance=cheb.probing_distance or None,
        strategy=cheb.strategy,
        block_size=cheb.block_size,
        backend=cheb.kernel_backend,
        bound_safety=cheb.bound_safety,
    )
