import numpy as np
import pytest
from _helpers import TOL_SAME

from largebdg.errors import ParameterError
from largebdg.kpm import recursion
from largebdg.kpm.coefficients import (
    chebyshev_coefficients,
    moments_for_tolerance,
    tanh_coefficients,
    truncation_bound,
)
from largebdg.kpm.kernels import jackson_kernel, lorentz_kernel
from largebdg.kpm.probing import axis_colours, choose_distance, colouring, probing_error
from largebdg.model.lattice import neighbour_index
from largebdg.operators.pattern import BdGPattern
from largebdg.operators.stencil import BdGStencil


def test_coefficients_exact_for_polynomials():
    c = chebyshev_coefficients(lambda x: 4 * x**3 - 3 * x + 0.5, 8)  # T_3 - ... + 0.5 T_0
    assert np.allclose(c, [0.5, 0, 0, 1, 0, 0, 0, 0], atol=1e-14)


@pytest.mark.parametrize("T, scale", [(0.098, 9.0), (0.05, 5.0)])
def test_tanh_truncation_meets_tolerance(T, scale):
    x = np.linspace(-1, 1, 4001)
    errors = []
    for tol in (1e-2, 1e-4, 1e-6):
        M = moments_for_tolerance(T, scale, tol)
        approx = np.polynomial.chebyshev.chebval(x, tanh_coefficients(T, scale, M))
        err = np.abs(approx - np.tanh(scale * x / (2 * T))).max()
        assert err <= tol
        errors.append(err)
    assert errors[0] > errors[1] > errors[2]


@pytest.mark.parametrize("T, scale, gap", [(0.025, 9.3, 0.17), (0.025, 5.0, 0.3),
                                           (0.05, 6.0, 0.1), (0.01, 4.0, 0.05)])
def test_gapped_tanh_series_meets_its_bound_outside_the_gap(T, scale, gap):
    """The gapped series (an odd polynomial E q(E²)) is within its truncation bound of tanh on
    gap <= |E| <= scale, the bound meets the tolerance, and it needs fewer moments than the
    plain series where the gap is above pi T (by about sqrt(1 + gap²/(pi T)²) less the
    logarithm of the factor scale in the bound)."""
    E = np.concatenate([np.geomspace(gap, scale, 20001), -np.geomspace(gap, scale, 20001)])
    for tol in (1e-3, 1e-5):
        M = moments_for_tolerance(T, scale, tol, gap=gap)
        c = tanh_coefficients(T, scale, M, gap)
        assert M % 2 == 0 and len(c) == M and np.all(c[::2] == 0)
        realised = np.abs(np.polynomial.chebyshev.chebval(E / scale, c) - np.tanh(E / (2 * T)))
        bound = truncation_bound(T, scale, M, gap)
        assert realised.max() <= bound <= tol and bound <= 10 * realised.max()  # not loose
        assert truncation_bound(T, scale, M - 4, gap) > tol  # M is the smallest (M/2 terms)
        plain = moments_for_tolerance(T, scale, tol)
        if gap >= np.pi * T:
            assert M < (0.7 if gap >= 2 * np.pi * T else 1.0) * plain


def test_gapped_tanh_series_is_the_plain_one_without_gap():
    assert np.array_equal(tanh_coefficients(0.05, 5.0, 300, 0.0), tanh_coefficients(0.05, 5.0, 300))
    assert moments_for_tolerance(0.05, 5.0, 1e-4, gap=0.0) == moments_for_tolerance(0.05, 5.0, 1e-4)
    with pytest.raises(ParameterError, match="'gap' must be"):
        tanh_coefficients(0.05, 5.0, 300, gap=5.0)


def test_kernels():
    g = jackson_kernel(64)
    assert g[0] == pytest.approx(1.0) and np.all(np.diff(g) < 0) and g[-1] > 0
    lo = lorentz_kernel(64, 4.0)
    assert lo[0] == pytest.approx(1.0) and np.all(np.diff(lo) < 0)
    with pytest.raises(ParameterError, match="num_moments"):
        jackson_kernel(0)


