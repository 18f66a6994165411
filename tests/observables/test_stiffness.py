import numpy as np
import pytest

from largebdg.engines.dense import DenseEngine
from largebdg.errors import ParameterError
from largebdg.model import TwoBandModel
from largebdg.observables.stiffness import exact_stiffness, kinetic_energy_x

TOL = 1e-10  # same quantity, different formulation (momentum space, loops)
TOL_FD = 1e-8  # Richardson-extrapolated finite differences of the grand potential
TOL_QUOTED = 1e-3  # numbers quoted to three digits in docs/model.md


def fermi(E, T):
    return 0.5 * (1.0 - np.tanh(E / (2.0 * T)))


def minus_dfermi(E, T):
    decay = np.exp(-np.abs(E) / T)  # 1 / (4T cosh^2(E/2T)) without overflow
    return decay / (T * (1.0 + decay) ** 2)


def momentum_grid(L):
    k = 2 * np.pi * np.arange(L) / L
    return np.meshgrid(k, k)


def normal_momentum(L, t, mu_tilde, T):
    """(2/L^2) sum_k [2t cos kx f(xi) - (2t sin kx)^2 (-f'(xi))] (docs/model.md)."""
    kx, ky = momentum_grid(L)
    xi = -2 * t * (np.cos(kx) + np.cos(ky)) - mu_tilde
    terms = 2 * t * np.cos(kx) * fermi(xi, T) - (2 * t * np.sin(kx)) ** 2 * minus_dfermi(xi, T)
    return 2.0 / L**2 * terms.sum()


def bcs_momentum(L, t, mu_tilde, gap, T):
    """Kinetic energy and current correlator of the uniform s-wave state, per site."""
    kx, ky = momentum_grid(L)
    xi = -2 * t * (np.cos(kx) + np.cos(ky)) - mu_tilde
    E = np.hypot(xi, gap)
    kinetic = np.sum(2 * t * np.cos(kx) * (1 - xi / E * np.tanh(E / (2 * T)))) / L**2
    # only intra-level (Drude) terms at q = 0: the current is the identity in
    # Nambu space at fixed k, so it has no element between E_k and -E_k
    correlator = np.sum((2 * t * np.sin(kx)) ** 2 * 2 * minus_dfermi(E, T)) / L**2
    return kinetic, correlator


def random_band(L, seed):
    rng = np.random.default_rng(seed)
    N = L * L
    return rng.uniform(-2.0, 2.0, N) + 0.5, rng.uniform(0.0, 0.5, N)


def bdg_eigensystem(L, t, onsite, delta):
    """Dense BdG matrix assembled independently of BdGPattern, and its eigensystem."""
    N = L * L
    y, x = np.divmod(np.arange(N), L)
    adj = np.zeros((N, N))
    for nb in ((x + 1) % L + L * y, x + L * ((y + 1) % L)):
        adj[nb, np.arange(N)] = 1
    h = np.diag(onsite) - t * (adj + adj.T)
    H = np.block([[h, np.diag(delta)], [np.diag(delta), -h]])
    return np.linalg.eigh(H)


# ------------------------------------------------------------------ normal state


@pytest.mark.parametrize("L, T", [(6, 0.2), (8, 0.1), (16, 0.1), (16, 0.03)])
def test_normal_state_matches_momentum_space(L, T):
    N = L * L
    ds = exact_stiffness(L, 1.0, np.full(N, 1.0), np.zeros(N), T)
    assert abs(ds - normal_momentum(L, 1.0, -1.0, T)) < TOL


@pytest.mark.parametrize("L, T, quoted", [(8, 0.1, 0.617), (32, 0.1, 0.020), (32, 0.05, 0.133)])
def test_normal_state_finite_size_remainder_quoted(L, T, quoted):
    N = L * L
    ds = exact_stiffness(L, 1.0, np.full(N, 1.0), np.zeros(N), T)
    assert abs(ds - quoted) < TOL_QUOTED
    assert abs(normal_momentum(L, 1.0, -1.0, T) - quoted) < TOL_QUOTED


