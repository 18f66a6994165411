r"""Chebyshev recursion on blocks of vectors: a fused stencil kernel and a plain reference.

Both compute :math:`Y = \sum_{m<M} c_m T_m(\tilde H) X_0` for a block
:math:`X_0` of K vectors, with :math:`\tilde H = H / a` the BdG matrix
rescaled into [-1, 1], through the three-term recursion
:math:`X_{m+1} = 2\tilde H X_m - X_{m-1}` (Weisse et al., RMP 78, 275, Eq. 7).

* :func:`chebyshev_series_reference` works with any matrix supporting ``@``
  (SciPy CSR); it is the reference the fast kernel is tested against.
* :func:`chebyshev_series_stencil` applies the BdG operator matrix-free as a
  lattice stencil in a Numba kernel that fuses the product and the recursion
  into one pass over memory, parallel over sites, and accumulates only the
  entries the caller asks for; the two buffers are swapped, never copied.  Set the environment
  variable ``LARGEBDG_NO_NUMBA=1`` to use a NumPy version of the same stencil.
"""

import os

import numpy as np

__all__ = ["BdGStencil", "chebyshev_series_reference", "chebyshev_series_stencil", "apply_step",
           "HAVE_NUMBA"]

try:
    if os.environ.get("LARGEBDG_NO_NUMBA"):
        raise ImportError("disabled by LARGEBDG_NO_NUMBA")
    import numba

    # the OpenMP layer stalls on busy machines (docs/performance.md); workqueue behaves
    numba.config.THREADING_LAYER = os.environ.get("NUMBA_THREADING_LAYER", "workqueue")
    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised with LARGEBDG_NO_NUMBA
    HAVE_NUMBA = False


class BdGStencil:
    """Matrix-free BdG operator of one band, rescaled by ``1/scale``.

    Parameters
    ----------
    neighbours : ndarray of int, shape (N, 4)
        The four nearest neighbours of every site.
    t : float
        Hopping (matrix element -t).
    onsite, delta : ndarray, shape (N,)
        Particle-block diagonal and gap.
    scale : float
        Half-width a of the spectral window; the operator applied is H / a.
    """

    def __init__(self, neighbours, t, onsite, delta, scale):
        self.neighbours = np.ascontiguousarray(neighbours, dtype=np.int64)
        self.t = float(t) / scale
        self.onsite = np.ascontiguousarray(onsite, dtype=float) / scale
        self.delta = np.ascontiguousarray(delta, dtype=float) / scale
        self.n_sites = self.onsite.size

    def matmat(self, X):
        """(H / a) @ X with NumPy (used by the no-Numba path and tests)."""
        N = self.n_sites
        P, Q = X[:N], X[N:]
        hop_p = P[self.neighbours].sum(axis=1)
        hop_h = Q[self.neighbours].sum(axis=1)
        d, D = self.onsite[:, None], self.delta[:, None]
        return np.concatenate([-self.t * hop_p + d * P + D * Q, self.t * hop_h - d * Q + D * P])


def chebyshev_series_reference(A, coeffs, X0):
    """Y = sum_m c_m T_m(A) X0 by the plain three-term recursion (any ``A @ X``)."""
    prev = X0
    Y = coeffs[0] * X0
    if len(coeffs) == 1:
        return Y
    cur = A @ X0
    Y = Y + coeffs[1] * cur
    for c in coeffs[2:]:
        prev, cur = cur, 2 * (A @ cur) - prev
        Y += c * cur
    return Y


if HAVE_NUMBA:

    @numba.njit(parallel=True, fastmath=True, cache=True)
    def _step(nbr, t, d, D, X, P, out, alpha, beta):  # pragma: no cover - compiled
        """out <- alpha * (H X) - beta * P in one pass over memory (H rescaled, matrix-free).

        ``out`` may be ``P`` (each entry is read before it is written).
        """
        N = d.size
        K = X.shape[1]
        for i in numba.prange(N):
            j0, j1, j2, j3 = nbr[i, 0], nbr[i, 1], nbr[i, 2], nbr[i, 3]
            di, Di = d[i], D[i]
            for k in range(K):
                p = X[i, k]
                h = X[N + i, k]
                hp = -t * (X[j0, k] + X[j1, k] + X[j2, k] + X[j3, k]) + di * p + Di * h
                hh = (t * (X[N + j0, k] + X[N + j1, k] + X[N + j2, k] + X[N + j3, k])
                      - di * h + Di * p)
                out[i, k] = alpha * hp - beta * P[i, k]
                out[N + i, k] = alpha * hh - beta * P[N + i, k]

    @numba.njit(parallel=True, fastmath=True, cache=True)
    def _gather_add(G, Z, rows, cols, c):  # pragma: no cover - compiled
        """G += c * Z[rows, cols]."""
        for j in numba.prange(rows.size):
            G[j] += c * Z[rows[j], cols[j]]


def chebyshev_series_stencil(stencil, coeffs, X0, rows=None, cols=None):
    """Y = sum_m c_m T_m(H/a) X0 with the stencil kernel (Numba) or its NumPy twin.

    Parameters
    ----------
    stencil : BdGStencil
    coeffs : ndarray, shape (M,)
    X0 : ndarray, shape (2N, K)
        Start block (not modified).
    rows, cols : ndarray of int, optional
        If given, only the entries ``Y[rows, cols]`` are accumulated and
        returned (a 1-D array): the solver needs a few entries per column, and
        skipping the full accumulation saves a third of the memory traffic.
    """
    if not HAVE_NUMBA:
        Y = chebyshev_series_reference(_MatmatAdapter(stencil), coeffs, X0)
        return Y if rows is None else Y[rows, cols]
    if rows is None:
        K = X0.shape[1]
        rows = np.arange(X0.size) // K
        cols = np.arange(X0.size) % K
        return chebyshev_series_stencil(stencil, coeffs, X0, rows, cols).reshape(X0.shape)
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    prev = np.ascontiguousarray(X0, dtype=float).copy()
    G = coeffs[0] * prev[rows, cols]
    if len(coeffs) == 1:
        return G
    nbr, t, d, D = stencil.neighbours, stencil.t, stencil.onsite, stencil.delta
    cur = np.zeros_like(prev)
    _step(nbr, t, d, D, prev, cur, cur, 1.0, 0.0)  # X_1 = H X_0
    _gather_add(G, cur, rows, cols, coeffs[1])
    for c in coeffs[2:]:
        # X_{m+1} = 2 H X_m - X_{m-1} overwrites X_{m-1}; then the names swap
        _step(nbr, t, d, D, cur, prev, prev, 2.0, 1.0)
        prev, cur = cur, prev
        _gather_add(G, cur, rows, cols, c)
    return G


def apply_step(stencil, X, P, out, alpha, beta):
    """out <- alpha (H/a) X - beta P with the Numba kernel or the NumPy stencil (out may be P)."""
    if HAVE_NUMBA:
        _step(stencil.neighbours, stencil.t, stencil.onsite, stencil.delta, X, P, out, alpha,
              beta)
    else:
        out[...] = alpha * stencil.matmat(X) - beta * P


class _MatmatAdapter:
    def __init__(self, stencil):
        self.stencil = stencil

    def __matmul__(self, X):
        return self.stencil.matmat(X)
