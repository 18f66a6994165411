import dataclasses

import numpy as np
import pytest
from _helpers import paper_config
from scipy.optimize import brentq

from largebdg.config import RunConfig
from largebdg.errors import ConvergenceWarning
from largebdg.model.clean import clean_chemical_potentials
from largebdg.workflows.run import build_model, run


def momentum_space_gaps(L, T, g=(2.0, 1.0), g12=0.25, filling=(0.5, 0.8), t=1.0):
    """Independent reference: uniform gaps of the L x L lattice from the k-space BCS equations."""
    k = 2 * np.pi * np.arange(L) / L
    eps = -2 * t * (np.cos(k)[:, None] + np.cos(k)[None, :]).ravel()

    def band(delta, n):
        mu = brentq(lambda m: np.mean(1 - (eps - m) / np.hypot(eps - m, delta)
                                      * np.tanh(np.hypot(eps - m, delta) / (2 * T))) - n, -6, 6,
                    xtol=1e-14)
        E = np.hypot(eps - mu, delta)
        return np.mean(delta / (2 * E) * np.tanh(E / (2 * T)))

    d = np.array([0.2, 0.1])
    for _ in range(2000):
        F = [band(d[b], filling[b]) for b in range(2)]
        new = np.array([g[0] * F[0] + g12 * F[1], g[1] * F[1] + g12 * F[0]])
        if np.abs(new - d).max() < 1e-12:
            break
        d = new
    return new


@pytest.mark.slow
def test_clean_limit_L32_matches_momentum_space():
    ref = momentum_space_gaps(32, 0.05)
    assert np.allclose(ref, [0.206633, 0.082139], atol=1e-6)  # docs/model.md table
    cfg = RunConfig.from_dict({"lattice": {"L": 32},
                               "solver": {"T": 0.05, "tol": 1e-8, "tol_filling": 1e-9}})
    res = run(cfg)
    assert res.converged
    assert np.abs(res.delta[0] - ref[0]).max() < 1e-5
    assert np.abs(res.delta[1] - ref[1]).max() < 1e-5
    assert np.allclose(res.filling, [0.5, 0.8], atol=1e-8)


def test_clean_small_lattice_tight():
    ref = momentum_space_gaps(12, 0.05)
    assert np.allclose(ref, [0.12941, 0.04233], atol=1e-5)  # docs/model.md: L = 12
    cfg = RunConfig.from_dict({"lattice": {"L": 12},
                               "solver": {"T": 0.05, "tol": 1e-10, "tol_filling": 1e-11}})
    res = run(cfg)
    assert np.abs(res.delta - ref[:, None, None]).max() < 1e-8


def test_disordered_converges_and_holds_fillings():
    res = run(paper_config(12))
    assert res.converged
    assert np.allclose(res.filling, [0.5, 0.8], atol=1e-7)
    # the gap equations (9a, 9b) hold at the solution
    hist = res.history["max_ddelta"]
    assert hist[-1].max() <= 1e-7
    # impurity sites of the strong band carry a smaller gap than clean sites
    imp = res.potential[0] > 0
    assert np.abs(res.delta[0][imp]).mean() < np.abs(res.delta[0][~imp]).mean()
    assert res.disorder_density[0] == pytest.approx(round(0.5 * 144) / 144)


def test_not_converged_warns_and_returns_state():
    with pytest.warns(ConvergenceWarning, match="did not converge"):
        res = run(paper_config(8, solver={"T": 0.098, "max_iter": 2}))
    assert not res.converged and res.iterations == 2
    assert np.all(np.isfinite(res.delta))


def test_anderson_beats_linear_near_tc():
    """Near T_c the linear map contracts slowly; Anderson must need far fewer iterations."""
    base = {"lattice": {"L": 8}, "solver": {"T": 0.13, "tol": 1e-7, "max_iter": 400}}
    lin = run(RunConfig.from_dict({**base, "solver": {**base["solver"], "mixing": "linear"}}))
    # linear mixing either stalls (not converged) or needs many iterations
    and_ = run(RunConfig.from_dict(base))
    assert and_.converged
    assert and_.iterations * 3 < lin.iterations


