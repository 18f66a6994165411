import numpy as np
import pytest

from largebdg.config import RunConfig
from largebdg.engines.dense import DenseEngine
from largebdg.errors import ParameterError
from largebdg.kpm.coefficients import chebyshev_coefficients
from largebdg.model import TwoBandModel
from largebdg.model.lattice import neighbour_index
from largebdg.model.thermal import fermi_ratio
from largebdg.observables.current import CurrentOperator, kinetic_energy_x
from largebdg.observables.stiffness import exact_stiffness
from largebdg.observables.stiffness_stochastic import (
    _auto_moments,
    kernel_expansion,
    stochastic_stiffness,
    trace_samples,
)
from largebdg.operators.stencil import BdGStencil
from largebdg.operators.window import band_window
from largebdg.workflows.run import run

SIGMAS = 3.0  # stochastic vs exact: within 3 standard errors (fixed seeds)
TOL = 1e-8  # exact trace (unit vectors) with a tight truncation tolerance


def random_band(L, seed, disorder=4.0):
    """Random-impurity band of realistic size: V = 4 on half the sites, gaps 0..0.5."""
    rng = np.random.default_rng(seed)
    N = L * L
    onsite = disorder * (rng.random(N) < 0.5) - 1.0 - 0.3 * rng.random(N)
    return onsite, rng.uniform(0.0, 0.5, N)


def stencil_for(L, t, onsite, delta, scale):
    nx, ny = neighbour_index(L, "x"), neighbour_index(L, "y")
    nbr = np.stack([nx, np.argsort(nx), ny, np.argsort(ny)], axis=1)
    return BdGStencil(nbr, t, onsite, delta, scale)


def exact_trace(L, t, onsite, delta, T, M, direction="x"):
    """Kinetic term and correlator from the estimator's algebra with all 2N unit vectors."""
    N = L * L
    scale = band_window(L, t, onsite, delta)
    coeffs, lam, _ = kernel_expansion(T, scale, M, 1e-13)
    tanh_c = chebyshev_coefficients(lambda x: np.tanh(scale * x / (2 * T)), M)
    hop, trace = trace_samples(stencil_for(L, t, onsite, delta, scale),
                               CurrentOperator(L, t, direction),
                               np.column_stack([tanh_c, coeffs]), lam, np.eye(2 * N),
                               with_tanh=True, memory_limit=2**30)
    return -2 * t * hop.sum() / N, trace.sum() / N


@pytest.fixture(scope="module")
def solved16():
    """A realistic state: dense solve of the paper's random disorder at L = 16 (loose tol)."""
    config = RunConfig.from_dict({
        "lattice": {"L": 16},
        "disorder": {"band1": {"kind": "random", "strength": 4.0, "density": 0.5, "seed": 1}},
        "solver": {"method": "dense", "T": 0.098, "tol": 1e-4, "tol_density": 1e-3},
    })
    return run(config)


# ------------------------------------------------------------ algebra, exactly


def test_unit_vectors_reproduce_exact_stiffness():
    # with every unit vector the "stochastic" trace is exact: checks J, the kernel, the
    # two recursions and the kinetic term against the dense eigensystem
    L, t, T = 6, 0.8, 0.1
    onsite, delta = random_band(L, seed=1)
    kinetic, correlator = exact_trace(L, t, onsite, delta, T, M=600)
    bond = DenseEngine(TwoBandModel(L, t=(t, 1.0))).averages(0, onsite, delta, T).bond_x
    assert abs(kinetic - kinetic_energy_x(L, t, bond)) < TOL
    assert abs(kinetic - correlator - exact_stiffness(L, t, onsite, delta, T)) < TOL


def test_unit_vectors_direction_y():
    L, T = 6, 0.1
    onsite, delta = random_band(L, seed=2)
    kinetic, correlator = exact_trace(L, 1.0, onsite, delta, T, M=600, direction="y")
    assert abs(kinetic - correlator - exact_stiffness(L, 1.0, onsite, delta, T,
                                                       direction="y")) < TOL


def test_bias_decreases_with_moments():
    L, T = 6, 0.1
    onsite, delta = random_band(L, seed=3)
    exact = exact_stiffness(L, 1.0, onsite, delta, T)
    errors = []
    for M in (40, 80, 160, 320):
        kinetic, correlator = exact_trace(L, 1.0, onsite, delta, T, M)
        errors.append(abs(kinetic - correlator - exact))
    assert all(b < a for a, b in zip(errors, errors[1:], strict=False))
    assert errors[0] > 1e-3 and errors[-1] < 1e-6


@pytest.mark.parametrize("T, scale", [(0.2, 6.0), (0.1, 9.0), (0.05, 9.0), (0.02, 5.0)])
def test_kernel_expansion_meets_tolerance(T, scale):
    # the automatic M and the rank truncation keep sup|R - sum_k lam_k phi_k phi_k| below
    # the kernel tolerance, checked off the nodes and near the diagonal (-f')
    tol = 1e-4
    M = _auto_moments(T, scale, tol, 1.0)
    coeffs, lam, rank_error = kernel_expansion(T, scale, M, tol)
    assert rank_error <= tol / 10 and lam.size < 40
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-1, 1, 300), rng.normal(0, 0.03, 200).clip(-1, 1)])
    y = np.concatenate([rng.uniform(-1, 1, 300), x[300:] + rng.normal(0, 0.01, 200)]).clip(-1, 1)
    phi_x = np.polynomial.chebyshev.chebval(x, coeffs)  # (K, n)
    phi_y = np.polynomial.chebyshev.chebval(y, coeffs)
    approx = np.einsum("k,kn,kn->n", lam, phi_x, phi_y)
    exact = np.array([fermi_ratio(np.array([scale * a]), T, np.array([scale * b]))[0, 0]
                      for a, b in zip(x, y, strict=True)])
    assert np.abs(approx - exact).max() < tol


