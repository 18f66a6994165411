"""Fixed-point accelerators for the self-consistency loop.

A mixer proposes the next input ``x_{k+1}`` from the current input ``x_k``
and residual ``r_k = G(x_k) - x_k``.  :class:`AndersonMixer` is Anderson
acceleration (Pulay/DIIS, "type II") with safeguards; plain linear mixing
(:class:`LinearMixer`) is kept because it is the textbook baseline, and it is
known to stall near T_c where the map's leading eigenvalue approaches 1.
"""

import numpy as np

__all__ = ["LinearMixer", "AndersonMixer", "MIXERS"]


class LinearMixer:
    """x_{k+1} = x_k + beta * r_k."""

    def __init__(self, beta=0.5, history=0):
        self.beta = beta

    def reset(self):
        """Forget the history (nothing to forget)."""

    def get_state(self):
        """The mixer's memory (none), for a checkpoint."""
        return {}

    def set_state(self, state):
        """Restore :meth:`get_state` (nothing to restore)."""

    def step(self, x, r):
        """Next input."""
        return x + self.beta * r

    def shift(self, change):
        """The map moved by a constant ``change`` (nothing stored to move)."""


class AndersonMixer:
    r"""Anderson acceleration with restarts.

    With the differences :math:`\Delta X, \Delta R` of the last ``history``
    inputs and residuals, solve :math:`\min_\gamma \|r_k - \Delta R\,\gamma\|`
    (SVD with relative cut-off ``rcond``) and step to
    :math:`x_k + \beta r_k - (\Delta X + \beta \Delta R)\gamma`.

    Safeguards: the history restarts when the residual norm grows above
    ``restart_factor`` times the best one seen since the last restart, and
    the step length is capped at ``max_step_factor`` times the linear step.

    Parameters
    ----------
    beta : float
        Linear mixing weight.
    history : int
        Number of stored differences.
    rcond : float
        Relative singular-value cut-off of the least-squares problem.
    """

    def __init__(self, beta=1.0, history=8, rcond=1e-10, restart_factor=10.0,
                 max_step_factor=1000.0):
        self.beta = beta
        self.history = history
        self.rcond = rcond
        self.restart_factor = restart_factor
        self.max_step_factor = max_step_factor
        self.reset()

    def reset(self):
        """Forget the stored history."""
        self._x = []
        self._r = []
        self._best = np.inf

    def get_state(self):
        """The stored inputs, residuals and best residual norm, for a checkpoint.

        Returns
        -------
        dict
            ``x`` and ``r`` of shape (k, n) (k stored iterations, possibly 0) and ``best``;
            :meth:`set_state` with it continues the identical sequence of steps.
        """
        return {"x": np.array(self._x, dtype=float), "r": np.array(self._r, dtype=float),
                "best": float(self._best)}

    def set_state(self, state):
        """Restore a state returned by :meth:`get_state`."""
        self._x = [np.array(row, dtype=float) for row in state["x"]]
        self._r = [np.array(row, dtype=float) for row in state["r"]]
        self._best = float(state["best"])

    def shift(self, change):
        """The map moved by the constant vector ``change`` (defect correction,
        :mod:`largebdg.scf.correction`): every stored residual moves with it, and their
        differences, the Jacobian information, stay."""
        self._r = [r + change for r in self._r]
        self._best = min((np.linalg.norm(r) for r in self._r), default=np.inf)

    def step(self, x, r):
        """Next input from input ``x`` and residual ``r`` (1-D arrays)."""
        norm = np.linalg.norm(r)
        if norm > self.restart_factor * self._best:
            self.reset()
        self._best = min(self._best, norm)
        self._x.append(x.copy())
        self._r.append(r.copy())
        if len(self._x) > self.history + 1:
            del self._x[0], self._r[0]
        linear = x + self.beta * r
        if len(self._x) < 2:
            return linear
        dX = np.diff(np.array(self._x), axis=0).T
        dR = np.diff(np.array(self._r), axis=0).T
        gamma = np.linalg.lstsq(dR, r, rcond=self.rcond)[0]
        new = linear - (dX + self.beta * dR) @ gamma
        step = np.linalg.norm(new - x)
        cap = self.max_step_factor * self.beta * norm
        if not np.isfinite(step) or step > cap:
            self.reset()
            return linear
        return new


MIXERS = {"anderson": AndersonMixer, "linear": LinearMixer}
