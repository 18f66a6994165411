"""Exact local averages by full diagonalisation (the reference engine).

Cost O(L^6) time and O(L^4) memory per band: practical up to L ~ 48-64.
"""

import scipy.linalg

from ..model.lattice import neighbour_index
from ..model.thermal import thermal_factor
from ..operators.pattern import BdGPattern
from .base import LocalAverages

__all__ = ["DenseEngine"]


class DenseEngine:
    """Local averages from the eigenpairs of the dense BdG matrix (paper Eqs. 10-14).

    Parameters
    ----------
    model : TwoBandModel
    comm : ignored
        Every rank diagonalises on its own (the result is the same everywhere).
    """

    name = "dense"

    def __init__(self, model, *, comm=None):
        self.model = model
        self.pattern = BdGPattern(model.L)
        self._nx = neighbour_index(model.L, "x")
        self._ny = neighbour_index(model.L, "y")

    @staticmethod
    def memory_estimate(L, **options):
        """Rough peak memory in bytes of one engine for an L x L lattice.

        The 2 L² x 2 L² BdG matrix, its eigenvectors and LAPACK's ``evr`` work space come to
        about three dense matrices of 8-byte numbers.
        """
        rows = 2 * L * L
        return 3 * 8 * rows**2

    def settings(self):
        """Solver settings recorded with results."""
        return {"method": "dense", "lapack_driver": "evr"}

    def accuracy_schedule(self, residual, current=None):
        """Always ``None``: the averages are exact."""
        return None

    def level_cost(self, accuracy):
        """None: one level only."""
        return None

    def error_estimate(self, band, onsite, delta, T):
        """None: exact up to rounding."""
        return None

    def tighten(self, band):
        """False: nothing to refine."""
        return False

    def get_state(self):
        """Nothing to remember between iterations (for a checkpoint)."""
        return {}

    def inherit(self, settings):
        """Nothing to take over from an earlier solve."""

    def set_state(self, state):
        """Restore :meth:`get_state` (nothing to restore)."""

    def eigensystem(self, band, onsite, delta):
        """Eigenvalues (ascending) and eigenvectors of the band's BdG matrix."""
        H = self.pattern.matrix(self.model.t[band], onsite, delta).toarray()
        return scipy.linalg.eigh(H, driver="evr", overwrite_a=True, check_finite=False)

    def averages(self, band, onsite, delta, T, accuracy=None):
        """Exact :class:`LocalAverages`; ``accuracy`` is ignored."""
        E, W = self.eigensystem(band, onsite, delta)
        N = self.model.n_sites
        tau = thermal_factor(E, T)
        Wp = W[:N]
        return LocalAverages.from_tau(
            tau_ii=(Wp * Wp) @ tau,
            tau_hole=(Wp * W[N:]) @ tau,
            tau_x=(Wp[self._nx] * Wp) @ tau,
            tau_y=(Wp[self._ny] * Wp) @ tau,
        )
