r"""Stochastic-trace estimate of the superfluid stiffness, linear in L² per random vector.

Notes
-----
Same quantity and convention as :func:`~largebdg.observables.stiffness.exact_stiffness`
(SWZ, per site, one band): :math:`D_s = \langle -k_x \rangle - \Lambda`, with the
Nambu current :math:`J = i\,\tilde A`, :math:`\tilde A = \mathrm{diag}(A, A)` real
antisymmetric, :math:`A_{i+x,i} = -A_{i,i+x} = t`, and

.. math::

    \Lambda = \frac{1}{N} \sum_{n,m=1}^{2N} (w_n^T \tilde A w_m)^2 R(E_n, E_m),
    \qquad R(E, E') = \frac{f(E) - f(E')}{E' - E}.

**Trace form.**  Since :math:`(w_m^T \tilde A^T w_n) = (w_n^T \tilde A w_m)`, for any
separable kernel :math:`R(E, E') = \sum_k \lambda_k \phi_k(E) \phi_k(E')`

.. math::

    N \Lambda = \sum_k \lambda_k \,\mathrm{Tr}\big[\phi_k(H)\, \tilde A\, \phi_k(H)\,
    \tilde A^T\big].

Hutchinson's estimator with random vectors r (:math:`E[r r^T] = 1`; Rademacher or
Gaussian) gives, per vector,

.. math::

    N \Lambda_r = \sum_k \lambda_k\, (\tilde A^T y_k) \cdot z_k, \qquad
    y_k = \phi_k(H)\, r, \quad z_k = \phi_k(H)\, \tilde A^T r,

an unbiased estimate of the trace of the truncated expansion.  The two
Chebyshev recursions (on :math:`r` and on :math:`\tilde A^T r`) run together
as one block; every :math:`\phi_k(H) X_0 = \sum_a c_{ak} T_a(H/a_s) X_0`
accumulates from the same moments :math:`T_a(H/a_s) X_0`.

**Separable kernel.**  :math:`R` is analytic (its poles are at
:math:`E = \pm i\pi T(2n+1)`) and has no degeneracy problem: on the diagonal
it is :math:`-f'(E)`.  On the M Chebyshev nodes :math:`x_j` of the rescaled
spectrum the symmetric matrix :math:`F_{jl} = R(a_s x_j, a_s x_l)` (the
values of the M x M Chebyshev interpolant, i.e. the 2D-DCT coefficients
:math:`\mu_{ab}` in another basis) has a tiny numerical rank: a randomised
eigen-decomposition :math:`F \approx V \Lambda V^T` keeps K ~ 10-30 terms for
a max-norm error of 1e-8 relative to the kernel scale, for any T (measured,
see ``docs/stiffness.md``).  :math:`\phi_k` is the degree < M polynomial
interpolating :math:`V_{:,k}` (coefficients by DCT).  The cost per random
vector is therefore M stencil products on two columns plus an
:math:`O(M K N)` dense accumulation (BLAS), instead of the
:math:`O(M^2 N)` dot products of the full moment matrix
:math:`\Gamma_{ab} = (\tilde A T_a r)\cdot(T_b \tilde A^T r)` that a direct
double expansion :math:`\sum_{ab} \mu_{ab} \Gamma_{ab}` needs; both give the
same estimator up to the (controlled) truncation of the kernel.

**Memory.**  Moments are never all stored: they are produced in chunks of
``chunk`` moments, folded into the K + 1 accumulators by one matrix product,
and discarded.  The accumulators take (K + 1) x 2N x 2B doubles for a block of
B vectors; if that exceeds ``memory_limit`` the block shrinks, and if a single
vector does not fit the functions are split into groups and the recursion is
recomputed for each group.

**Diamagnetic term.**  :math:`\langle -k_x\rangle = (2t/N)\sum_i b^x_i`, from the
bond averages of the solve when given (exact up to the solver's tolerance),
else estimated from the same vectors: :math:`\sum_i \tau_{i+x,i} \approx
\sum_i r_i (\tau r)_{i+x}` with :math:`\tau = \tanh(H/2T)`, one more function in
the same recursion.

**Errors.**  Truncation: :math:`|\delta\Lambda| \le 4t^2 \sup|\delta R|` because
:math:`(1/N)\sum_{nm} (w_n^T \tilde A w_m)^2 = \|\tilde A\|_F^2/N = 4t^2`, and
:math:`|\delta\langle -k_x\rangle| \le 2t \sup|\delta \tanh|`; the automatic M
keeps both below ``tolerance``/2.  Statistics: the standard error is the
sample standard deviation of the per-vector estimates of :math:`D_s` over
:math:`\sqrt{R}` (vectors are independent samples; the kinetic and correlator
parts of one vector are correlated and enter together).
"""

