import math

import matplotlib
import numpy as np
import pytest

from largebdg.analysis.critical import (
    gap_critical_temperature,
    stiffness_critical_temperature,
    vanishing_temperature,
)
from largebdg.analysis.reference import (
    clean_reference_gaps,
    clean_reference_stiffness,
    clean_reference_tc,
)
from largebdg.config import RunConfig
from largebdg.errors import AccuracyWarning, ParameterError
from largebdg.model.clean import (
    critical_temperature,
    normal_state_stiffness,
    uniform_band_stiffness,
    uniform_solution,
)
from largebdg.observables.homogeneous import (
    eq7_fit,
    eq26_estimate,
    eq26_homogeneous_gap,
    gamma_fit,
    gap_histogram,
    homogeneous_gap,
)
from largebdg.observables.stiffness import exact_stiffness
from largebdg.workflows.run import run

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from largebdg.plotting import paper as plotting_paper  # noqa: E402

G1, G2, G12 = 2.0, 1.0, 0.25
G2_EXACT = G2 - G12 ** 2 / G1  # Eq. (26) becomes exact for the clean system with this g2


@pytest.fixture(scope="module")
def clean_result():
    """Real-space solution of the clean L = 12 lattice (uniform)."""
    config = RunConfig.from_dict({"lattice": {"L": 12},
                                  "solver": {"method": "dense", "T": 0.06, "tol": 1e-9,
                                             "tol_density": 1e-8, "tol_filling": 1e-10}})
    return run(config)


# --------------------------------------------------------------------------- Eq. (6)


def test_gamma_fit_recovers_synthetic_decomposition(rng):
    delta1 = rng.uniform(0.0, 0.5, size=(16, 16))
    fit = gamma_fit(delta1, 0.031 + 0.127 * delta1)
    assert fit.delta0 == pytest.approx(0.031, abs=1e-13)
    assert fit.gamma == pytest.approx(0.127, abs=1e-13)
    assert fit.r2 == pytest.approx(1.0, abs=1e-13)
    noisy = gamma_fit(delta1, 0.031 + 0.127 * delta1 + rng.normal(0, 0.01, delta1.shape))
    assert 0.5 < noisy.r2 < 1.0 and abs(noisy.gamma - 0.127) < 0.02


@pytest.mark.parametrize("d1, d2, match", [
    (np.ones(5), np.arange(5.0), "uniform"),
    (np.arange(5.0), np.arange(4.0), "same shape"),
    (np.arange(1.0), np.arange(1.0), "two sites"),
])
def test_gamma_fit_invalid(d1, d2, match):
    with pytest.raises(ParameterError, match=match):
        gamma_fit(d1, d2)


def test_homogeneous_gap_definitions(rng):
    base = 0.03 + rng.normal(0, 0.001, 700)  # homogeneous floor between clusters
    clusters = rng.uniform(0.06, 0.12, 300)
    gap = -np.concatenate([base, clusters])  # sign is irrelevant
    assert homogeneous_gap(gap) == pytest.approx(np.percentile(np.abs(gap), 5))
    assert 0.027 < homogeneous_gap(gap) < 0.03
    assert homogeneous_gap(gap, q=0) == pytest.approx(np.abs(gap).min())
    width = np.ptp(np.abs(gap)) / 50
    assert homogeneous_gap(gap, "lower_peak") == pytest.approx(0.03, abs=width)


