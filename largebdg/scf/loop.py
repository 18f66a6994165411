r"""The self-consistency loop shared by every engine.

One iteration maps the input mean field :math:`x = (\Delta_{\nu i}, n_{\nu i}, \mu_\nu)`
to its output :math:`G(x)`:

1. per band, ``onsite = V - g n / 2 - mu`` (paper Eqs. 11-12, disorder counted once);
2. the engine returns :math:`F_{\nu i}` and :math:`n_{\nu i}` (Eqs. 13-14);
3. gap equations (9a, 9b): :math:`\Delta_1 = g_1 F_1 + g_{12} F_2`,
   :math:`\Delta_2 = g_2 F_2 + g_{12} F_1`;
4. each band's chemical potential moves towards its filling
   (:mod:`largebdg.scf.chemical_potential`),
   :math:`\mu \to \mu + (\bar n_\nu - n_\nu)(1/\kappa_\nu + g_\nu / 2)`, a Newton
   step with the compressibility :math:`\kappa_\nu` of the clean band and the
   Hartree feedback.  With ``common_mu`` the bands instead share one
   chemical potential, :math:`\mu_\nu = \mu + \delta_\nu`, whose band
   offsets :math:`\delta_\nu` are those of the clean system at the same
   temperature (:func:`largebdg.model.clean.clean_chemical_potentials`), and the single shift
   holds the total filling :math:`n_1 + n_2` (paper Eq. 12): disorder then
   moves electrons between the bands.

At the end an approximate engine re-measures its own error on the final mean
field (``engine.error_estimate``); if it exceeds the engine's tolerance the
engine refines (``engine.tighten``) and the loop goes on, and where it cannot,
the result is returned with ``converged = False``, an
:class:`~largebdg.errors.AccuracyWarning` and the reason in ``note``.

A mixer (:mod:`largebdg.scf.mixing`) proposes the next input.  The loop stops
when max|delta Delta| <= ``tol``, max|delta n| <= ``tol_density`` and every
filling error <= ``tol_filling``; otherwise it warns with
:class:`~largebdg.errors.ConvergenceWarning` and returns what it has, with
``converged = False``.

Checkpoints
-----------
A long solve can save its state: after an iteration, when ``checkpoint_seconds`` have passed
since the last save (or every ``checkpoint_iterations`` iterations), the loop calls
``checkpoint(snapshot)`` with everything that determines the rest of the iteration: the next
input, the mixer's memory, the accuracy level, the engine's kept settings, the iteration count
and the history.  ``solve(..., resume=snapshot)`` continues from there and produces the same
iterates, bit for bit, as the uninterrupted loop.  Writing the snapshot to a file is the
caller's business (:mod:`largebdg.io.checkpoint`).
"""

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .. import _validate as v
from ..errors import AccuracyWarning, ConvergenceWarning, ParameterError
from ..model.thermal import T_MAX
from .chemical_potential import ChemicalPotentialUpdate
from .correction import DefectCorrection
from .mixing import MIXERS
from .state import SCFState, initial_state

__all__ = ["SCFOutcome", "solve", "DEFAULTS", "MeanFieldMap"]

DEFAULTS = {"tol": 1e-5, "tol_density": 1e-4, "tol_filling": 1e-5, "max_iter": 300,
            "mixing": "anderson", "mixing_beta": 1.0, "history": 8, "defect_correction": True,
            "checkpoint_seconds": 60.0, "checkpoint_iterations": 0}
"""Default settings of :func:`solve` (and of the ``[solver]`` config section)."""


@dataclass
class SCFOutcome:
    """What :func:`solve` returns.

    ``state`` holds the output of the last map evaluation (gaps from the gap
    equations, densities from the engine) and the chemical potentials that
    produced it; ``averages`` the engine's last :class:`LocalAverages` per band;
    ``error_estimates`` the engine's :meth:`error_estimate` per band at convergence (None
    for exact engines, or when not reached); ``note`` why the result is not converged.
    """

    state: SCFState
    averages: tuple
    converged: bool
    iterations: int
    history: dict = field(default_factory=dict)
    error_estimates: list = field(default_factory=lambda: [None, None])
    note: str = ""


