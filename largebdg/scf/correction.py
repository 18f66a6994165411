r"""Defect correction: the accurate map's fixed point by iterating a cheaper map.

An approximate engine runs a sequence of accuracy levels (:meth:`accuracy_schedule`); the
map :math:`G_f` of the current level is several times dearer per evaluation than the map
:math:`G_c` of the level before it, and both have nearly the same Jacobian: the slow modes
that make the final level take many iterations (band 1's density-gap modes on the
superconducting puddles, Jacobian eigenvalues up to ≈ 0.94, docs/performance.md) are the
physics of the mean field, not of the expansion's accuracy.  Defect correction therefore
solves the final level with the level before it as the cheap map, evaluating :math:`G_f`
only once per cycle:

1. at the current input :math:`x`, evaluate :math:`G_f(x)` and :math:`G_c(x)` and keep the
   defect :math:`b = G_f(x) - G_c(x)`;
2. iterate the corrected map :math:`\tilde G(y) = G_c(y) + b` (which agrees with
   :math:`G_f` at :math:`x` and has the cheap map's Jacobian) until its residual has fallen to
   ``factor`` times that of the fine evaluation;
3. evaluate :math:`G_f` again there, and so on.

The fixed point is that of :math:`G_f` (only a fine evaluation can end the loop, with the
stopping rule and the engine's error check of the plain loop), so the result has the
accuracy of the final level; each cycle converges at the rate
:math:`\|(I - J_c)^{-1}(J_f - J_c)\|` instead of the spectral radius of :math:`J_f`.  When a
cycle does not at least halve the fine residual, the cheap map is a poor model of this level
and the loop falls back to plain mixing of :math:`G_f` until the level changes; and where the
cheap map is not much cheaper (:data:`CHEAP_SHARE`, by the engine's ``level_cost``; near T_c
fewer moments make the levels' costs close) or too coarse (:data:`COARSEST`) the level is
iterated plainly from the start.  An inner solve whose residual grows beyond
:data:`DIVERGED` times the fine residual that began the cycle is abandoned: the loop returns
to the cycle's input and mixes the fine map plainly from there.

The mixer's stored residuals belong to :math:`\tilde G`; when :math:`b` changes they are
shifted by the change (:meth:`AndersonMixer.shift`), so the cheap map's Jacobian
information is kept across cycles.  It is kept from the level before as well: that level
iterated the cheap map itself, so when the final level begins the mixer keeps its history
(:attr:`DefectCorrection.inherited`) and the first cycle shifts it by :math:`b`; only if no
cycle follows (plain mixing of the final level) is it dropped.  (At 128², T = 0.098 the first
inner solve, started from an empty history, took 11 evaluations of the cheap map to gain a
factor 20, docs/performance.md.)
"""

import numpy as np

__all__ = ["DefectCorrection", "FACTOR", "MAX_INNER", "SAFEGUARD", "DIVERGED", "CHEAP_SHARE",
           "COARSEST"]

FACTOR = 0.05
"""An inner solve ends when every residual of the corrected map is this fraction of the last
fine evaluation's (or half the stopping threshold, whichever is larger)."""
MAX_INNER = 50
"""At most this many evaluations of the corrected map per cycle."""
SAFEGUARD = 0.5
"""A cycle must reduce max|dDelta| of the fine map by at least this factor, or the level is
iterated plainly."""
DIVERGED = 2.0
"""An inner solve is abandoned when a residual of the corrected map exceeds this many times the
fine residual that began the cycle (a diverging cheap map grows past it within a few steps;
Anderson steps are not monotone, and a single small rise near convergence is not divergence)."""
COARSEST = 1e-2
"""The cheap map's accuracy must be at least this fine: a 1e-1 map models the next level
poorly (at 64² the cycles gained a factor 10, then 1.5; at 16², T = 0.2, with the final
level at 1e-2, the corrected 1e-1 map diverged)."""
CHEAP_SHARE = 1 / 3
"""The cheap map must cost at most this share of the fine one (``engine.level_cost``, start
vectors × moments), or the level is iterated plainly: the corrected map needs about as many
evaluations as the fine one would, up to twice near T_c, plus two or three fine ones (64²,
T = 0.25: the 1e-2 map at 0.7 of the final one's cost, 86 iterations in 61 s against the
plain 57 in 37 s)."""