# ------------------------------------------------------------ statistics


@pytest.mark.parametrize("band", [0, 1])
@pytest.mark.parametrize("bonds", [True, False])
def test_matches_exact_on_solved_l16(solved16, band, bonds):
    t, onsite, delta = solved16.band_mean_field(band)
    exact = exact_stiffness(16, t, onsite, delta, solved16.T)
    ds, err, info = stochastic_stiffness(
        16, t, onsite, delta, solved16.T, num_vectors=64, seed=10 + band,
        kinetic=kinetic_energy_x(16, t, solved16.bond_x[band].ravel()) if bonds else None)
    assert info["diamagnetic"] == ("given" if bonds else "stochastic")
    assert 0 < err < 0.05
    assert abs(ds - exact) < SIGMAS * err


@pytest.mark.parametrize("distribution", ["rademacher", "gaussian"])
def test_matches_exact_on_disordered_l24(distribution):
    L, T = 24, 0.1
    onsite, delta = random_band(L, seed=5)
    exact = exact_stiffness(L, 1.0, onsite, delta, T)
    ds, err, info = stochastic_stiffness(L, 1.0, onsite, delta, T, num_vectors=48, seed=7,
                                         distribution=distribution)
    assert info["num_vectors"] == 48 and info["samples"].shape == (48,)
    assert abs(ds - exact) < SIGMAS * err


@pytest.mark.parametrize("gap", [0.3, 0.0])
def test_clean_lattice_degenerate_levels(gap):
    # clean lattice: exactly degenerate levels (superconducting and normal state); the
    # kernel's diagonal -f'(E) handles them with no threshold
    L, T = 16, 0.1
    N = L * L
    onsite, delta = np.full(N, 0.5), np.full(N, gap)
    exact = exact_stiffness(L, 1.0, onsite, delta, T)
    ds, err, _ = stochastic_stiffness(L, 1.0, onsite, delta, T, num_vectors=64, seed=3)
    assert abs(ds - exact) < SIGMAS * err


def test_standard_error_falls_like_inverse_sqrt_vectors():
    L, T = 16, 0.1
    onsite, delta = random_band(L, seed=6)
    sizes = np.array([16, 64, 256])
    errs = []
    for R in sizes:
        repeats = 1024 // (2 * R) if R < 256 else 1  # average the noisy small-R errors
        e = [stochastic_stiffness(L, 1.0, onsite, delta, T, num_vectors=int(R), seed=100 + k,
                                  scale=7.0)[1] for k in range(repeats)]
        errs.append(np.mean(e))
    slope = np.polyfit(np.log(sizes), np.log(errs), 1)[0]
    assert abs(slope + 0.5) < 0.15


def test_reproducible_and_independent_of_blocking():
    L, T = 8, 0.1
    onsite, delta = random_band(L, seed=8)
    kw = dict(num_vectors=10, seed=4, scale=8.0)
    ref, err, info = stochastic_stiffness(L, 1.0, onsite, delta, T, **kw)
    again = stochastic_stiffness(L, 1.0, onsite, delta, T, **kw)[0]
    assert again == ref
    # the random stream does not depend on the block size; a tiny memory limit splits
    # the functions into groups and recomputes the recursion for each
    small = stochastic_stiffness(L, 1.0, onsite, delta, T, block_size=10,
                                 memory_limit=40 * 2 * 64 * 20 * 8, **kw)[0]
    assert abs(small - ref) < 1e-12


def test_numpy_stencil_matches_numba(monkeypatch):
    L, T = 8, 0.1
    onsite, delta = random_band(L, seed=9)
    kw = dict(num_vectors=4, seed=1, scale=8.0)
    ref = stochastic_stiffness(L, 1.0, onsite, delta, T, **kw)[0]
    monkeypatch.setenv("LARGEBDG_NO_NUMBA", "1")
    assert abs(stochastic_stiffness(L, 1.0, onsite, delta, T, **kw)[0] - ref) < 1e-12


# ------------------------------------------------------------ input


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(T=0.0), "'T'"),
        (dict(T=-0.1), "'T'"),
        (dict(num_vectors=1), "'num_vectors'"),
        (dict(num_vectors=2.5), "'num_vectors'"),
        (dict(num_moments=1), "'num_moments'"),
        (dict(tolerance=0.0), "'tolerance'"),
        (dict(distribution="uniform"), "'distribution'"),
        (dict(direction="z"), "'direction'"),
        (dict(kinetic=np.nan), "'kinetic'"),
        (dict(onsite=np.zeros(17)), "'onsite'"),
        (dict(delta=np.full(16, np.nan)), "'delta'"),
        (dict(scale=-1.0), "'scale'"),
        (dict(block_size=0), "'block_size'"),
        (dict(memory_limit=1000), "'memory_limit'"),
    ],
)
def test_invalid_input(kwargs, name):
    args = dict(L=4, t=1.0, onsite=np.zeros(16), delta=np.full(16, 0.2), T=0.1, scale=5.0,
                num_vectors=4)
    args.update(kwargs)
    with pytest.raises(ParameterError, match=name):
        stochastic_stiffness(args.pop("L"), args.pop("t"), args.pop("onsite"),
                             args.pop("delta"), args.pop("T"), **args)