def test_normal_state_remainder_shrinks_with_size():
    values = [abs(normal_momentum(L, 1.0, -1.0, 0.1)) for L in (8, 16, 32, 64)]
    assert all(a > b for a, b in zip(values, values[1:], strict=False))
    assert values[-1] < 1e-4


# ---------------------------------------------------------------- clean BCS state


@pytest.mark.parametrize("L, mu_tilde, T", [(8, -1.0, 0.1), (16, -1.0, 0.1), (12, 0.3, 0.05)])
def test_uniform_superconductor_matches_momentum_space(L, mu_tilde, T):
    N = L * L
    ds = exact_stiffness(L, 1.0, np.full(N, -mu_tilde), np.full(N, 0.2), T)
    kinetic, correlator = bcs_momentum(L, 1.0, -mu_tilde, 0.2, T)
    assert correlator > 1e-3  # the test exercises the thermal term
    assert abs(ds - (kinetic - correlator)) < TOL


def test_clean_low_temperature_correlator_vanishes():
    L, T = 16, 0.005
    N = L * L
    ds = exact_stiffness(L, 1.0, np.full(N, 1.0), np.full(N, 0.2), T)
    kinetic, correlator = bcs_momentum(L, 1.0, -1.0, 0.2, T)
    assert correlator < 1e-12
    assert abs(ds / kinetic - 1.0) < 1e-6
    # T = 0 is the gapped limit of the same expression
    assert abs(exact_stiffness(L, 1.0, np.full(N, 1.0), np.full(N, 0.2), 0.0) - ds) < TOL


# ------------------------------------------------------------- disordered lattice


def paper_a(un, vn, um, vm, right):
    """sum_ij A_ij^(m,n) of paper Eq. (35), term by term (index i rows, j columns)."""
    unx, vnx, umx, vmx = un[right], vn[right], um[right], vm[right]
    o = np.multiply.outer
    A = (
        o(un * umx, unx * um) - o(vnx * vm, unx * um)
        - o(unx * um, unx * um) + o(vn * vmx, unx * um)
        - o(un * umx, un * umx) + o(vnx * vm, un * umx)
        + o(unx * um, un * umx) - o(vn * vmx, un * umx)
    )
    return A.sum()


def paper_b(un, vn, um, vm, right):
    """sum_ij B_ij^(m,n) of paper Eq. (35), term by term (index i rows, j columns)."""
    unx, vnx, umx, vmx = un[right], vn[right], um[right], vm[right]
    o = np.multiply.outer
    B = (
        o(un * vmx, unx * vm) + o(vnx * um, unx * vm)
        - o(unx * vm, unx * vm) - o(vn * umx, unx * vm)
        - o(un * vmx, un * vmx) - o(vnx * um, un * vmx)
        + o(unx * vm, un * vmx) + o(vn * umx, un * vmx)
    )
    return B.sum()


def brute_force_stiffness(L, t, onsite, delta, T):
    """Paper Eqs. (33)-(35) with E_n > 0 only and explicit loops over n, m.

    Read with the three corrections of docs/stiffness.md: interband factor
    (f_n + f_m - 1), a 1/N in Eq. (34), and D_s = <-K_x> - Lambda.
    """
    N = L * L
    E, W = bdg_eigensystem(L, t, onsite, delta)
    pos = E > 0
    E, u, v = E[pos], W[:N, pos], W[N:, pos]
    f = fermi(E, T)
    y, x = np.divmod(np.arange(N), L)
    right = (x + 1) % L + L * y

    kinetic = 0.0
    for n in range(N):
        for i in range(N):
            j = right[i]
            kinetic += v[i, n] * v[j, n] * (1 - f[n]) + u[i, n] * u[j, n] * f[n]
    kinetic *= 4 * t / N  # Eq. (33)

    correlator = 0.0
    for n in range(N):
        for m in range(N):
            un, vn, um, vm = u[:, n], v[:, n], u[:, m], v[:, m]
            a_plus_c = paper_a(un, vn, um, vm, right) + paper_a(vn, un, vm, um, right)
            b_plus_d = paper_b(un, vn, um, vm, right) + paper_b(vn, un, vm, um, right)
            if abs(E[n] - E[m]) < 1e-9:
                ratio = -minus_dfermi(E[n], T)  # limit of (f_n - f_m) / (E_n - E_m)
            else:
                ratio = (f[n] - f[m]) / (E[n] - E[m])
            correlator += a_plus_c * ratio + b_plus_d * (f[n] + f[m] - 1) / (E[n] + E[m])
    correlator *= 2 * t**2 / N  # Eq. (34)
    return kinetic - correlator