def solve(model, engine, T, *, tol=DEFAULTS["tol"], tol_density=DEFAULTS["tol_density"],
          tol_filling=DEFAULTS["tol_filling"], max_iter=DEFAULTS["max_iter"],
          mixing=DEFAULTS["mixing"], mixing_beta=DEFAULTS["mixing_beta"],
          history=DEFAULTS["history"], defect_correction=DEFAULTS["defect_correction"],
          initial=None, callback=None, checkpoint=None,
          checkpoint_seconds=DEFAULTS["checkpoint_seconds"],
          checkpoint_iterations=DEFAULTS["checkpoint_iterations"], resume=None):
    """Iterate the mean-field map of ``model`` to self-consistency.

    Parameters
    ----------
    model : TwoBandModel
    engine : Engine
        The :class:`~largebdg.engines.base.Engine` computing the local averages;
        its ``accuracy_schedule(residual, current) -> accuracy`` lets
        approximate engines run cheap settings while far from convergence
        (``current`` is ``None`` at the start).  Whenever the map changes (a new accuracy,
        or an engine tightened after a failed error estimate) the mixer takes its step on
        the old map's history and then restarts, so that no residual of the old map enters
        the new map's history (mixed, the two maps' offset stalls the first step).
    T : float
        Temperature (units of t, k_B = 1), >= 0.
    tol, tol_density, tol_filling : float
        Stopping thresholds on max|delta Delta|, max|delta n| and the filling errors.
    max_iter : int
        Iteration limit.
    mixing : {"anderson", "linear"}
    mixing_beta : float
        Linear weight of the mixer.  The default 1.0 (Anderson's "type II" step on the
        full residual) needs 8-19 % fewer iterations than 0.5 on the paper's random case
        (L = 32 and 64, T = 0.098-0.23, dense and Chebyshev; docs/performance.md); linear
        mixing usually needs a smaller weight (0.2-0.5).
    history : int
        Anderson history length.
    defect_correction : bool
        Reach each accuracy level's fixed point by iterating the previous level's cheaper
        map corrected by the defect (:mod:`largebdg.scf.correction`); the iterations of
        the corrected map are recorded with the cheaper level's accuracy.  No effect for
        exact engines (one level).
    initial : SCFState, optional
        Warm start (e.g. the neighbouring temperature of a sweep).
    callback : callable, optional
        Called after every iteration as ``callback(iteration, record)`` with the
        history record (a dict).
    checkpoint : callable, optional
        ``checkpoint(snapshot)``, called after an iteration (that did not end the loop) when
        ``checkpoint_seconds`` have passed since the start or the last call, or the iteration
        count is a multiple of ``checkpoint_iterations`` (if > 0).  ``snapshot`` is a dict of
        arrays and JSON-ready values: ``iteration``, ``x`` (next input), ``accuracy``,
        ``mixer`` and ``engine`` (their ``get_state()``), ``history``.
    checkpoint_seconds : float
        Seconds between checkpoints (``0``: after every iteration; ``inf``: by count only).
    checkpoint_iterations : int
        Also checkpoint every this many iterations (``0``: by time only).
    resume : dict, optional
        A ``snapshot`` passed to ``checkpoint`` by an earlier call with the same model,
        engine settings and temperature: the loop continues with the next iteration (at
        least one more iteration is run even if ``max_iter`` is already reached).
        ``initial`` is then ignored.

    Returns
    -------
    SCFOutcome
    """
    T = v.real("T", T, 0.0, T_MAX)
    v.positive_int("max_iter", max_iter)
    checkpoint_seconds = v.real("checkpoint_seconds", checkpoint_seconds, 0.0, allow_inf=True)
    v.positive_int("checkpoint_iterations", checkpoint_iterations, minimum=0)
    state = initial if initial is not None else initial_state(model, T)
    G = MeanFieldMap(model, engine, T)
    schedule = engine.accuracy_schedule
    mixer = MIXERS[mixing](beta=mixing_beta, history=history)
    corr = DefectCorrection(defect_correction, (tol, tol_density, tol_filling))
    x = G.pack(state)
    keys = ("max_ddelta", "max_ddensity", "filling_error", "mean_abs_delta", "mu", "accuracy",
            "seconds")
    hist = {k: [] for k in keys}
    accuracy = schedule(np.inf, None)
    start = 1
    if resume is not None:
        x, accuracy, start = _restore(resume, x.size, mixer, engine, hist, corr)
    converged = False
    estimates = [None, None]
    note = ""
    last_save = time.monotonic()

    def _maybe_save(it):
        nonlocal last_save
        if checkpoint is not None and it < max_iter and (
                time.monotonic() - last_save >= checkpoint_seconds
                or (checkpoint_iterations and it % checkpoint_iterations == 0)):
            checkpoint(_snapshot(it, x, accuracy, mixer, engine, hist, corr))
            last_save = time.monotonic()

    for it in range(start, max(max_iter, start) + 1):
        t0 = time.perf_counter()
        fine = not corr.active  # else: the cheaper map corrected by the defect
        level = accuracy if fine else corr.coarser
        s, avg, out = G(x, level)
        g = G.pack(out)
        if not fine:
            g = g + corr.defect
            out = SCFState.unpack(g, model.n_sites, G.mu_weight)
        delta_out, n_out = out.delta, out.density
        r = g - x
        ddelta = np.abs(delta_out - s.delta).max(axis=1)
        ddens = np.abs(n_out - s.density).max(axis=1)
        ferr = G.chem.filling_error(n_out.mean(axis=1))
        rec = {
            "max_ddelta": ddelta, "max_ddensity": ddens, "filling_error": ferr,
            "mean_abs_delta": np.abs(delta_out).mean(axis=1), "mu": s.mu.copy(),
            "accuracy": np.nan if level is None else level,
            "seconds": time.perf_counter() - t0,
        }
        for k in keys:
            hist[k].append(rec[k])
        if callback is not None:
            callback(it, rec)
        if not fine:
            if corr.inner_done((ddelta.max(), ddens.max(), ferr.max())) == "abort":
                mixer.reset()
                x, r = corr.origin[:2]  # plain mixing of the fine map from the cycle's input
            x = mixer.step(x, r)
            _maybe_save(it)
            continue
        final_accuracy = accuracy == schedule(0.0, accuracy)
        map_changed = False
        if (ddelta.max() <= tol and ddens.max() <= tol_density and ferr.max() <= tol_filling
                and final_accuracy):
            estimates = [engine.error_estimate(b, model.onsite(b, s.density[b], s.mu[b]),
                                               s.delta[b], T) for b in range(2)]
            failing = [b for b, e in enumerate(estimates)
                       if e is not None and e["estimate"] > e["tolerance"]]
            if not failing:
                converged = True
                break
            if not all([engine.tighten(b) for b in failing]):
                note = "; ".join(
                    f"band {b + 1}: engine error estimate {estimates[b]['estimate']:.2e} exceeds "
                    f"its tolerance {estimates[b]['tolerance']:.1e}" for b in failing)
                break
            map_changed = True  # finer probing for the failing bands
            corr.restart()
        new_accuracy = schedule(ddelta.max(), accuracy)
        if new_accuracy != accuracy:
            corr.new_level(accuracy, new_accuracy == schedule(0.0, new_accuracy))
            accuracy = new_accuracy
            map_changed = True
        action = "plain" if map_changed else corr.after_fine(ddelta.max(), _cost_ratio(
            engine, corr.coarser, accuracy))
        if action == "cycle":
            t0 = time.perf_counter()
            cheap = G.pack(G(x, corr.coarser)[2])  # the same input, the cheaper map
            mixer.shift(corr.start(g - cheap, (ddelta.max(), ddens.max(), ferr.max()), x, r))
            hist["seconds"][-1] += time.perf_counter() - t0
        map_changed = map_changed or action == "fallback"
        if action == "drop":
            mixer.reset()
        x = mixer.step(x, r)
        if map_changed and not corr.inherited:  # the final level keeps the cheap map's history
            mixer.reset()
        _maybe_save(it)
    if note:
        warnings.warn(f"{note}; the result is not converged (set more moments or a larger "
                      "probing distance, or leave them automatic)", AccuracyWarning, stacklevel=2)
    elif not converged:
        note = f"max|dDelta| = {ddelta.max():.2e}, tol = {tol:.1e}"
        warnings.warn(f"self-consistency did not converge in {max_iter} iterations "
                      f"(max|dDelta| = {ddelta.max():.2e}, tol = {tol:.1e}); returning the last "
                      "iterate", ConvergenceWarning, stacklevel=2)
    history_arrays = {k: np.array(hist[k], dtype=float) for k in keys}
    return SCFOutcome(state=SCFState(delta_out, n_out, s.mu.copy()), averages=avg,
                      converged=converged, iterations=it, history=history_arrays,
                      error_estimates=estimates, note=note)