def _stencil(L, rng, scale=10.0):
    N = L * L
    nx, ny = neighbour_index(L, "x"), neighbour_index(L, "y")
    nbr = np.stack([nx, np.argsort(nx), ny, np.argsort(ny)], axis=1)
    onsite, delta = rng.normal(size=N) * 2, rng.normal(size=N) * 0.3
    A = BdGPattern(L).matrix(1.0, onsite, delta) / scale
    return BdGStencil(nbr, 1.0, onsite, delta, scale), A


def test_stencil_kernel_matches_reference(rng):
    st, A = _stencil(12, rng)
    X0 = rng.normal(size=(A.shape[0], 7))
    assert np.abs(st.matmat(X0) - A @ X0).max() < TOL_SAME
    c = rng.normal(size=40)
    ref = recursion.chebyshev_series_reference(A, c, X0)
    full = recursion.chebyshev_series(st, c, X0)
    assert np.abs(full - ref).max() < 1e-11
    rows = rng.integers(0, A.shape[0], 100)
    cols = rng.integers(0, 7, 100)
    picked = recursion.chebyshev_series(st, c, X0, rows, cols)
    assert np.abs(picked - ref[rows, cols]).max() < 1e-11


def test_colouring_distance():
    for L, d in [(32, 5), (30, 7), (128, 22), (17, 4)]:
        cx = axis_colours(L, d)
        for c in np.unique(cx):
            pos = np.nonzero(cx == c)[0]
            gaps = np.diff(np.concatenate([pos, [pos[0] + L]]))
            assert gaps.min() >= d
    col = colouring(8, 8)
    assert np.array_equal(np.sort(col), np.arange(64))  # d >= L: one site per colour


