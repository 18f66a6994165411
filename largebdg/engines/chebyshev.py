r"""Local averages from Chebyshev expansions of tanh(H/2T), without diagonalisation.

For each band the engine

1. writes the current mean field into the band's PETSc matrix (values only)
   and asks SLEPc for the spectral radius, from which
   :func:`~largebdg.operators.window.spectral_window` makes the window;
2. chooses the number of moments M from T, the bound and the tolerance
   (:func:`~largebdg.kpm.coefficients.moments_for_tolerance`) and the probing
   distance d from the clean-band error model
   (:func:`~largebdg.kpm.probing.choose_distance`), unless they are given;
3. runs the recursion (:func:`~largebdg.kpm.recursion.chebyshev_series`) on
   start vectors (:mod:`largebdg.kpm.vectors`) that are unit vectors
   (``start_vectors="unit"``, one per site, O(L^4 M); the configuration calls
   this strategy ``"exact"``) or sums of unit vectors over a distance-d
   colouring (``start_vectors="probing"``, O(L^2 M d^2)), and reads the needed
   entries of the particle columns of tanh(H/2T) (see :mod:`largebdg.engines.base`).

The tolerance is split evenly between truncation and probing; both bounds
are worst-case sums of absolute values, so realised errors are usually far
smaller (tests compare with the dense engine).

MPI: every rank holds the (sparse, O(L^2)) mean field, the PETSc matrix is
distributed by rows for SLEPc, and the colours are split between ranks, each
running the fused kernel on its own start vectors; one ``Allreduce`` joins the
site results.  Every column is computed by the same arithmetic whatever the
number of ranks, so results do not depend on it.
"""

from dataclasses import dataclass

import numpy as np

from .._optional import rank_size, world
from ..errors import ParameterError
from ..kpm.coefficients import moments_for_tolerance, tanh_coefficients
from ..kpm.probing import choose_distance, colouring
from ..kpm.recursion import chebyshev_series, chebyshev_series_reference
from ..kpm.vectors import colour_blocks
from ..model.clean import mu_for_filling, reference_temperature
from ..model.lattice import neighbour_index, neighbour_table
from ..operators.petsc import PetscBdGOperator
from ..operators.stencil import BdGStencil
from ..operators.window import BOUND_SAFETY, spectral_window
from .base import LocalAverages

__all__ = ["ChebyshevEngine", "Plan", "START_VECTORS", "BACKENDS", "DEFAULTS"]

START_VECTORS = ("probing", "unit")
"""Start vectors of the recursion: colour sums over a probing colouring, or one per site."""
BACKENDS = ("numba", "numpy")
"""Kernels: the fused stencil (:mod:`largebdg.operators.stencil`) or the SciPy CSR reference."""
DEFAULTS = {"tolerance": 1e-3, "start_vectors": "probing", "block_size": 32,
            "backend": "numba", "bound_safety": BOUND_SAFETY}
"""Default settings of :class:`ChebyshevEngine` (and of the ``[chebyshev]`` config section)."""