def test_warm_start_saves_iterations():
    cold = run(paper_config(8, T=0.09))
    warm = run(paper_config(8, T=0.095), initial=cold)
    again = run(paper_config(8, T=0.095))
    assert warm.converged and again.converged
    assert warm.iterations < again.iterations
    assert np.abs(warm.delta - again.delta).max() < 1e-5


def test_common_mu_clean_limit_equals_per_band():
    """Without disorder the clean-limit band offsets reproduce the per-band fillings."""
    clean = {"kind": "none"}
    per_band = run(paper_config(16, T=0.05, band1=clean))
    common = run(paper_config(16, T=0.05, band1=clean, model={"common_mu": True}))
    assert common.converged
    assert np.allclose(common.filling, (0.5, 0.8), atol=1e-5)
    assert np.abs(common.delta - per_band.delta).max() < 1e-4
    assert np.allclose(common.mu, per_band.mu, atol=1e-4)


def test_common_mu_disorder_moves_electrons_between_bands():
    band1 = {"kind": "random", "strength": 4.0, "density": 0.5, "seed": 3}
    cfg = paper_config(8, T=0.05, model={"common_mu": True}, band1=band1)
    res = run(cfg)
    assert res.converged
    assert res.filling.sum() == pytest.approx(1.3, abs=1e-5)
    assert res.filling[0] < 0.5 - 0.05          # impurities push electrons into band 2
    offset = clean_chemical_potentials(build_model(cfg)[0], 0.05)
    assert res.mu[0] - res.mu[1] == pytest.approx(offset[0] - offset[1], abs=1e-10)


def test_seed_resolution_recorded():
    cfg = paper_config(8, band1={"kind": "random", "strength": 4.0, "density": 0.5})
    res = run(cfg)
    seed = res.config.disorder[0].params["seed"]
    assert isinstance(seed, int)
    again = run(res.config)
    assert np.array_equal(again.potential, res.potential)


class _TwoLevelEngine:
    """The dense engine behind a two-level accuracy schedule whose coarse level is off by a
    fixed bias of the anomalous averages, as a cheap Chebyshev level is (once the fine level
    has been reached, the coarse level's averages are also multiplied by ``scale``)."""

    def __init__(self, engine, bias, scale=1.0, cost=0.1):
        self.engine, self.bias, self.scale, self.cost = engine, bias, scale, cost

    def level_cost(self, accuracy):
        return self.cost if accuracy == 1e-2 else 1.0

    def __getattr__(self, name):
        return getattr(self.engine, name)

    def accuracy_schedule(self, residual, current=None):
        return 1e-3 if residual <= 1e-3 or current == 1e-3 else 1e-2

    def averages(self, band, onsite, delta, T, accuracy=None):
        avg = self.engine.averages(band, onsite, delta, T)
        self.fine_seen = getattr(self, "fine_seen", False) or accuracy == 1e-3
        if accuracy == 1e-2:
            F = self.scale * avg.F if self.fine_seen else avg.F
            avg = dataclasses.replace(avg, F=F + self.bias[band])
        return avg


def test_the_mixer_starts_afresh_on_the_new_map():
    """After the accuracy level changes, the next step follows the new map's residual alone.

    Mixed with the old level's residual, Anderson's first step stalls: the difference of the
    two residuals is mostly the levels' offset, and the step undoes the last one (residual
    ratio 1.05 here; with a fresh history the linear step's 0.6).  The offset is kept below the
    mixer's restart factor (10x the best residual), which would hide it."""
    from largebdg.engines import make_engine
    from largebdg.scf import solve

    config = paper_config(8)
    model, _ = build_model(config)
    rng = np.random.default_rng(3)
    engine = _TwoLevelEngine(make_engine("dense", model), 0.002 * rng.random((2, 64)))
    out = solve(model, engine, 0.098, tol=1e-7, tol_density=1e-6, tol_filling=1e-7,
                defect_correction=False)
    assert out.converged
    fine = np.flatnonzero(out.history["accuracy"] == 1e-3)
    first, second = out.history["max_ddelta"][fine[:2]].max(axis=1)
    assert second < 0.75 * first


