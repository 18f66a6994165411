"""kpm_stiffness (colour-signed probing) against exact_stiffness on self-consistent lattices.

Mean fields (``data/*.npz``): dense self-consistent solutions of the paper's random case
(V = 4, N_d = 0.5 in band 1; band 2 clean, filling 0.8) at L = 16 and 24, the ones the
measurements of docs/stiffness.md were made on (t, onsite, delta, bond_x per band).
"""

import functools
import os

import numpy as np
import pytest

from largebdg.errors import ParameterError
from largebdg.kpm.probing import colouring, sheared_colouring, square_lattice_vectors
from largebdg.kpm.vectors import colour_classes, signed_colour_block
from largebdg.observables.stiffness import exact_stiffness
from largebdg.model.lattice import neighbour_index
from largebdg.observables.current import kinetic_energy_x
from largebdg.observables.stiffness_kpm import kpm_kinetic, kpm_stiffness
from largebdg.operators.pattern import BdGPattern
from largebdg.workflows.stiffness import EXACT_MAX_L, METHODS, resolve_method

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
TOL_ERROR = 5e-4  # required |D_s - exact|
COVERAGE = 0.95  # required fraction of cases with |error| <= uncertainty


@functools.lru_cache(maxsize=None)
def mean_field(L, seed, T):
    """Both bands' (t, onsite, delta, bond_x) of a dense self-consistent solution."""
    z = np.load(os.path.join(DATA, f"L{L}_s{seed}_T{T:g}.npz"))
    return tuple((float(z[f"t{b}"]), z[f"onsite{b}"], z[f"delta{b}"], z[f"bond_x{b}"])
                 for b in range(2))


@functools.lru_cache(maxsize=None)
def exact(L, seed, T, band):
    t, onsite, delta, _ = mean_field(L, seed, T)[band]
    return exact_stiffness(L, t, onsite, delta, T)


# ------------------------------------------------------------ default settings


DEFAULT_CASES = [(16, 1, 0.1), (16, 1, 0.15), (16, 2, 0.22), (24, 1, 0.22)]


def test_default_settings_error_and_coverage():
    rows = []
    for k, (L, seed, T) in enumerate(DEFAULT_CASES):
        for band in (0, 1):
            t, onsite, delta, bond = mean_field(L, seed, T)[band]
            ds, unc, info = kpm_stiffness(L, t, onsite, delta, T,
                                          kinetic=kinetic_energy_x(L, t, bond), seed=100 + k)
            rows.append((L, seed, T, band, ds - exact(L, seed, T, band), unc, info["mode"]))
    errors = np.array([r[4] for r in rows])
    unc = np.array([r[5] for r in rows])
    table = "\n".join(f"L={r[0]} s={r[1]} T={r[2]} band {r[3] + 1}: err {r[4]:+.2e} "
                      f"unc {r[5]:.2e} {r[6]}" for r in rows)
    assert np.all(np.abs(errors) <= TOL_ERROR), table
    assert np.mean(np.abs(errors) <= unc) >= COVERAGE, table
    assert np.all(unc <= 1e-4 + 1e-12), table  # the requested tolerance is reached


# ------------------------------------------------------------ the statistical error model

# a deliberately small colouring (16 colours) and 2-4 draws, so that the probing noise
# dominates and the coverage test is not trivial
COVERAGE_CASES = [(16, 1, 0.1), (16, 2, 0.22), (16, 3, 0.05), (24, 2, 0.15)]
REPEATS = 8


def test_coverage_of_uncertainty_many_draws():
    inside, zs, errors = [], [], []
    for L, seed, T in COVERAGE_CASES:
        for band in (0, 1):
            t, onsite, delta, bond = mean_field(L, seed, T)[band]
            ex = exact(L, seed, T, band)
            for rep in range(REPEATS):
                ds, unc, info = kpm_stiffness(L, t, onsite, delta, T,
                                              kinetic=kinetic_energy_x(L, t, bond),
                                              seed=1000 * seed + rep,
                                              probing_distance=4 if L == 16 else 6,
                                              num_draws=2 + rep % 3)
                assert info["mode"] == "colour-signed", info["mode"]
                inside.append(abs(ds - ex) <= unc)
                errors.append(abs(ds - ex))
                zs.append((ds - ex) / info["stderr"])
    assert np.mean(inside) >= COVERAGE, (np.mean(inside), len(inside))
    # standardised errors: mean ~ 0, spread ~ 1 (stderr neither far too small nor large)
    zs = np.array(zs)
    assert abs(zs.mean()) < 4 / np.sqrt(zs.size) + 0.1, zs.mean()
    assert 0.6 < zs.std() < 1.4, zs.std()


