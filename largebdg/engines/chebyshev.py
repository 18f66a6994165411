r"""Local averages from Chebyshev expansions of tanh(H/2T), without diagonalisation.

For each band the engine

1. writes the current mean field into the band's PETSc matrix (values only)
   and asks SLEPc for the spectral radius, from which
   :func:`~largebdg.operators.window.spectral_window` makes the window;
2. chooses the number of moments M from T, the window and the tolerance
   (:func:`~largebdg.kpm.coefficients.moments_for_tolerance`: the neglected
   tail of the tanh series, a uniform bound), on the band's spectrum with its
   certified gap where that needs fewer moments (``spectral_gap``,
   :func:`~largebdg.operators.window.band_gap`), and the probing distance d from
   the *measured* probing error of the current mean field (below), unless they
   are given;
3. runs the recursion (:func:`~largebdg.kpm.recursion.chebyshev_series`) on
   start vectors (:mod:`largebdg.kpm.vectors`) that are unit vectors
   (``start_vectors="unit"``, one per site, O(L^4 M); the configuration calls
   this strategy ``"exact"``) or sums of unit vectors over a distance-d
   colouring (``start_vectors="probing"``, O(L^2 M d^2)), and reads the needed
   entries of the particle columns of tanh(H/2T) (see :mod:`largebdg.engines.base`).

Error control.  The tolerance is shared between truncation and probing: an automatic
plan gives probing what its measured estimate claims and the moments the rest, choosing
the distance of least cost (moments x the colours and a share of the refining vectors that
check it, :meth:`ChebyshevEngine._cheapest`); hand-set moments or distances, and
``probing_model="clean"``, split it evenly.  The truncation error
is bounded by the neglected tail of the tanh series
(:func:`~largebdg.kpm.coefficients.truncation_bound`).  The probing error is
measured, not modelled: the entries at the sites of a few colour classes are
probed again with a colouring of twice the spacing (1.5-2 times for odd numbers of
segments per axis; :func:`~largebdg.kpm.probing.refinement_distance`), or, where fewer
vectors do, with those classes split into 4 or 9 classes at least twice as far apart (the
nested refinement, :func:`~largebdg.kpm.probing.axis_colours`; one of the parts follows from
the others), whose own error is far smaller, so their difference is the probing error at
every site of those classes -- whole sublattices spread over the sample, so the rare large
errors of big clean puddles are seen.  The estimate is that difference times
:func:`refinement_safety` of the spacing ratio (:data:`REFINEMENT_RHO`).  With
``control_variate`` the same probes are also measured with the homogeneous band's tails
subtracted (:func:`~largebdg.kpm.probing.class_tails` of the
band's mean onsite energy and gap, same series, in k-space), and, where the colouring is a
sublattice, with those tails to first order in the field's deviation from the mean
(:func:`~largebdg.kpm.probing.tail_response`);
the plan keeps whichever estimate is smallest
(:data:`CONTROL_VARIATES`): a clean weak band at low T, whose entries decay over tens of
sites, then needs a far shorter d; a localised band keeps the plain probes.

A plan measures, for each distance from the cheapest up, the estimate on
``plan_classes`` random classes (more where classes are small, :data:`PLAN_MIN_SITES`);
times the band's margin and over :data:`PLAN_HEADROOM` that is the share of the accuracy
it claims, the moments get the rest, and the plan keeps the distance of least cost;
disorder that localises a band shortens its d automatically.  The margin starts at 1 and is
raised whenever the whole lattice is measured (before a band's accuracy level tightens and
at every check) to the ratio of the whole-lattice estimate to what a plan's random classes
of the same field typically show (disordered bands have rare sites with errors up to ten
times those of a few classes; clean ones do not); warm-started runs inherit it
(:meth:`ChebyshevEngine.inherit`).
``probing_model="clean"`` uses instead the worst-case model of the clean band
(:func:`~largebdg.kpm.probing.choose_distance`, typically a few hundred times
above the realised error).  At convergence :meth:`ChebyshevEngine.error_estimate`
re-measures the error on the final mean field with ``verify_fraction`` of the
colour classes; if it exceeds the tolerance, :meth:`ChebyshevEngine.tighten`
raises the band's distance and the self-consistency loop goes on, and a result
whose estimate still exceeds the tolerance (e.g. hand-set ``num_moments`` or
``probing_distance`` too small) is never called converged.

Parallelism.  Blocks of start vectors run in ``threads`` Python threads, each
with the serial, GIL-free kernel (one recursion per core, as MPI ranks do);
under MPI the colours are split between ranks, each running its own share;
one ``Allreduce`` joins the site results.  Every column is computed by the
same arithmetic whatever the number of ranks and threads.
"""

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from .._optional import rank_size, world
from ..errors import ParameterError
from ..kpm.coefficients import moments_for_tolerance, tanh_coefficients, truncation_bound
from ..kpm.probing import (choose_distance, class_tails, colour_count, colouring,
                           first_order_tails, is_sublattice, probing_distances,
                           refinement_ratio, refinement_vectors, refining_colouring,
                           same_partition, tail_response)
from ..kpm.recursion import chebyshev_series, chebyshev_series_reference
from ..kpm.vectors import colour_blocks, colour_classes
from ..model.clean import clean_blocks, reference_fermi_level
from ..model.lattice import neighbour_index, neighbour_table
from ..operators.petsc import PetscBdGOperator
from ..operators.stencil import BdGStencil
from ..operators.window import (BOUND_SAFETY, GAP_RESOLUTION, HAVE_INERTIA, band_gap,
                                spectral_window)