@pytest.mark.parametrize("kwargs, match", [
    ({"method": "median"}, "'method'"),
    ({"q": 120}, "'q'"),
    ({"bins": 0}, "'bins'"),
])
def test_homogeneous_gap_invalid(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        homogeneous_gap(np.ones(4), **kwargs)
    with pytest.raises(ParameterError, match="non-empty"):
        homogeneous_gap([])


# --------------------------------------------------------------------------- Eq. (26)


@pytest.mark.parametrize("T", [0.02, 0.06, 0.1])
def test_eq26_is_exact_for_the_clean_system_with_back_action(T):
    # Clean, uniform: Delta_2 = g2 F2 + g12 F1 and Delta_1 = g1 F1 + g12 F2 give
    # Delta_2 [1 - (g2 - g12^2/g1) alpha(Delta_2)] = (g12/g1) Delta_1 exactly, i.e. Eq. (26)
    # for the total gap Delta_2^(0) + (g12/g1) Delta_1 with g2 -> g2 - g12^2/g1.
    sol = uniform_solution(T, L=16)
    est = eq26_homogeneous_gap(T, sol.delta[0], g=(G1, G2_EXACT), g12=G12, L=16)
    assert est.gap == pytest.approx(sol.delta[1], rel=1e-9)
    assert est.delta0 == pytest.approx(sol.delta[1] - G12 / G1 * sol.delta[0], rel=1e-8)
    assert est.alpha == pytest.approx(sol.F[1] / sol.delta[1], rel=1e-9)
    # the paper's Eq. (26) neglects the back action -(g12^2/g1) F2: 5-6 % too large here
    paper = eq26_homogeneous_gap(T, sol.delta[0], L=16)
    assert 0.04 < paper.gap / sol.delta[1] - 1 < 0.07


def test_eq26_estimate_of_a_real_space_solution(clean_result):
    r = clean_result
    assert np.ptp(r.delta[1]) < 1e-10  # the clean solution is uniform
    est = eq26_homogeneous_gap(r.T, r.mean_abs_gap[0], g=(G1, G2_EXACT), L=r.L,
                               filling2=r.filling[1])
    assert est.gap == pytest.approx(r.delta[1].mean(), rel=1e-6)
    wired = eq26_estimate(r)
    assert wired == eq26_homogeneous_gap(r.T, r.mean_abs_gap[0], L=12, filling2=r.filling[1])
    assert 0.03 < wired.gap / r.delta[1].mean() - 1 < 0.08
    assert eq26_estimate(r, thermodynamic=True).gap != wired.gap


def test_eq26_limits():
    assert eq26_homogeneous_gap(0.1, 0.0).delta0 == 0.0
    negative = eq26_homogeneous_gap(0.1, 0.2, g12=-0.25)
    positive = eq26_homogeneous_gap(0.1, 0.2)
    assert negative.delta0 == pytest.approx(-positive.delta0)
    with pytest.raises(ParameterError, match="'g'"):
        eq26_homogeneous_gap(0.1, 0.2, g=(2.0,))


def test_eq7_fit_recovers_constants():
    T = np.array([0.04, 0.07, 0.1, 0.14, 0.18])
    c1, c2 = 0.25, 3.0
    x = G2 * c1 * np.log(c2 / T)
    mean_delta1 = np.array([0.3, 0.28, 0.24, 0.17, 0.08])
    delta0 = G12 / G1 * x / (1 - x) * mean_delta1
    fit = eq7_fit(T, delta0, mean_delta1)
    assert fit.c1 == pytest.approx(c1, rel=1e-10) and fit.c2 == pytest.approx(c2, rel=1e-10)
    np.testing.assert_allclose(fit.delta0(T, mean_delta1), delta0, rtol=1e-10)


def test_gap_histogram_is_normalised(clean_result, rng):
    class Fake:
        delta = np.stack([rng.uniform(0, 0.5, (8, 8)), rng.uniform(0.03, 0.1, (8, 8))])

    h = gap_histogram(Fake, bins=10)
    assert h.edges.shape == (2, 11) and h.density.shape == (2, 10)
    np.testing.assert_allclose((h.density * np.diff(h.edges, axis=1)).sum(axis=1), 1.0)
    assert h.centers.shape == (2, 10)


# --------------------------------------------------------------------------- critical T


def bcs_like(T, tc, gap0=0.3):
    return gap0 * np.tanh(1.74 * np.sqrt(np.clip(tc / T - 1, 0, None)))


def test_gap_critical_temperature_on_bcs_curve():
    T = np.array([0.06, 0.098, 0.14, 0.16, 0.18, 0.2, 0.22])
    gap = bcs_like(T, 0.19) + 2e-4 * (T > 0.19)  # a residual of the SCF tolerance above T_c
    assert gap_critical_temperature(T, gap) == pytest.approx(0.19, abs=0.003)
    crossing = gap_critical_temperature(T, gap, method="crossing")
    assert 0.18 < crossing <= 0.2  # within one grid step, above T_c
    assert gap_critical_temperature(T[::-1], gap[::-1]) == gap_critical_temperature(T, gap)
    # the pure square-root law is extrapolated exactly
    sqrt_law = 0.3 * np.sqrt(np.clip(1 - T / 0.19, 0, None))
    assert gap_critical_temperature(T, sqrt_law) == pytest.approx(0.19, abs=1e-12)
    assert gap_critical_temperature(T, sqrt_law, npoints=3) == pytest.approx(0.19, abs=1e-12)
    # an absolute threshold above the residual
    assert gap_critical_temperature(T, gap, threshold=1e-3, relative=False) == \
        pytest.approx(0.19, abs=0.003)


def test_gap_critical_temperature_warns_outside_the_sweep():
    T = np.array([0.05, 0.1, 0.15])
    gap = bcs_like(T, 0.19)
    with pytest.warns(AccuracyWarning, match="extend the sweep"):
        tc = gap_critical_temperature(T, gap)
    assert tc > 0.15  # fitted zero, unclipped
    with pytest.warns(AccuracyWarning, match="extend the sweep"):
        assert math.isnan(gap_critical_temperature(T, gap, method="crossing"))
    with pytest.warns(AccuracyWarning, match="only one point"):
        assert math.isnan(gap_critical_temperature([0.05, 0.3, 0.4], [0.2, 0.0, 0.0]))
    assert math.isnan(gap_critical_temperature([0.1, 0.2], [0.0, 0.0]))


@pytest.mark.parametrize("T, y, kwargs, match", [
    ([0.1, 0.2], [0.1], {}, "same length"),
    ([0.1], [0.1], {}, "at least two"),
    ([0.1, 0.1], [0.1, 0.0], {}, "repeat"),
    ([0.1, 0.2], [0.1, -0.1], {}, "non-negative"),
    ([0.1, 0.2], [0.1, 0.0], {"method": "fit"}, "'method'"),
    ([0.1, 0.2], [0.1, 0.0], {"npoints": 1}, "'npoints'"),
])
def test_vanishing_temperature_invalid(T, y, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        vanishing_temperature(T, y, **kwargs)


def test_stiffness_critical_temperature_ignores_noise_within_stderr():
    """A stochastic estimate that levels off at ~2 standard errors above T_c is not a stiffness."""
    T = np.array([0.1, 0.14, 0.18, 0.22, 0.26, 0.3])
    noise = np.array([0.0, 0.0, 0.0, 0.0, 1.4e-3, 1.3e-3])
    Ds = 0.5 * np.clip(0.24 - T, 0, None) + noise
    stderr = np.full(T.size, 7e-4)
    with pytest.warns(AccuracyWarning, match="beyond the sweep"):
        assert math.isnan(stiffness_critical_temperature(T, Ds))
    assert stiffness_critical_temperature(T, Ds, stderr=stderr) == pytest.approx(0.24, abs=1e-12)
    missing = Ds.copy()
    missing[3] = np.nan  # a point without a stiffness is skipped, not read as zero
    stderr[3] = np.nan
    assert stiffness_critical_temperature(T, missing, stderr=stderr) == pytest.approx(0.24,
                                                                                     abs=1e-12)
    with pytest.raises(ParameterError, match="'stderr'"):
        stiffness_critical_temperature(T, Ds, stderr=stderr[:2])


def test_extrapolation_within_one_step_past_the_sweep():
    T = np.array([0.1, 0.2, 0.24, 0.26])
    gap = 0.3 * np.sqrt(np.clip(1 - T / 0.262, 0, None))
    with pytest.warns(AccuracyWarning, match="still above"):
        assert gap_critical_temperature(T, gap) == pytest.approx(0.262, abs=1e-12)


def test_stiffness_critical_temperature_with_baseline():
    T = np.array([0.05, 0.1, 0.15, 0.18, 0.2, 0.22])
    base = normal_state_stiffness(T, 0.8, L=32)
    Ds = 2.0 * np.clip(0.19 - T, 0, None) + base
    assert stiffness_critical_temperature(T, Ds, baseline=base) == pytest.approx(0.19, abs=1e-12)
    with_nan = Ds.copy()
    with_nan[0] = np.nan  # a point without stiffness is ignored
    assert stiffness_critical_temperature(T, with_nan, baseline=base) == pytest.approx(0.19)
    with pytest.raises(ParameterError, match="'baseline'"):
        stiffness_critical_temperature(T, Ds, baseline=base[:2])


def test_normal_state_stiffness_matches_real_space():
    L, T, filling = 8, 0.1, 0.7
    from largebdg.model.clean import mu_for_filling

    mu = mu_for_filling(T, filling, L=L)
    exact = exact_stiffness(L, 1.0, np.full(L * L, -mu), np.zeros(L * L), T)
    assert normal_state_stiffness(T, filling, L=L) == pytest.approx(exact, abs=1e-10)
    assert normal_state_stiffness([T, T], filling, L=L).shape == (2,)


def test_uniform_band_stiffness_matches_real_space():
    L, T, mu_tilde, gap = 8, 0.07, -1.2, 0.2
    exact = exact_stiffness(L, 1.0, np.full(L * L, -mu_tilde), np.full(L * L, gap), T)
    assert uniform_band_stiffness(T, mu_tilde, gap, L=L) == pytest.approx(exact, abs=1e-10)


def test_clean_reference_stiffness():
    config = RunConfig.from_dict({"lattice": {"L": 16}})
    T = np.array([0.03, 0.2])
    ds = clean_reference_stiffness(config, T)
    assert ds.shape == (2, 2)
    # above T_c^(0) each band carries only its finite-lattice normal-state remainder
    assert ds[1, 1] == pytest.approx(float(normal_state_stiffness(0.2, 0.8, L=16)), abs=1e-10)
    assert np.all(ds[0] > 0.1)  # a condensate at T = 0.03 < T_c^(0)


def test_clean_reference():
    ref = clean_reference_tc(RunConfig())
    assert ref.thermodynamic == pytest.approx(0.10889, abs=1e-5)
    assert ref.lattice == pytest.approx(0.10891, abs=1e-5) and ref.L == 32
    config = RunConfig.from_dict({"lattice": {"L": 16}, "model": {"g12": 0.0}})
    assert clean_reference_tc(config).lattice == pytest.approx(
        critical_temperature(g12=0.0, L=16), rel=1e-12)
    T = np.array([0.08, 0.05, 0.2])
    gaps = clean_reference_gaps(config, T)
    assert gaps[2].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(gaps[1], np.abs(uniform_solution(0.05, g12=0.0, L=16).delta),
                               rtol=1e-9)


# --------------------------------------------------------------------------- figures


def test_panel_functions_return_figures():
    T = np.array([0.05, 0.1, 0.15, 0.2])
    gaps = np.stack([bcs_like(T, 0.18), 0.3 * bcs_like(T, 0.18)], axis=-1)
    figs = [
        plotting_paper.plot_mean_gaps(T, np.stack([gaps, 1.1 * gaps]), clean=(T, 0.5 * gaps),
                                      tc0=0.109),
        plotting_paper.plot_homogeneous(T, gaps[:, 1] * 0.5, estimate=gaps[:, 1] * 0.6),
        plotting_paper.plot_stiffness(T, gaps[:, 1] ** 2, 0.5 * gaps[:, 1], gaps[:, 1],
                                      clean=(T, 0.5 * gaps[:, 1] ** 2), tc0=0.109),
    ]
    assert all(isinstance(f, Figure) for f in figs)
    fig, ax = plt.subplots()
    assert plotting_paper.plot_mean_gaps(T, gaps, ax=ax, xlabel="g12") is fig
    assert ax.get_xlabel() == "g12"
    plt.close("all")


def test_stiffness_panel_draws_its_uncertainty_and_offers_a_log_axis():
    """Fig. 1g: every D_s point carries an error bar; the log axis drops D_s <= 0."""
    T = np.array([0.05, 0.1, 0.15, 0.2])
    Ds = np.array([0.04, 0.02, 0.005, -1e-4])
    err = np.array([1e-4, 2e-4, 8e-3, 5e-4])
    d0 = np.array([0.1, 0.08, 0.04, 0.0])
    for log in (False, True):
        fig = plotting_paper.plot_stiffness(T, Ds, d0, d0, Ds2_err=err, log=log)
        ax = fig.axes[0]
        assert ax.get_yscale() == ("log" if log else "linear")
        bars = ax.containers[0]  # the ErrorbarContainer of D_s
        segments = bars.lines[2][0].get_segments()
        heights = [np.asarray(seg).reshape(-1, 2)[:, 1] for seg in segments]
        heights = [h for h in heights if h.size and np.isfinite(h).all()]
        if log:  # three positive points; the lower bar of the third is clipped above zero
            assert len(heights) == 3
            assert heights[2].min() == pytest.approx(0.1 * Ds[2])
        else:
            np.testing.assert_allclose([h.max() - h.min() for h in heights], 2 * err)
    plt.close("all")


def test_gap_floor_rejects_numerical_noise():
    T = np.array([0.06, 0.1, 0.14])
    noise = np.array([2e-5, 1e-5, 5e-6])  # a sample without condensate
    assert math.isnan(gap_critical_temperature(T, noise))
    with pytest.warns(AccuracyWarning, match="extend the sweep"):
        assert gap_critical_temperature(T, noise, floor=0.0) > 0.14  # noise taken seriously


def test_seed_mean_takes_the_larger_of_seed_spread_and_estimator_noise():
    """One policy for the error of a seed mean (the paper figure and the study tables):
    max(standard error over seeds, sqrt(sum of errors²) / count), NaN values left out."""
    from largebdg.analysis.tables import seed_mean, seed_spread

    values = np.array([[1.0, 2.0, np.nan], [3.0, 2.0, np.nan], [np.nan, 2.0, 5.0]])
    errors = np.array([[0.1, 0.3, 0.0], [0.1, 0.4, 0.0], [0.0, 0.0, 0.2]])
    mean, err, n = seed_mean(values, errors)
    assert np.allclose(mean, [2.0, 2.0, 5.0]) and list(n) == [2, 3, 1]
    assert np.isclose(err[0], np.std([1.0, 3.0], ddof=1) / np.sqrt(2))  # seeds dominate
    assert np.isclose(err[1], np.sqrt(0.3**2 + 0.4**2) / 3)  # estimators dominate
    assert np.isclose(err[2], 0.2)  # one seed: its own uncertainty
    assert np.isnan(seed_mean(np.full((2, 1), np.nan), np.zeros((2, 1)))[1][0])
    m, s = seed_spread([[1.0, 2.0]])
    assert list(m) == [1.0, 2.0] and list(s) == [0.0, 0.0]
