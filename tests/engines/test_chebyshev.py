"""The Chebyshev engine against the dense reference engine."""

import numpy as np
import pytest
from _helpers import TOL_CHEB_DEFAULT, TOL_SAME, paper_config

from largebdg.engines import dense
from largebdg.engines.chebyshev import ChebyshevEngine
from largebdg.errors import ParameterError
from largebdg.kpm.probing import class_tails, colour_count
from largebdg.model.clean import clean_blocks
from largebdg.operators.pattern import BdGPattern
from largebdg.workflows.run import run


@pytest.fixture(scope="module")
def disordered_L16():
    """A self-consistent disordered L = 16 state (dense) and its model."""
    res = run(paper_config(16))
    return res, res.model()


def _onsite(res, model, band):
    return model.onsite(band, res.density[band], res.mu[band])


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
        by_distance = [_errors(ChebyshevEngine(model, num_moments=400, probing_distance=d,
                                               control_variate=False)  # one kind of probe
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


def test_threads_give_identical_averages(disordered_L16):
    """Threads over blocks (serial kernel) and one thread (parallel kernel): the same numbers,
    which is why ``chebyshev.threads`` is a result-neutral setting (config.RESULT_NEUTRAL_KEYS)."""
    res, model = disordered_L16
    for band in (0, 1):
        args = (band, _onsite(res, model, band), res.delta[band].ravel(), 0.1)
        one = ChebyshevEngine(model, threads=1, block_size=8, probing_distance=6).averages(*args)
        two = ChebyshevEngine(model, threads=2, block_size=8, probing_distance=6).averages(*args)
        for name in ("n", "F", "bond_x", "bond_y"):
            np.testing.assert_array_equal(getattr(one, name), getattr(two, name))


def test_a_kept_window_is_confirmed_by_the_weyl_bound_without_slepc(disordered_L16,
                                                                     monkeypatch):
    """Near self-consistency the field moves little: the last SLEPc bound plus the norm of
    the change, max_i hypot(δonsite_i, δΔ_i), bounds the new spectral radius (checked against
    dense diagonalisation) and keeps the plan without another SLEPc solve; a change beyond
    the window's margin calls SLEPc again."""
    from largebdg.operators.petsc import PetscBdGOperator

    res, model = disordered_L16
    band = 0
    onsite, delta = _onsite(res, model, band), res.delta[band].ravel()
    engine = ChebyshevEngine(model, tolerance=1e-2)
    engine.averages(band, onsite, delta, 0.1)
    plan = engine.last[band]
    calls = []
    solve = PetscBdGOperator.spectral_bound
    monkeypatch.setattr(PetscBdGOperator, "spectral_bound",
                        lambda self, *a: calls.append(1) or solve(self, *a))
    rng = np.random.default_rng(1)
    moved = onsite + 1e-2 * rng.standard_normal(onsite.size), delta * 1.01
    weyl = engine._weyl_bound(band, *moved)
    H = engine._operator(band).pattern.matrix(model.t[band], *moved).toarray()
    assert np.abs(np.linalg.eigvalsh(H)).max() <= weyl <= plan.scale
    engine.averages(band, *moved, 0.1)
    assert not calls and engine.last[band] is plan
    engine.averages(band, onsite + 0.5, delta, 0.1)  # beyond the 3 % margin: SLEPc again
    assert calls


@pytest.fixture(scope="module")
def cold_L16():
    """A self-consistent disordered L = 16 state at T = 0.025 (dense), where band 1's gap is
    several pi T."""
    res = run(paper_config(16, T=0.025))
    return res, res.model()


def test_gapped_plans_match_dense_at_low_temperature(cold_L16):
    """Plans expand tanh outside the certified gap: band 1 (gap >> pi T) needs a third of the
    moments, and its realised error against dense, per site and over all four entries, stays
    within the truncation bound (unit start vectors) and the tolerance (probing)."""
    res, model = cold_L16
    ex = dense.DenseEngine(model)
    for band in (0, 1):
        onsite, delta = _onsite(res, model, band), res.delta[band].ravel()
        exact = _tau(ex.averages(band, onsite, delta, res.T))
        E = np.abs(np.linalg.eigvalsh(
            BdGPattern(model.L).matrix(model.t[band], onsite, delta).toarray())).min()
        for tol in (1e-3, 1e-5):
            plain = ChebyshevEngine(model, tolerance=tol, start_vectors="unit",
                                    spectral_gap=False)
            plain.averages(band, onsite, delta, res.T)
            gapped = ChebyshevEngine(model, tolerance=tol, start_vectors="unit")
            realised = np.abs(_tau(gapped.averages(band, onsite, delta, res.T)) - exact).max()
            plan = gapped.last[band]
            assert 0 <= plan.gap < E and realised <= plan.truncation <= tol / 2
            if band == 0:
                assert plan.gap > 3 * np.pi * res.T
                assert plan.num_moments < 0.4 * plain.last[band].num_moments
        probed = ChebyshevEngine(model, tolerance=1e-3)
        assert np.abs(_tau(probed.averages(band, onsite, delta, res.T)) - exact).max() < 1e-3


def test_a_gapped_plan_is_given_up_when_the_gap_closes(cold_L16, monkeypatch):
    """A small change of the field keeps a gapped plan by Weyl's inequality, without a
    factorisation, a larger one that does not close the gap by one eigenvalue count; sites
    whose gap vanishes put states into the gap, and the next plan is made
    for the new certified gap (checked against dense), its averages again within tolerance."""
    from largebdg.engines import chebyshev

    res, model = cold_L16
    band = 0
    onsite, delta = _onsite(res, model, band), res.delta[band].ravel()
    engine = ChebyshevEngine(model, tolerance=1e-3, start_vectors="unit")
    engine.averages(band, onsite, delta, res.T)
    plan = engine.last[band]
    calls = []
    certify = chebyshev.band_gap
    monkeypatch.setattr(chebyshev, "band_gap", lambda *a: calls.append(1) or certify(*a))
    engine.averages(band, onsite, delta * (1 + 1e-4), res.T)
    assert not calls and engine.last[band] is plan
    wider = delta + 0.05  # beyond Weyl's margin, but the gap only grows: one count keeps it
    engine.averages(band, onsite, wider, res.T)
    assert not calls and engine.last[band] is plan
    closed = delta.copy()
    closed[:24] = 0.0  # a strip of normal sites: Andreev states inside the old gap
    H = BdGPattern(model.L).matrix(model.t[band], onsite, closed).toarray()
    E = np.abs(np.linalg.eigvalsh(H)).min()
    assert E < plan.gap
    averages = _tau(engine.averages(band, onsite, closed, res.T))
    new = engine.last[band]
    assert new is not plan and new.gap < E
    exact = _tau(dense.DenseEngine(model).averages(band, onsite, closed, res.T))
    assert np.abs(averages - exact).max() <= new.truncation


def test_chebyshev_rejects_zero_temperature(disordered_L16):
    res, model = disordered_L16
    with pytest.raises(ParameterError, match="'T'"):
        ChebyshevEngine(model).averages(0, _onsite(res, model, 0), res.delta[0].ravel(), 0.0)


def _tau(avg):
    """The entries of tanh(H/2T) the engine reads, in the units of its tolerance."""
    return np.array([1 - avg.n, 2 * avg.F, -avg.bond_x, -avg.bond_y])


@pytest.fixture(scope="module")
def states_L32():
    """Disordered L = 32 mean fields (a few dense iterations) where probing is active (d < 16)."""
    from largebdg.scf import solve

    out = []
    for band1, T in [({"kind": "random", "strength": 4.0, "density": 0.5, "seed": 3}, 0.05),
                     ({"kind": "random", "strength": 4.0, "density": 0.5, "seed": 7}, 0.098),
                     ({"kind": "correlated", "density": 0.7, "seed": 2}, 0.2),
                     ({"kind": "stripes", "period": 8, "width": 4}, 0.098)]:
        cfg = paper_config(32, T=T, band1=band1)
        from largebdg.workflows.run import build_model

        model, _ = build_model(cfg)
        with pytest.warns(Warning):
            state = solve(model, dense.DenseEngine(model), T, max_iter=3).state
        out.append((model, state, T))
    return out


def test_measured_probing_error_covers_the_realised_error(states_L32):
    """The engine's error estimate bounds the realised error of every site (L = 32, d < L/2).

    Four disorder kinds and temperatures, both bands, every colouring with d < L/2: the
    probing estimate of :meth:`error_estimate` (all colour classes) is at least the largest
    error over all sites, measured against exact columns (unit start vectors, same moments).
    d = 4 and 8 are sublattices, where the weak band's probes are corrected to first order.
    The estimate from the nested refinement (the plans' few classes) covers it too.
    """
    checked, orders = 0, set()
    for model, state, T in states_L32:
        for band in (0, 1):
            onsite, delta = model.onsite(band, state.density[band], state.mu[band]), \
                state.delta[band]
            exact = _tau(ChebyshevEngine(model, start_vectors="unit").averages(band, onsite,
                                                                             delta, T))
            for d in (4, 6, 8, 10):
                engine = ChebyshevEngine(model, probing_distance=d)
                realised = np.abs(_tau(engine.averages(band, onsite, delta, T)) - exact).max()
                estimate = engine.error_estimate(band, onsite, delta, T)
                assert estimate["probing_distance"] == d
                assert realised <= estimate["probing"], (T, band, d, realised, estimate)
                assert estimate["probing"] <= 4 * realised  # and it is not a loose bound
                nested = engine._measured_probing(  # every class refined by splitting it
                    band, engine._entries(band, onsite, delta, engine.last[band].scale,
                                          engine.last[band].coefficients()),
                    d, colour_count(32, d), tails=engine._last_probe[band][4], nested=True)
                assert realised <= nested[engine.last[band].control_variate].max()
                checked += 1
                orders.add(engine.last[band].control_variate)
    assert checked == 32 and orders == {0, 1, 2}


def test_control_variate_is_exact_for_a_uniform_field():
    """On a uniform mean field the probes minus the homogeneous tails are the unit-vector
    entries of the same series (the reference is exact), at every probing distance."""
    from largebdg.workflows.run import build_model

    model, _ = build_model(paper_config(16, T=0.05, band1={"kind": "none"}))
    onsite, delta = np.full(model.n_sites, -0.3), np.full(model.n_sites, 0.08)
    exact = _tau(ChebyshevEngine(model, start_vectors="unit").averages(1, onsite, delta, 0.05))
    for d in (4, 5, 8):
        engine = ChebyshevEngine(model, probing_distance=d)
        probed = _tau(engine.averages(1, onsite, delta, 0.05))
        assert engine.last[1].control_variate
        assert np.abs(probed - exact).max() < TOL_SAME
        plain = ChebyshevEngine(model, probing_distance=d, control_variate=False)
        assert np.abs(_tau(plain.averages(1, onsite, delta, 0.05)) - exact).max() > 1e-3


def test_control_variate_cuts_the_weak_band_probing_error(states_L32):
    """Disordered band 1, clean weak band 2 (L = 32, d = 8, a sublattice): the plan subtracts
    the homogeneous tails to first order in the field, its estimate covers the realised
    error, which is at least five times below that of the homogeneous tails alone and 50
    times below the plain probes' (measured 16-26x and 110-3500x in the four states);
    without ``control_variate`` the plain probes are used."""
    for model, state, T in states_L32:
        band = 1
        onsite, delta = model.onsite(band, state.density[band], state.mu[band]), \
            state.delta[band]
        exact = _tau(ChebyshevEngine(model, start_vectors="unit").averages(band, onsite,
                                                                         delta, T))
        realised, chosen = {}, {}
        for cv in (True, False):
            engine = ChebyshevEngine(model, probing_distance=8, control_variate=cv)
            probes = _tau(engine.averages(band, onsite, delta, T))
            realised[cv] = np.abs(probes - exact).max()
            chosen[cv] = engine.last[band].control_variate
            assert realised[cv] <= engine.error_estimate(band, onsite, delta, T)["probing"]
        plan = engine.last[band]
        series = plan.coefficients()
        blocks = clean_blocks(32, model.t[band], -onsite.mean(), delta.mean(),
                              lambda E: np.polynomial.chebyshev.chebval(E / plan.scale, series))
        homogeneous = np.abs(probes - class_tails(32, 8, *blocks) - exact).max()
        assert chosen == {True: 2, False: 0}
        assert realised[True] < homogeneous / 5 and realised[True] < realised[False] / 50


def test_automatic_plan_meets_its_tolerance_with_probing_active(states_L32):
    """Automatic moments and distance: realised error <= estimate <= tolerance, some d < L/2."""
    distances = []
    for model, state, T in states_L32:
        for band in (0, 1):
            onsite, delta = model.onsite(band, state.density[band], state.mu[band]), \
                state.delta[band]
            engine = ChebyshevEngine(model, tolerance=5e-2)
            avg = engine.averages(band, onsite, delta, T)
            estimate = engine.error_estimate(band, onsite, delta, T)
            while estimate["estimate"] > engine.tolerance and engine.tighten(band):
                avg = engine.averages(band, onsite, delta, T)  # what the loop does (scf.solve)
                estimate = engine.error_estimate(band, onsite, delta, T)
            exact = _tau(ChebyshevEngine(model, start_vectors="unit", num_moments=2000)
                         .averages(band, onsite, delta, T))
            realised = np.abs(_tau(avg) - exact).max()
            assert realised <= estimate["estimate"] <= engine.tolerance
            distances.append(estimate["probing_distance"])
    assert min(distances) < 16, distances


def test_margin_is_learned_on_the_whole_lattice_before_the_level_tightens(states_L32):
    """Before a band's accuracy level tightens, the engine measures the kept plan on every
    colour class of the current field and raises the band's margin to the largest class
    estimate over a typical four-class one: the margin a separate engine with that plan
    learns from its check at convergence on the same field.  The disordered band 1 has rare
    worse classes, so its margin exceeds 1."""
    model, state, T = states_L32[1]  # random disorder, T = 0.098
    band = 0
    onsite, delta = model.onsite(band, state.density[band], state.mu[band]), state.delta[band]
    engine = ChebyshevEngine(model, tolerance=1e-3, spectral_gap=False)  # the plain series,
    engine.averages(band, onsite, delta, T, accuracy=1e-2)  # as the reference's hand-set M
    kept = engine.last[band]
    assert kept.probing_distance < model.L and kept.probing > 0
    engine.averages(band, onsite, delta, T, accuracy=1e-3)
    reference = ChebyshevEngine(model, num_moments=kept.num_moments,
                                probing_distance=kept.probing_distance,
                                control_variate=kept.control_variate)
    reference.averages(band, onsite, delta, T)
    assert reference.last[band].control_variate == kept.control_variate
    reference.error_estimate(band, onsite, delta, T)
    margin = engine.settings()["probing_margin"][band]
    assert margin == pytest.approx(reference.settings()["probing_margin"][band], rel=1e-12)
    assert margin > 1
    assert engine.last[band].accuracy == 1e-3


def test_a_looser_level_keeps_its_plan_beside_the_current_one(states_L32):
    """After the accuracy tightens, requests at the level left behind use its kept plan (the
    defect correction of the loop iterates that map) and leave the current plan, the recorded
    settings and the error check alone; checkpoints carry both plans."""
    model, state, T = states_L32[1]
    band = 0
    onsite, delta = model.onsite(band, state.density[band], state.mu[band]), state.delta[band]
    engine = ChebyshevEngine(model, tolerance=1e-3)
    cheap = engine.averages(band, onsite, delta, T, accuracy=1e-2)
    cheap_plan = engine.last[band]
    engine.averages(band, onsite, delta, T, accuracy=1e-3)
    fine_plan = engine.last[band]
    assert fine_plan.accuracy == 1e-3 and fine_plan != cheap_plan
    again = engine.averages(band, onsite, delta, T, accuracy=1e-2)
    assert np.array_equal(again.F, cheap.F) and np.array_equal(again.n, cheap.n)
    assert engine.last[band] is fine_plan and engine.plan(band, onsite, delta, T) is fine_plan
    assert engine.settings()["num_moments"] == [fine_plan.num_moments]
    assert engine.level_cost(1e-3) is None  # band 2 has no plan yet
    other = model.onsite(1, state.density[1], state.mu[1]), state.delta[1]
    engine.averages(1, *other, T, accuracy=1e-2)
    engine.averages(1, *other, T, accuracy=1e-3)
    plans = [engine.plan(b, *f, T, accuracy=a) for a in (1e-2, 1e-3)
             for b, f in enumerate([(onsite, delta), other])]
    costs = [colour_count(model.L, p.probing_distance) * p.num_moments
             for p in plans]
    assert engine.level_cost(1e-2) == sum(costs[:2]) < engine.level_cost(1e-3) == sum(costs[2:])
    twin = ChebyshevEngine(model, tolerance=1e-3)
    twin.set_state(engine.get_state())
    assert twin.plan(band, onsite, delta, T, accuracy=1e-2) == cheap_plan
    assert twin.plan(band, onsite, delta, T) == fine_plan


def test_a_margin_is_learned_from_one_field():
    """The weak band planned on the uniform start (the homogeneous tails leave no error, the
    plan's estimate is ~1e-16) and checked on a disordered field learns a finite margin from
    that field alone, not the ratio to the start's estimate (which made it 1e13 and every
    later plan exact columns)."""
    from largebdg.scf import initial_state
    from largebdg.workflows.run import build_model

    model, _ = build_model(paper_config(32, T=0.05, band1={"kind": "random", "strength": 4.0,
                                                           "density": 0.5, "seed": 3}))
    band, T = 1, 0.05
    start = initial_state(model, T)
    engine = ChebyshevEngine(model, tolerance=1e-3, probing_distance=8)
    engine.averages(band, model.onsite(band, start.density[band], start.mu[band]),
                    start.delta[band], T)
    assert engine.last[band].control_variate and engine.last[band].probing < 1e-12
    rng = np.random.default_rng(0)
    delta = start.delta[band] * (1 + 0.3 * rng.random(model.n_sites))
    onsite = model.onsite(band, start.density[band], start.mu[band])
    engine.averages(band, onsite, delta, T)  # the same plan on a disordered field
    assert engine.error_estimate(band, onsite, delta, T)["probing"] > 1e-5  # start: ~1e-16
    [margin] = engine.settings()["probing_margin"]  # only band 2 has a plan
    assert 1 <= margin < 10


def test_a_plan_measures_few_classes_with_nested_refining_probes(states_L32, monkeypatch):
    """A plan's few classes are refined by splitting them (8 of the 9 parts of a class need
    vectors for an odd q, instead of one per site); the whole-lattice estimate takes the
    cheaper spaced colouring.  L = 32, d = 6: five segments per axis, C = 49 colours, classes
    of 25 sites, eleven of them for PLAN_MIN_SITES = 256: at most 88 nested against 256
    spaced vectors."""
    model, state, T = states_L32[1]
    band = 1
    onsite, delta = model.onsite(band, state.density[band], state.mu[band]), state.delta[band]
    engine = ChebyshevEngine(model, probing_distance=6)
    probes = []
    probe = engine._probe
    monkeypatch.setattr(engine, "_probe", lambda e, labels, classes, reach=None: (
        probes.append((int(labels.max()) + 1, len(classes))),
        probe(e, labels, classes, reach))[1])
    engine.averages(band, onsite, delta, T)  # the plan: 11 classes, then 8 of 9 parts of each
    assert probes[0] == (49, 11)
    assert probes[1][0] == 441 and 11 * 3 < probes[1][1] <= 88  # fewer where segments end
    plan = engine.last[band]
    assert 0 < plan.probing
    probes.clear()
    whole = engine.error_estimate(band, onsite, delta, T)["probing"]
    assert probes[-1] == (256, 256)  # every site's spaced refining colour (16 x 16)
    exact = _tau(ChebyshevEngine(model, start_vectors="unit", num_moments=plan.num_moments)
                 .averages(band, onsite, delta, T))
    probed = _tau(engine.averages(band, onsite, delta, T))
    assert np.abs(probed - exact).max() <= whole


def test_the_part_left_out_of_a_nested_refinement_follows_from_the_others(states_L32):
    """A coarse class's probe is the sum of its parts' probes, so at the sites of the part left
    out the refined entries (coarse minus the other parts read there) are that part's own
    probe, to rounding: both bands, q even (d = 8) and odd (d = 6), L = 32."""
    from largebdg.kpm.probing import colouring, refining_colouring

    model, state, T = states_L32[1]
    for band in (0, 1):
        onsite, delta = model.onsite(band, state.density[band], state.mu[band]), \
            state.delta[band]
        engine = ChebyshevEngine(model, probing_distance=8)
        engine.averages(band, onsite, delta, T)
        plan = engine.last[band]
        entries = engine._entries(band, onsite, delta, plan.scale, plan.coefficients())
        for d in (6, 8):
            labels, parts = colouring(32, d), colouring(32, d, nested=True)
            coarse = engine._probe(entries, labels, np.arange(labels.max() + 1))
            every = engine._probe(entries, parts, np.unique(parts))
            needed = refining_colouring(32, d, np.arange(32 * 32), nested=True)[3]
            fine, read = engine._probe(entries, parts, needed, reach=labels)
            left = ~np.isin(parts, needed)
            assert 0 < left.sum() < 32 * 32 / 2
            assert np.abs(fine[:, ~left] - every[:, ~left]).max() == 0
            fine[:, left] = coarse[:, left] - read[:, left]
            assert np.abs(fine - every).max() < TOL_SAME


def test_a_warm_started_run_inherits_the_plan_margins():
    """``run(config, initial=result)`` passes the Chebyshev margins on (sweeps, studies); a dense
    result passes nothing."""
    cfg = paper_config(16, method="chebyshev", tol=1e-4, solver={"T": 0.098, "method":
                                                                 "chebyshev", "max_iter": 3})
    with pytest.warns(Warning):
        first = run(cfg)
    first.solver_settings["probing_margin"] = [7.5, 1.0]
    with pytest.warns(Warning):
        second = run(cfg, initial=first)
    assert second.solver_settings["probing_margin"][0] >= 7.5
    first.solver_settings["method"] = "dense"
    with pytest.warns(Warning):
        third = run(cfg, initial=first)
    assert third.solver_settings["probing_margin"][0] < 7.5


@pytest.mark.parametrize("setting", ["chebyshev.num_moments=40", "chebyshev.probing_distance=2"])
def test_too_coarse_hand_settings_are_never_called_converged(setting):
    """Issue 10, item 1: hand-set settings too coarse for the tolerance give converged = False."""
    from largebdg.config import apply_overrides
    from largebdg.errors import AccuracyWarning

    cfg = apply_overrides(paper_config(16, method="chebyshev", tol=1e-5), [setting])
    with pytest.warns(AccuracyWarning, match="exceeds its tolerance"):
        res = run(cfg)
    assert not res.converged
    estimates = res.solver_settings["error_estimate"]
    assert max(e["estimate"] for e in estimates) > cfg.chebyshev.tolerance
    assert "exceeds its tolerance" in res.solver_settings["not_converged"]


def test_a_plan_counts_the_refining_vectors_of_its_check():
    """Of two distances within budget with equal estimates, L = 128: d = 18 (q = 7, 361
    colours, its check 1849 spaced refining vectors) and d = 21 (q = 6, 484 colours, 1452
    nested ones), the final level (3 evaluations per check) takes 21, a looser level (10)
    takes 18."""
    from largebdg.workflows.run import build_model

    model, _ = build_model(paper_config(128))
    engine = ChebyshevEngine(model, tolerance=1e-3)

    def measured(d):  # only d >= 18 within the budget, with the same estimate
        return (1e-4 if d >= 18 else 1.0), 0

    assert engine._cheapest(measured, 4, 0.098, 9.0, 1e-3, None, 1.0)[0] == 21
    assert engine._cheapest(measured, 4, 0.098, 9.0, 1e-2, None, 1.0)[0] == 18