from .base import LocalAverages

__all__ = ["ChebyshevEngine", "Plan", "START_VECTORS", "BACKENDS", "PROBING_MODELS", "DEFAULTS"]

START_VECTORS = ("probing", "unit")
"""Start vectors of the recursion: colour sums over a probing colouring, or one per site."""
BACKENDS = ("numba", "numpy")
"""Kernels: the fused stencil (:mod:`largebdg.operators.stencil`) or the SciPy CSR reference."""
PROBING_MODELS = ("measured", "clean")
"""How the probing distance is chosen: measured on colour classes, or the clean-band worst case."""
REFINEMENT_RHO = (0.3, 0.4, 0.4)
"""The probing error e_d at a site is at most |y_d - y_D| / (1 - rho), rho = e_D / e_d the
ratio of the refining and the coarse colouring's errors at the entry of the largest coarse
error (the largest difference is at least the one there); these are the largest rho allowed
at twice the spacing, per :attr:`Plan.control_variate` (plain probes, homogeneous tails, tails
to first order; measured against exact columns at 64² and 128²: up to 0.25, 0.20 and 0.35,
docs/performance.md, where the one exception, plain probes of a clean band at low T and short
d, still had its error covered 2.4-fold).  At another spacing ratio r (q = 3: r ≈ 1.5;
odd q >= 5: r > 2, :func:`~largebdg.kpm.probing.refinement_ratio`) rho is taken as
``rho ** min(r - 1, log2 r)``, which holds for errors decaying exponentially with distance
and for power laws alike (:func:`refinement_safety`)."""
CHECK_EVALUATIONS = (3, 10)
"""Evaluations of a plan per whole-lattice measurement of its probing error, at the final
accuracy and at a looser level, by which a plan weighs the refining vectors of that
measurement against its colours (:meth:`ChebyshevEngine._cheapest`): the loop's defect
correction evaluates the final map two or three times, a looser level's about ten times
(128², T = 0.098: 2 and 24; docs/performance.md)."""
PLAN_HEADROOM = 0.75
"""A plan's probing estimate (on a few classes) must stay below this fraction of its budget, so
that the whole-lattice check at convergence, a maximum over more sites, does not fail on a
borderline plan (at 128² such a failure cost six iterations and a second check,
docs/performance.md)."""
PLAN_MIN_SITES = 256
"""A plan measures at least ``plan_classes`` classes and enough of them to cover this many
sites: with two or three segments per axis a class has 4 or 9 sites, and four classes are
too few sites for the whole-lattice maximum to be predictable from them (at 64², T = 0.025,
16 sites underestimated it 3.4-fold against a margin of 1.5 learned at d = 9)."""
GAP_SAFETY = 0.1
"""A plan expands tanh for a gap this fraction below the certified one, so that the mean field
may move by 0.1 g before the plan's gap must be certified again (Weyl's inequality)."""
GAP_MIN_GAIN = 0.9
"""The gap is certified only where it can cut the moments to this fraction of the plain series'
(:meth:`ChebyshevEngine._plan_gap`)."""
MIN_TRUNCATION_SHARE = 0.1
"""A plan leaves at least this share of its accuracy to truncation (the moments grow like the
logarithm of the inverse share; below it a longer distance is always cheaper)."""
DEFAULTS = {"tolerance": 1e-3, "start_vectors": "probing", "block_size": 32,
            "backend": "numba", "bound_safety": BOUND_SAFETY, "probing_model": "measured",
            "plan_classes": 4, "verify_fraction": 1.0, "control_variate": True,
            "spectral_gap": True}
"""Default settings of :class:`ChebyshevEngine` (and of the ``[chebyshev]`` config section)."""


def refinement_safety(rho, ratio):
    """Factor on |y_d - y_D| that bounds the probing error of distance d:
    1 / (1 - rho^min(r - 1, log2 r)), with rho the error ratio allowed at twice the spacing
    and r the refining colouring's spacing ratio (:data:`REFINEMENT_RHO`): 1.43 for the plain
    probes at r = 2, 2.14 at r = 1.52 (q = 3), 1.30 at r = 2.33 (q = 7)."""
    return 1.0 / (1.0 - rho ** min(ratio - 1.0, np.log2(ratio)))


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
    truncation : float
        Bound of the truncation error (neglected tail of the tanh series).
    probing : float
        Estimated probing error (0 for unit start vectors).
    control_variate : int
        What is subtracted from the probes: nothing (0), the homogeneous band's tails (1), or
        those to first order in the field's deviation from the mean (2; sublattice
        colourings only).
    gap : float
        The spectral gap the tanh series is made for (0: the whole window;
        :func:`~largebdg.kpm.coefficients.tanh_coefficients`).
    """

    accuracy: float
    T: float
    scale: float
    num_moments: int
    probing_distance: int
    truncation: float
    probing: float
    control_variate: int = 0
    gap: float = 0.0

    def coefficients(self):
        """The Chebyshev coefficients of the plan's tanh series."""
        return tanh_coefficients(self.T, self.scale, self.num_moments, self.gap)


