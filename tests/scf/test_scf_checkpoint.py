"""Checkpoint/resume hooks of the scf loop: a resumed solve continues the identical iteration."""

import warnings

import numpy as np
import pytest
from _helpers import paper_config

from largebdg.engines import make_engine
from largebdg.errors import ConvergenceWarning
from largebdg.scf import AndersonMixer, solve
from largebdg.workflows.run import build_model


def _solve(model, engine, T=0.098, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return solve(model, engine, T, tol=1e-9, tol_density=1e-8, tol_filling=1e-9, **kw)


@pytest.mark.parametrize("method, T", [("dense", 0.098), ("chebyshev", 0.098),
                                       ("chebyshev", 0.03)])
def test_resume_from_any_snapshot_is_bit_identical(method, T):
    """Also where the Chebyshev plans expand tanh outside band 1's certified gap (T = 0.03):
    the engine decides whether a kept plan's gap holds exactly, whatever it remembers."""
    config = paper_config(8, method=method)
    model, _ = build_model(config)
    options = config.engine_options()
    snapshots = []
    engine = make_engine(method, model, **options)
    full = _solve(model, engine, T, max_iter=40, checkpoint=snapshots.append,
                  checkpoint_seconds=0.0)
    if T < 0.05:
        assert engine.last[0].gap > 0
    assert [s["iteration"] for s in snapshots] == list(range(1, full.iterations))
    for snap in (snapshots[2], snapshots[len(snapshots) // 2]):
        resumed = _solve(model, make_engine(method, model, **options), T, max_iter=40,
                         resume=snap)
        assert resumed.iterations == full.iterations
        assert np.array_equal(resumed.state.delta, full.state.delta)
        assert np.array_equal(resumed.state.density, full.state.density)
        assert np.array_equal(resumed.state.mu, full.state.mu)
        for key in ("max_ddelta", "mu", "accuracy"):
            np.testing.assert_array_equal(resumed.history[key], full.history[key])


def test_checkpoint_every_n_iterations():
    config = paper_config(8)
    model, _ = build_model(config)
    seen = []
    _solve(model, make_engine("dense", model), max_iter=10,
           checkpoint=lambda s: seen.append(s["iteration"]), checkpoint_seconds=float("inf"),
           checkpoint_iterations=3)
    assert seen == [3, 6, 9]


def test_anderson_state_round_trip():
    rng = np.random.default_rng(0)
    a, b = AndersonMixer(history=3), AndersonMixer(history=3)
    for _ in range(5):
        x, r = rng.normal(size=6), rng.normal(size=6)
        a.step(x, r)
    b.set_state(a.get_state())
    x, r = rng.normal(size=6), rng.normal(size=6)
    assert np.array_equal(a.step(x, r), b.step(x, r))
