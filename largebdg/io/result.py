"""The result of a self-consistent solve, data only (its driver: :mod:`largebdg.workflows.run`)."""

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .. import _validate as v
from .._version import __version__
from ..scf import SCFState

__all__ = ["Result", "Observable"]


class Observable(NamedTuple):
    """A per-band quantity computed from a solved mean field, with its uncertainty.

    Attributes
    ----------
    value : ndarray, shape (2,)
        Band 1 first.
    stderr : ndarray, shape (2,)
        Uncertainty of ``value`` (0 for exact methods).
    settings : dict
        What was done (method, settings, wall time, version), JSON-ready.
    """

    value: np.ndarray
    stderr: np.ndarray
    settings: dict


@dataclass
class Result:
    """Self-consistent solution of the two-band model.

    Arrays are indexed ``[band, y, x]`` (band 1 first).

    Attributes
    ----------
    config : RunConfig
        The fully resolved configuration (seeds included).
    delta, density : ndarray, shape (2, L, L)
        Gap Delta_nu i and total density n_nu i.
    mu : ndarray, shape (2,)
        Chemical potentials.
    potential : ndarray, shape (2, L, L)
        Disorder potentials V_nu i.
    bond_x, bond_y : ndarray, shape (2, L, L)
        Bond averages sum_sigma <c^dagger_{i+e} c_i>.
    converged : bool
    iterations : int
    history : dict of ndarray
        Per-iteration convergence record (see :func:`largebdg.scf.solve`).
    disorder_density : ndarray, shape (2,)
        Realised impurity density of each band.
    solver_settings : dict
        Engine settings actually used (moments, probing distance, bounds...).
    wall_time : float
        Seconds for the solve.
    version : str
        Package version that produced the result.
    observables : dict of str -> Observable
        Quantities computed from the solution afterwards, by name (e.g.
        ``"stiffness"``); stored in the file as the datasets ``NAME`` and
        ``NAME_stderr`` and the attribute ``NAME_settings``.
    """

    config: object
    delta: np.ndarray
    density: np.ndarray
    mu: np.ndarray
    potential: np.ndarray
    bond_x: np.ndarray
    bond_y: np.ndarray
    converged: bool
    iterations: int
    history: dict
    disorder_density: np.ndarray
    solver_settings: dict
    wall_time: float = 0.0
    version: str = __version__
    observables: dict = field(default_factory=dict)

    @property
    def L(self):
        """Linear lattice size."""
        return self.delta.shape[-1]

    @property
    def T(self):
        """Temperature of the solve."""
        return self.config.solver.T

    @property
    def mean_abs_gap(self):
        """Sample-averaged gaps (1/N^2) sum_i |Delta_nu i| of both bands, paper Eq. (5)."""
        return np.abs(self.delta).mean(axis=(1, 2))

    @property
    def max_abs_gap(self):
        """Largest local gaps max_i |Delta_nu i| of both bands."""
        return np.abs(self.delta).max(axis=(1, 2))

    @property
    def filling(self):
        """Realised band fillings (lattice averages of n_nu i)."""
        return self.density.mean(axis=(1, 2))

    def _observable_field(self, name, index):
        obs = self.observables.get(name)
        return None if obs is None else obs[index]

    @property
    def stiffness(self):
        """Superfluid stiffness per band (``observables["stiffness"].value``), or None."""
        return self._observable_field("stiffness", 0)

    @property
    def stiffness_stderr(self):
        """Uncertainty of :attr:`stiffness`, or None."""
        return self._observable_field("stiffness", 1)

    @property
    def stiffness_settings(self):
        """Settings of :attr:`stiffness` (``{}`` until computed)."""
        return self._observable_field("stiffness", 2) or {}

    def model(self):
        """The :class:`~largebdg.model.TwoBandModel` this result solves."""
        return self.config.build_model(self.potential)

    def state(self):
        """The mean field as an :class:`~largebdg.scf.SCFState`, for warm starts."""
        N = self.L * self.L
        return SCFState(self.delta.reshape(2, N).copy(), self.density.reshape(2, N).copy(),
                        self.mu.copy())

    def band_mean_field(self, band):
        r"""Hopping, particle diagonal and gap of one band, the input of band observables.

        Parameters
        ----------
        band : {0, 1}
            Band index (0 is band 1).

        Returns
        -------
        t : float
        onsite : ndarray, shape (L*L,)
            :math:`V_{\nu i} - g_\nu n_{\nu i}/2 - \mu_\nu`, site i = x + L*y.
        delta : ndarray, shape (L*L,)
        """
        v.choice("band", band, (0, 1))
        model = self.model()
        return (float(model.t[band]), model.onsite(band, self.density[band], self.mu[band]),
                np.asarray(self.delta[band], dtype=float).ravel())
