r"""Chemical-potential updates of the self-consistency loop (paper Eqs. 12, 14).

Per band (default) each :math:`\mu_\nu` takes a Newton step towards its
filling, :math:`\mu \to \mu + (\bar n_\nu - n_\nu)(1/\kappa_\nu + g_\nu/2)`, with the
compressibility :math:`\kappa_\nu` of the clean band
(:func:`largebdg.model.clean.band_compressibility`) and the Hartree feedback
:math:`g_\nu/2`.  With ``common_mu`` the bands share one chemical potential,
:math:`\mu_\nu = \mu + \delta_\nu`, with the clean-limit band offsets
:math:`\delta_\nu` (:func:`largebdg.model.clean.clean_chemical_potentials`),
and one shift holds the total filling.
"""

import numpy as np

from ..model.clean import (
    band_compressibility,
    clean_chemical_potentials,
    reference_fermi_level,
    reference_temperature,
)

__all__ = ["ChemicalPotentialUpdate"]


class ChemicalPotentialUpdate:
    """The chemical-potential part of one self-consistency map for ``model`` at ``T``.

    Parameters
    ----------
    model : TwoBandModel
    T : float
    """

    def __init__(self, model, T):
        self.common = model.common_mu
        self.filling = np.asarray(model.filling, dtype=float)
        kappa = np.array([
            band_compressibility(reference_temperature(T),
                                 reference_fermi_level(T, self.filling[b], t=model.t[b]),
                                 t=model.t[b])
            for b in range(2)
        ])
        self.newton = 1.0 / kappa + np.asarray(model.g) / 2
        self.offset = clean_chemical_potentials(model, T) if self.common else None

    def project(self, mu):
        """Input chemical potentials of the map: with ``common_mu`` onto the clean band offsets."""
        if self.common:
            return self.offset + (mu - self.offset).mean()
        return mu

    def update(self, mu, mean_density):
        """Output chemical potentials from the realised band fillings ``mean_density`` (2,)."""
        if self.common:
            shift = (self.filling.sum() - mean_density.sum()) / (1.0 / self.newton).sum()
            return mu + shift
        return mu + (self.filling - mean_density) * self.newton

    def filling_error(self, mean_density):
        """Per-band filling errors (with ``common_mu`` the error of the total, twice)."""
        if self.common:
            return np.abs(self.filling.sum() - mean_density.sum()) * np.ones(2)
        return np.abs(self.filling - mean_density)