def test_disordered_matches_brute_force_loops():
    L, T = 4, 0.1
    onsite, delta = random_band(L, seed=3)
    ds = exact_stiffness(L, 1.0, onsite, delta, T)
    assert abs(ds - brute_force_stiffness(L, 1.0, onsite, delta, T)) < TOL


def test_disordered_matches_grand_potential_curvature():
    # N D_s = d^2 Omega / dA^2 at fixed Delta under t -> t exp(iA) on the x bonds
    L, t, T = 6, 1.0, 0.1
    N = L * L
    onsite, delta = random_band(L, seed=1)
    y, x = np.divmod(np.arange(N), L)
    hop_x = np.zeros((N, N))
    hop_x[(x + 1) % L + L * y, np.arange(N)] = 1  # c^dagger_{i+x} c_i
    hop_y = np.zeros((N, N))
    hop_y[x + L * ((y + 1) % L), np.arange(N)] = 1

    def omega(A):
        forward = -t * (np.exp(1j * A) * hop_x + hop_y)
        h = np.diag(onsite) + forward + forward.conj().T
        H = np.block([[h, np.diag(delta)], [np.diag(delta), -h.conj()]])
        return -T * np.logaddexp(0.0, -np.linalg.eigvalsh(H) / T).sum()

    def second_difference(step):
        return (omega(step) + omega(-step) - 2 * omega(0.0)) / step**2

    d = [second_difference(0.01 * 2**k) for k in range(3)]
    r1 = [(4 * d[k] - d[k + 1]) / 3 for k in range(2)]
    curvature = (16 * r1[0] - r1[1]) / 15
    ds = exact_stiffness(L, t, onsite, delta, T)
    assert ds > 0.05
    assert abs(ds - curvature / N) < TOL_FD


def test_direction_y_on_transposed_maps():
    L, T = 6, 0.1
    onsite, delta = random_band(L, seed=2)

    def transpose(a):
        return a.reshape(L, L).T.ravel()

    ds_x = exact_stiffness(L, 1.0, onsite, delta, T, direction="x")
    ds_y = exact_stiffness(L, 1.0, transpose(onsite), transpose(delta), T, direction="y")
    assert abs(ds_x - ds_y) < 1e-12
    assert abs(ds_x - exact_stiffness(L, 1.0, onsite, delta, T, direction="y")) > 1e-6


def test_degenerate_levels_enter_through_fermi_derivative():
    # half filling, clean: many exactly degenerate levels, some near E = 0
    L, T = 8, 0.05
    N = L * L
    ds = exact_stiffness(L, 1.0, np.zeros(N), np.zeros(N), T)
    assert abs(ds - normal_momentum(L, 1.0, 0.0, T)) < TOL


# ----------------------------------------------------- kinetic energy and inputs


def test_kinetic_energy_matches_eigenvector_formula():
    L, t, T = 6, 0.8, 0.1
    N = L * L
    onsite, delta = random_band(L, seed=4)
    engine = DenseEngine(TwoBandModel(L, t=(t, 1.0)))
    bond_x = engine.averages(0, onsite, delta, T).bond_x

    E, W = bdg_eigensystem(L, t, onsite, delta)
    pos = E > 0
    u, v, f = W[:N, pos], W[N:, pos], fermi(E[pos], T)
    y, x = np.divmod(np.arange(N), L)
    right = (x + 1) % L + L * y
    eq33 = 4 * t / N * np.sum(v * v[right] * (1 - f) + u * u[right] * f)  # paper Eq. (33)
    assert abs(kinetic_energy_x(L, t, bond_x) - eq33) < TOL


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(T=-0.1), "'T'"),
        (dict(T=np.nan), "'T'"),
        (dict(onsite=np.zeros(15)), "'onsite'"),
        (dict(onsite=np.zeros((4, 4))), "'onsite'"),
        (dict(delta=np.zeros(17)), "'delta'"),
        (dict(delta=np.full(16, np.inf)), "'delta'"),
        (dict(delta=np.zeros(16, dtype=complex)), "'delta'"),
        (dict(L=2), "'L'"),
        (dict(L=4.0), "'L'"),
        (dict(t="1"), "'t'"),
        (dict(direction="z"), "'direction'"),
    ],
)
def test_invalid_input(kwargs, name):
    args = dict(L=4, t=1.0, onsite=np.zeros(16), delta=np.full(16, 0.1), T=0.1)
    args.update(kwargs)
    direction = args.pop("direction", "x")
    with pytest.raises(ParameterError, match=name):
        exact_stiffness(**args, direction=direction)