def _two_level_solve(scale, defect_correction, cost=0.1):
    from largebdg.engines import make_engine
    from largebdg.scf import solve

    model, _ = build_model(paper_config(8))
    bias = 0.002 * np.random.default_rng(3).random((2, 64))
    engine = _TwoLevelEngine(make_engine("dense", model), bias, scale, cost)
    return solve(model, engine, 0.098, tol=1e-7, tol_density=1e-6, tol_filling=1e-7,
                 defect_correction=defect_correction)


def test_defect_correction_reaches_the_fine_fixed_point_with_few_fine_evaluations():
    """The final level iterates the cheap level's map plus the defect (same Jacobian here):
    the fixed point is the fine map's, after four fine evaluations instead of the plain
    loop's 22 (each cycle cuts the fine residual to FACTOR = 5 % of the last one; 4e-3 to
    1e-7 here)."""
    plain = _two_level_solve(1.0, False)
    corrected = _two_level_solve(1.0, True)
    assert plain.converged and corrected.converged
    fine_plain = np.sum(plain.history["accuracy"] == 1e-3)
    fine = np.sum(corrected.history["accuracy"] == 1e-3)
    assert fine <= 4 and 4 * fine <= fine_plain
    assert corrected.history["accuracy"][-1] == 1e-3  # only a fine evaluation ends the loop
    assert np.abs(corrected.state.delta - plain.state.delta).max() < 1e-6
    assert np.abs(corrected.state.density - plain.state.density).max() < 1e-5


def test_a_poor_cheap_map_falls_back_to_plain_mixing():
    """A cheap map whose Jacobian is far from the fine one's (the anomalous averages' sign
    flipped) cannot halve the fine residual per cycle: the loop falls back to plain mixing of
    the fine map and still reaches its fixed point."""
    plain = _two_level_solve(1.0, False)
    corrected = _two_level_solve(-1.0, True)
    assert corrected.converged
    assert np.all(corrected.history["accuracy"][-3:] == 1e-3)  # plain fine iterations at the end
    assert np.abs(corrected.state.delta - plain.state.delta).max() < 1e-6


def test_a_cheap_map_that_is_not_much_cheaper_is_not_used():
    """At 0.7 of the fine map's cost (near T_c the levels' moments are close) the final level
    is iterated plainly: the same iterations as without defect correction."""
    plain = _two_level_solve(1.0, False)
    dear = _two_level_solve(1.0, True, cost=0.7)
    np.testing.assert_array_equal(dear.history["accuracy"], plain.history["accuracy"])
    np.testing.assert_array_equal(dear.state.delta, plain.state.delta)


def test_a_diverging_cheap_map_is_abandoned_at_once():
    """A cheap map with three times the fine Jacobian makes the corrected map diverge: the
    inner solve is abandoned as soon as its residual exceeds DIVERGED times the cycle's fine
    residual, and the fine map is mixed plainly from the cycle's input to its fixed point."""
    from largebdg.scf.correction import MAX_INNER

    plain = _two_level_solve(1.0, False)
    corrected = _two_level_solve(3.0, True)
    assert corrected.converged
    acc = corrected.history["accuracy"]
    first_fine = np.flatnonzero(acc == 1e-3)[0]
    assert 0 < np.sum(acc[first_fine:] == 1e-2) < MAX_INNER
    assert np.abs(corrected.state.delta - plain.state.delta).max() < 1e-6
