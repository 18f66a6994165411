r"""Local averages from Chebyshev expansions of tanh(H/2T), without diagonalisation.

For each band the engine

1. writes the current mean field into the band's PETSc matrix (values only)
   and asks SLEPc for the spectral radius, widened by ``bound_safety``;
2. chooses the number of moments M from T, the bound and the tolerance
   (:func:`~largebdg.kpm.coefficients.moments_for_tolerance`) and the probing
   distance d from the clean-band error model
   (:func:`~largebdg.kpm.probing.choose_distance`), unless they are given;
3. runs the block recursion on start vectors that are unit vectors
   (``strategy="exact"``, one per site, O(L^4 M)) or sums of unit vectors over
   a distance-d colouring (``strategy="probing"``, O(L^2 M d^2)), and reads the
   needed entries of the particle columns of tanh(H/2T) (see
   :mod:`largebdg.engines`).

The tolerance is split evenly between truncation and probing; both bounds
are worst-case sums of absolute values, so realised errors are usually far
smaller (tests compare with the dense engine).

MPI: every rank holds the (sparse, O(L^2)) mean field, the PETSc matrix is
distributed by rows for SLEPc, and the colours are split between ranks, each
running the fused kernel on its own start vectors; one ``Allreduce`` joins the
site results.  Every column is computed by the same arithmetic whatever the
number of ranks, so results do not depend on it.
"""

import numpy as np

from .._optional import rank_size, world
from ..clean import mu_for_filling
from ..errors import ParameterError
from ..kpm.coefficients import moments_for_tolerance, tanh_coefficients
from ..kpm.probing import choose_distance, colouring
from ..kpm.recursion import BdGStencil, chebyshev_series_reference, chebyshev_series_stencil
from ..lattice import neighbour_index
from ..operators.petsc import PetscBdGOperator
from . import LocalAverages

__all__ = ["ChebyshevEngine"]