def test_zero_temperature_with_zero_level_raises():
    # clean half-filled normal state on L = 4 has levels at E = 0 exactly
    with pytest.raises(ParameterError, match="'T'"):
        exact_stiffness(4, 1.0, np.zeros(16), np.zeros(16), 0.0)


@pytest.mark.parametrize(
    "args, name",
    [
        ((4, 1.0, np.zeros(15)), "'bond_x'"),
        ((4, np.inf, np.zeros(16)), "'t'"),
        ((0, 1.0, []), "'L'"),
    ],
)
def test_kinetic_energy_invalid_input(args, name):
    with pytest.raises(ParameterError, match=name):
        kinetic_energy_x(*args)


# ------------------------------------------------------- results, files and CLI

import h5py  # noqa: E402

from largebdg.cli import main  # noqa: E402
from largebdg.config import RunConfig  # noqa: E402
from largebdg.io import (  # noqa: E402
    Result,  # noqa: E402
    load_result,
    save_result,
)
from largebdg.observables.network import network_stiffness, yosida  # noqa: E402
from largebdg.workflows.run import run  # noqa: E402
from largebdg.workflows.stiffness import (  # noqa: E402
    EXACT_MAX_L,
    attach_stiffness,
    compute_stiffness,
)

TINY = {
    "lattice": {"L": 8},
    "solver": {"method": "dense", "T": 0.1, "tol": 1e-7},
    "disorder": {"band1": {"kind": "random", "strength": 4.0, "density": 0.5, "seed": 3}},
}


@pytest.fixture(scope="module")
def tiny_result():
    return run(RunConfig.from_dict(TINY))


@pytest.fixture
def tiny_file(tiny_result, tmp_path):
    path = tmp_path / "run.h5"
    save_result(tiny_result, path)
    return path


def test_band_mean_field_reproduces_solver_averages(tiny_result):
    # the dense engine at (onsite, delta) of the result gives back its bond averages
    r = tiny_result
    for band in range(2):
        t, onsite, delta = r.band_mean_field(band)
        bond = DenseEngine(r.model()).averages(band, onsite, delta, r.T).bond_x
        assert np.abs(bond - r.bond_x[band].ravel()).max() < 1e-5


def test_compute_stiffness_exact_and_stochastic(tiny_result):
    ds, err, settings = compute_stiffness(tiny_result, "exact")
    assert ds.shape == (2,) and np.all(err == 0) and settings["method"] == "exact"
    for band in range(2):
        t, onsite, delta = tiny_result.band_mean_field(band)
        assert ds[band] == exact_stiffness(8, t, onsite, delta, tiny_result.T)
    sds, serr, s = compute_stiffness(tiny_result, "stochastic", num_vectors=64, seed=2)
    assert np.all(serr > 0) and np.all(np.abs(sds - ds) < 3 * serr)
    assert s["seed"] == 2 and len(s["num_moments"]) == 2 and s["diamagnetic"] == "probed"
    assert len(s["diamagnetic_bound"]) == 2 and max(s["diamagnetic_bound"]) <= 0.25 * 1e-4
    again = compute_stiffness(tiny_result, "stochastic", num_vectors=64, seed=2)[0]
    assert np.array_equal(again, sds)


