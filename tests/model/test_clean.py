"""Tests of largebdg.model.clean: the uniform (clean-limit) momentum-space solution.

Reference numbers are those of docs/model.md (thermodynamic limit
unless L is given); tolerances follow the digits quoted there.
"""

import math
import warnings

import numpy as np
import pytest

from largebdg.errors import ConvergenceWarning, ParameterError
from largebdg.model import clean

TOL = 1e-12  # same algorithm
TOL_SP = 1e-10  # different algorithm (DOS quadrature vs. lattice sum)


@pytest.fixture(scope="module")
def tc_coupled():
    return clean.critical_temperature()


# ---------------------------------------------------------------- single-band sums


@pytest.mark.parametrize(
    "T, mu, delta",
    [(0.05, -1.0, 0.0), (0.05, -1.0, 0.1), (0.1, 0.0, 0.0), (0.02, 0.3, 0.05), (0.2, -3.5, 0.3)],
)
def test_thermodynamic_limit_matches_large_lattice(T, mu, delta):
    # the lattice sums converge exponentially in L at these T, Delta
    for func in (clean.pair_susceptibility, clean.band_density):
        ref = func(T, mu, delta=delta, L=1024)
        assert func(T, mu, delta=delta) == pytest.approx(ref, abs=TOL_SP)


def test_hopping_scales_energies():
    a1 = clean.pair_susceptibility(0.05, -1.0, delta=0.1)
    a2 = clean.pair_susceptibility(0.1, -2.0, t=2.0, delta=0.2)
    assert a2 == pytest.approx(a1 / 2.0, rel=TOL_SP)
    assert clean.band_density(0.1, -2.0, t=2.0, delta=0.2) == pytest.approx(
        clean.band_density(0.05, -1.0, delta=0.1), abs=TOL_SP
    )


def test_pair_susceptibility_level_at_fermi_energy():
    # L = 4, mu~ = -4t: the k = 0 level sits exactly at xi = 0 and contributes 1/(4T)
    T, L = 0.1, 4
    k = 2 * np.pi * np.arange(L) / L
    xi = (-2 * (np.cos(k)[:, None] + np.cos(k)[None, :]) + 4.0).ravel()
    terms = np.array(
        [1 / (4 * T) if x == 0 else np.tanh(abs(x) / (2 * T)) / (2 * abs(x)) for x in xi]
    )
    assert clean.pair_susceptibility(T, -4.0, L=L) == pytest.approx(terms.mean(), rel=TOL)
    assert math.isfinite(clean.pair_susceptibility(T, -4.0, L=L))


def test_pair_susceptibility_low_T_limits():
    assert clean.pair_susceptibility(0.0, -1.0) == math.inf
    # Cooper logarithm: chi grows by N(0) ln 2 per halving of T at weak coupling
    assert clean.pair_susceptibility(0.001, -1.0) > clean.pair_susceptibility(0.002, -1.0)
    # at delta > 0 the T -> 0 limit is finite and smooth
    assert clean.pair_susceptibility(0.0, -1.0, delta=0.2) == pytest.approx(
        clean.pair_susceptibility(0.004, -1.0, delta=0.2), rel=1e-12
    )


def test_band_density_particle_hole_symmetry():
    assert clean.band_density(0.05, 0.0, delta=0.1) == pytest.approx(1.0, abs=TOL)
    n = clean.band_density(0.05, -1.3, delta=0.1)
    assert clean.band_density(0.05, 1.3, delta=0.1) == pytest.approx(2.0 - n, abs=TOL)


@pytest.mark.parametrize("L", [None, 32])
@pytest.mark.parametrize("delta", [0.0, 0.15])
def test_mu_for_filling_inverts_band_density(L, delta):
    for filling in (0.05, 0.5, 1.0, 1.7):
        mu = clean.mu_for_filling(0.05, filling, delta=delta, L=L)
        assert clean.band_density(0.05, mu, delta=delta, L=L) == pytest.approx(filling, abs=1e-12)


# ---------------------------------------------------------------- reference numbers


