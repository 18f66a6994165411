r"""The Chebyshev recursion on blocks of vectors: one generator, its consumers, a plain twin.

Every Chebyshev quantity of the package starts from the vectors
:math:`X_m = T_m(\tilde H) X_0` of a block :math:`X_0` of start vectors
(:mod:`largebdg.kpm.vectors`), with :math:`\tilde H = H/a` the BdG matrix
rescaled into [-1, 1], made by the three-term recursion
:math:`X_{m+1} = 2\tilde H X_m - X_{m-1}` (Weisse et al., RMP 78, 275, Eq. 7).
:func:`chebyshev_vectors` is that recursion: two buffers, swapped, never
copied, each step one fused pass of the stencil kernel
(:func:`largebdg.operators.stencil.apply_step`).  Its consumers are

* :func:`chebyshev_series` -- selected entries of :math:`\sum_m c_m X_m`
  (the local averages of the Chebyshev engine);
* :func:`largebdg.kpm.dos.local_moments` -- diagonal moments, two per product (LDOS);
* :func:`largebdg.observables.stiffness_stochastic.stochastic_stiffness` --
  many series at once from the same moments (the stiffness traces).

:func:`chebyshev_series_reference` is the plain recursion for any matrix with
``@`` (SciPy CSR), the reference the fast path is tested against.
"""

import numpy as np

from ..operators.stencil import apply_step, gather_add

__all__ = ["chebyshev_vectors", "chebyshev_series", "chebyshev_series_reference"]


def chebyshev_vectors(stencil, X0, num_moments=None, parallel=True, into=None):
    r"""Yield :math:`X_m = T_m(H/a) X_0` for m = 0, 1, ..., ``num_moments - 1``.

    Parameters
    ----------
    stencil : BdGStencil
        The rescaled operator.
    X0 : ndarray, shape (2N, K)
        Start block (not modified; the recursion works on a copy).
    num_moments : int, optional
        Number of vectors; endless if ``None`` (the consumer stops).
    parallel : bool, optional
        Numba threads inside each step (default), or the serial kernel without
        the GIL, for callers that run one recursion per thread.
    into : callable, optional
        ``into(m)`` returns the array that receives :math:`X_m` (e.g. a slot of
        the consumer's moment buffer, so that no copy is needed); the slots of
        m - 1 and m - 2 must stay intact while :math:`X_m` is written (it may be
        the slot of m - 2).  Default: the recursion's own two buffers.

    Yields
    ------
    ndarray, shape (2N, K)
        :math:`X_m`.  Without ``into`` the arrays are the recursion's two
        buffers: a yielded block stays valid while the next one is produced and
        is overwritten by the one after, so a consumer may hold :math:`X_{m-1}`
        and :math:`X_m` together but must copy what it keeps longer.
    """
    if num_moments is not None and num_moments < 1:
        return
    slot = into or (lambda m: None)
    prev = slot(0)
    if prev is None:
        prev = np.array(X0, dtype=float, order="C")
    else:
        prev[...] = X0
    yield prev
    if num_moments == 1:
        return
    cur = slot(1)
    if cur is None:
        cur = np.empty_like(prev)
    apply_step(stencil, prev, prev, cur, 1.0, 0.0, parallel)  # X_1 = H X_0
    yield cur
    m = 2
    while num_moments is None or m < num_moments:
        # X_{m+1} = 2 H X_m - X_{m-1}, by default over X_{m-1}; then the names swap
        target = slot(m)
        if target is None:
            target = prev
        apply_step(stencil, cur, prev, target, 2.0, 1.0, parallel)
        prev, cur = cur, target
        yield cur
        m += 1


def chebyshev_series(stencil, coeffs, X0, rows=None, cols=None, parallel=True):
    """Y = sum_m c_m T_m(H/a) X0 by :func:`chebyshev_vectors`.

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
    parallel : bool, optional
        As in :func:`chebyshev_vectors`.
    """
    if rows is None:
        K = X0.shape[1]
        rows = np.arange(X0.size) // K
        cols = np.arange(X0.size) % K
        return chebyshev_series(stencil, coeffs, X0, rows, cols, parallel).reshape(X0.shape)
    rows = np.ascontiguousarray(rows, dtype=np.int64)
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    vectors = chebyshev_vectors(stencil, X0, len(coeffs), parallel)
    G = coeffs[0] * next(vectors)[rows, cols]
    for c, X in zip(coeffs[1:], vectors, strict=True):
        gather_add(G, X, rows, cols, c, parallel)
    return G


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
