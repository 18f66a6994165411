import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from largebdg.errors import ParameterError
from largebdg.model import TwoBandModel
from largebdg.model.lattice import hopping_pattern, neighbour_index
from largebdg.operators.pattern import BdGPattern
from largebdg.operators.petsc import PetscBdGOperator, gershgorin_bound


def test_neighbours_periodic():
    nx = neighbour_index(4, "x")
    ny = neighbour_index(4, "y")
    assert nx[3] == 0 and nx[0] == 1  # (x=3, y=0) -> (0, 0)
    assert ny[12] == 0 and ny[0] == 4
    rows, cols = hopping_pattern(4)
    assert rows.size == 4 * 16


def test_bdg_blocks(rng):
    L = 5
    N = L * L
    onsite, delta = rng.normal(size=N), rng.normal(size=N)
    H = BdGPattern(L).matrix(1.3, onsite, delta).toarray()
    h = H[:N, :N]
    assert np.allclose(H[N:, N:], -h)
    assert np.allclose(H[:N, N:], np.diag(delta))
    assert np.allclose(np.diag(h), onsite)
    # hopping matrix element -t to the four neighbours, periodic
    assert h[0, 1] == -1.3 and h[0, L - 1] == -1.3 and h[0, L] == -1.3 and h[0, N - L] == -1.3
    assert np.count_nonzero(h - np.diag(np.diag(h))) == 4 * N


@settings(max_examples=20, deadline=None)
@given(L=st.integers(3, 7), seed=st.integers(0, 2**31))
def test_bdg_hermitian_and_symmetric_spectrum(L, seed):
    r = np.random.default_rng(seed)
    N = L * L
    H = BdGPattern(L).matrix(r.uniform(0.1, 2), r.normal(size=N), r.normal(size=N)).toarray()
    assert np.array_equal(H, H.T)
    E = np.linalg.eigvalsh(H)
    assert np.allclose(E, -E[::-1], atol=1e-10)  # +-E symmetry of the BdG spectrum


def test_petsc_matches_scipy_and_bound(rng):
    L = 8
    N = L * L
    onsite, delta = rng.normal(size=N) * 3, rng.normal(size=N) * 0.3
    op = PetscBdGOperator(L)
    for _ in range(2):  # values rewritten in the fixed pattern
        op.update(1.0, onsite, delta)
        A = sp.csr_matrix(op.mat.getValuesCSR()[::-1], shape=op.pattern.shape)
        ref = op.pattern.matrix(1.0, onsite, delta)
        assert abs(A - ref).max() == 0
        radius = np.abs(np.linalg.eigvalsh(ref.toarray())).max()
        bound = op.spectral_bound()
        assert radius <= bound <= radius * (1 + 1e-3)
        assert bound <= gershgorin_bound(op.pattern, op.values)
        onsite = onsite + 1.0


def test_model_validation():
    with pytest.raises(ParameterError, match="'L'"):
        TwoBandModel(L=2)
    with pytest.raises(ParameterError, match="'potential'"):
        TwoBandModel(L=4, potential=np.zeros((2, 3, 3)))
    pot = np.zeros((2, 4, 4))
    pot[0, 0, 0] = np.nan
    with pytest.raises(ParameterError, match="finite"):
        TwoBandModel(L=4, potential=pot)