@pytest.mark.parametrize("L", [12, 15, 20, 32, 37, 128])
def test_nested_refinement_splits_each_class_at_twice_the_spacing(L):
    """``colouring(L, d, nested=True)`` splits every class of ``colouring(L, d)`` into at most
    4 (q even) or 9 (q odd) classes whose sites are >= 2 floor(L/q) >= 2d apart per axis."""
    for d in range(2, L // 2 + 1):
        q = L // d
        coarse, fine = colouring(L, d), colouring(L, d, nested=True)
        for c in np.unique(fine):
            assert np.unique(coarse[fine == c]).size == 1  # nested
        for c in np.unique(coarse):
            assert np.unique(fine[coarse == c]).size <= (4 if q % 2 == 0 else 9)
        cx = axis_colours(L, d, nested=True)
        for c in np.unique(cx):
            pos = np.nonzero(cx == c)[0]
            if pos.size > 1:
                gaps = np.diff(np.concatenate([pos, [pos[0] + L]]))
                assert gaps.min() >= 2 * (L // q) >= 2 * d


def test_probing_error_model_decreases():
    errs = [probing_error(64, d, t=1.0, mu_tilde=-1.0, delta=0.2, T=0.1) for d in (6, 12, 24)]
    assert errs[0] > errs[1] > errs[2]
    d = choose_distance(64, 1e-3, t=1.0, mu_tilde=-1.0, delta=0.2, T=0.1)
    assert probing_error(64, d, t=1.0, mu_tilde=-1.0, delta=0.2, T=0.1) <= 1e-3


def test_probing_error_model_bounds_clean_band():
    """For a clean band the real probing errors are the signed sums the model bounds by |.|."""
    L, T, mu, delta = 16, 0.2, -1.0, 0.3
    N = L * L
    H = BdGPattern(L).matrix(1.0, np.full(N, -mu), np.full(N, delta)).toarray()
    E, W = np.linalg.eigh(H)
    tau = (W * np.tanh(E / (2 * T))) @ W.T
    sites = np.arange(N)
    nx = neighbour_index(L, "x")
    for d in (4, 8):
        col = colouring(L, d)
        X = np.zeros((2 * N, col.max() + 1))
        X[sites, col] = 1
        Y = tau @ X
        real = max(np.abs(Y[sites, col] - tau[sites, sites]).max(),
                   np.abs(Y[N + sites, col] - tau[N + sites, sites]).max(),
                   np.abs(Y[nx, col] - tau[nx, sites]).max())
        model = probing_error(L, d, t=1.0, mu_tilde=mu, delta=delta, T=T)
        assert real <= model * (1 + 1e-9)
        assert real > 0.1 * model  # a bound, but not a vacuous one


@pytest.mark.parametrize("mu, delta", [(-1.0, 0.3), (0.4, 0.0)])
def test_class_tails_are_the_probing_error_of_a_clean_band(mu, delta):
    """For a clean band the probes of every colouring (even and uneven segments) minus
    ``class_tails`` of its k-space blocks are the exact entries of tanh(H/2T): the control
    variate removes the whole probing error (rows: site, hole, +x and +y neighbours)."""
    from largebdg.kpm.probing import class_tails
    from largebdg.model.clean import clean_tau

    L, T = 16, 0.2
    N = L * L
    H = BdGPattern(L).matrix(1.0, np.full(N, -mu), np.full(N, delta)).toarray()
    E, W = np.linalg.eigh(H)
    tau = (W * np.tanh(E / (2 * T))) @ W.T
    sites = np.arange(N)
    rows = [sites, N + sites, neighbour_index(L, "x"), neighbour_index(L, "y")]
    for d in (4, 5, 6, 8, 16):
        col = colouring(L, d)
        X = np.zeros((2 * N, col.max() + 1))
        X[sites, col] = 1
        Y = tau @ X
        probed = np.array([Y[r, col] for r in rows])
        exact = np.array([tau[r, sites] for r in rows])
        tails = class_tails(L, d, *clean_tau(L, 1.0, mu, delta, T))
        assert np.abs(probed - tails - exact).max() < TOL_SAME
        if d < L:
            assert np.abs(probed - exact).max() > 1e-4  # there was an error to remove


def test_local_dos_matches_broadened_dense(rng):
    from largebdg.kpm.dos import local_dos, local_moments

    L = 8
    N = L * L
    onsite, delta = rng.normal(size=N), np.full(N, 0.3)
    H = BdGPattern(L).matrix(1.0, onsite, delta).toarray()
    E, W = np.linalg.eigh(H)
    scale = 1.05 * np.abs(E).max()
    # moments are exact: mu_m = sum_n |W_in|^2 T_m(E_n / a)
    nx, ny = neighbour_index(L, "x"), neighbour_index(L, "y")
    nbr = np.stack([nx, np.argsort(nx), ny, np.argsort(ny)], axis=1)
    st = BdGStencil(nbr, 1.0, onsite, delta, scale)
    mu = local_moments(st, [0, 5], 9)
    ref = np.cos(np.arange(9)[:, None] * np.arccos(E / scale)[None, :]) @ (W[[0, 5]] ** 2).T
    assert np.abs(mu - ref).max() < 1e-12
    # the damped expansion integrates to the particle weight and resolves the spectrum
    e = np.linspace(-0.99 * scale, 0.99 * scale, 4001)
    rho = local_dos(L, 1.0, onsite, delta, [0], e, scale=scale, num_moments=256)
    assert np.all(rho > -1e-10)  # Jackson kernel: positive
    assert np.trapz(rho[:, 0], e) == pytest.approx(1.0, abs=1e-2)
    with pytest.raises(ParameterError, match="kernel"):
        local_dos(L, 1.0, onsite, delta, [0], e, scale=scale, kernel="gauss")


@pytest.mark.parametrize("L", [12, 15, 20, 32, 128])
def test_refinement_spacing_and_cost(L):
    """Equal colours of the refining colouring are >= twice the coarse spacing apart (L/2, about
    1.5 times, for q = 3 segments; exact for q = 2), at most ~6.3 times the coarse cost (q = 5)."""
    from largebdg.kpm.probing import probing_distances, refinement_distance

    ys, xs = np.divmod(np.arange(L * L), L)
    for d in probing_distances(L)[:-1]:
        q = L // d
        D = refinement_distance(L, d)
        fine = colouring(L, D)
        C, C_fine = colouring(L, d).max() + 1, fine.max() + 1
        if C_fine == L * L:
            assert q == 2
            continue
        assert C_fine <= 6.3 * C
        for label in np.unique(fine)[:: max(C_fine // 50, 1)]:
            members = np.nonzero(fine == label)[0]
            dx = np.abs(xs[members][:, None] - xs[members][None, :])
            dy = np.abs(ys[members][:, None] - ys[members][None, :])
            sep = np.maximum(np.minimum(dx, L - dx), np.minimum(dy, L - dy))
            sep[np.diag_indices_from(sep)] = L
            assert sep.min() >= (L // 2 if q == 3 else 2 * (L // q))


@pytest.mark.parametrize("L, d, nested", [(8, 4, False), (12, 3, False), (12, 6, False),
                                           (12, 12, False), (12, 3, True), (12, 4, True)])
def test_first_order_tails_are_the_derivative_of_the_class_tails(L, d, nested):
    """``first_order_tails`` of ``tail_response`` is the derivative of the exact class tails
    (dense series, particle columns; rows site, hole, +x, +y) along a random change of the
    onsite energies and gaps about a homogeneous band (central differences, step 1e-4),
    for sublattice colourings down to one site per colour (d = L, and the nested refinement
    of three segments: no tail), and nested refinements (d = 3 at L = 12: 4 segments)."""
    from largebdg.kpm.probing import class_tails, first_order_tails, tail_response
    from largebdg.model.clean import clean_blocks
    from largebdg.model.lattice import neighbour_table

    N, scale, onsite0, delta0 = L * L, 5.0, -0.4, 0.3
    coeffs = tanh_coefficients(0.3, scale, 60)
    rng = np.random.default_rng(L + d)
    donsite, ddelta = rng.normal(size=N), rng.normal(size=N)
    colour = colouring(L, d, nested)
    same = (colour[:, None] == colour[None, :]) & ~np.eye(N, dtype=bool)
    rows = [np.arange(N), N + np.arange(N), neighbour_index(L, "x"), neighbour_index(L, "y")]

    def tails(eps):  # the exact class tails for the field (onsite0, delta0) + eps * change
        stencil = BdGStencil(neighbour_table(L), 1.0, onsite0 + eps * donsite,
                             delta0 + eps * ddelta, scale)
        P = recursion.chebyshev_series_reference(stencil, coeffs, np.eye(2 * N)[:, :N])
        return np.array([(P[r] * same).sum(axis=1) for r in rows])

    homogeneous = BdGStencil(neighbour_table(L), 1.0, np.full(N, onsite0), np.full(N, delta0),
                             scale)
    first = first_order_tails(tail_response(homogeneous, coeffs, L, d, scale, nested), donsite,
                              ddelta)
    derivative = (tails(1e-4) - tails(-1e-4)) / 2e-4
    assert np.abs(first - derivative).max() < 1e-6 * max(np.abs(derivative).max(), 1)
    series = clean_blocks(L, 1.0, -onsite0, delta0,
                          lambda E: np.polynomial.chebyshev.chebval(E / scale, coeffs))
    assert np.abs(tails(0.0) - class_tails(L, d, *series, nested)).max() < TOL_SAME
    if same.any():
        assert np.abs(derivative).max() > 1e-2  # the tails do depend on the field


def test_first_order_tails_need_a_sublattice():
    from largebdg.kpm.probing import tail_response
    from largebdg.model.lattice import neighbour_table

    stencil = BdGStencil(neighbour_table(10), 1.0, np.zeros(100), np.full(100, 0.2), 5.0)
    with pytest.raises(ValueError, match="probing_distance"):
        tail_response(stencil, np.ones(4), 10, 3, 5.0)  # three segments of 10 sites
    with pytest.raises(ValueError, match="probing_distance"):
        tail_response(stencil, np.ones(4), 10, 2, 5.0, nested=True)  # 5 segments: 3 groups


def test_probing_distances_are_distinct_colourings():
    from largebdg.kpm.probing import probing_distances

    ds = probing_distances(128)
    assert ds[0] == 4 and ds[-1] == 128
    colour_counts = [int(colouring(128, d).max()) + 1 for d in ds]
    assert colour_counts == sorted(set(colour_counts))


def test_colour_count_is_that_of_the_colouring():
    from largebdg.kpm.probing import colour_count

    for L in range(1, 41):
        for d in range(1, L + 3):
            assert colour_count(L, d) == colouring(L, d).max() + 1, (L, d)


def test_refining_colouring_takes_the_fewest_vectors_that_keep_the_sublattice():
    """A few classes of an odd q take the nested refinement (8 of the 9 parts of a class need
    vectors), the whole lattice the spaced one; for an even q the nested one (3 of 4 parts,
    against about four times the colours); where only the spaced one keeps a sublattice
    (L = 120, q = 5) and first-order tails are wanted, the spaced one.
    ``refinement_vectors`` counts the whole lattice's vectors."""
    from largebdg.kpm.probing import refinement_vectors, refining_colouring

    L, d = 32, 6
    coarse = colouring(L, d)
    few = np.flatnonzero(np.isin(coarse, [0, 10, 20]))
    D, nested, labels, needed = refining_colouring(L, d, few)
    assert nested and D == d and needed.size <= 24
    assert np.isin(needed, labels[few]).all()
    for c in (0, 10, 20):  # one part of each class is left out (9 where every segment has c)
        parts = np.unique(labels[coarse == c])
        assert parts.size <= 9 and np.isin(parts, needed).sum() == parts.size - 1
    assert needed.size == sum(np.unique(labels[coarse == c]).size - 1 for c in (0, 10, 20))
    D, nested, _, needed = refining_colouring(L, d, np.arange(L * L))
    assert not nested and needed.size == 256 == refinement_vectors(L, d)
    D, nested, _, needed = refining_colouring(L, 8, np.arange(L * L))
    assert nested and needed.size == 3 * 64 == refinement_vectors(L, 8)
    assert refinement_vectors(L, L) == 0
    few = np.flatnonzero(colouring(120, 24) == 0)  # 25 sites
    assert refining_colouring(120, 24, few)[1]
    D, nested, _, _ = refining_colouring(120, 24, few, sublattice=True)
    assert not nested and D == 60


@pytest.mark.parametrize("L", [32, 48, 128])
def test_the_nested_refinement_of_an_even_sublattice_is_the_colouring_of_half_the_segments(L):
    """q = 2k segments dividing L: the nested refinement partitions the sites as the colouring
    of k segments does (``same_partition``; the engine computes their tails once)."""
    from largebdg.kpm.probing import probing_distances, same_partition

    found = 0
    for d in probing_distances(L)[:-1]:
        q = L // d
        D, nested = same_partition(L, d, nested=True)
        if q % 2 == 0 and L % q == 0:
            assert (D, nested) == (L // (q // 2), False)
            fine, half = colouring(L, d, nested=True), colouring(L, D)
            assert len(set(zip(fine, half))) == fine.max() + 1 == half.max() + 1
            found += 1
        else:
            assert (D, nested) == (d, True)
        assert same_partition(L, d) == (d, False)
    assert found >= 3
