"""Fixed CSR sparsity pattern of one band's BdG matrix (paper Eq. 10), with cheap value updates."""

import numpy as np
import scipy.sparse as sp

from ..model.lattice import hopping_pattern, lattice_size

__all__ = ["BdGPattern"]


class BdGPattern:
    """Fixed CSR sparsity pattern of one band's BdG matrix, with cheap value updates.

    The pattern is built once from NumPy index arrays; :meth:`values` maps
    (t, onsite, delta) to the CSR data array, so every self-consistency step
    rewrites values only (the same arrays feed PETSc's ``setValuesCSR``).
    Rows ``0..N-1`` are particle rows, ``N..2N-1`` hole rows.
    """

    def __init__(self, L):
        self.L = lattice_size(L)
        N = self.n_sites = L * L
        hr, hc = hopping_pattern(L)
        sites = np.arange(N, dtype=np.int64)
        rows = np.concatenate([hr, sites, sites, hr + N, sites + N, sites + N])
        cols = np.concatenate([hc, sites, sites + N, hc + N, sites + N, sites])
        order = np.lexsort((cols, rows))
        self._order = order
        self.indices = cols[order].astype(np.int32)
        self.indptr = np.searchsorted(rows[order], np.arange(2 * N + 1)).astype(np.int32)
        self.shape = (2 * N, 2 * N)

    def values(self, t, onsite, delta):
        """CSR data of H for hopping ``t``, particle diagonal ``onsite`` and gap ``delta``."""
        N = self.n_sites
        hop = np.full(4 * N, -float(t))
        unordered = np.concatenate([hop, onsite, delta, -hop, -onsite, delta])
        return unordered[self._order]

    def matrix(self, t, onsite, delta):
        """The BdG matrix as a SciPy CSR matrix."""
        return sp.csr_matrix(
            (self.values(t, onsite, delta), self.indices, self.indptr), shape=self.shape
        )