CONTROL_VARIATES = ("plain probes", "homogeneous tails", "tails to first order")
"""Meaning of :attr:`Plan.control_variate` 0, 1, 2."""


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
    probing_model : {"measured", "clean"}
        Choice of the probing distance: measured on colour classes, or the clean-band
        worst-case model.
    plan_classes : int
        Colour classes measured per candidate distance when a plan is made (at least; more
        where classes are small, :data:`PLAN_MIN_SITES`).
    verify_fraction : float
        Fraction of the colour classes measured by :meth:`error_estimate`.
    control_variate : bool
        Let plans subtract the homogeneous band's tails from the probes where that measures
        smaller (see the module docstring).
    spectral_gap : bool
        Let plans with automatic moments expand tanh only outside the band's certified gap
        where that needs fewer moments (:mod:`largebdg.kpm.coefficients`; PETSc with MUMPS).
    threads : int, optional
        Threads over blocks of start vectors (default: the cores available to this
        process divided by the number of MPI ranks).
    comm : mpi4py communicator, optional
        Default ``MPI.COMM_WORLD`` if mpi4py is available.
    """

    name = "chebyshev"

    def __init__(self, model, *, tolerance=DEFAULTS["tolerance"], num_moments=None,
                 probing_distance=None, start_vectors=DEFAULTS["start_vectors"],
                 block_size=DEFAULTS["block_size"], backend=DEFAULTS["backend"],
                 bound_safety=DEFAULTS["bound_safety"], probing_model=DEFAULTS["probing_model"],
                 plan_classes=DEFAULTS["plan_classes"],
                 verify_fraction=DEFAULTS["verify_fraction"],
                 control_variate=DEFAULTS["control_variate"],
                 spectral_gap=DEFAULTS["spectral_gap"], threads=None, comm=None):
        v.choice("backend", backend, BACKENDS)
        v.choice("start_vectors", start_vectors, START_VECTORS)
        v.choice("probing_model", probing_model, PROBING_MODELS)
        self.model = model
        self.tolerance = tolerance
        self.num_moments = num_moments
        self.probing_distance = probing_distance
        self.start_vectors = start_vectors
        self.block_size = block_size
        self.backend = backend
        self.bound_safety = bound_safety
        self.probing_model = probing_model
        self.plan_classes = plan_classes
        self.verify_fraction = verify_fraction
        self.control_variate = bool(control_variate)
        self.spectral_gap = bool(spectral_gap)
        self.comm = world() if comm is None else comm
        self.rank, self.size = rank_size(self.comm)
        self.threads = threads or max(1, len(os.sched_getaffinity(0)) // self.size)
        self._sample_round = 0
        self._dmin = {}
        self._margin = {}
        self._last_probe = {}
        L = model.L
        self._nx, self._ny = neighbour_index(L, "x"), neighbour_index(L, "y")
        self._neighbours = neighbour_table(L)
        self._ops = {}
        self._mu_tilde = {}
        self._plans = {}
        self._looser = {}
        self._bound_ref = {}
        self._gap_ref = {}
        self.last = {}

    @staticmethod
    def memory_estimate(L, *, block_size=DEFAULTS["block_size"], threads=None, **options):
        """Rough peak memory in bytes of one engine for an L x L lattice.

        Each of ``threads`` recursions holds about six blocks of ``block_size`` vectors of
        length 2 L² (start, two recursion terms, accumulators), the operators two PETSc AIJ
        matrices with ~6 entries per row (value and column index), the stencil its
        neighbour table and the error check two (4, L²) probe records.  With
        ``spectral_gap`` (default) one band's MUMPS factorisation at a time adds about
        max(1250, 160 (log2(rows) - 9.5)) bytes per row (fitted to MUMPS's own estimates:
        10 MB, 40 MB, 166 MB, 0.8 GB and 3.9 GB at 64², 128², 256², 512² and 1024²).
        """
        rows = 2 * L * L
        threads = threads or len(os.sched_getaffinity(0))
        vectors = 8 * rows * (6 * block_size * threads + 2 * 6 * 1.5 + 4 + 4)
        if not options.get("spectral_gap", DEFAULTS["spectral_gap"]):
            return vectors
        return vectors + rows * max(160 * (np.log2(rows) - 9.5), 1250.0)

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
            "bound_safety": self.bound_safety, "mpi_ranks": self.size, "threads": self.threads,
            "probing_model": self.probing_model, "plan_classes": self.plan_classes,
            "verify_fraction": self.verify_fraction,
            "control_variate": [self.last[b].control_variate for b in bands],
            "spectral_gap": self.spectral_gap,
            "certified_gap": [self.last[b].gap for b in bands],
            "num_moments": [self.last[b].num_moments for b in bands],
            "probing_distance": [self.last[b].probing_distance for b in bands],
            "spectral_bound": [self.last[b].scale for b in bands],
            "truncation_bound": [self.last[b].truncation for b in bands],
            "probing_estimate": [self.last[b].probing for b in bands],
            "probing_margin": [self._margin.get(b, 1.0) for b in bands],
        }

    def inherit(self, settings):
        """Take over the plan margins learned by an earlier solve (its ``settings()``).

        A margin is the ratio of the whole-lattice probing error to that of a few classes, a
        property of the disorder realisation rather than of T, so the points of a sweep
        (:func:`largebdg.workflows.run.run` with a warm start) pass it on and spare the
        failed checks that would learn it again.  Settings of another method are ignored.
        """
        if settings.get("method") != "chebyshev":
            return
        for band, margin in enumerate(settings.get("probing_margin", [])):
            self._margin[band] = max(self._margin.get(band, 1.0), float(margin))

    def get_state(self):
        """The kept plans per band (they select the map being iterated), for a checkpoint.

        Also the plans kept for looser levels, the refinement floors of :meth:`tighten` and
        the draw counter of the measured probing error, so that a resumed solve makes the
        same choices.
        """
        def row(p):
            return [p.accuracy, p.T, p.scale, p.num_moments, p.probing_distance, p.truncation,
                    p.probing, int(p.control_variate), p.gap]

        return {"plans": {str(b): row(p) for b, p in self._plans.items()},
                "looser": {str(b): [row(p) for p in plans.values()]
                           for b, plans in self._looser.items()},
                "dmin": {str(b): int(d) for b, d in self._dmin.items()},
                "margin": {str(b): float(x) for b, x in self._margin.items()},
                "sample_round": int(self._sample_round)}

    def set_state(self, state):
        """Restore the plans returned by :meth:`get_state`."""
        def plan(p):
            return Plan(float(p[0]), float(p[1]), float(p[2]), int(p[3]), int(p[4]),
                        float(p[5]), float(p[6]), int(p[7]) if len(p) > 7 else 0,
                        float(p[8]) if len(p) > 8 else 0.0)

        self._plans = {int(k): plan(p) for k, p in state.get("plans", {}).items()}
        self._looser = {int(k): {plan(p).accuracy: plan(p) for p in rows}
                        for k, rows in state.get("looser", {}).items()}
        self._dmin = {int(k): int(d) for k, d in state.get("dmin", {}).items()}
        self._margin = {int(k): float(x) for k, x in state.get("margin", {}).items()}
        self._sample_round = int(state.get("sample_round", 0))
        self.last = dict(self._plans)

    def _operator(self, band):
        if band not in self._ops:
            self._ops[band] = PetscBdGOperator(self.model.L, comm=self.comm)
        return self._ops[band]

    def _clean_mu_tilde(self, band, T):
        key = (band, T)
        if key not in self._mu_tilde:
            m = self.model
            self._mu_tilde[key] = reference_fermi_level(T, m.filling[band], t=m.t[band])
        return self._mu_tilde[key]

    def plan(self, band, onsite, delta, T, accuracy=None):
        """The :class:`Plan` of one band (all ranks agree).

        The plan is kept while the requested accuracy and T stay the same and
        the current spectral radius stays inside the kept window (and its gap outside the
        plan's gap), so that the
        self-consistency loop iterates one fixed map per accuracy level.  When the
        accuracy tightens, the plan of the level left behind is kept beside the new one
        and serves requests at that looser accuracy (the loop's defect correction
        iterates the looser level's map, :mod:`largebdg.scf.loop`) without replacing
        the current plan.
        """
        if T <= 0:
            raise ParameterError("'T' must be > 0 for the Chebyshev engine (use method='dense')")
        acc = self.tolerance if accuracy is None else max(accuracy, self.tolerance)
        kept = self._plans.get(band)
        looser = kept is not None and acc > kept.accuracy and kept.T == T
        old = self._looser.get(band, {}).get(acc) if looser else kept
        if old is not None and (old.accuracy, old.T) == (acc, T) and (
                self._weyl_bound(band, onsite, delta) <= old.scale
                or self._radius(band, onsite, delta) <= old.scale) and (
                not old.gap or self._gap_holds(band, onsite, delta, old.gap)):
            return old
        radius = self._radius(band, onsite, delta)
        if looser:
            plan = self._new_plan(band, onsite, delta, T, acc, radius, None)
            self._looser.setdefault(band, {})[acc] = plan
            return plan
        if (kept is not None and acc < kept.accuracy and kept.T == T
                and self.probing_model == "measured" and not self.probing_distance):
            self._check_level(band, kept)
        if kept is not None and acc < kept.accuracy and kept.T == T:
            self._looser.setdefault(band, {})[kept.accuracy] = kept
        self._plans[band] = self._new_plan(band, onsite, delta, T, acc, radius, kept)
        return self._plans[band]

    def _radius(self, band, onsite, delta):
        """SLEPc's rigorous bound of the spectral radius for this mean field (kept, with the
        field, as the reference of :meth:`_weyl_bound`)."""
        onsite, delta = np.asarray(onsite, dtype=float), np.asarray(delta, dtype=float)
        key = (onsite.tobytes(), delta.tobytes())
        if self._bound_ref.get(band, (None,))[0] != key:
            op = self._operator(band)
            op.update(self.model.t[band], onsite, delta)
            self._bound_ref[band] = (key, np.array(onsite), np.array(delta), op.spectral_bound())
        return self._bound_ref[band][3]

    def _weyl_bound(self, band, onsite, delta):
        """A rigorous bound of the spectral radius without an eigensolver (inf if none yet).

        The mean field enters the BdG matrix only through the site blocks
        [[onsite, Δ], [Δ, -onsite]], so the change since the reference field of
        :meth:`_radius` has the norm max_i hypot(δonsite_i, δΔ_i), and by Weyl's inequality
        the radius is at most the reference bound plus it.  Near self-consistency the fields
        move far less than a plan's window margin (``bound_safety``), so the kept plan is
        confirmed without a SLEPc solve (0.1-1.3 s per band at 64², more than the recursion
        of a cheap level).
        """
        ref = self._bound_ref.get(band)
        if ref is None:
            return np.inf
        _, onsite0, delta0, radius = ref
        return radius + float(np.hypot(onsite - onsite0, delta - delta0).max())

    def _certified_gap(self, band, onsite, delta, floor):
        """Certified spectral gap of this mean field (:func:`~largebdg.operators.window.band_gap`
        searched from ``floor`` up; 0.0, after one count, if the gap is below it), kept with
        the field as the reference of :meth:`_gap_holds`."""
        op = self._operator(band)
        op.update(self.model.t[band], onsite, delta)
        gap = band_gap(op, floor, floor)
        if gap:
            self._gap_ref[band] = (np.array(onsite), np.array(delta), gap)
        return gap

    def _is_free(self, band, onsite, delta, sigma):
        """Whether this mean field has no eigenvalue in (-sigma, sigma): one exact count."""
        op = self._operator(band)
        op.update(self.model.t[band], onsite, delta)
        free = op.count_inside(sigma) == 0
        op.release_factor()
        return free

    def _gap_holds(self, band, onsite, delta, gap):
        """Whether this mean field has no eigenvalue in (-gap, gap), decided exactly, so that
        the answer does not depend on the engine's history (a resumed solve keeps the plans an
        uninterrupted one keeps).

        Weyl's inequality from the reference field of :meth:`_certified_gap` (its gap minus the
        norm of the change, as in :meth:`_weyl_bound`) when that suffices; else one count at
        the reference's gap, which restores the margin (this field becomes the reference);
        else one count at ``gap``.
        """
        ref = self._gap_ref.get(band)
        if ref is not None:
            onsite0, delta0, certified = ref
            if certified - float(np.hypot(onsite - onsite0, delta - delta0).max()) >= gap:
                return True
            if certified > gap and self._is_free(band, onsite, delta, certified):
                self._gap_ref[band] = (np.array(onsite), np.array(delta), certified)
                return True
        return self._is_free(band, onsite, delta, gap)

    def _plan_gap(self, band, onsite, delta, T, scale, acc):
        """The gap a new plan's tanh series is made for: :data:`GAP_SAFETY` below the certified
        gap of this mean field, where that needs fewer moments, else 0.0.

        The gap is certified only where it can pay: the smallest gap whose series would need
        at most :data:`GAP_MIN_GAIN` of the plain series' moments follows from the
        coefficients alone (bisection on the grid of
        :data:`~largebdg.operators.window.GAP_RESOLUTION`), and the certification starts there,
        so that its first eigenvalue count tells whether this field's gap reaches it.  A band
        whose gap does not pay costs one factorisation per plan, and the choice depends on the
        current field only.
        """
        if not (self.spectral_gap and HAVE_INERTIA) or self.num_moments:
            return 0.0
        plain = moments_for_tolerance(T, scale, acc / 2)

        def pays(g):
            gapped = moments_for_tolerance(T, scale, acc / 2, gap=(1 - GAP_SAFETY) * g)
            return gapped <= GAP_MIN_GAIN * plain

        lo, hi = np.pi * T / 2, scale / 2
        if lo >= hi or not pays(hi):
            return 0.0
        while not pays(lo) and hi / lo > np.exp(GAP_RESOLUTION):
            mid = np.sqrt(lo * hi)
            lo, hi = (lo, mid) if pays(mid) else (mid, hi)
        least = lo if pays(lo) else hi
        gap = (1 - GAP_SAFETY) * self._certified_gap(band, onsite, delta, least)
        if not gap or moments_for_tolerance(T, scale, acc / 2, gap=gap) >= plain:
            return 0.0
        return gap

    def level_cost(self, accuracy):
        """Work of one evaluation at ``accuracy``: start vectors × moments summed over the
        bands' plans for it (the current ones or those kept for a looser level); ``None``
        until both bands have one.  The loop's defect correction compares levels by it."""
        acc = max(accuracy, self.tolerance)
        total = 0
        for band in range(2):
            plan = self._plans.get(band)
            if plan is None or plan.accuracy != acc:
                plan = self._looser.get(band, {}).get(acc)
            if plan is None:
                return None
            colours = colour_count(self.model.L, plan.probing_distance)
            total += colours * plan.num_moments
        return total

    def _new_plan(self, band, onsite, delta, T, acc, radius, kept):
        """Make the :class:`Plan` of ``band`` at accuracy ``acc`` for this mean field
        (``kept``: the band's current plan, whose probing distance is a floor)."""
        scale = spectral_window(radius, self.bound_safety)
        gap = self._plan_gap(band, onsite, delta, T, scale, acc)
        M = self.num_moments or moments_for_tolerance(T, scale, acc / 2, gap=gap)
        L = self.model.L
        coeffs = tanh_coefficients(T, scale, M, gap)
        entries = self._entries(band, onsite, delta, scale, coeffs)
        tails = (self._tails(band, onsite, delta, scale, coeffs)
                 if self.control_variate and self.start_vectors == "probing" else None)

        def measured(d):  # the smallest estimate of the plain and the corrected probes
            rows = self._measured_probing(band, entries, d, self._plan_count(d),
                                          tails=tails).max(1)
            return float(rows.min()), int(np.argmin(rows))

        cv = 0
        if self.start_vectors == "unit":
            d, probing = L, 0.0
        elif self.probing_distance:
            d = min(self.probing_distance, L)
            probing, cv = measured(d)
        elif self.probing_model == "clean":
            d = choose_distance(L, acc / 2, t=self.model.t[band],
                                mu_tilde=self._clean_mu_tilde(band, T),
                                delta=float(np.abs(delta).mean()), T=T)
            probing, cv = measured(d)
        else:
            floor = max(self._dmin.get(band, 0), kept.probing_distance if kept else 0)
            d, M, probing, cv = self._cheapest(measured, floor, T, scale, acc, M,
                                               self._margin.get(band, 1.0), gap)
        return Plan(acc, T, scale, M, d, truncation_bound(T, scale, M, gap), probing,
                    cv if d < L else 0, gap)

    def _plan_count(self, d):
        """Classes a plan measures at distance d: ``plan_classes``, or :data:`PLAN_MIN_SITES`
        sites' worth (a class has about q² sites, q = floor(L/d)), at most all C."""
        L = self.model.L
        q = max(L // d, 1)
        C = colour_count(L, d)
        return min(C, max(self.plan_classes, -(-PLAN_MIN_SITES // (q * q))))

    def _cheapest(self, measured, floor, T, scale, acc, M, margin, gap=0.0):
        """(d, M, probing, control_variate) of least cost within ``acc``.

        Each distance from ``floor`` up (cheapest first) is measured (``measured(d)`` gives
        the estimate on a few classes and the variant); it claims ``probing x margin /``
        :data:`PLAN_HEADROOM` of the budget, and the moments get the rest
        (:func:`~largebdg.kpm.coefficients.moments_for_tolerance`; at most
        ``1 -`` :data:`MIN_TRUNCATION_SHARE` to probing).  The cost is moments x (colours +
        the refining vectors of the plan's one whole-lattice measurement, the check at
        convergence or before the level tightens, per :data:`CHECK_EVALUATIONS` evaluations;
        :func:`~largebdg.kpm.probing.refinement_vectors`).  A distance is not measured where
        even the fewest moments (the whole budget to truncation) would cost more than the best
        so far, and the search stops where they would on the colours alone; one site per
        colour (d = L) always qualifies.  Hand-set moments keep half the budget for probing.
        """
        L = self.model.L
        fewest = M if self.num_moments else moments_for_tolerance(T, scale, acc, gap=gap)
        evaluations = CHECK_EVALUATIONS[acc > self.tolerance]
        share = self.verify_fraction if acc <= self.tolerance else 1.0
        tails = self.control_variate and self.start_vectors == "probing"
        best = None
        for d in [x for x in probing_distances(L) if x >= floor]:
            colours = colour_count(L, d)
            if best is not None and colours * fewest >= best[0]:
                break  # the colours grow along the list
            colours += share * refinement_vectors(L, d, tails) / evaluations
            if best is not None and colours * fewest >= best[0]:
                continue
            probing, cv = measured(d)
            claim = probing * margin / PLAN_HEADROOM
            if self.num_moments:
                if claim > acc / 2:
                    continue
                moments = M
            elif claim <= (1 - MIN_TRUNCATION_SHARE) * acc:
                moments = moments_for_tolerance(T, scale, acc - claim, gap=gap)
            else:
                continue
            if best is None or colours * moments < best[0]:
                best = (colours * moments, d, moments, probing, cv)
        return best[1:]

    def _tails(self, band, onsite, delta, scale, coeffs):
        """``tails(d, order, nested=False)``: the control variate of distance d (or of its
        nested refinement) for this mean field, (4, N).

        Order 1 (:func:`~largebdg.kpm.probing.class_tails`): the tails of the homogeneous band
        of the mean onsite energy and gap, from :func:`~largebdg.model.clean.clean_blocks` of
        the same Chebyshev series (so the subtracted tails carry the same truncation as the
        probes).  Order 2 adds their first-order change with the field's deviation from the
        mean (:func:`~largebdg.kpm.probing.tail_response`, a few vector recursions of the
        homogeneous band); ``None`` where the colouring is not a sublattice.  Zero for
        d >= L.  Each partition's tails are computed once per closure
        (:func:`~largebdg.kpm.probing.same_partition`; an evaluation passes its closure on to
        the error check of the same field, :attr:`_last_probe`).
        """
        L, t = self.model.L, self.model.t[band]
        mean_onsite, mean_delta = float(np.mean(onsite)), float(np.mean(delta))

        def series(E):
            return np.polynomial.chebyshev.chebval(E / scale, coeffs)

        blocks = clean_blocks(L, t, -mean_onsite, mean_delta, series)
        homogeneous = BdGStencil(self._neighbours, t, np.full(L * L, mean_onsite),
                                 np.full(L * L, mean_delta), scale)

        cache = {}

        def tails(d, order, nested=False):
            d, nested = same_partition(L, d, nested)
            key = (d, order, nested)
            if key not in cache:
                if order == 1:
                    cache[key] = class_tails(L, d, *blocks, nested=nested)
                elif is_sublattice(L, d, nested):
                    G = tail_response(homogeneous, coeffs, L, d, scale, nested)
                    cache[key] = tails(d, 1, nested) + first_order_tails(
                        G, onsite - mean_onsite, delta - mean_delta)
                else:
                    cache[key] = None
            return cache[key]

        return tails

    def _entries(self, band, onsite, delta, scale, coeffs):
        """``entries(X0, rows, cols)``: the entries of tanh(H/2T) X0 the engine reads."""
        if self.backend == "numba":
            stencil = BdGStencil(self._neighbours, self.model.t[band], onsite, delta, scale)

            def entries(X0, rows, cols):
                return chebyshev_series(stencil, coeffs, X0, rows, cols,
                                        parallel=self.threads == 1)
        else:
            A = self._operator(band).pattern.matrix(self.model.t[band], onsite, delta) / scale

            def entries(X0, rows, cols):
                return chebyshev_series_reference(A, coeffs, X0)[rows, cols]
        return entries

    def _probe(self, entries, labels, classes, reach=None):
        """Probed (tau_ii, tau_hole, tau_x, tau_y), shape (4, N), of the sites of ``classes``.

        Start vectors are the sums of unit vectors over the classes of the partition
        ``labels``; they are split between ranks and threads and joined.  With ``reach``, a
        coarsening of ``labels`` (the coarse colouring of a nested refinement), every vector
        is also read at all sites of its ``reach`` class, and the sum over the vectors read
        at each site is returned as well: ``(probed, read)``.
        """
        N = self.model.n_sites
        out = np.zeros((4, N))
        mine = np.array_split(np.asarray(classes), self.size)[self.rank]
        if reach is not None:
            read, members, lock = np.zeros((4, N)), colour_classes(reach), threading.Lock()

        def rows_of(sites):
            return np.concatenate([sites, N + sites, self._nx[sites], self._ny[sites]])

        def run(block):
            X0, sites, col = block
            if reach is None:
                out[:, sites] = entries(X0, rows_of(sites), np.tile(col, 4)).reshape(4, -1)
                return
            first = np.flatnonzero(np.r_[True, np.diff(col) != 0])
            spans = [members[reach[sites[i]]] for i in first]  # each column's reach class
            at = np.concatenate(spans)
            cols = np.repeat(np.arange(len(spans)), [a.size for a in spans])
            values = entries(X0, rows_of(at), np.tile(cols, 4)).reshape(4, -1)
            own = labels[at] == labels[sites[first]][cols]
            with lock:
                out[:, at[own]] = values[:, own]
                np.add.at(read.T, at, values.T)

        self._map(run, colour_blocks(labels, 2 * N, mine, self.block_size))
        results = (out,) if reach is None else (out, read)
        if self.size > 1:
            for a in results:
                total = np.empty_like(a)
                self.comm.Allreduce(a, total)
                a[...] = total
        return out if reach is None else results

    def _measured_probing(self, band, entries, d, num_classes, coarse=None, tails=None,
                          nested=None):
        """Estimated largest probing error of distance d on ``num_classes`` random classes.

        The classes' probes (``coarse``, shape (4, N), if already known) are compared with
        those of a refining colouring at the same sites
        (:func:`~largebdg.kpm.probing.refining_colouring`: the spaced colouring of
        :func:`~largebdg.kpm.probing.refinement_distance` or the classes' nested refinement,
        whichever needs fewer start vectors for these sites, unless it would lose the
        first-order control variate; ``nested``: force one).
        A few classes of an odd number q of segments need 9 nested vectors each instead of
        one per site.  The draws are new on every call, the same on every rank.

        Returns
        -------
        ndarray, shape (3, K)
            Per measured class, the estimate for the probes as they are (row 0) and with the
            control variates ``tails(d, order)`` of :meth:`_tails`, order 1 and 2, subtracted
            from both colourings (rows 1 and 2; ``inf`` without ``tails`` or where a
            colouring has no order-2 tails); the estimate of the classes together is the
            maximum of a row, its index the :attr:`Plan.control_variate`.  (One class of
            zeros for d >= L.)
        """
        L = self.model.L
        if d >= L:
            return np.zeros((len(CONTROL_VARIATES), 1))
        colour = colouring(L, d)
        C = int(colour.max()) + 1
        rng = np.random.default_rng([L, band, self._sample_round])
        self._sample_round += 1
        classes = np.sort(rng.choice(C, size=min(max(num_classes, 1), C), replace=False))
        if coarse is None:
            coarse = self._probe(entries, colour, classes)
        sites = np.flatnonzero(np.isin(colour, classes))

        D, nest, fine_colour, needed = refining_colouring(L, d, sites, tails is not None, nested)
        ratio = refinement_ratio(L, d, D, nest)
        if nest:  # the parts left out: coarse minus the other parts read there
            fine, read = self._probe(entries, fine_colour, needed, reach=colour)
            left = sites[~np.isin(fine_colour[sites], needed)]
            fine[:, left] = coarse[:, left] - read[:, left]
        else:
            fine = self._probe(entries, fine_colour, needed)
        difference = coarse[:, sites] - fine[:, sites]
        out = np.full((len(CONTROL_VARIATES), classes.size), np.inf)

        def per_class(row, errors):  # the largest error of each class's measured sites
            largest = np.zeros(C)
            np.maximum.at(largest, colour[sites], np.abs(errors).max(axis=0))
            safety = refinement_safety(REFINEMENT_RHO[row], ratio)
            out[row] = safety * largest[classes]

        per_class(0, difference)
        for order in range(1, len(CONTROL_VARIATES)) if tails is not None else ():
            coarse_tails = tails(d, order)
            fine_tails = tails(D, order, nest)
            if coarse_tails is not None and fine_tails is not None:
                per_class(order, difference - coarse_tails[:, sites] + fine_tails[:, sites])
        return out

    def _map(self, fn, items):
        """Apply ``fn`` to every item, in ``threads`` threads (serial kernels release the GIL).

        Items are drawn lazily, so only ``threads`` blocks are in memory at once.
        """
        items = iter(items)
        if self.threads == 1:
            for item in items:
                fn(item)
            return
        lock = threading.Lock()

        def worker():
            while True:
                with lock:
                    item = next(items, None)
                if item is None:
                    return
                fn(item)

        with ThreadPoolExecutor(max_workers=self.threads) as pool:
            for future in [pool.submit(worker) for _ in range(self.threads)]:
                future.result()

    def error_estimate(self, band, onsite, delta, T):
        """Error estimate of the local averages of ``band`` for this mean field.

        Re-measures the probing error of the current plan on a fresh draw of
        ``verify_fraction`` of the colour classes (by default all of them, reusing the
        probes of the last :meth:`averages` call on the same mean field) and adds the
        truncation bound.

        Returns
        -------
        dict
            ``estimate`` (truncation + probing), ``truncation``, ``probing``, the
            ``probing_distance`` and ``num_moments`` of the plan, and the ``tolerance``
            the estimate is to be compared with.
        """
        plan = self.plan(band, onsite, delta, T)
        L = self.model.L
        probing = 0.0
        if plan.probing_distance < L:
            C = colour_count(L, plan.probing_distance)
            num_classes = int(np.ceil(self.verify_fraction * C))
            last = self._last_probe.get(band)
            coarse = tails = None
            if (num_classes == C and last is not None and last[0] == plan
                    and np.array_equal(last[1], onsite) and np.array_equal(last[2], delta)):
                coarse, tails = last[3:]
            per_class = self._remeasure(band, plan, onsite, delta, num_classes, coarse, tails)
            probing = float(per_class.max())
            self._learn_margin(band, per_class, plan.probing_distance)
        return {"estimate": plan.truncation + probing, "truncation": plan.truncation,
                "probing": probing, "probing_distance": int(plan.probing_distance),
                "num_moments": int(plan.num_moments), "tolerance": self.tolerance}

    def tighten(self, band):
        """Raise the probing distance of ``band`` to the next colouring; False if impossible.

        Called when :meth:`error_estimate` exceeds the tolerance; the next plan of the
        band starts from the larger distance.  Hand-set settings are never changed.
        """
        kept = self._plans.get(band)
        if (kept is None or self.start_vectors == "unit" or self.probing_distance
                or self.num_moments or kept.probing_distance >= self.model.L):
            return False
        larger = [d for d in probing_distances(self.model.L) if d > kept.probing_distance]
        self._dmin[band] = larger[0]
        del self._plans[band]
        return True

    def _learn_margin(self, band, per_class, d):
        """Raise the band's plan margin to what a plan's few classes miss on this field.

        ``per_class`` are the estimates of many classes of distance d on one field (the whole
        lattice); the margin is their maximum over a low value of the maximum over the
        :meth:`_plan_count` random classes a plan measures (the one that 3 of 4 draws
        exceed).  Both come from the same field: a plan measured on an earlier field (e.g. the
        uniform start, where the homogeneous tails leave no error at all) says nothing about
        this one.
        """
        count = self._plan_count(d)
        if per_class.size <= count:
            return
        typical = np.quantile(per_class, 0.25 ** (1 / count))
        whole = float(per_class.max())
        if typical > 0 and whole > typical:
            self._margin[band] = max(self._margin.get(band, 1.0), whole / typical)

    def _check_level(self, band, kept):
        """Learn the margin from the whole lattice before a band's accuracy level tightens.

        Every class of the last probes (those of the last :meth:`averages` call, made with the
        ``kept`` plan) is compared with the refining colouring, as at convergence; this costs
        the refining probes at the cheap level and spares the final level a failed check
        (disordered bands have rare sites with errors several times those of a few classes).
        """
        last = self._last_probe.get(band)
        if last is None or last[0] != kept or kept.probing_distance >= self.model.L:
            return
        _, onsite, delta, coarse, tails = last
        C = colour_count(self.model.L, kept.probing_distance)
        self._learn_margin(band, self._remeasure(band, kept, onsite, delta, C, coarse, tails),
                           kept.probing_distance)

    def _remeasure(self, band, plan, onsite, delta, num_classes, coarse, tails=None):
        """:meth:`_measured_probing` of ``plan``'s map on this mean field (``coarse``: probes,
        ``tails``: the :meth:`_tails` closure of the :meth:`averages` call that made them).

        The per-class estimates of the probes as the plan uses them (with or without the
        control variate).
        """
        coeffs = plan.coefficients()
        entries = self._entries(band, onsite, delta, plan.scale, coeffs)
        if tails is None and plan.control_variate:
            tails = self._tails(band, onsite, delta, plan.scale, coeffs)
        return self._measured_probing(band, entries, plan.probing_distance, num_classes, coarse,
                                      tails=tails)[plan.control_variate]

    def averages(self, band, onsite, delta, T, accuracy=None):
        """:class:`LocalAverages` of ``band`` for the given mean field.

        ``accuracy`` (>= ``tolerance``) loosens the automatic moments and
        probing distance for early iterations.
        """
        plan = self.plan(band, onsite, delta, T, accuracy)
        coeffs = plan.coefficients()
        current = plan is self._plans.get(band)
        if current:  # not a looser level's plan (those serve the loop's defect correction)
            self.last[band] = plan
        colour = colouring(self.model.L, plan.probing_distance)
        entries = self._entries(band, onsite, delta, plan.scale, coeffs)
        out = self._probe(entries, colour, np.arange(int(colour.max()) + 1))
        tails = (self._tails(band, onsite, delta, plan.scale, coeffs)
                 if plan.control_variate else None)
        if current:
            self._last_probe[band] = (plan, np.array(onsite), np.array(delta), out, tails)
        if plan.control_variate:
            out = out - tails(plan.probing_distance, plan.control_variate)
        return LocalAverages.from_tau(*out)
