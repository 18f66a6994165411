r"""Matrix-free BdG operator of one band: a lattice stencil and its fused Numba kernel.

:class:`BdGStencil` holds the rescaled operator :math:`\tilde H = H/a` (paper
Eq. 10) as a neighbour table, the hopping and two site arrays.
:func:`apply_step` computes :math:`\alpha \tilde H X - \beta P` in one pass
over memory, the building block of every Chebyshev recursion
(:mod:`largebdg.kpm.recursion`): a Numba kernel, or its NumPy twin
:meth:`BdGStencil.matmat` (set ``LARGEBDG_NO_NUMBA=1`` to use it everywhere;
the tests compare the two).  The kernel is compiled twice from one source:
parallel over sites (Numba threads), and serial with the GIL released, so that
several Python threads can each run the recursion of their own block of start
vectors (``parallel=False``), which scales better on few cores.
"""

import os
import types

import numpy as np

__all__ = ["BdGStencil", "apply_step", "gather_add", "HAVE_NUMBA"]

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
        The four nearest neighbours of every site
        (:func:`largebdg.model.lattice.neighbour_table`).
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
        """(H / a) @ X with NumPy (the reference twin of the Numba kernel)."""
        N = self.n_sites
        P, Q = X[:N], X[N:]
        hop_p = P[self.neighbours].sum(axis=1)
        hop_h = Q[self.neighbours].sum(axis=1)
        d, D = self.onsite[:, None], self.delta[:, None]
        return np.concatenate([-self.t * hop_p + d * P + D * Q, self.t * hop_h - d * Q + D * P])

    def __matmul__(self, X):
        return self.matmat(X)


def _step_source(nbr, t, d, D, X, P, out, alpha, beta):  # pragma: no cover - compiled
    """Compute out <- alpha * (H X) - beta * P in one pass over memory (H rescaled).

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


def _gather_add_source(G, Z, rows, cols, c):  # pragma: no cover - compiled
    """G += c * Z[rows, cols]."""
    for j in numba.prange(rows.size):
        G[j] += c * Z[rows[j], cols[j]]


def _compiled(source, parallel):
    """Compile ``source`` with Numba, in parallel or serial (GIL-free) form.

    The serial variant gets its own name, hence its own on-disk cache entry (Numba's
    cache key does not include the ``parallel`` flag).
    """
    if not parallel:
        name = f"{source.__name__}_serial"
        source = types.FunctionType(source.__code__, source.__globals__, name)
        source.__qualname__ = name
    return numba.njit(parallel=parallel, nogil=not parallel, fastmath=True, cache=True)(source)


if HAVE_NUMBA:
    _KERNELS = {parallel: (_compiled(_step_source, parallel),
                           _compiled(_gather_add_source, parallel))
                for parallel in (True, False)}


def apply_step(stencil, X, P, out, alpha, beta, parallel=True):
    """Compute out <- alpha (H/a) X - beta P (Numba kernel or NumPy stencil; out may be P).

    ``parallel=False`` runs the serial kernel without the GIL (for one thread per block).
    """
    if HAVE_NUMBA:
        _KERNELS[parallel][0](stencil.neighbours, stencil.t, stencil.onsite, stencil.delta, X,
                              P, out, alpha, beta)
    else:
        out[...] = alpha * stencil.matmat(X) - beta * P


def gather_add(G, Z, rows, cols, c, parallel=True):
    """G += c * Z[rows, cols] with the Numba kernel (``parallel`` as in :func:`apply_step`)."""
    if HAVE_NUMBA:
        _KERNELS[parallel][1](G, Z, rows, cols, c)
    else:
        G += c * Z[rows, cols]
