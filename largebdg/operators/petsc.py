"""One band's BdG matrix as a PETSc AIJ matrix distributed by rows, and its spectral bound.

The sparsity pattern (:class:`largebdg.operators.pattern.BdGPattern`) is preallocated once
from NumPy CSR arrays with ``NEW_NONZERO_LOCATION_ERR`` set; every
self-consistency step rewrites the values only (``setValuesCSR``).
"""

import warnings

import numpy as np

from .._optional import petsc, slepc
from ..errors import AccuracyWarning
from .pattern import BdGPattern

__all__ = ["PetscBdGOperator", "gershgorin_bound"]


def gershgorin_bound(pattern, values):
    """max_i sum_j |H_ij|, an upper bound of the spectral radius (cheap, ~30 % loose)."""
    rows = np.repeat(np.arange(pattern.shape[0]), np.diff(pattern.indptr))
    return float(np.bincount(rows, weights=np.abs(values)).max())


class PetscBdGOperator:
    """BdG matrix of one band in PETSc.

    Parameters
    ----------
    L : int
        Linear lattice size.
    comm : mpi4py communicator or None
        Rows are distributed over ``comm`` (``PETSc.COMM_SELF`` when ``None``).
    """

    def __init__(self, L, comm=None):
        PETSc = petsc()
        self.pattern = BdGPattern(L)
        n = self.pattern.shape[0]
        self.comm = PETSc.COMM_SELF if comm is None else PETSc.Comm(comm)
        A = PETSc.Mat().create(comm=self.comm)
        A.setSizes([(PETSc.DECIDE, n), (PETSc.DECIDE, n)])
        A.setType(PETSc.Mat.Type.AIJ)
        A.setUp()
        self.rstart, self.rend = A.getOwnershipRange()
        ip = self.pattern.indptr
        lo, hi = ip[self.rstart], ip[self.rend]
        self._local = slice(lo, hi)
        self._local_indptr = (ip[self.rstart: self.rend + 1] - lo).astype(PETSc.IntType)
        self._local_indices = self.pattern.indices[lo:hi].astype(PETSc.IntType)
        A.setPreallocationCSR((self._local_indptr, self._local_indices))
        A.setOption(PETSc.Mat.Option.NEW_NONZERO_LOCATION_ERR, True)
        self.mat = A
        self.values = None

    def update(self, t, onsite, delta):
        """Rewrite the matrix values for hopping ``t``, diagonal ``onsite`` and gap ``delta``."""
        self.values = self.pattern.values(t, onsite, delta)
        A = self.mat
        A.zeroEntries()
        A.setValuesCSR(self._local_indptr, self._local_indices, self.values[self._local])
        A.assemble()

    def spectral_bound(self, rtol=1e-4):
        """Largest |E| from SLEPc (Krylov-Schur), plus its residual norm: a rigorous bound.

        For a symmetric matrix an eigenvalue lies within the residual norm
        ||H v - theta v|| of the Ritz value theta, so |theta| + ||r|| bounds the
        spectral radius once the largest-magnitude pair has converged.  Falls back
        to the Gershgorin bound (with an :class:`AccuracyWarning`) if SLEPc does
        not converge; the result never exceeds the Gershgorin bound.
        """
        SLEPc = slepc()
        gersh = gershgorin_bound(self.pattern, self.values)
        eps = SLEPc.EPS().create(comm=self.comm)
        eps.setOperators(self.mat)
        eps.setProblemType(SLEPc.EPS.ProblemType.HEP)
        eps.setWhichEigenpairs(SLEPc.EPS.Which.LARGEST_MAGNITUDE)
        eps.setDimensions(nev=1)
        eps.setTolerances(tol=rtol, max_it=500)
        eps.solve()
        try:
            if eps.getConverged() < 1:
                warnings.warn("SLEPc did not converge on the spectral bound; using Gershgorin",
                              AccuracyWarning, stacklevel=2)
                return gersh
            theta = abs(eps.getEigenvalue(0).real)
            resid = eps.computeError(0, SLEPc.EPS.ErrorType.ABSOLUTE)
            return min(theta + resid, gersh)
        finally:
            eps.destroy()