@functools.lru_cache(maxsize=None)
def exact_kinetic(L, seed, T, band, direction="x"):
    """<-k> of the mean field by dense diagonalisation: (2t/N) sum_i b_i,
    b_i = -tanh(H/2T)_{i+e,i}."""
    t, onsite, delta, _ = mean_field(L, seed, T)[band]
    E, W = np.linalg.eigh(BdGPattern(L).matrix(t, onsite, delta).toarray())
    tau = (W * np.tanh(E / (2 * T))) @ W.T
    i = np.arange(L * L)
    return kinetic_energy_x(L, t, -tau[neighbour_index(L, direction), i])


def test_kinetic_coverage_many_draws():
    """kpm_kinetic (the default diamagnetic term): the uncertainty covers the realised error.

    Short colourings (16 or 36 colours) and 2-4 draws, so that the probing noise dominates.
    """
    inside, zs = [], []
    for L, seed, T in COVERAGE_CASES:
        for band in (0, 1):
            t, onsite, delta, _ = mean_field(L, seed, T)[band]
            ex = exact_kinetic(L, seed, T, band)
            for rep in range(REPEATS):
                kin, unc, info = kpm_kinetic(L, t, onsite, delta, T, seed=1000 * seed + rep,
                                             probing_distance=4 if L == 16 else 6,
                                             num_draws=2 + rep % 3)
                assert info["mode"] == "colour-signed", info["mode"]
                inside.append(abs(kin - ex) <= unc)
                zs.append((kin - ex) / info["stderr"])
    assert np.mean(inside) >= COVERAGE, (np.mean(inside), len(inside))
    zs = np.array(zs)
    assert abs(zs.mean()) < 4 / np.sqrt(zs.size) + 0.1, zs.mean()
    assert 0.6 < zs.std() < 1.4, zs.std()


@pytest.mark.parametrize("band", [0, 1])
def test_kinetic_default_plan_meets_the_tolerance(band):
    """At L = 24 the default is the exact trace (two draws of >= 256 colours would cost
    more than the N unit vectors); default, d = L and a 1e-5 tolerance all cover the dense
    value within an uncertainty that meets the tolerance."""
    L, seed, T = 24, 2, 0.15
    t, onsite, delta, _ = mean_field(L, seed, T)[band]
    ex = exact_kinetic(L, seed, T, band)
    for kw in ({}, {"probing_distance": L}, {"tolerance": 1e-5}):
        kin, unc, info = kpm_kinetic(L, t, onsite, delta, T, seed=7, **kw)
        assert abs(kin - ex) <= unc, (kw, kin - ex, unc, info)
        assert info["target_met"] and unc <= kw.get("tolerance", 2.5e-5), (kw, unc)
    assert info["mode"] == "exact-trace"  # no 256-colour plan is cheaper than N at L = 24
    # direction y: against the dense value, and the same as x on the transposed maps
    ex_y = exact_kinetic(L, seed, T, band, "y")
    tr = np.arange(L * L).reshape(L, L).T.ravel()
    for kw, maps in ((dict(direction="y"), (onsite, delta)), ({}, (onsite[tr], delta[tr]))):
        ky, unc, _ = kpm_kinetic(L, t, *maps, T, seed=7, probing_distance=6, num_draws=4, **kw)
        assert abs(ky - ex_y) <= unc, (kw, ky - ex_y, unc)


def test_kinetic_signed_plan_is_active_at_l32_and_covers():
    """At L = 32 the default takes colour-signed draws (256 colours, 2 x 256 < N) and its
    uncertainty covers the dense value on a disordered band."""
    rng = np.random.default_rng(4)
    L, T = 32, 0.12
    onsite = 4.0 * (rng.random(L * L) < 0.5) - 1.0 + 0.2 * rng.normal(size=L * L)
    delta = 0.25 + 0.05 * rng.normal(size=L * L)
    E, W = np.linalg.eigh(BdGPattern(L).matrix(1.0, onsite, delta).toarray())
    tau = (W * np.tanh(E / (2 * T))) @ W.T
    ex = kinetic_energy_x(L, 1.0, -tau[neighbour_index(L, "x"), np.arange(L * L)])
    kin, unc, info = kpm_kinetic(L, 1.0, onsite, delta, T, seed=11)
    assert info["mode"] == "colour-signed" and info["num_colours"] == 256, info
    assert abs(kin - ex) <= unc <= 2.5e-5, (kin - ex, unc)