import functools
import time

import numpy as np
import scipy.fft
import scipy.linalg

from .. import _validate as v
from ..errors import ParameterError
from ..kpm.coefficients import check_tolerance, moments_for_tolerance, tanh_coefficients
from ..kpm.recursion import chebyshev_vectors
from ..kpm.vectors import DISTRIBUTIONS, random_block
from ..model.lattice import lattice_size, neighbour_table
from ..model.thermal import fermi_ratio
from ..operators.stencil import BdGStencil
from ..operators.window import BOUND_SAFETY, band_window
from .current import CurrentOperator, site_array

__all__ = ["stochastic_stiffness", "kernel_expansion", "gapped_energies", "trace_samples"]

_CHUNK = 32  # moments folded into the accumulators per matrix product
_BLOCK_BYTES = 4 * 1024**2  # default block: one moment of the block within 4 MiB


def default_block_size(N):
    """Start vectors per block of the stiffness recursions for N sites: one moment of the
    block's two columns (2N entries each) within 4 MiB, between 1 and 16."""
    return int(np.clip(_BLOCK_BYTES // (2 * N * 2 * 8), 1, 16))

# ------------------------------------------------------------------ kernel


@functools.lru_cache(maxsize=16)
def kernel_expansion(T, scale, num_moments, kernel_tolerance, rank_tolerance=None, gap=0.0):
    r"""Separable Chebyshev expansion of the kernel :math:`R(E, E') = (f(E) - f(E'))/(E' - E)`.

    On the window :math:`E, E' \in [-a, a]`, a = ``scale``, or with ``gap`` > 0 on its part
    :math:`g \le |E|, |E'| \le a` only (a certified spectral gap g: the spectrum lies
    there, and R need not be approximated in between).

    Parameters
    ----------
    T : float
        Temperature (> 0).
    scale : float
        Half-width of the spectral window.
    num_moments : int
        M, the degree + 1 of the interpolant in each variable.
    kernel_tolerance : float
        Only used for the rank: the max-norm error of the rank truncation on
        the nodes is kept below ``rank_tolerance`` (default kernel_tolerance/10).
    rank_tolerance : float, optional
    gap : float
        0, or a spectral gap in [0, scale).

    Returns
    -------
    coeffs : ndarray, shape (M, K)
        Chebyshev coefficients of :math:`\phi_k(a x)`.
    lam : ndarray, shape (K,)
        Weights, :math:`R(a x, a y) \approx \sum_k \lambda_k \phi_k(x)\phi_k(y)`.
    error : float
        Max-norm error of the rank truncation on the M x M nodes.

    Notes
    -----
    :math:`F_{jl} = R(a x_j, a x_l)` on Chebyshev nodes
    :math:`x_j = \cos(\pi (j + 1/2)/M)` is decomposed with a randomised
    range finder (one power iteration; fixed seed, so the expansion is
    deterministic) whose rank doubles until the max-norm residual is small
    enough, then truncated to the fewest terms that keep it so.  Cost
    O(M² K); cached.

    With a gap the nodes are the Chebyshev nodes :math:`u_j` of :math:`E^2 \in [g^2, a^2]`,
    m = M/2 of them, at both signs, :math:`E = \pm\sqrt{u_j}`.  A function of E on the two
    intervals is :math:`p(E^2) + E\,q(E^2)` with p, q smooth on :math:`[g^2, a^2]` (its
    even part, and its odd part over E), so each eigenvector becomes such a pair of
    interpolants of degree m - 1 in :math:`E^2`: a polynomial of degree 2m - 1 < M in E
    whose Chebyshev coefficients are exact.  Its coefficients decay with
    :math:`\sqrt{g^2 + (\pi T)^2}` instead of :math:`\pi T` (as those of tanh,
    :mod:`largebdg.kpm.coefficients`), so a gap of a few T cuts M severalfold.
    """
    M = int(num_moments)
    rank_tol = kernel_tolerance / 10 if rank_tolerance is None else rank_tolerance
    if gap:
        lo, hi = gap * gap, scale * scale
        E = gapped_energies(max(M // 2, 2), 0.5, scale, gap)
        root = E[:E.size // 2]
    else:
        E = scale * np.cos(np.pi * (np.arange(M) + 0.5) / M)
    F = fermi_ratio(E, T)
    n = E.size
    rng = np.random.default_rng(12345)
    k = min(n, 48)
    while True:
        if k >= n:
            lam, V = scipy.linalg.eigh(F)
        else:
            Q, _ = np.linalg.qr(F @ rng.standard_normal((n, k)))
            Q, _ = np.linalg.qr(F @ Q)
            lam, U = np.linalg.eigh(Q.T @ F @ Q)
            V = Q @ U
        order = np.argsort(-np.abs(lam))
        lam, V = lam[order], V[:, order]
        residual = np.abs(F - (V * lam) @ V.T).max()
        if residual <= rank_tol / 2 or k >= n:
            break
        k = min(2 * k, n)
    # drop terms while the bound on what they add stays within the budget
    weight = np.abs(lam) * (V * V).max(axis=0)
    tail = np.cumsum(weight[::-1])[::-1]  # tail[K] = bound on the terms K, K+1, ...
    keep = np.nonzero(residual + tail <= rank_tol)[0]
    K = int(keep[0]) if keep.size else lam.size
    K = max(K, 1)
    lam, V = lam[:K], V[:, :K]
    error = float(np.abs(F - (V * lam) @ V.T).max())
    if gap:
        coeffs = _gapped_functions(V, root, lo, hi, scale, M)
    else:
        coeffs = scipy.fft.dct(V, type=2, axis=0) / M
        coeffs[0] /= 2
    coeffs.flags.writeable = False  # cached: shared between calls
    lam.flags.writeable = False
    return coeffs, lam, error


def gapped_energies(m, shift, scale, gap):
    """Energies +-sqrt(u_j) of g <= |E| <= scale, positive first, where u_j are the points
    cos(pi (j + shift) / m) of [-1, 1] mapped onto [g², scale²] (shift 0.5: the Chebyshev
    nodes in E² of :func:`kernel_expansion` with a gap; another shift: points between them)."""
    lo, hi = gap * gap, scale * scale
    y = np.cos(np.pi * (np.arange(m) + shift) / m)
    root = np.sqrt((hi - lo) / 2 * y + (hi + lo) / 2)
    return np.concatenate([root, -root])


def _gapped_functions(V, root, lo, hi, scale, M):
    """Chebyshev coefficients (M, K) in E/scale of the functions p(E²) + E q(E²) that take
    the values ``V`` (2m, K) at E = +root, -root (root² the Chebyshev nodes of [lo, hi])."""
    m = root.size
    even = (V[:m] + V[m:]) / 2
    odd = (V[:m] - V[m:]) / (2 * root[:, None])
    p = scipy.fft.dct(even, type=2, axis=0) / m
    q = scipy.fft.dct(odd, type=2, axis=0) / m
    p[0] /= 2
    q[0] /= 2
    E = scale * np.cos(np.pi * (np.arange(M) + 0.5) / M)  # degree 2m - 1 < M: exact
    y = (2 * E * E - hi - lo) / (hi - lo)
    cheb = np.polynomial.chebyshev.chebval  # (K, M) for coefficients of shape (m, K)
    values = cheb(y, p).T + E[:, None] * cheb(y, q).T
    coeffs = scipy.fft.dct(values, type=2, axis=0) / M
    coeffs[0] /= 2
    return coeffs


def _auto_moments(T, scale, kernel_tolerance, tanh_tolerance):
    """Moments for the kernel (max-norm error ``kernel_tolerance``) and tanh (``tanh_tolerance``).

    The 2D coefficients of R decay like those of tanh(E/2T) (same analytic
    strip) with a prefactor ~ 1/(1.5 T), measured at T = 0.02-0.2; the
    kernel's M uses the tanh tail criterion at ``kernel_tolerance * T``.
    """
    m_kernel = moments_for_tolerance(T, scale, kernel_tolerance * T)
    m_tanh = 0 if tanh_tolerance is None else moments_for_tolerance(T, scale, tanh_tolerance)
    return int(max(m_kernel, m_tanh, 16))


# ------------------------------------------------------------------ traces


def trace_samples(stencil, current, coeffs, lam, X0, *, with_tanh, memory_limit,
                   chunk=_CHUNK):
    r"""Per-column :math:`(\sum_i r_i (\tau r)_{i+e},\; r^T X r)` for start columns r = X0[:, j].

    ``coeffs`` (M, K') holds the Chebyshev coefficients of the functions,
    column 0 being tanh when ``with_tanh``; ``lam`` the weights of the
    kernel functions (the remaining columns).  Returns ``(hop, trace)`` of
    shape (B,) each, where :math:`\mathrm{trace}_j = \sum_k \lambda_k (\tilde A^T y_k)\cdot z_k`.
    """
    N2, B = X0.shape
    N = N2 // 2
    M, Kf = coeffs.shape
    S0 = -current(X0)  # A^T r
    X = np.ascontiguousarray(np.concatenate([X0, S0], axis=1))
    C = X.shape[1]
    # group the functions so that the accumulators fit into memory_limit
    per_function = N2 * C * 8
    chunk = max(2, min(chunk, M))
    room = memory_limit // per_function - chunk - 4
    if room < 1:
        raise ParameterError(
            f"'memory_limit' = {memory_limit} bytes cannot hold the recursion of one block "
            f"({(chunk + 5) * per_function} bytes needed); raise it or lower 'block_size'"
        )
    group = int(min(Kf, room))
    hop = np.zeros(B)
    trace = np.zeros(B)
    buf = np.empty((chunk, N2, C))
    for g0 in range(0, Kf, group):
        cols = slice(g0, min(Kf, g0 + group))
        acc = np.zeros((cols.stop - cols.start, N2 * C))
        # the recursion writes each moment straight into its slot of the chunk buffer
        vectors = chebyshev_vectors(stencil, X, M, into=lambda m: buf[m % chunk])
        for m0 in range(0, M, chunk):
            n = min(chunk, M - m0)
            for _ in range(n):
                next(vectors)
            acc += coeffs[m0: m0 + n, cols].T @ buf[:n].reshape(n, -1)
        acc = acc.reshape(-1, N2, C)
        for kk, k in enumerate(range(cols.start, cols.stop)):
            Y = acc[kk]
            if with_tanh and k == 0:
                hop += np.einsum("ij,ij->j", X0[:N], Y[current.plus[:N], :B])
                continue
            w = lam[k - 1] if with_tanh else lam[k]
            # (A^T y_k) . z_k with y_k = phi_k r (columns :B), z_k = phi_k A^T r (columns B:)
            trace -= w * np.einsum("ij,ij->j", current(Y[:, :B]), Y[:, B:])
    return hop, trace


def stochastic_stiffness(L, t, onsite, delta, T, *, num_vectors=64, num_moments=None,
                         tolerance=1e-4, seed=None, kinetic=None, direction="x",
                         block_size=None, distribution="rademacher", scale=None,
                         bound_safety=BOUND_SAFETY, memory_limit=2 * 1024**3):
    r"""Stochastic-trace estimate of the superfluid stiffness per site of one band.

    Parameters
    ----------
    L : int
        Linear lattice size (>= :data:`~largebdg.model.lattice.MIN_L` = 3), N = L*L sites.
    t : float
        Hopping of the band (matrix element -t).
    onsite, delta : array_like, shape (L*L,)
        Particle-block diagonal :math:`V_i - g n_i/2 - \mu` and real gap.
    T : float
        Temperature (> 0).
    num_vectors : int
        Number R of random vectors (>= 2, for the standard error).
    num_moments : int, optional
        Chebyshev moments M; default from T, the spectral scale and ``tolerance``.
    tolerance : float
        Target bound on the truncation (bias) error of D_s, absolute, per site.
    seed : int, SeedSequence or Generator, optional
        For ``numpy.random.default_rng``.
    kinetic : float, optional
        The diamagnetic term :math:`\langle -k_e\rangle` (paper Eq. 33) along
        ``direction`` when known (e.g.
        :func:`~largebdg.observables.stiffness_kpm.kpm_kinetic`, or
        :func:`~largebdg.observables.current.kinetic_energy_x` of a solver's bond
        averages); otherwise estimated stochastically with the same vectors.
    direction : {"x", "y"}
    block_size : int, optional
        Random vectors per recursion block (each block runs on 2 x block_size
        columns).  Default: as many as keep one moment block within 4 MiB
        (between 1 and 16), so that the stencil's working set stays small.
        The result does not depend on it.
    distribution : {"rademacher", "gaussian"}
    scale : float, optional
        Half-width of the Chebyshev window; default
        :func:`~largebdg.operators.window.band_window`.  Must bound the spectrum.
    bound_safety : float
    memory_limit : int
        Bytes for moments and accumulators (default 2 GiB).

    Returns
    -------
    stiffness : float
        :math:`D_s = \langle -k_x\rangle - \Lambda`, SWZ convention, as
        :func:`~largebdg.observables.stiffness.exact_stiffness`.
    stderr : float
        Standard error from the spread of the per-vector estimates.
    info : dict
        ``kinetic``, ``kinetic_stderr``, ``correlator``, ``correlator_stderr``,
        ``num_moments``, ``rank`` (K), ``scale``, ``num_vectors``,
        ``distribution``, ``diamagnetic`` ("given" or "stochastic"),
        ``kernel_rank_error``, ``block_size``, ``seconds``, ``samples``
        (per-vector D_s estimates, ndarray).

    Raises
    ------
    ParameterError
        On invalid input (T = 0 included: the kernel is then not smooth).

    Notes
    -----
    Cost: R x M products of the BdG stencil on two columns plus
    :math:`O(R M K N)` flops of dense accumulation, memory bounded by
    ``memory_limit``; see the module notes for the derivation.

    Examples
    --------
    >>> import numpy as np
    >>> ds, err, info = stochastic_stiffness(8, 1.0, np.ones(64), np.full(64, 0.3), 0.1,
    ...                                      num_vectors=32, seed=1, scale=6.5)
    >>> from largebdg.observables.stiffness import exact_stiffness
    >>> abs(ds - exact_stiffness(8, 1.0, np.ones(64), np.full(64, 0.3), 0.1)) < 3 * err
    True
    """
    L = lattice_size(L)
    t = v.real("t", t)
    onsite = site_array("onsite", onsite, L)
    delta = site_array("delta", delta, L)
    T = v.real("T", T, 0.0, low_open=True)
    R = v.positive_int("num_vectors", num_vectors, minimum=2)
    if num_moments is not None:
        num_moments = v.positive_int("num_moments", num_moments, minimum=2)
    tolerance = check_tolerance("tolerance", tolerance)
    v.choice("direction", direction, ("x", "y"))
    if block_size is not None:
        block_size = v.positive_int("block_size", block_size)
    v.choice("distribution", distribution, DISTRIBUTIONS)
    bound_safety = v.real("bound_safety", bound_safety, 0.0)
    memory_limit = v.positive_int("memory_limit", memory_limit)
    if kinetic is not None:
        kinetic = v.real("kinetic", kinetic)
    t0 = time.perf_counter()
    N = L * L
    if scale is None:
        scale = band_window(L, t, onsite, delta, bound_safety=bound_safety)
    scale = v.real("scale", scale, 0.0, low_open=True)

    t_abs = max(abs(t), 1e-300)
    kernel_tol = tolerance / (2 * 4 * t_abs**2)  # |dLambda| <= 4 t^2 sup|dR|
    tanh_tol = tolerance / (2 * 2 * t_abs)  # |d<-k>| <= 2t sup|dtanh|
    with_tanh = kinetic is None
    M = num_moments or _auto_moments(T, scale, kernel_tol, tanh_tol if with_tanh else None)
    coeffs, lam, rank_error = kernel_expansion(T, scale, M, kernel_tol)
    if with_tanh:
        coeffs = np.column_stack([tanh_coefficients(T, scale, M), coeffs])

    stencil = BdGStencil(neighbour_table(L), t, onsite, delta, scale)
    current = CurrentOperator(L, t, direction)
    if block_size is None:
        block_size = default_block_size(N)
    # shrink the block if even the smallest grouping would not fit
    per_vector = 2 * N * 2 * 8 * (min(coeffs.shape[1], 8) + _CHUNK + 4)
    B = int(max(1, min(block_size, R, memory_limit // per_vector)))

    rng = np.random.default_rng(seed)
    hop = np.empty(R)
    trace = np.empty(R)
    for start in range(0, R, B):
        b = min(B, R - start)
        X0 = random_block(rng, 2 * N, b, distribution)
        h, tr = trace_samples(stencil, current, coeffs, lam, X0, with_tanh=with_tanh,
                               memory_limit=memory_limit)
        hop[start: start + b] = h
        trace[start: start + b] = tr

    correlator_samples = trace / N
    if with_tanh:
        kinetic_samples = -2.0 * t * hop / N  # <-k_e> = -(2t/N) sum_i tau_{i+e,i}
    else:
        kinetic_samples = np.full(R, kinetic)
    samples = kinetic_samples - correlator_samples

    def mean_err(x):
        return float(x.mean()), float(x.std(ddof=1) / np.sqrt(x.size))

    ds, err = mean_err(samples)
    kin, kin_err = mean_err(kinetic_samples)
    corr, corr_err = mean_err(correlator_samples)
    info = {
        "kinetic": kin, "kinetic_stderr": kin_err,
        "correlator": corr, "correlator_stderr": corr_err,
        "num_moments": int(M), "rank": int(lam.size), "scale": float(scale),
        "num_vectors": R, "distribution": distribution,
        "diamagnetic": "stochastic" if with_tanh else "given",
        "kernel_rank_error": rank_error, "block_size": B,
        "seconds": time.perf_counter() - t0, "samples": samples,
    }
    return ds, err, info
