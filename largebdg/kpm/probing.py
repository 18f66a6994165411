r"""Probing: start vectors that sum unit vectors over a distance-d lattice colouring.

With a colouring in which sites of equal colour are at least d apart (along
each axis), the start vector :math:`\sum_{j \in c} e_j` of colour c gives
:math:`[\tau(H)\, \sum_j e_j]_r = \tau_{ri} + \sum_{j \ne i} \tau_{rj}` for
the site i of colour c nearest to row r.  The error is the sum of the
off-diagonal elements of :math:`\tau = \tanh(H/2T)` at the colouring's
lattice vectors, which decay with distance on the scale of the thermal
length :math:`\hbar v_F / \pi T` and the coherence length
:math:`\hbar v_F / \Delta` (and faster where disorder localises the states).

Control variate (:func:`class_tails`): much of that sum, at low temperature where the
entries decay slowly, is the tail of the *homogeneous* band (the band's mean onsite energy
and gap), which is known on every offset from the same Chebyshev series in k-space
(:func:`largebdg.model.clean.clean_blocks`); subtracting it from the probed entries leaves
only the inhomogeneous remainder as probing error.  To first order in the field's deviation
from the mean (:func:`tail_response`, :func:`first_order_tails`) the remainder's leading part
is known as well: a weak band whose gap follows the other band's disorder keeps a tenth of the
remainder (docs/performance.md).

Error model (:func:`probing_error`): that sum is evaluated for the clean band
with the same filling, gap and temperature, exactly on the L x L torus by FFT;
:func:`choose_distance` takes the smallest d whose modelled error is below
the tolerance.  The model is exact for clean bands and conservative where
disorder shortens the decay; tests check the real error against it.
"""

import functools

import numpy as np
import scipy.sparse

from .. import _validate as v
from ..model.clean import clean_tau
from ..model.lattice import neighbour_index
from ..operators.stencil import apply_step

__all__ = ["axis_colours", "colouring", "colour_count", "class_tails", "is_sublattice",
           "tail_response", "first_order_tails", "probing_error",
           "choose_distance", "probing_distances", "refinement_distance", "refinement_ratio",
           "same_partition", "refining_colouring", "refinement_vectors",
           "square_lattice_vectors",
           "sheared_colouring", "sublattices", "sublattice_vectors", "shortest_vector"]


