r"""The spectral window of the Chebyshev expansions: one policy for every consumer.

A Chebyshev expansion in :math:`H/a` needs :math:`a` at least the spectral
radius of the band's BdG matrix.  The radius comes from SLEPc
(:meth:`~largebdg.operators.petsc.PetscBdGOperator.spectral_bound`, a rigorous
bound: Ritz value plus residual, capped by Gershgorin), or from the Gershgorin
bound where PETSc is missing or SLEPc does not converge.  The window is the
radius widened by ``bound_safety`` and rounded up onto a 1 % logarithmic grid,
so that it does not follow the last digits of the Krylov estimate (which
differ between runs on different numbers of MPI ranks).

A gapped band also has a certified spectral gap (:func:`band_gap`): the largest value g on a
geometric grid with no eigenvalue in (-g, g), found by exact eigenvalue counts
(:meth:`~largebdg.operators.petsc.PetscBdGOperator.count_inside`, Sylvester's law of
inertia).  Unlike a Krylov estimate of the smallest |E|, a count cannot miss a localised
in-gap state; the tanh series of a certified gap (:mod:`largebdg.kpm.coefficients`) needs
about sqrt(1 + g²/(pi T)²) times fewer moments.
"""

import numpy as np

from .._optional import HAVE_PETSC
from .pattern import BdGPattern
from .petsc import HAVE_INERTIA, PetscBdGOperator, gershgorin_bound

__all__ = ["BOUND_SAFETY", "GAP_RESOLUTION", "spectral_window", "spectral_radius",
           "band_window", "band_gap", "HAVE_INERTIA"]

BOUND_SAFETY = 0.03
"""Default relative widening of the spectral radius."""

_GRID = 0.01  # logarithmic grid step of the window
GAP_RESOLUTION = 0.05
"""Logarithmic grid step of :func:`band_gap`: the certified gap is within 5 % of the true one
(the moments grow by at most about as much)."""


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


def band_gap(operator, guess, floor):
    """Certified lower bound of the spectral gap min|E| of ``operator``'s current matrix.

    The largest g on the grid exp(GAP_RESOLUTION * k) for which
    :meth:`~largebdg.operators.petsc.PetscBdGOperator.count_inside` finds no eigenvalue in
    (-g, g): bracketed from ``guess`` by factors of 2, then bisected on the grid (typically
    4-6 factorisations, whose memory is freed at the end: 3.7 GB at 1024²).  Deterministic
    (integer counts on a fixed grid), so every MPI rank and run finds the same g.

    Parameters
    ----------
    operator : PetscBdGOperator
        With the band's current values.
    guess : float
        Where the search starts (> 0; e.g. the band's last certified gap).
    floor : float
        Gaps below this are not worth certifying (> 0): 0.0 is returned instead.

    Returns
    -------
    float
        The certified gap, within one grid step of min|E| (the next grid value counts an
        eigenvalue), or 0.0 (below ``floor``, or no MUMPS in this PETSc).
    """
    if not HAVE_INERTIA:  # pragma: no cover - depends on the installation
        return 0.0

    try:
        return _search(operator, guess, floor)
    finally:
        operator.release_factor()


def _search(operator, guess, floor):
    """:func:`band_gap`'s search on the grid (the operator's factorisation kept throughout)."""
    def free(k):  # no eigenvalue in (-g_k, g_k)
        return operator.count_inside(np.exp(k * GAP_RESOLUTION)) == 0

    k_floor = int(np.ceil(np.log(floor) / GAP_RESOLUTION))
    step = int(round(np.log(2) / GAP_RESOLUTION))
    k = max(int(np.floor(np.log(guess) / GAP_RESOLUTION)), k_floor)
    if free(k):
        lo, hi = k, k + step
        while free(hi):
            lo, hi = hi, hi + step
    else:
        hi, lo = k, k - step
        while lo >= k_floor and not free(lo):
            hi, lo = lo, lo - step
        if lo < k_floor:
            if hi == k_floor or not free(k_floor):
                return 0.0
            lo = k_floor
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if free(mid) else (lo, mid)
    return float(np.exp(lo * GAP_RESOLUTION))