@dataclass(frozen=True)
class Plan:
    """Settings of one band's expansion, kept while the accuracy level and T stay the same.

    Attributes
    ----------
    accuracy, T : float
        The accuracy level and temperature the plan was made for.
    scale : float
        Half-width of the spectral window.
    num_moments : int
    probing_distance : int
    """

    accuracy: float
    T: float
    scale: float
    num_moments: int
    probing_distance: int


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
    start_vectors : {"probing", "unit"}
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

    def __init__(self, model, *, tolerance=DEFAULTS["tolerance"], num_moments=None,
                 probing_distance=None, start_vectors=DEFAULTS["start_vectors"],
                 block_size=DEFAULTS["block_size"], backend=DEFAULTS["backend"],
                 bound_safety=DEFAULTS["bound_safety"], comm=None):
        if backend not in BACKENDS:
            raise ParameterError(f"'backend' must be 'numba' or 'numpy', got {backend!r}")
        if start_vectors not in START_VECTORS:
            raise ParameterError(
                f"'start_vectors' must be 'probing' or 'unit', got {start_vectors!r}")
        self.model = model
        self.tolerance = tolerance
        self.num_moments = num_moments
        self.probing_distance = probing_distance
        self.start_vectors = start_vectors
        self.block_size = block_size
        self.backend = backend
        self.bound_safety = bound_safety
        self.comm = world() if comm is None else comm
        self.rank, self.size = rank_size(self.comm)
        L = model.L
        self._nx, self._ny = neighbour_index(L, "x"), neighbour_index(L, "y")
        self._neighbours = neighbour_table(L)
        self._ops = {}
        self._mu_tilde = {}
        self._plans = {}
        self.last = {}

    @staticmethod
    def memory_estimate(L, *, block_size=DEFAULTS["block_size"], **options):
        """Rough peak memory in bytes of one engine for an L x L lattice.

        The recursion holds about six blocks of ``block_size`` vectors of length 2 L² (start,
        two recursion terms, accumulators), the operators two PETSc AIJ matrices with ~6
        entries per row (value and column index) and the stencil its neighbour table.
        """
        rows = 2 * L * L
        return 8 * rows * (6 * block_size + 2 * 6 * 1.5 + 4)

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
        bands = sorted(self.last)
        return {
            "method": "chebyshev", "tolerance": self.tolerance,
            "strategy": "exact" if self.start_vectors == "unit" else "probing",
            "backend": self.backend, "block_size": self.block_size,
            "bound_safety": self.bound_safety, "mpi_ranks": self.size,
            "num_moments": [self.last[b].num_moments for b in bands],
            "probing_distance": [self.last[b].probing_distance for b in bands],
            "spectral_bound": [self.last[b].scale for b in bands],
        }

    def get_state(self):
        """The kept plans per band (they select the map being iterated), for a checkpoint."""
        return {f"band{b}": [p.accuracy, p.T, p.scale, p.num_moments, p.probing_distance]
                for b, p in self._plans.items()}

    def set_state(self, state):
        """Restore the plans returned by :meth:`get_state`."""
        self._plans = {int(k[4:]): Plan(float(p[0]), float(p[1]), float(p[2]), int(p[3]),
                                        int(p[4])) for k, p in state.items()}
        self.last = dict(self._plans)

    def _operator(self, band):
        if band not in self._ops:
            self._ops[band] = PetscBdGOperator(self.model.L, comm=self.comm)
        return self._ops[band]

    def _clean_mu_tilde(self, band, T):
        key = (band, T)
        if key not in self._mu_tilde:
            m = self.model
            self._mu_tilde[key] = mu_for_filling(reference_temperature(T), m.filling[band],
                                                 t=m.t[band])
        return self._mu_tilde[key]

    def plan(self, band, onsite, delta, T, accuracy=None):
        """The :class:`Plan` of one band (all ranks agree).

        The plan is kept while the requested accuracy and T stay the same and
        the current spectral radius stays inside the kept window, so that the
        self-consistency loop iterates one fixed map per accuracy level.
        """
        if T <= 0:
            raise ParameterError("'T' must be > 0 for the Chebyshev engine (use method='dense')")
        acc = self.tolerance if accuracy is None else max(accuracy, self.tolerance)
        op = self._operator(band)
        op.update(self.model.t[band], onsite, delta)
        radius = op.spectral_bound()
        kept = self._plans.get(band)
        if kept is not None and (kept.accuracy, kept.T) == (acc, T) and radius <= kept.scale:
            return kept
        scale = spectral_window(radius, self.bound_safety)
        M = self.num_moments or moments_for_tolerance(T, scale, acc / 2)
        L = self.model.L
        if self.start_vectors == "unit":
            d = L
        elif self.probing_distance:
            d = min(self.probing_distance, L)
        else:
            d = choose_distance(L, acc / 2, t=self.model.t[band],
                                mu_tilde=self._clean_mu_tilde(band, T),
                                delta=float(np.abs(delta).mean()), T=T)
        self._plans[band] = Plan(acc, T, scale, M, d)
        return self._plans[band]

    def averages(self, band, onsite, delta, T, accuracy=None):
        """:class:`LocalAverages` of ``band`` for the given mean field.

        ``accuracy`` (>= ``tolerance``) loosens the automatic moments and
        probing distance for early iterations.
        """
        plan = self.plan(band, onsite, delta, T, accuracy)
        coeffs = tanh_coefficients(T, plan.scale, plan.num_moments)
        self.last[band] = plan
        L = self.model.L
        N = L * L
        colour = colouring(L, plan.probing_distance)
        C = int(colour.max()) + 1
        mine = np.array_split(np.arange(C), self.size)[self.rank]
        out = np.zeros((4, N))
        if self.backend == "numba":
            stencil = BdGStencil(self._neighbours, self.model.t[band], onsite, delta, plan.scale)

            def entries(X0, rows, cols):
                return chebyshev_series(stencil, coeffs, X0, rows, cols)
        else:
            A = self._operator(band).pattern.matrix(self.model.t[band], onsite, delta) / plan.scale

            def entries(X0, rows, cols):
                return chebyshev_series_reference(A, coeffs, X0)[rows, cols]
        for X0, sites, col in colour_blocks(colour, 2 * N, mine, self.block_size):
            rows = np.concatenate([sites, N + sites, self._nx[sites], self._ny[sites]])
            vals = entries(X0, rows, np.tile(col, 4)).reshape(4, sites.size)
            out[:, sites] = vals
        if self.size > 1:
            total = np.empty_like(out)
            self.comm.Allreduce(out, total)
            out = total
        return LocalAverages.from_tau(*out)