def axis_colours(L, d, nested=False):
    """Colours 0..C-1 along one axis of length L with equal colours >= d apart (periodic).

    The axis is cut into q = floor(L/d) segments of length floor(L/q) or
    ceil(L/q); the colour is the position inside the segment, so C = ceil(L/q)
    and q*C - L >= 0 colours are merely unused at the segment ends.

    ``nested``: the nested refinement of these colours, each split by its segment into
    G = 2 groups (even and odd segments, q even) or 3 (q odd: the last segment alone), so
    that equal colours are at least two segments (>= 2d) apart; colour x G + group.
    """
    L = v.positive_int("L", L)
    d = v.positive_int("probing_distance", d)
    q = max(L // d, 1)
    starts = (np.arange(q + 1) * L) // q
    x = np.arange(L)
    seg = np.searchsorted(starts, x, side="right") - 1
    colour = x - starts[seg]
    if not nested or q == 1:
        return colour
    if q % 2 == 0:
        return 2 * colour + seg % 2
    return 3 * colour + np.where(seg == q - 1, 2, seg % 2)


def colouring(L, d, nested=False):
    """Colour of every site (index x + L*y) for probing distance d (d >= L: one site each);
    ``nested``: its nested refinement (:func:`axis_colours`)."""
    cx = axis_colours(L, min(d, L), nested)
    C = cx.max() + 1
    return (cx[None, :] + C * cx[:, None]).ravel()


def colour_count(L, d):
    """Number of colours of :func:`colouring` ``(L, d)`` (= its maximum + 1), without
    building it: C² with C = ceil(L/q) colours per axis, q = floor(L/d) segments."""
    L = v.positive_int("L", L)
    q = max(L // min(v.positive_int("probing_distance", d), L), 1)
    return (-(-L // q)) ** 2


def class_tails(L, d, pp, ph, nested=False):
    r"""Entries a probe of ``colouring(L, d)`` adds at each site, for a translation-invariant tau.

    For a site i of colour class c, the probe reads
    :math:`\sum_{j \in c,\, j \ne i} \tau_{r j}` beyond the wanted entry
    :math:`\tau_{r i}`, with the rows r of :meth:`largebdg.engines.base.LocalAverages.from_tau`
    (i, its hole partner, i + x and i + y).  For a tau that depends only on the separation
    (blocks ``pp``, ``ph`` from :func:`largebdg.model.clean.clean_blocks`) this sum is a
    product of one sum per axis over the positions of equal colour, computed in O(L² q)
    with q = floor(L/d) segments.

    Parameters
    ----------
    L, d : int
        Lattice size and probing distance.
    pp, ph : ndarray, shape (L, L)
        Particle-particle and particle-hole blocks indexed ``[y, x]`` by the separation
        row minus column.
    nested : bool
        The tails of the nested refinement of the colouring (:func:`axis_colours`).

    Returns
    -------
    ndarray, shape (4, L*L)
        The (tau_ii, tau_hole, tau_x, tau_y) tails, site index x + L*y.
    """
    cx = axis_colours(L, min(d, L), nested)
    x = np.arange(L)
    same = cx[:, None] == cx[None, :]  # [x, x'] of equal colour
    rows, cols = np.nonzero(same)
    # P[x, o] = 1 for the offsets o = x - x' (mod L) to the positions x' of x's colour
    P = scipy.sparse.csr_matrix((np.ones(rows.size), (rows, (x[rows] - cols) % L)), shape=(L, L))
    out = np.empty((4, L * L))
    for a, (table, sy, sx) in enumerate([(pp, 0, 0), (ph, 0, 0), (pp, 0, 1), (pp, 1, 0)]):
        G = np.roll(table, (-sy, -sx), axis=(0, 1))  # G[oy, ox] = table[oy + sy, ox + sx]
        tail = P @ (P @ G.T).T  # sum over offsets (oy, ox) of both axes' colours
        out[a] = tail.ravel() - G[0, 0]
    return out


def is_sublattice(L, d, nested=False):
    """Whether every colour class of ``colouring(L, d, nested)`` is a translate of one
    sublattice: equal segments (q = floor(L/d) divides L; always for d >= L), and for the
    nested refinement also an even q, or q <= 3 (one site per class)."""
    q = max(L // d, 1)
    if nested and q <= 3:
        return True
    return L % q == 0 and not (nested and q % 2)


def tail_response(stencil, coeffs, L, d, scale, nested=False):
    r"""First-order response of the class tails of a homogeneous band to the mean field.

    For a translation-invariant stencil :math:`\bar H` (mean onsite energy and gap) and a
    colouring whose classes are sublattices :math:`i + \Lambda` (q = floor(L/d) divides L),
    the tail that the probe of site 0 adds to row r, :math:`y_r = [p(H) x_0]_r` with
    :math:`x_0 = \sum_{o \in \Lambda \setminus 0} e_o` and p the Chebyshev series
    ``coeffs`` of the rescaled operator, changes with the site blocks
    :math:`\delta H_u = \delta\varepsilon_u \sigma_z + \delta\Delta_u \sigma_x` by
    :math:`\delta y_r = \sum_u G_r(u) \cdot (\delta\varepsilon_u, \delta\Delta_u)`.
    With :math:`X_j = T_j(\bar H) x_0` (forward recursion) and
    :math:`\lambda_j = \sum_{k \ge 0} c_{j+1+k} U_k(\bar H) e_r` (Clenshaw, backward;
    :math:`\delta T_m` obeys the Chebyshev recursion with sources :math:`2\,\delta H X_j`),
    :math:`\delta y_r = \sum_j w_j \lambda_j^T \delta H X_j`, w_0 = 1, w_j = 2: one forward
    and one backward recursion of a few vectors (the forward one is run back down,
    X_j = 2 H X_{j+1} - X_{j+2}, instead of being stored).

    Parameters
    ----------
    stencil : BdGStencil
        The homogeneous band, rescaled by ``scale``.
    coeffs : ndarray, shape (M,)
        Chebyshev coefficients of the series p (of the rescaled operator).
    L, d : int
        Lattice size and probing distance; the colouring must be a sublattice
        (:func:`is_sublattice`).
    scale : float
        Half-width of the spectral window (the field changes are rescaled by it too).
    nested : bool
        The response of the nested refinement's tails (:func:`axis_colours`).

    Returns
    -------
    ndarray, shape (4, 2, L*L)
        ``G[a, c, u]``: rows a = (tau_ii, tau_hole, tau_x, tau_y) of site 0, as in
        :func:`class_tails`; c = onsite energy, gap; u the site whose field changes.
    """
    N = L * L
    if not is_sublattice(L, d, nested):
        raise ValueError(f"'probing_distance' {d}: the {'nested ' * nested}colouring of "
                         f"L = {L} is not a sublattice (floor(L/d) must divide L"
                         f"{', and be even or <= 3' if nested else ''})")
    G = np.zeros((4, 2, N))
    colour = colouring(L, d, nested)
    comb = np.flatnonzero(colour == colour[0])[1:]  # site 0's class without site 0
    if comb.size == 0 or len(coeffs) < 2:
        return G
    M = len(coeffs)
    x0 = np.zeros((2 * N, 1))
    x0[comb, 0] = 1.0
    E = np.zeros((2 * N, 4))
    E[[0, N, neighbour_index(L, "x")[0], neighbour_index(L, "y")[0]], np.arange(4)] = 1.0
    prev, cur = x0.copy(), np.empty_like(x0)
    apply_step(stencil, prev, prev, cur, 1.0, 0.0)
    for _ in range(M - 2):  # up to (X_{M-2}, X_{M-1})
        apply_step(stencil, cur, prev, prev, 2.0, 1.0)
        prev, cur = cur, prev
    upper, X = cur, prev  # X_{j+1}, X_j for j = M - 2
    lam_next, lam = np.zeros_like(E), coeffs[M - 1] * E  # lambda_{j+1}, lambda_j
    onsite, gap = np.zeros((N, 4)), np.zeros((N, 4))  # sum_j w_j lambda_j^T dH X_j, per site
    for j in range(M - 2, -1, -1):
        w = 1.0 if j == 0 else 2.0
        p, h = X[:N], X[N:]
        onsite += w * (lam[:N] * p - lam[N:] * h)
        gap += w * (lam[:N] * h + lam[N:] * p)
        if j == 0:
            break
        # lambda_{j-1} = c_j e_r + 2 H lambda_j - lambda_{j+1}; X_{j-1} = 2 H X_j - X_{j+1}
        apply_step(stencil, lam, lam_next, lam_next, 2.0, 1.0)
        lam_next += coeffs[j] * E
        lam, lam_next = lam_next, lam
        apply_step(stencil, X, upper, upper, 2.0, 1.0)
        X, upper = upper, X
    G[:, 0], G[:, 1] = onsite.T, gap.T
    return G / scale


def first_order_tails(G, donsite, ddelta):
    """Tails (4, N) of every site to first order: sum over u of G[a, c, u - i] times the
    field change (``donsite``, ``ddelta``, shape (N,)) at u, by FFT (:func:`tail_response`)."""
    N = G.shape[-1]
    L = int(round(np.sqrt(N)))
    fields = np.fft.fft2(np.stack([donsite, ddelta]).reshape(2, L, L))
    kernels = np.fft.fft2(G.reshape(4, 2, L, L))
    out = np.fft.ifft2((np.conj(kernels) * fields[None]).sum(axis=1)).real
    return out.reshape(4, N)


def square_lattice_vectors(L, d):
    """Offsets (ry, rx) != 0 between sites of equal colour in ``colouring(L, d)``.

    Exact when d divides L, else the segment starts of :func:`axis_colours` (the
    approximate lattice of the uneven segments); empty for d >= L.
    """
    if d >= L:
        return np.zeros((0, 2), dtype=int)
    q = max(L // d, 1)
    R = (np.arange(q) * L) // q
    Ry, Rx = np.meshgrid(R, R, indexing="ij")
    mask = (Rx != 0) | (Ry != 0)
    return np.stack([Ry[mask], Rx[mask]], axis=1)


def _lattice_error(pp, ph, d):
    L = pp.shape[0]
    if d >= L:
        return 0.0
    R = square_lattice_vectors(L, d)
    Ry, Rx = R[:, 0], R[:, 1]
    diag = np.abs(pp[Ry, Rx]).sum()
    anom = np.abs(ph[Ry, Rx]).sum()
    bond = np.abs(pp[Ry, (Rx + 1) % L]).sum()
    return float(max(diag, anom, bond))


def probing_error(L, d, *, t, mu_tilde, delta, T):
    """Modelled largest error of the probed diagonal, anomalous and bond entries.

    Sums |tau(R + s)| over the colouring's lattice vectors R != 0 (spacing d),
    for the shifts s = 0 (diagonal, anomalous) and s = e_x (bonds), of the
    clean band with the given parameters.
    """
    return _lattice_error(*clean_tau(L, t, mu_tilde, delta, T), d)


def choose_distance(L, tolerance, *, t, mu_tilde, delta, T, dmin=4):
    """Smallest probing distance whose modelled error (:func:`probing_error`) is <= tolerance."""
    tau = clean_tau(L, t, mu_tilde, delta, T)
    for d in range(dmin, L):
        if _lattice_error(*tau, d) <= tolerance:
            return d
    return L


def probing_distances(L, dmin=4):
    """Probing distances of distinct cost, cheapest first; the last one, L, is exact.

    The colouring of distance d depends only on q = floor(L/d) (:func:`axis_colours`) and
    costs C = ceil(L/q)² start vectors; of the distances with equal C the largest is kept.
    """
    best = {}
    for d in range(max(dmin, 1), L + 1):
        best[int(colouring(L, d).max())] = d  # same cost: the later, larger d wins
    return sorted(best.values())


def refinement_distance(L, d):
    """Probing distance of the colouring that measures the error of ``colouring(L, d)``.

    With q = floor(L/d) segments per axis, the refining colouring has floor(q/2) segments
    for q >= 4, so equal colours are at least twice as far apart, two for q = 3 (1.5 times
    as far: the next coarser choice, one site per colour, would cost L² start vectors, nine
    times the coarse colouring at q = 3) and one (exact) for q = 2
    (:func:`refinement_ratio`).  Its error is far smaller than the coarse one (measured up
    to 0.22 of it at twice the spacing, docs/performance.md); the estimate's safety factor
    follows the spacing ratio (:func:`largebdg.engines.chebyshev.refinement_safety`).  It
    need not be nested in the coarse one: its probe at a site is a second estimate of the
    same entries, and the difference of the two is the coarse error up to the fine one.  Its
    cost is about four times the coarse colouring's for even q, up to 6.3 times for odd q
    (q = 5), 2.25 times for q = 3.  The nested refinement (``colouring(L, d, nested=True)``)
    splits every class into 4 (q even) or 9 (q odd) classes at least 2d apart, of which 3 or
    8 need vectors (:func:`refining_colouring`): fewer vectors for the whole lattice when q
    is even, more when q is odd, but only 3 or 8 per class where a few classes are measured
    (here every site of a class has a refining class of its own when q is odd).
    """
    L = v.positive_int("L", L)
    q = max(L // v.positive_int("probing_distance", d), 1)
    if q == 1:
        raise ValueError("the colouring of d >= L is exact; there is nothing to refine")
    return L // (max(q // 2, 2) if q >= 3 else 1)


def refinement_ratio(L, d, D, nested=False):
    """Least distance between equal colours of the refining colouring ``colouring(L, D,
    nested)`` over that of ``colouring(L, d)``: 2 for the nested refinement, the ratio of the
    shortest segments (floor(L/q)) otherwise."""
    if nested:
        return 2.0

    def shortest(d):
        return L // max(L // min(d, L), 1)

    return shortest(D) / shortest(d)


def same_partition(L, d, nested=False):
    """``(D, nested)`` of the colouring with the fewest segments that partitions the sites as
    ``colouring(L, d, nested)`` does: the nested refinement of q = 2k segments dividing L is
    the colouring of k segments (equal colours x mod 2L/q apart); anything else is itself.
    Quantities that depend only on the partition (the tails) are computed once for both."""
    q = L // min(d, L)
    if nested and q % 2 == 0 and L % q == 0:
        return L // (q // 2), False
    return d, nested


def refining_colouring(L, d, sites, sublattice=False, nested=None):
    """The refining colouring that measures ``colouring(L, d)`` at ``sites`` with fewest vectors.

    The candidates are the spaced colouring of :func:`refinement_distance` and the nested
    refinement (``colouring(L, d, nested=True)``); ``sublattice``: prefer one whose classes
    are sublattices (:func:`is_sublattice`, needed for first-order tails) when the coarse
    colouring's are; ``nested``: force one.

    The nested refinement needs all but one of the classes a coarse class splits into: the
    coarse probe is the sum of its parts' probes (the same linear map of the summed start
    vectors), so at the sites of the part left out the refined entries are the coarse ones
    minus the probes of the other parts read there (:meth:`ChebyshevEngine._measured_probing
    <largebdg.engines.chebyshev.ChebyshevEngine._measured_probing>`): 3 vectors per coarse
    class instead of 4 (q even), 8 instead of 9 (q odd).

    Returns
    -------
    D, nested : int, bool
        The candidate: ``colouring(D, nested)`` with D = ``refinement_distance(L, d)`` or d.
    labels, needed : ndarray
        Its colour of every site, and the colours of ``sites`` whose vectors are needed
        (for the nested refinement, the part of each coarse class with the largest label is
        left out).
    """
    coarse = colouring(L, d)
    options = []
    for D, nest in ((refinement_distance(L, d), False), (d, True)):
        if nested is None or nest == nested:
            labels = colouring(L, D, nest)
            needed = np.unique(labels[sites])
            if nest:  # per coarse class, the part of the largest label is left out
                last = np.zeros(coarse.max() + 1, dtype=labels.dtype)
                np.maximum.at(last, coarse[sites], labels[sites])
                needed = np.setdiff1d(needed, last[np.unique(coarse[sites])])
            lost = sublattice and is_sublattice(L, d) and not is_sublattice(L, D, nest)
            options.append(((lost, needed.size), D, nest, labels, needed))
    return min(options, key=lambda o: o[0])[1:]


@functools.lru_cache(maxsize=256)
def refinement_vectors(L, d, sublattice=False):
    """Start vectors of :func:`refining_colouring` for every site: the cost of measuring the
    whole lattice at distance d (0 for d >= L, which is exact)."""
    if d >= L:
        return 0
    return int(refining_colouring(L, d, np.arange(L * L), sublattice)[3].size)


def sheared_colouring(L, a, b, c):
    """Colour of every site (x + L*y) for the sublattice {m (a, 0) + n (b, c)}: a*c colours.

    Sites of equal colour differ by a vector of the sublattice (a, b, c) of the L x L
    torus (a and c divide L, (0, L) is a lattice vector).  ``b = 0``, ``a = c = d`` is the
    square colouring of :func:`colouring` (for d dividing L); b != 0 shears it, which
    moves equal colours off the lattice diagonals (used by
    :func:`largebdg.observables.stiffness_kpm.kpm_stiffness`).
    """
    y, x = np.divmod(np.arange(L * L), L)
    n = y // c
    return (x - n * b) % a + a * (y % c)


def sublattices(L, cmin, cmax):
    """Yield all sublattices (a, b, c) of the L x L torus with cmin <= a*c <= cmax.

    Hermite normal form {m (a, 0) + n (b, c)}, 0 <= b < a, a and c dividing L, and
    (0, L) a lattice vector; the index (number of colours) is a*c.
    """
    divisors = [k for k in range(1, L + 1) if L % k == 0]
    for a in divisors:
        for c in divisors:
            if not cmin <= a * c <= cmax:
                continue
            for b in range(a):
                if ((L // c) * b) % a == 0:  # (0, L) must be a lattice vector
                    yield a, b, c


def sublattice_vectors(L, a, b, c):
    """Lattice vectors (ry, rx) != 0 of the sublattice (a, b, c), reduced mod L."""
    n = np.arange(L // c)[:, None]
    m = np.arange(L // a)[None, :]
    x = (m * a + n * b) % L
    y = np.broadcast_to((n * c) % L, x.shape)
    R = np.stack([y.ravel(), x.ravel()], axis=1)
    return R[(R[:, 0] != 0) | (R[:, 1] != 0)]


def shortest_vector(L, R):
    """Length of the shortest of the offsets R (minimum image on the torus); L if none."""
    if not R.size:
        return float(L)
    dy = np.minimum(R[:, 0], L - R[:, 0])
    dx = np.minimum(R[:, 1], L - R[:, 1])
    return float(np.sqrt(dx * dx + dy * dy).min())