def test_kpm_target_met_counts_the_diamagnetic_term(tiny_result, monkeypatch):
    """target_met is about the whole uncertainty: a probed <-k> whose own uncertainty exceeds
    the tolerance makes the stiffness miss it, whatever the correlator reached."""
    import largebdg.workflows.stiffness as wst

    ds, err, s = compute_stiffness(tiny_result, "kpm", seed=3)
    assert s["target_met"] == [True, True] and np.all(err <= 1e-4)
    assert all(p["target_met"] for p in s["diamagnetic_plan"])
    real = wst.kpm_kinetic

    def loose(*args, **kwargs):
        kin, unc, info = real(*args, **kwargs)
        return kin, 2e-4, dict(info, target_met=False)

    monkeypatch.setattr(wst, "kpm_kinetic", loose)
    ds2, err2, s2 = compute_stiffness(tiny_result, "kpm", seed=3)
    assert s2["target_met"] == [False, False] and np.all(err2 > 1e-4)
    assert np.array_equal(ds2, ds)


def test_exact_refused_above_limit(tiny_result):
    L = EXACT_MAX_L + 2
    big = Result(config=RunConfig.from_dict({"lattice": {"L": L}}), delta=np.zeros((2, L, L)),
                 density=np.ones((2, L, L)), mu=np.zeros(2), potential=np.zeros((2, L, L)),
                 bond_x=np.zeros((2, L, L)), bond_y=np.zeros((2, L, L)), converged=True,
                 iterations=1, history={}, disorder_density=np.zeros(2), solver_settings={})
    with pytest.raises(ParameterError, match="use method .kpm."):
        compute_stiffness(big, "exact")
    with pytest.raises(ParameterError, match="'method'"):
        compute_stiffness(tiny_result, "dense")


def test_attach_stiffness_stores_and_refuses_overwrite(tiny_file):
    ds, err, settings = attach_stiffness(tiny_file, "exact")
    back = load_result(tiny_file)
    assert np.array_equal(back.stiffness, ds) and np.array_equal(back.stiffness_stderr, err)
    assert back.stiffness_settings["method"] == "exact"
    with pytest.raises(FileExistsError, match="force"):
        attach_stiffness(tiny_file, "stochastic")
    attach_stiffness(tiny_file, "stochastic", force=True, num_vectors=8, seed=1)
    assert load_result(tiny_file).stiffness_settings["num_vectors"] == 8


@pytest.mark.parametrize("method", ["exact", "stochastic"])
def test_cli_stiffness_end_to_end(tiny_result, tiny_file, method, capsys):
    argv = ["stiffness", str(tiny_file), "--method", method, "--vectors", "32", "--seed", "5"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "D_s band 1" in out and "D_s band 2" in out
    with h5py.File(tiny_file, "r") as fh:
        ds, err = fh["stiffness"][()], fh["stiffness_stderr"][()]
        assert ds.shape == (2,) and err.shape == (2,)
        assert (np.all(err == 0)) == (method == "exact")
        assert f'"method": "{method}"' in fh.attrs["stiffness_settings"]
    exact = compute_stiffness(tiny_result, "exact")[0]
    assert np.all(np.abs(ds - exact) <= 3 * err + 1e-12)
    # a second run without --force is refused with exit status 2 and a one-line error
    assert main(argv + ["--quiet"]) == 2
    assert "already holds a stiffness" in capsys.readouterr().err
    assert main(argv + ["--force", "--quiet"]) == 0
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--method", "stochastic", "--vectors", "1"], "'num_vectors'"),
        (["--method", "stochastic", "--moments", "0"], "'num_moments'"),
        (["--method", "stochastic", "--tolerance", "-1"], "'tolerance'"),
    ],
)
def test_cli_stiffness_bad_input(tiny_file, argv, message, capsys):
    assert main(["stiffness", str(tiny_file)] + argv) == 2
    assert message in capsys.readouterr().err


def test_cli_stiffness_missing_file(tmp_path, capsys):
    assert main(["stiffness", str(tmp_path / "nope.h5")]) == 2
    assert "does not exist" in capsys.readouterr().err


# ------------------------------------------------------- network approximation