def test_gaps_low_temperature():
    sol = clean.uniform_solution(0.002)
    assert sol.converged
    np.testing.assert_allclose(sol.delta, [0.2175, 0.0943], atol=1e-4)
    # T = 0 is allowed and agrees (exp(-Delta/T) corrections only)
    np.testing.assert_allclose(clean.uniform_solution(0.0).delta, sol.delta, atol=1e-12)


def test_gaps_T005_thermodynamic_limit():
    sol = clean.uniform_solution(0.05)
    np.testing.assert_allclose(sol.delta, [0.20490, 0.08054], atol=1e-5)


def test_gaps_T005_L32():
    sol = clean.uniform_solution(0.05, L=32)
    np.testing.assert_allclose(sol.delta, [0.206633, 0.082139], atol=1e-6)


def test_gaps_T005_L12_finite_size():
    sol = clean.uniform_solution(0.05, L=12)
    np.testing.assert_allclose(sol.delta, [0.12941, 0.04233], atol=1e-5)


def test_fermi_energies():
    sol = clean.uniform_solution(0.002)
    np.testing.assert_allclose(sol.fermi_energy, [2.54, 3.57], atol=0.01)
    np.testing.assert_allclose(sol.fermi_energy, sol.mu_tilde + 4.0 * sol.t, rtol=TOL)


def test_critical_temperature_coupled(tc_coupled):
    assert tc_coupled == pytest.approx(0.10889, abs=2e-5)
    assert clean.critical_temperature(L=32) == pytest.approx(0.10891, abs=2e-5)


def test_critical_temperature_single_bands():
    assert clean.critical_temperature(g12=0.0) == pytest.approx(0.09103, abs=2e-5)
    assert clean.critical_temperature(g=(2.0, 0.0), g12=0.0) == pytest.approx(0.09103, abs=2e-5)
    assert clean.critical_temperature(g=(0.0, 1.0), g12=0.0) == pytest.approx(0.01284, abs=2e-5)


# ---------------------------------------------------------------- self-consistency


@pytest.mark.parametrize("T, L", [(0.002, None), (0.05, None), (0.05, 32), (0.1, 24)])
def test_solution_satisfies_gap_and_filling_equations(T, L):
    sol = clean.uniform_solution(T, L=L)
    G = np.array([[2.0, 0.25], [0.25, 1.0]])
    np.testing.assert_allclose(sol.delta, G @ sol.F, atol=1e-10)
    for nu in range(2):
        assert clean.band_density(T, sol.mu_tilde[nu], delta=sol.delta[nu], L=L) == pytest.approx(
            sol.filling[nu], abs=1e-12
        )
        alpha = clean.pair_susceptibility(T, sol.mu_tilde[nu], delta=sol.delta[nu], L=L)
        assert sol.F[nu] == pytest.approx(sol.delta[nu] * alpha, rel=TOL)
    np.testing.assert_allclose(sol.mu, sol.mu_tilde - sol.g * sol.filling / 2, rtol=TOL)


def test_gaps_vanish_continuously_at_tc(tc_coupled):
    below = clean.uniform_solution(tc_coupled * (1 - 1e-3))
    assert below.converged
    assert np.all(below.delta > 0) and np.all(below.delta < 0.02)
    # mean-field: Delta^2 is linear in Tc - T
    closer = clean.uniform_solution(tc_coupled * (1 - 1e-4))
    np.testing.assert_allclose(closer.delta / below.delta, np.sqrt(0.1), rtol=2e-3)
    above = clean.uniform_solution(tc_coupled * (1 + 1e-3))
    assert np.all(above.delta == 0.0) and np.all(above.F == 0.0)
    # normal-state Fermi levels still hold the fillings
    for nu in range(2):
        assert clean.band_density(above.T, above.mu_tilde[nu]) == pytest.approx(
            above.filling[nu], abs=1e-12
        )


