"""Certified spectral gaps: exact eigenvalue counts by inertia, against dense eigenvalues."""

import numpy as np
import pytest

from largebdg.operators.petsc import HAVE_INERTIA, PetscBdGOperator
from largebdg.operators.window import GAP_RESOLUTION, band_gap

pytestmark = pytest.mark.skipif(not HAVE_INERTIA, reason="PETSc without MUMPS")


def _fields(L, seed):
    """A disordered band: strong impurities, and a few sites without gap (in-gap states)."""
    rng = np.random.default_rng(seed)
    N = L * L
    onsite = 0.5 + np.where(rng.random(N) < 0.1, 2.5, 0.0)
    delta = 0.2 + 0.1 * rng.random(N)
    delta[rng.random(N) < 0.05 * seed] = 0.0  # seed 0: none
    return onsite, delta


@pytest.mark.parametrize("L, seed", [(12, 0), (12, 1), (16, 2), (16, 3)])
def test_eigenvalue_counts_and_certified_gap_match_dense(L, seed):
    """count_inside(s) is the number of |E| < s; band_gap is at most the smallest |E| and
    within one grid step of it, wherever its search starts."""
    onsite, delta = _fields(L, seed)
    op = PetscBdGOperator(L)
    op.update(1.0, onsite, delta)
    E = np.abs(np.linalg.eigvalsh(op.pattern.matrix(1.0, onsite, delta).toarray()))
    for s in (0.01, 0.05, 0.1, 0.15, 0.2, 0.3):
        assert op.count_inside(s) == np.sum(E < s)
    gap = band_gap(op, 0.5, 1e-3)
    assert E.min() * np.exp(-GAP_RESOLUTION) <= gap <= E.min()
    assert band_gap(op, 1e-2, 1e-3) == gap  # the search's start does not matter
    # a floor above the gap: nothing is certified
    assert band_gap(op, 0.5, 1.5 * E.min()) == 0.0


@pytest.mark.parametrize("L", [32, 64])
def test_memory_estimate_covers_the_factorisation(L):
    """The engine's memory estimate adds at least MUMPS's own estimate of the factorisation
    (INFOG(17), millions of bytes) for ``spectral_gap``, and not ten times more."""
    from largebdg.engines.chebyshev import ChebyshevEngine

    onsite, delta = _fields(L, 1)
    op = PetscBdGOperator(L)
    op.update(1.0, onsite, delta)
    op.count_inside(0.1)
    mumps = op._factor[1].getPC().getFactorMatrix().getMumpsInfog(17) * 1e6
    op.release_factor()
    added = (ChebyshevEngine.memory_estimate(L, threads=1)
             - ChebyshevEngine.memory_estimate(L, threads=1, spectral_gap=False))
    assert mumps <= added <= 10 * mumps
