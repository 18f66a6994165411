r"""The engine interface: what computes one band's local averages for a given mean field.

Every engine satisfies the :class:`Engine` protocol: ``averages(band, onsite,
delta, T, accuracy=None)`` returns :class:`LocalAverages`, ``settings()`` what
it used, ``accuracy_schedule(residual, current)`` the accuracy it is asked
for next (``None`` for exact engines), ``error_estimate`` its measured error at
convergence and ``tighten`` a refinement when that is too large; the self-consistency loop
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
from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Engine", "LocalAverages"]


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


@runtime_checkable
class Engine(Protocol):
    """What the self-consistency loop needs of an engine.

    An engine is built as ``Engine(model, *, comm=None, **options)`` for a
    :class:`~largebdg.model.TwoBandModel` and registered by name in
    :data:`largebdg.engines.ENGINES`.
    """

    name: str

    def averages(self, band, onsite, delta, T, accuracy=None):
        """:class:`LocalAverages` of ``band`` for the particle diagonal ``onsite`` and gap."""

    def settings(self):
        """JSON-ready record of the settings actually used (stored with results)."""

    def accuracy_schedule(self, residual, current=None):
        """Accuracy for the next iteration given max|delta Delta|; ``None`` if always exact."""

    def level_cost(self, accuracy):
        """Relative work of one evaluation at ``accuracy`` (compared between the accuracy
        levels by the loop's defect correction); None if unknown."""

    def error_estimate(self, band, onsite, delta, T):
        """Return the ``estimate`` of the averages' error and its ``tolerance``; None if exact."""

    def tighten(self, band):
        """Refine the settings of ``band`` after a failed estimate; False if it cannot."""

    def get_state(self):
        """JSON-ready dict of whatever, besides the mean field, fixes the next iteration's map
        (e.g. kept expansion plans); written into solve checkpoints."""

    def set_state(self, state):
        """Restore a dict returned by :meth:`get_state` (resuming from a checkpoint)."""

    def inherit(self, settings):
        """Take over what an earlier solve learned from its ``settings()`` (a warm start of a
        sweep); must not change results beyond the engine's tolerance."""

    @staticmethod
    def memory_estimate(L, **options):
        """Rough peak memory in bytes of the engine for an L x L lattice with ``options``
        (checked against the machine's available memory before a solve starts)."""