class ChebyshevEngine:
    """Kernel-polynomial engine for one :class:`~largebdg.model.TwoBandModel`.

    Parameters
    ----------
    model : TwoBandModel
    tolerance : float
        Target absolute accuracy of the matrix elements of tanh(H/2T) (and so,
        up to the couplings, of Delta and n).
    num_moments : int, optional
        Fixed number of Chebyshev moments (default: from ``tolerance``).
    probing_distance : int, optional
        Fixed probing distance (default: from ``tolerance``).
    strategy : {"probing", "exact"}
    block_size : int
        Start vectors per block of the recursion.
    backend : {"numba", "numpy"}
        Fused stencil kernel or the SciPy CSR reference recursion.
    bound_safety : float
        Relative widening of the SLEPc spectral bound.
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD`` if mpi4py is available.
    """

    name = "chebyshev"

    def __init__(self, model, *, tolerance=1e-3, num_moments=None, probing_distance=None,
                 strategy="probing", block_size=32, backend="numba", bound_safety=0.03,
                 comm=None):
        if backend not in ("numba", "numpy"):
            raise ParameterError(f"'backend' must be 'numba' or 'numpy', got {backend!r}")
        if strategy not in ("probing", "exact"):
            raise ParameterError(f"'strategy' must be 'probing' or 'exact', got {strategy!r}")
        self.model = model
        self.tolerance = tolerance
        self.num_moments = num_moments
        self.probing_distance = probing_distance
        self.strategy = strategy
        self.block_size = block_size
        self.backend = backend
        self.bound_safety = bound_safety
        self.comm = world() if comm is None else comm
        self.rank, self.size = rank_size(self.comm)
        L = model.L
        nx, ny = neighbour_index(L, "x"), neighbour_index(L, "y")
        self._nx, self._ny = nx, ny
        self._neighbours = np.stack([nx, np.argsort(nx), ny, np.argsort(ny)], axis=1)
        self._ops = [PetscBdGOperator(L, comm=self.comm) for _ in range(2)]
        self._mu_tilde = {}
        self._plans = [None, None]
        self.last = [{}, {}]

    def accuracy_schedule(self, residual, current=None):
        """Accuracy for the next iteration given the current max|delta Delta|.

        Decades from 1e-1 down to ``tolerance``: cheap settings while far from
        self-consistency, the full tolerance near it.  The schedule only
        tightens (never returns more than ``current``), so the settings, and
        with them the discrete map being iterated, change a few times at most.
        """
        level = 1e-1
        if np.isfinite(residual):
            level = min(level, 10.0 ** np.ceil(np.log10(max(residual, 1e-300))))
        if current is not None:
            level = min(level, current)
        return float(max(self.tolerance, level))

    def settings(self):
        """Solver settings recorded with results (the last ones used per band)."""
        return {
            "method": "chebyshev", "tolerance": self.tolerance, "strategy": self.strategy,
            "backend": self.backend, "block_size": self.block_size,
            "bound_safety": self.bound_safety, "mpi_ranks": self.size,
            "num_moments": [b.get("num_moments") for b in self.last],
            "probing_distance": [b.get("probing_distance") for b in self.last],
            "spectral_bound": [b.get("spectral_bound") for b in self.last],
        }

    def _clean_mu_tilde(self, band, T):
        key = (band, T)
        if key not in self._mu_tilde:
            m = self.model
            self._mu_tilde[key] = mu_for_filling(max(T, 1e-3), m.filling[band], t=m.t[band])
        return self._mu_tilde[key]

    def plan(self, band, onsite, delta, T, accuracy=None):
        """Spectral bound, moments and probing distance for one band (all ranks agree).

        The plan is kept while the requested accuracy and T stay the same and
        the current spectral radius stays inside the kept bound, so that the
        self-consistency loop iterates one fixed map per accuracy level.
        """
        if T <= 0:
            raise ParameterError("'T' must be > 0 for the Chebyshev engine (use method='dense')")
        acc = self.tolerance if accuracy is None else max(accuracy, self.tolerance)
        op = self._ops[band]
        op.update(self.model.t[band], onsite, delta)
        radius = op.spectral_bound()
        kept = self._plans[band]
        if kept is not None and kept[:2] == (acc, T) and radius <= kept[2]:
            return kept[2:]
        # widened, then rounded up onto a 1 % logarithmic grid: the scale (and the
        # map being iterated) does not follow the last digits of the Krylov
        # estimate, which differ between runs on different numbers of ranks
        scale = float(np.exp(np.ceil(np.log(radius * (1 + self.bound_safety)) / 0.01) * 0.01))
        M = self.num_moments or moments_for_tolerance(T, scale, acc / 2)
        L = self.model.L
        if self.strategy == "exact":
            d = L
        elif self.probing_distance:
            d = min(self.probing_distance, L)
        else:
            d = choose_distance(L, acc / 2, t=self.model.t[band],
                                mu_tilde=self._clean_mu_tilde(band, T),
                                delta=float(np.abs(delta).mean()), T=T)
        self._plans[band] = (acc, T, scale, M, d)
        return scale, M, d

    def averages(self, band, onsite, delta, T, accuracy=None):
        """:class:`LocalAverages` of ``band`` for the given mean field.

        ``accuracy`` (>= ``tolerance``) loosens the automatic moments and
        probing distance for early iterations.
        """
        scale, M, d = self.plan(band, onsite, delta, T, accuracy)
        coeffs = tanh_coefficients(T, scale, M)
        self.last[band] = {"num_moments": int(M), "probing_distance": int(d),
                           "spectral_bound": float(scale)}
        L = self.model.L
        N = L * L
        colour = colouring(L, d)
        C = int(colour.max()) + 1
        order = np.argsort(colour, kind="stable")
        first = np.searchsorted(colour[order], np.arange(C + 1))
        mine = np.array_split(np.arange(C), self.size)[self.rank]
        out = np.zeros((4, N))
        if self.backend == "numba":
            stencil = BdGStencil(self._neighbours, self.model.t[band], onsite, delta, scale)

            def entries(X0, rows, cols):
                return chebyshev_series_stencil(stencil, coeffs, X0, rows, cols)
        else:
            A = self._ops[band].pattern.matrix(self.model.t[band], onsite, delta) / scale

            def entries(X0, rows, cols):
                return chebyshev_series_reference(A, coeffs, X0)[rows, cols]
        for start in range(0, mine.size, self.block_size):
            cols = mine[start: start + self.block_size]
            X0 = np.zeros((2 * N, cols.size))
            sites = np.concatenate([order[first[c]: first[c + 1]] for c in cols])
            col = np.repeat(np.arange(cols.size), first[cols + 1] - first[cols])
            X0[sites, col] = 1.0
            rows = np.concatenate([sites, N + sites, self._nx[sites], self._ny[sites]])
            vals = entries(X0, rows, np.tile(col, 4)).reshape(4, sites.size)
            out[:, sites] = vals
        if self.size > 1:
            total = np.empty_like(out)
            self.comm.Allreduce(out, total)
            out = total
        return LocalAverages.from_tau(*out)