class MeanFieldMap:
    r"""The map :math:`x \to G(x)` of one self-consistency iteration (steps 1-4 above).

    The loop iterates it; :meth:`pack` flattens a state into its input vector ``x`` (gaps,
    densities, and the chemical potentials weighted by :math:`\sqrt N` so that they count
    like a field), which is also what a Jacobian of the map acts on
    (``benchmarks/scf_jacobian.py``).

    Parameters
    ----------
    model : TwoBandModel
    engine : Engine
    T : float
    """

    def __init__(self, model, engine, T):
        self.model, self.engine, self.T = model, engine, T
        self.chem = ChemicalPotentialUpdate(model, T)
        self.mu_weight = np.sqrt(model.n_sites)

    def pack(self, state):
        """The input vector of ``state`` (:class:`SCFState`)."""
        return state.pack(self.mu_weight)

    def __call__(self, x, accuracy=None):
        """Evaluate the map at ``x`` with the engine at ``accuracy``.

        Returns
        -------
        tuple
            ``(state, averages, out)``: the input state (chemical potentials projected, see
            :class:`~largebdg.scf.chemical_potential.ChemicalPotentialUpdate`), the engine's
            :class:`LocalAverages` per band and the output :class:`SCFState` (gaps from
            Eqs. 9a-9b, densities from the engine, chemical potentials moved towards the
            fillings); ``self.pack(out) - x`` is the residual.
        """
        model, s = self.model, SCFState.unpack(x, self.model.n_sites, self.mu_weight)
        s.mu = self.chem.project(s.mu)
        avg = tuple(
            self.engine.averages(b, model.onsite(b, s.density[b], s.mu[b]), s.delta[b],
                                 self.T, accuracy=accuracy)
            for b in range(2)
        )
        n_out = np.array([a.n for a in avg])
        out = SCFState(model.gaps(np.array([a.F for a in avg])), n_out,
                       self.chem.update(s.mu, n_out.mean(axis=1)))
        return s, avg, out