class DefectCorrection:
    """The state of the loop's defect correction (see the module docstring).

    Parameters
    ----------
    enabled : bool
        Off: the loop iterates every level's own map (plain Anderson mixing).
    thresholds : tuple of float
        The loop's stopping thresholds ``(tol, tol_density, tol_filling)``.
    """

    def __init__(self, enabled, thresholds):
        self.enabled = bool(enabled)
        self.floors = 0.5 * np.asarray(thresholds, dtype=float)
        self.coarser = None    # accuracy of the cheaper map (the level before the current one)
        self.defect = None     # b, while the corrected map is iterated
        self.active = False    # the next evaluation is one of the corrected map
        self.targets = None    # residuals that end the inner solve
        self.inner = 0         # evaluations of the corrected map in this cycle
        self.last_fine = None  # max|dDelta| of the last fine evaluation of this level
        self.plain = False     # the level fell back to plain mixing
        self.origin = None     # (x, fine residual vector, max|dDelta|) that began the cycle
        self.inherited = False  # the mixer holds the cheap map's history from the level before

    def new_level(self, previous, final):
        """The accuracy changed from ``previous``; on the ``final`` level its map becomes the
        cheap one (the earlier levels are iterated plainly: a map of accuracy 1e-1 models one
        of 1e-2 too poorly, cycles at 64² gained a factor 10 and then 1.5 only)."""
        self.coarser = previous if final and previous <= COARSEST else None
        self.defect, self.active, self.last_fine, self.plain, self.inner = (
            None, False, None, False, 0)
        self.inherited = self.enabled and self.coarser is not None

    def restart(self):
        """The fine map changed at the same level (finer probing): cycles start afresh."""
        self.defect, self.active, self.last_fine, self.inner = None, False, None, 0
        self.inherited = False

    def after_fine(self, ddelta, cost_ratio):
        """What follows a fine evaluation (with this max|dDelta|) that did not end the loop;
        ``cost_ratio`` is the cheap map's cost over the fine one's (``None``: unknown, taken
        as cheap enough).

        Returns
        -------
        str
            ``"cycle"``: start a cycle (:meth:`start`); ``"fallback"``: the last cycle did not
            halve the fine residual, so the level is iterated plainly from now on (the mixer's
            history, of the corrected map, must be dropped after this step); ``"drop"``: no
            cycle follows the history :attr:`inherited` from the level before (plain mixing,
            the history dropped before the step, as if the level had begun with it dropped);
            ``"plain"``: plain mixing.
        """
        inherited, self.inherited = self.inherited, False
        if not self.enabled or self.coarser is None or self.plain:
            return "drop" if inherited else "plain"
        if self.last_fine is None and cost_ratio is not None and cost_ratio > CHEAP_SHARE:
            self.plain = True  # nothing of the corrected map is in the mixer yet
            return "drop" if inherited else "plain"
        if self.last_fine is not None and ddelta > SAFEGUARD * self.last_fine:
            self.plain, self.defect = True, None
            return "fallback"
        self.last_fine = ddelta
        return "cycle"

    def start(self, defect, residuals, x, r):
        """Begin a cycle at input ``x`` (fine residual vector ``r``) with the defect ``b`` and
        the fine evaluation's residuals ``(max|dDelta|, max|dn|, filling error)``; return the
        change of ``b``."""
        change = defect if self.defect is None else defect - self.defect
        self.defect = defect
        self.origin = (x.copy(), r.copy(), float(residuals[0]))
        self.targets = np.maximum(FACTOR * np.asarray(residuals, dtype=float), self.floors)
        self.active, self.inner = True, 0
        return change

    def inner_done(self, residuals):
        """After an evaluation of the corrected map with ``residuals``: ``"continue"`` the
        inner solve, ``"fine"`` (evaluate the fine map next) or ``"abort"`` (the corrected map
        diverges: go back to :attr:`origin` and mix the fine map plainly)."""
        self.inner += 1
        if residuals[0] > DIVERGED * self.origin[2]:
            self.active, self.plain, self.defect = False, True, None
            return "abort"
        if self.inner >= MAX_INNER or np.all(np.asarray(residuals) <= self.targets):
            self.active = False
            return "fine"
        return "continue"

    def get_state(self):
        """Everything that fixes the next evaluations, for a checkpoint."""
        return {"coarser": self.coarser,
                "defect": np.zeros(0) if self.defect is None else self.defect.copy(),
                "active": self.active,
                "targets": np.zeros(0) if self.targets is None else self.targets.copy(),
                "inner": self.inner, "last_fine": self.last_fine, "plain": self.plain,
                "inherited": self.inherited,
                "origin": {} if self.origin is None else {
                    "x": self.origin[0].copy(), "r": self.origin[1].copy(),
                    "ddelta": self.origin[2]}}

    def set_state(self, state):
        """Restore :meth:`get_state`."""
        self.coarser = state["coarser"]
        defect = np.asarray(state["defect"], dtype=float)
        self.defect = defect if defect.size else None
        self.active = bool(state["active"])
        targets = np.asarray(state["targets"], dtype=float)
        self.targets = targets if targets.size else None
        self.inner = int(state["inner"])
        self.last_fine = None if state["last_fine"] is None else float(state["last_fine"])
        self.plain = bool(state["plain"])
        self.inherited = bool(state.get("inherited", False))
        origin = state.get("origin") or {}
        self.origin = (None if not origin else (np.asarray(origin["x"], dtype=float),
                                                np.asarray(origin["r"], dtype=float),
                                                float(origin["ddelta"])))
