import numpy as np
import pytest

from largebdg.engines.dense import DenseEngine
from largebdg.errors import ParameterError
from largebdg.model import TwoBandModel
from largebdg.observables.stiffness import exact_stiffness, kinetic_energy_x

TOL = 1e-10  # same quantity, different formulation (momentum space, loops)
TOL_FD = 1e-8  # Richardson-extrapolated finite differences of the grand potential
TOL_QUOTED = 1e-3  # numbers quoted to three digits in CONVENTIONS.md


def fermi(E, T):
    return 0.5 * (1.0 - np.tanh(E / (2.0 * T)))


def minus_dfermi(E, T):
    decay = np.exp(-np.abs(E) / T)  # 1 / (4T cosh^2(E/2T)) without overflow
    return decay / (T * (1.0 + decay) ** 2)


def momentum_grid(L):
    k = 2 * np.pi * np.arange(L) / L
    return np.meshgrid(k, k)


def normal_momentum(L, t, mu_tilde, T):
    """(2/L^2) sum_k [2t cos kx f(xi) - (2t sin kx)^2 (-f'(xi))] (CONVENTIONS.md)."""
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


def test_normal_state_remainder_shrinks_with_L():
    values = [abs(normal_momentum(L, 1.0, -1.0, 0.1)) for L in (8, 16, 32, 64)]
    assert all(a > b for a, b in zip(values, values[1:]))
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
