r"""The spectral window of the Chebyshev expansions: one policy for every consumer.

A Chebyshev expansion in :math:`H/a` needs :math:`a` at least the spectral
radius of the band's BdG matrix.  The radius comes from SLEPc
(:meth:`~largebdg.operators.petsc.PetscBdGOperator.spectral_bound`, a rigorous
bound: Ritz value plus residual, capped by Gershgorin), or from the Gershgorin
bound where PETSc is missing or SLEPc does not converge.  The window is the
radius widened by ``bound_safety`` and rounded up onto a 1 % logarithmic grid,
so that it does not follow the last digits of the Krylov estimate (which
differ between runs on different numbers of MPI ranks).
"""

import numpy as np

from .._optional import HAVE_PETSC
from .pattern import BdGPattern
from .petsc import PetscBdGOperator, gershgorin_bound

__all__ = ["BOUND_SAFETY", "spectral_window", "spectral_radius", "band_window"]

BOUND_SAFETY = 0.03
"""Default relative widening of the spectral radius."""

_GRID = 0.01  # logarithmic grid step of the window


def spectral_window(radius, bound_safety=BOUND_SAFETY):
    """Half-width a of the window: ``radius * (1 + bound_safety)`` rounded up onto a 1 % grid."""
    return float(np.exp(np.ceil(np.log(radius * (1 + bound_safety)) / _GRID) * _GRID))


def spectral_radius(L, t, onsite, delta, *, comm=None):
    """Upper bound of the spectral radius of one band's BdG matrix (SLEPc, else Gershgorin)."""
    if HAVE_PETSC:
        op = PetscBdGOperator(L, comm=comm)
        op.update(t, onsite, delta)
        return op.spectral_bound()
    pattern = BdGPattern(L)  # pragma: no cover - depends on the installation
    return gershgorin_bound(pattern, pattern.values(t, onsite, delta))  # pragma: no cover


def band_window(L, t, onsite, delta, *, bound_safety=BOUND_SAFETY, comm=None):
    """:func:`spectral_window` of :func:`spectral_radius`: the window of one band's mean field."""
    return spectral_window(spectral_radius(L, t, onsite, delta, comm=comm), bound_safety)