def test_decoupled_bands():
    sol = clean.uniform_solution(0.05, g12=0.0)  # above T_c2 = 0.01284
    assert sol.delta[0] > 0 and sol.delta[1] == 0.0
    low = clean.uniform_solution(0.005, g12=0.0)
    band2 = clean.uniform_solution(0.005, g=(0.0, 1.0), g12=0.0)
    assert low.delta[1] > 0 and band2.delta[0] == 0.0
    assert low.delta[1] == pytest.approx(band2.delta[1], rel=1e-12)
    # single-band gap equation 1 = g alpha
    alpha = clean.pair_susceptibility(0.005, low.mu_tilde[1], delta=low.delta[1])
    assert alpha == pytest.approx(1.0, rel=1e-10)


def test_negative_interband_coupling_flips_sign():
    pos = clean.uniform_solution(0.05, g12=0.25)
    neg = clean.uniform_solution(0.05, g12=-0.25)
    np.testing.assert_allclose(neg.delta, pos.delta * [1, -1], rtol=1e-12)
    np.testing.assert_allclose(neg.F, pos.F * [1, -1], rtol=1e-12)
    assert clean.critical_temperature(g12=-0.25) == pytest.approx(
        clean.critical_temperature(), abs=1e-9
    )


def test_single_site_lattice_exact():
    # L = 1, T = 0: one level, F = sqrt(n (2 - n)) / 2 whatever Delta is
    sol = clean.uniform_solution(0.0, L=1)
    n = np.array([0.5, 0.8])
    np.testing.assert_allclose(sol.F, np.sqrt(n * (2 - n)) / 2, rtol=1e-10)
    np.testing.assert_allclose(sol.delta, np.array([[2.0, 0.25], [0.25, 1.0]]) @ sol.F, rtol=1e-10)


def test_guess_and_non_convergence_warning():
    ref = clean.uniform_solution(0.05)
    warm = clean.uniform_solution(0.05, guess=ref.delta)
    np.testing.assert_allclose(warm.delta, ref.delta, rtol=1e-10)
    assert warm.iterations <= 2
    with pytest.warns(ConvergenceWarning):
        sol = clean.uniform_solution(0.05, guess=(1.5, 1.5), maxiter=1, tol=1e-14)
    assert not sol.converged


def test_solution_is_immutable():
    sol = clean.uniform_solution(0.05)
    with pytest.raises(AttributeError):
        sol.T = 0.1
    with pytest.raises(ValueError):
        sol.delta[0] = 1.0


# ---------------------------------------------------------------- invalid input


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: clean.uniform_solution(-0.01), "T"),
        (lambda: clean.critical_temperature(filling=(0.5, 2.0)), "filling"),
        (lambda: clean.uniform_solution(0.05, filling=(0.0, 0.8)), "filling"),
        (lambda: clean.uniform_solution(0.05, filling=(0.5, 2.5)), "filling"),
        (lambda: clean.uniform_solution(0.05, L=0), "L"),
        (lambda: clean.uniform_solution(0.05, L=12.0), "L"),
        (lambda: clean.critical_temperature(L=-3), "L"),
        (lambda: clean.uniform_solution(0.05, t=(1.0, 0.0)), "t"),
        (lambda: clean.uniform_solution(0.05, g=(-1.0, 1.0)), "g"),
        (lambda: clean.uniform_solution(0.05, g=(1.0, 1.0, 1.0)), "g"),
        (lambda: clean.uniform_solution(0.05, g12=float("nan")), "g12"),
        (lambda: clean.uniform_solution(0.05, tol=0.0), "tol"),
        (lambda: clean.pair_susceptibility(-1.0, 0.0), "T"),
        (lambda: clean.pair_susceptibility(0.1, 0.0, L=0), "L"),
        (lambda: clean.band_density(0.1, 0.0, t=-1.0), "t"),
        (lambda: clean.mu_for_filling(0.1, 2.0), "filling"),
        (lambda: clean.mu_for_filling(0.1, -0.1), "filling"),
    ],
)
def test_invalid_input(call, name):
    with pytest.raises(ParameterError, match=f"'{name}(\\[\\d\\])?'"):
        call()


def test_no_warnings_on_normal_use():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clean.uniform_solution(0.0, L=16)
        clean.pair_susceptibility(0.0, -4.0, L=4)
        clean.band_density(0.0, -4.0, L=4)
