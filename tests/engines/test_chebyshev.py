"""The Chebyshev engine against the dense reference engine."""

import numpy as np
import pytest

from largebdg.engines import dense
from largebdg.engines.chebyshev import ChebyshevEngine
from largebdg.errors import ParameterError
from largebdg.workflows.run import build_model, run

from _helpers import TOL_CHEB_DEFAULT, paper_config


@pytest.fixture(scope="module")
def disordered_L16():
    """A self-consistent disordered L = 16 state (dense) and its model."""
    res = run(paper_config(16))
    return res, res.model()


def _onsite(res, model, band):
    return (model.potential[band] - model.g[band] * res.density[band] / 2 - res.mu[band]).ravel()


def _errors(engine_avg, exact_avg):
    return max(np.abs(getattr(engine_avg, k) - getattr(exact_avg, k)).max()
               for k in ("F", "n", "bond_x", "bond_y"))


def test_one_shot_averages_converge_with_moments_and_distance(disordered_L16):
    """Errors of F, n and bonds fall as the moment count and the probing distance grow."""
    res, model = disordered_L16
    T = res.T
    ex = dense.DenseEngine(model)
    for band in (0, 1):
        onsite, delta = _onsite(res, model, band), res.delta[band].ravel()
        exact = ex.averages(band, onsite, delta, T)
        by_moments = [_errors(ChebyshevEngine(model, num_moments=M, start_vectors="unit")
                              .averages(band, onsite, delta, T), exact) for M in (60, 120, 500)]
        assert by_moments[0] > by_moments[1] > by_moments[2]
        assert by_moments[2] < 1e-6
        by_distance = [_errors(ChebyshevEngine(model, num_moments=400, probing_distance=d)
                               .averages(band, onsite, delta, T), exact) for d in (4, 5, 8)]
        assert by_distance[0] > by_distance[1] > by_distance[2]
        # the automatic choice meets the requested tolerance on this disordered state
        auto = ChebyshevEngine(model, tolerance=1e-4).averages(band, onsite, delta, T)
        assert _errors(auto, exact) < 1e-4


def test_numpy_backend_matches_numba(disordered_L16):
    res, model = disordered_L16
    onsite, delta = _onsite(res, model, 0), res.delta[0].ravel()
    a = ChebyshevEngine(model, num_moments=100, probing_distance=6).averages(0, onsite, delta,
                                                                            res.T)
    b = ChebyshevEngine(model, num_moments=100, probing_distance=6, backend="numpy").averages(
        0, onsite, delta, res.T)
    assert _errors(a, b) < 1e-12


@pytest.mark.parametrize("band1", [
    {"kind": "random", "strength": 4.0, "density": 0.5, "seed": 7},
    {"kind": "chessboard", "strength": 4.0, "period": 8, "island": 4},
])
def test_self_consistent_chebyshev_matches_dense_L16(band1):
    ref = run(paper_config(16, band1=band1))
    cheb = run(paper_config(16, band1=band1, method="chebyshev"))
    assert cheb.converged
    assert np.abs(cheb.delta - ref.delta).max() <= TOL_CHEB_DEFAULT
    assert cheb.solver_settings["method"] == "chebyshev"


@pytest.mark.slow
@pytest.mark.parametrize("band1", [
    {"kind": "random", "strength": 4.0, "density": 0.5, "seed": 3},
    {"kind": "chessboard", "strength": 4.0, "period": 8, "island": 4},
])
def test_paper_size_L32_default_and_tight(band1):
    """Issue 3: at L = 32, T = 0.098 default settings <= 1e-3, tightened settings <= 1e-5.

    The Chebyshev solves start from the dense solution: the fixed point does
    not depend on the start, and it saves most iterations.
    """
    ref = run(paper_config(32, band1=band1, tol=1e-7))
    assert ref.converged
    for tolerance, bound in ((1e-3, 1e-3), (1e-6, 1e-5)):
        cfg = paper_config(32, band1=band1, method="chebyshev", tol=1e-7,
                           chebyshev={"tolerance": tolerance})
        cheb = run(cfg, initial=ref)
        assert cheb.converged
        assert np.abs(cheb.delta - ref.delta).max(axis=(1, 2)).max() <= bound


def test_clean_limit_chebyshev():
    from largebdg.model.clean import uniform_solution

    ref = uniform_solution(0.098, L=16)
    res = run(paper_config(16, band1={"kind": "none"}, method="chebyshev", tol=1e-6,
                           chebyshev={"tolerance": 1e-4}))
    assert np.abs(res.delta - ref.delta[:, None, None]).max() < 1e-4


def test_chebyshev_rejects_zero_temperature(disordered_L16):
    res, model = disordered_L16
    with pytest.raises(ParameterError, match="'T'"):
        ChebyshevEngine(model).averages(0, _onsite(res, model, 0), res.delta[0].ravel(), 0.0)