def test_yosida_function():
    from scipy.integrate import quad

    for u in (0.0, 0.3, 1.0, 3.0, 8.0):
        ref = quad(lambda s, u=u: np.exp(-2 * np.hypot(s, u)) * 4
                   / (1 + np.exp(-2 * np.hypot(s, u))) ** 2, 0, np.inf)[0]
        assert abs(yosida(u) - ref) < 1e-6
    assert yosida(0.0) == pytest.approx(1.0, abs=1e-12)


def test_network_uniform_series_and_cut():
    L = 12
    N = L * L
    x = np.arange(N) % L
    ones = np.ones(N)
    # uniform: no relaxation
    assert network_stiffness(L, 1.0, None, None, None, 0.1,
                             conductances=(2 * ones, ones))[0] == pytest.approx(2.0, abs=1e-12)
    # conductances varying along the twist only: harmonic mean (bonds in series)
    gx = 1 + 0.5 * np.sin(2 * np.pi * x / L)
    ds, info = network_stiffness(L, 1.0, None, None, None, 0.1, conductances=(gx, ones))
    assert abs(ds - 1 / np.mean(1 / gx[:L])) < 1e-9 and info["residual"] < 1e-9
    # ... and along the other direction: arithmetic mean (in parallel)
    gy = np.where(np.arange(N) // L < L // 2, 0.5, 1.5)
    assert abs(network_stiffness(L, 1.0, None, None, None, 0.1, conductances=(gy, ones))[0]
               - 1.0) < 1e-9
    # a cut across the sample carries no supercurrent; an isolated island is harmless
    cut = gx * (x != 3)
    assert abs(network_stiffness(L, 1.0, None, None, None, 0.1,
                                 conductances=(cut, ones))[0]) < 1e-9
    island = ones.copy()
    island[5 + L * 5] = 0
    gy_island = ones.copy()
    gy_island[[5 + L * 5, 5 + L * 4]] = 0
    island[4 + L * 5] = 0
    ds, info = network_stiffness(L, 1.0, None, None, None, 0.1,
                                 conductances=(island, gy_island))
    assert info["clusters"] == 2 and 0.8 < ds < 1.0


def test_network_clean_band_is_kinetic_times_yosida():
    L, T, gap = 8, 0.1, 0.25
    N = L * L
    onsite, delta = np.full(N, 1.0), np.full(N, gap)
    av = DenseEngine(TwoBandModel(L)).averages(0, onsite, delta, T)
    ds, info = network_stiffness(L, 1.0, av.bond_x, av.bond_y, delta, T)
    expected = kinetic_energy_x(L, 1.0, av.bond_x) * (1 - yosida(gap / (2 * T)))
    assert abs(ds - expected) < 1e-10 and abs(info["relaxation"]) < 1e-12


def test_network_on_solved_result(tiny_result):
    net = np.array([network_stiffness(8, 1.0, tiny_result.bond_x[b].ravel(),
                                      tiny_result.bond_y[b].ravel(),
                                      tiny_result.delta[b].ravel(), tiny_result.T)[0]
                    for b in range(2)])
    assert net.shape == (2,) and np.all(net >= 0)
    # bounded by the unrelaxed mean bond stiffness, itself at most <-k_x>
    for band in range(2):
        kin = kinetic_energy_x(8, 1.0, tiny_result.bond_x[band].ravel())
        assert net[band] <= kin + 1e-12


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(direction="z"), "'direction'"),
        (dict(tol=0.0), "'tol'"),
        (dict(conductances=(np.ones(16),)), "'conductances'"),
        (dict(conductances=(-np.ones(16), np.ones(16))), "'conductances'"),
        (dict(bond_x=np.ones(15)), "'bond_x'"),
        (dict(T=-1.0), "'T'"),
    ],
)
def test_network_invalid_input(kwargs, name):
    args = dict(L=4, t=1.0, bond_x=np.ones(16), bond_y=np.ones(16), delta=np.ones(16), T=0.1)
    args.update(kwargs)
    with pytest.raises(ParameterError, match=name):
        network_stiffness(args.pop("L"), args.pop("t"), args.pop("bond_x"), args.pop("bond_y"),
                          args.pop("delta"), args.pop("T"), **args)
