"""The mean field iterated by the self-consistency loop, and its uniform start."""

from dataclasses import dataclass

import numpy as np

from ..model.clean import reference_fermi_level, uniform_solution

__all__ = ["SCFState", "initial_state"]


@dataclass
class SCFState:
    """A mean field: gaps and densities of shape (2, N), chemical potentials (2,)."""

    delta: np.ndarray
    density: np.ndarray
    mu: np.ndarray

    def pack(self, mu_weight):
        """Flatten to the mixer's vector (mu scaled by ``mu_weight``)."""
        return np.concatenate([self.delta.ravel(), self.density.ravel(), self.mu * mu_weight])

    @classmethod
    def unpack(cls, x, N, mu_weight):
        """Inverse of :meth:`pack`."""
        return cls(
            delta=x[: 2 * N].reshape(2, N).copy(),
            density=x[2 * N: 4 * N].reshape(2, N).copy(),
            mu=x[4 * N:] / mu_weight,
        )


def initial_state(model, T):
    """Uniform start: the clean low-T gaps, target fillings, mu shifted by the mean potential.

    The clean gaps at low temperature are used even above the clean T_c so
    that a disordered system, whose condensate survives to higher T, does not
    start on the trivial Delta = 0 fixed point.  In the ``common_mu`` mode
    :func:`largebdg.scf.solve` projects these chemical potentials onto the
    clean-limit band offsets before the first iteration.
    """
    clean = uniform_solution(
        0.01, t=model.t, g=model.g, g12=model.g12,
        filling=model.filling,
    )
    N = model.n_sites
    Vmean = model.potential.reshape(2, -1).mean(axis=1)
    mu = np.array([
        reference_fermi_level(T, model.filling[b], t=model.t[b])
        - model.g[b] * model.filling[b] / 2 + Vmean[b]
        for b in range(2)
    ])
    return SCFState(
        delta=np.repeat(clean.delta[:, None], N, axis=1),
        density=np.repeat(np.asarray(model.filling, float)[:, None], N, axis=1),
        mu=mu,
    )
