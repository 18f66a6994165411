r"""The two-band model: parameters, disorder potentials and the BdG diagonal of each band.

Notes
-----
Per band :math:`\nu` the mean-field Hamiltonian (paper Eqs. 8, 10-12) in the
Nambu basis :math:`(c_{i\uparrow}, c^\dagger_{i\downarrow})` is the real
symmetric :math:`2L^2 \times 2L^2` matrix

.. math::

    H_\nu = \begin{pmatrix} \tilde h_\nu & \Delta_\nu \\ \Delta_\nu & -\tilde h_\nu
    \end{pmatrix}, \qquad
    \tilde h_{\nu ij} = -t_\nu \delta_{\langle ij \rangle}
    + (V_{\nu i} - g_\nu n_{\nu i}/2 - \mu_\nu)\,\delta_{ij},

with nearest-neighbour hopping matrix element :math:`-t_\nu`, the disorder
potential counted once, the Hartree shift :math:`-g_\nu n_{\nu i}/2` of the
total density, and :math:`\Delta_\nu = \mathrm{diag}(\Delta_{\nu i})` real
(docs/model.md, Conventions).  The diagonal of the particle block is called ``onsite``
in the code: ``onsite = V - g n / 2 - mu`` (:meth:`TwoBandModel.onsite`).
"""

from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..errors import ParameterError
from .lattice import lattice_size

__all__ = ["TwoBandModel", "PAPER_PARAMETERS", "check_parameters"]

PAPER_PARAMETERS = {"t": (1.0, 1.0), "g": (2.0, 1.0), "g12": 0.25, "filling": (0.5, 0.8)}
"""The paper's model parameters (Neverov et al. 2025), the default of every model entry point."""



def check_parameters(t, g, g12, filling, prefix=""):
    """The validated model parameters ``(t, g, g12, filling)``: hoppings > 0, couplings
    g >= 0 per band, any real g12, fillings in (0, 2) per band (a scalar applies to both
    bands); errors name ``prefix + name`` (e.g. ``"model.t"``)."""
    return (v.pair(prefix + "t", t, 0.0, low_open=True), v.pair(prefix + "g", g, 0.0),
            v.real(prefix + "g12", g12),
            v.pair(prefix + "filling", filling, 0.0, 2.0, low_open=True, high_open=True))

@dataclass(frozen=True)
class TwoBandModel:
    """Parameters of the disordered two-band model on an L x L lattice.

    Parameters
    ----------
    L : int
        Linear lattice size (>= :data:`~largebdg.model.lattice.MIN_L` = 3).
    t, g : tuple of float
        Hopping and intra-band coupling of band 1 and band 2.
    g12 : float
        Inter-band pair-transfer coupling, paper Eq. (4).
    filling : tuple of float
        Target filling of each band (lattice average of n_nu i, both spins).
    potential : ndarray, shape (2, L, L)
        Disorder potential V_nu i of each band, indexed ``[band, y, x]``.
    common_mu : bool
        One chemical potential for both bands holding ``sum(filling)``, with the
        clean-limit band offsets (:func:`largebdg.model.clean.clean_chemical_potentials`).
    """

    L: int
    t: tuple = PAPER_PARAMETERS["t"]
    g: tuple = PAPER_PARAMETERS["g"]
    g12: float = PAPER_PARAMETERS["g12"]
    filling: tuple = PAPER_PARAMETERS["filling"]
    potential: np.ndarray = None
    common_mu: bool = False

    def __post_init__(self):
        lattice_size(self.L)
        pot = self.potential
        if pot is None:
            pot = np.zeros((2, self.L, self.L))
        pot = np.asarray(pot, dtype=float)
        if pot.shape != (2, self.L, self.L):
            raise ParameterError(
                f"'potential' must have shape (2, {self.L}, {self.L}), got {pot.shape}"
            )
        if not np.all(np.isfinite(pot)):
            raise ParameterError("'potential' must be finite (no NaN or inf)")
        object.__setattr__(self, "potential", pot)

    @property
    def n_sites(self):
        """Number of lattice sites L*L."""
        return self.L * self.L

    def gaps(self, F):
        r"""Gap equations (paper Eqs. 9a-b): :math:`\Delta_1 = g_1 F_1 + g_{12} F_2`,
        :math:`\Delta_2 = g_2 F_2 + g_{12} F_1`, for anomalous averages ``F`` of shape (2, N)."""
        F = np.asarray(F)
        g1, g2 = self.g
        return np.array([g1 * F[0] + self.g12 * F[1], g2 * F[1] + self.g12 * F[0]])

    def onsite(self, band, density, mu):
        r"""Particle-block diagonal :math:`V_{\nu i} - g_\nu n_{\nu i}/2 - \mu_\nu` of one band.

        Parameters
        ----------
        band : {0, 1}
            Band index (0 is band 1).
        density : ndarray, shape (L*L,) or (L, L)
            Total density :math:`n_{\nu i}` of the band.
        mu : float
            Chemical potential :math:`\mu_\nu`.

        Returns
        -------
        ndarray, shape (L*L,)
            Site i = x + L*y (paper Eqs. 11-12, disorder counted once, Hartree shift).
        """
        return (self.potential[band].ravel() - self.g[band] * np.ravel(density) / 2
                - mu)