def test_probed_kinetic_term_and_direction_y():
    L, seed, T = 16, 1, 0.15
    t, onsite, delta, _ = mean_field(L, seed, T)[0]
    ex = exact(L, seed, T, 0)
    ds, unc, info = kpm_stiffness(L, t, onsite, delta, T, seed=5, probing_distance=4,
                                  num_draws=3)  # kinetic term probed too
    assert info["diamagnetic"] == "stochastic"
    assert abs(ds - ex) <= unc
    # y direction = x direction on the transposed maps
    tr = lambda a: a.reshape(L, L).T.ravel()  # noqa: E731
    dsy, uncy, _ = kpm_stiffness(L, t, tr(onsite), tr(delta), T, seed=5, direction="y",
                                 probing_distance=4, num_draws=3)
    assert abs(dsy - ex) <= uncy


def test_unbiased_mean_over_draws_and_reproducible():
    """The mean of many cheap draws converges to the exact value (no probing bias)."""
    L, seed, T = 16, 1, 0.1
    t, onsite, delta, bond = mean_field(L, seed, T)[1]
    ds, unc, info = kpm_stiffness(L, t, onsite, delta, T, kinetic=kinetic_energy_x(L, t, bond),
                                  seed=3, lattice=(8, 4, 8), num_draws=12)
    assert abs(ds - exact(L, seed, T, 1)) <= unc
    assert info["num_vectors"] == 12 * info["num_colours"] == 12 * 64
    again = kpm_stiffness(L, t, onsite, delta, T, kinetic=kinetic_energy_x(L, t, bond), seed=3,
                          lattice=(8, 4, 8), num_draws=12)
    assert again[0] == ds and again[1] == unc


# ------------------------------------------------------------ building blocks