def _cost_ratio(engine, cheap, fine):
    """The cheap level's cost over the fine level's (``engine.level_cost``), or None."""
    if cheap is None:
        return None
    cheap, fine = engine.level_cost(cheap), engine.level_cost(fine)
    return None if cheap is None or not fine else cheap / fine


def _snapshot(iteration, x, accuracy, mixer, engine, hist, corr):
    """Everything that fixes the iterations after ``iteration`` (see :func:`solve`)."""
    return {
        "iteration": int(iteration),
        "x": x.copy(),
        "accuracy": accuracy,
        "mixer": mixer.get_state(),
        "correction": corr.get_state(),
        "engine": engine.get_state() if hasattr(engine, "get_state") else {},
        "history": {k: np.array(values, dtype=float) for k, values in hist.items()},
    }


def _restore(snapshot, size, mixer, engine, hist, corr):
    """Apply a :func:`_snapshot` to the loop's objects; return (x, accuracy, next iteration)."""
    try:
        x = np.array(snapshot["x"], dtype=float)
        iteration = v.positive_int("resume['iteration']", snapshot["iteration"])
        if x.shape != (size,):
            raise ParameterError(
                f"'resume' holds a mean field of {x.size} numbers, this model needs {size}")
        mixer.set_state(snapshot["mixer"])
        if "correction" in snapshot:  # snapshots of versions without defect correction lack it
            corr.set_state(snapshot["correction"])
        if hasattr(engine, "set_state"):
            engine.set_state(snapshot.get("engine", {}))
        for key in hist:
            hist[key] = list(np.array(snapshot["history"][key], dtype=float))
    except (KeyError, TypeError, IndexError) as e:
        raise ParameterError(f"'resume' is not a snapshot of this loop ({e!r})") from None
    if any(len(values) != iteration for values in hist.values()):
        raise ParameterError("'resume' holds a history of the wrong length")
    return x, snapshot["accuracy"], iteration + 1