def test_sheared_colouring_and_signed_blocks():
    L = 8
    # b = 0, a = c = d is the square colouring
    assert np.array_equal(sheared_colouring(L, 4, 0, 4), colouring(L, 4))
    col = sheared_colouring(L, 4, 2, 4)
    y, x = np.divmod(np.arange(L * L), L)
    for c in range(16):  # equal colours differ by lattice vectors m (4, 0) + n (2, 4)
        idx = np.nonzero(col == c)[0]
        dy, dx = (y[idx] - y[idx[0]]) % L, (x[idx] - x[idx[0]]) % L
        assert np.all(dy % 4 == 0) and np.all((dx - (dy // 4) * 2) % 4 == 0)
    assert len(square_lattice_vectors(L, 4)) == 3
    signs = 2.0 * np.random.default_rng(0).integers(0, 2, 2 * L * L) - 1.0
    X0 = signed_colour_block(signs, colour_classes(col), range(16))
    assert np.array_equal(X0.sum(axis=1), signs)  # every Nambu entry in exactly one column
    assert np.all(np.abs(X0[:L * L]).argmax(axis=1) == col)


def test_workflow_default_is_consistent_with_an_approximate_solution():
    """compute_stiffness recomputes <-k_x> with an error bound by default ("probed"; or
    estimates it with its own vectors, "stochastic"): the stored bond averages of a Chebyshev
    result carry the engine's error (here tolerance 1e-2), which enters D_s directly and is
    not in the uncertainty (measured: 9.7x the uncertainty at L = 64, T = 0.27,
    docs/stiffness.md)."""
    from largebdg.config import RunConfig
    from largebdg.workflows.run import run
    from largebdg.workflows.stiffness import compute_stiffness

    cfg = RunConfig.from_dict({
        "lattice": {"L": 16}, "model": {"g": [2.0, 1.0], "g12": 0.25, "filling": [0.5, 0.8]},
        "solver": {"method": "chebyshev", "T": 0.2, "tol": 1e-4},
        "chebyshev": {"tolerance": 1e-2},
        "disorder": {"band1": {"kind": "random", "strength": 4.0, "density": 0.5, "seed": 1}}})
    res = run(cfg)
    assert res.converged
    ex = np.array([exact_stiffness(16, *res.band_mean_field(b), res.T) for b in range(2)])
    ds, unc, settings = compute_stiffness(res, "kpm", seed=5)
    assert settings["diamagnetic"] == "probed"
    assert np.all(np.abs(ds - ex) <= unc), (ds, ex, unc)
    assert np.all(unc <= 1e-4 + 1e-12)  # the bound of the probed term fits the budget
    stoch, unc_s, _ = compute_stiffness(res, "kpm", seed=5, diamagnetic="stochastic")
    assert np.all(np.abs(stoch - ex) <= unc_s), (stoch, ex, unc_s)
    biased, unc_b, _ = compute_stiffness(res, "kpm", seed=5, diamagnetic="bond_averages")
    assert np.any(np.abs(biased - ex) > unc_b), (biased, ex, unc_b)


def test_auto_picks_kpm_above_exact_max_l():
    assert "kpm" in METHODS
    assert resolve_method("auto", EXACT_MAX_L) == "exact"
    assert resolve_method("auto", EXACT_MAX_L + 1) == "kpm"
    assert resolve_method("kpm", 8) == "kpm"


def test_cli_stiffness_method_kpm(tmp_path):
    from largebdg.cli import main
    from largebdg.io import load_result

    cfg = tmp_path / "c.toml"
    cfg.write_text('[lattice]\nL = 8\n[solver]\nT = 0.1\ntol = 1e-6\n')
    out = tmp_path / "r.h5"
    assert main(["solve", str(cfg), "--out", str(out), "--quiet"]) == 0
    assert main(["stiffness", str(out), "--method", "kpm", "--seed", "3",
                 "--tolerance", "1e-3", "--quiet"]) == 0
    res = load_result(out)
    s = res.stiffness_settings
    assert s["method"] == "kpm" and s["seed"] == 3 and s["tolerance"] == 1e-3
    for key in ("num_vectors", "draws", "colouring", "truncation_bound", "seconds",
                "largebdg_version"):
        assert key in s, key
    assert np.all(res.stiffness_stderr > 0) and np.all(res.stiffness_stderr <= 1e-3)
    for band in range(2):
        ex = exact_stiffness(8, *res.band_mean_field(band), res.T)
        assert abs(res.stiffness[band] - ex) <= res.stiffness_stderr[band]


@pytest.mark.parametrize("kwargs", [{"T": 0.0}, {"tolerance": -1.0}, {"direction": "z"},
                                    {"probing_distance": 1}, {"num_draws": 1},
                                    {"onsite": np.ones(3)}, {"max_draws": 1},
                                    {"block_size": 0}])
def test_kinetic_invalid_input(kwargs):
    args = {"L": 8, "t": 1.0, "onsite": np.ones(64), "delta": np.full(64, 0.2), "T": 0.1}
    args.update(kwargs)
    name = next(iter(kwargs))
    with pytest.raises(ParameterError, match=f"'{name}'"):
        kpm_kinetic(args.pop("L"), args.pop("t"), args.pop("onsite"), args.pop("delta"),
                    args.pop("T"), scale=6.5, **args)


@pytest.mark.parametrize("kwargs", [{"T": 0.0}, {"tolerance": -1.0}, {"direction": "z"},
                                    {"probing_distance": 1}, {"num_draws": 1},
                                    {"onsite": np.ones(3)}, {"lattice": (3, 0, 3)},
                                    {"kinetic": np.nan}])
def test_invalid_input(kwargs):
    args = {"L": 8, "t": 1.0, "onsite": np.ones(64), "delta": np.full(64, 0.2), "T": 0.1}
    args.update(kwargs)
    with pytest.raises(ParameterError):
        kpm_stiffness(args.pop("L"), args.pop("t"), args.pop("onsite"), args.pop("delta"),
                      args.pop("T"), scale=6.5, **args)


# ------------------------------------------------------------ control variate and pilot


def test_control_variate_cuts_the_noise_of_the_clean_band():
    """Band 2 (no disorder of its own; its gap map follows band 1's through g12): subtracting
    the homogeneous band's probes leaves a far smaller noise on the same draws, the
    estimator keeps it, and both estimators cover the dense value.  Band 1 (V = 4 on half
    the sites) keeps the plain probes, which the homogeneous band fits worse."""
    L, seed, T = 24, 2, 0.15
    stderr = {}
    for band in (0, 1):
        t, onsite, delta, bond = mean_field(L, seed, T)[band]
        for cv in (False, True):
            ds, unc, info = kpm_stiffness(L, t, onsite, delta, T, seed=9, lattice=(6, 3, 6),
                                          num_draws=4, kinetic=kinetic_energy_x(L, t, bond),
                                          control_variate=cv)
            assert abs(ds - exact(L, seed, T, band)) <= unc, (band, cv, ds, unc)
            assert info["control_variate"] == (cv and band == 1), (band, cv, info)
            stderr[band, cv] = info["stderr"]
    assert stderr[1, True] < stderr[1, False] / 5, stderr
    assert stderr[0, True] == stderr[0, False], stderr  # band 1: the plain probes are kept


def test_pilot_plans_from_measured_noise_and_covers_at_l32():
    """At L = 32 the default plan first draws twice on a coarse sublattice (the pilot),
    rescales the clean-band noise model to what it measured and meets the tolerance with
    fewer start vectors than the model's plan (here the 2N unit vectors of the exact trace,
    which the plain probes keep); the result covers the dense value."""
    rng = np.random.default_rng(21)
    L, T = 32, 0.1
    onsite = -1.2 + 0.02 * rng.normal(size=L * L)  # a nearly homogeneous band
    delta = 0.15 + 0.01 * rng.normal(size=L * L)
    ex = exact_stiffness(L, 1.0, onsite, delta, T)
    runs = {cv: kpm_stiffness(L, 1.0, onsite, delta, T, seed=4, kinetic=0.0,  # -Lambda
                              control_variate=cv) for cv in (False, True)}
    ds, unc, info = runs[True]
    assert info["pilot"] is not None and info["control_variate"], info
    assert info["mode"] == "colour-signed" and unc <= 1e-4, info
    assert info["num_vectors"] < runs[False][2]["num_vectors"], (info, runs[False][2])
    lam_exact = exact_kinetic_of(L, onsite, delta, T) - ex
    assert abs(-ds - lam_exact) <= unc, (-ds, lam_exact, unc)
    assert abs(-runs[False][0] - lam_exact) <= runs[False][1]


def exact_kinetic_of(L, onsite, delta, T):
    """<-k_x> (t = 1) of a mean field by dense diagonalisation."""
    E, W = np.linalg.eigh(BdGPattern(L).matrix(1.0, onsite, delta).toarray())
    tau = (W * np.tanh(E / (2 * T))) @ W.T
    return kinetic_energy_x(L, 1.0, -tau[neighbour_index(L, "x"), np.arange(L * L)])


def test_kinetic_control_variate_cuts_the_noise_of_the_clean_band():
    """kpm_kinetic keeps the homogeneous band's bond sums as a control variate for band 2
    (far smaller noise on the same draws), not for band 1; both estimators cover the dense
    value."""
    L, seed, T = 24, 2, 0.15
    stderr = {}
    for band in (0, 1):
        t, onsite, delta, _ = mean_field(L, seed, T)[band]
        ex = exact_kinetic(L, seed, T, band)
        for cv in (False, True):
            kin, unc, info = kpm_kinetic(L, t, onsite, delta, T, seed=9, probing_distance=6,
                                         num_draws=4, control_variate=cv)
            assert abs(kin - ex) <= unc, (band, cv, kin - ex, unc)
            assert info["control_variate"] == (cv and band == 1), (band, cv, info)
            stderr[band, cv] = info["stderr"]
    assert stderr[1, True] < stderr[1, False] / 5, stderr
    assert stderr[0, True] == stderr[0, False], stderr


# ------------------------------------------------------------ the certified spectral gap


def test_certified_gap_and_gapped_expansions_against_dense():
    """Band 1 at T = 0.05 (L = 16): the certified gap lies within one 5 % grid step below the
    dense min|E|; with it the kernel and tanh need fewer moments, and the stiffness and the
    kinetic term still cover the dense values (same draws as the plain expansions, which
    they match within the two truncation bounds)."""
    from largebdg.observables.stiffness_kpm import certified_gap

    L, seed, T = 16, 3, 0.05
    t, onsite, delta, bond = mean_field(L, seed, T)[0]
    E = np.linalg.eigvalsh(BdGPattern(L).matrix(t, onsite, delta).toarray())
    g = certified_gap(L, t, onsite, delta, T)
    assert 0.95 * np.abs(E).min() <= g <= np.abs(E).min(), (g, np.abs(E).min())
    runs = {}
    for gap in (0.0, None):
        runs[gap] = kpm_stiffness(L, t, onsite, delta, T, seed=2, probing_distance=4,
                                  num_draws=3, kinetic=kinetic_energy_x(L, t, bond), gap=gap)
        ds, unc, info = runs[gap]
        assert abs(ds - exact(L, seed, T, 0)) <= unc, (gap, ds, unc)
    (ds0, _, plain), (ds1, _, gapped) = runs[0.0], runs[None]
    assert gapped["gap"] == g and gapped["num_moments"] < 0.8 * plain["num_moments"]
    assert abs(ds1 - ds0) <= plain["truncation_bound"] + gapped["truncation_bound"]
    ex = exact_kinetic(L, seed, T, 0)
    kin, unc, info = kpm_kinetic(L, t, onsite, delta, T, seed=2, probing_distance=4,
                                 num_draws=3)
    assert info["gap"] == g and abs(kin - ex) <= unc, (kin - ex, unc)
    assert info["num_moments"] < kpm_kinetic(L, t, onsite, delta, T, seed=2, gap=0.0,
                                             probing_distance=4, num_draws=3)[2]["num_moments"]
