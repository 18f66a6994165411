r"""The self-consistency loop shared by every engine.

One iteration maps the input mean field :math:`x = (\Delta_{\nu i}, n_{\nu i}, \mu_\nu)`
to its output :math:`G(x)`:

1. per band, ``onsite = V - g n / 2 - mu`` (paper Eqs. 11-12, disorder counted once);
2. the engine returns :math:`F_{\nu i}` and :math:`n_{\nu i}` (Eqs. 13-14);
3. gap equations (9a, 9b): :math:`\Delta_1 = g_1 F_1 + g_{12} F_2`,
   :math:`\Delta_2 = g_2 F_2 + g_{12} F_1`;
4. each band's chemical potential moves towards its filling,
   :math:`\mu \to \mu + (n_\nu - \bar n_\nu)(1/\kappa_\nu + g_\nu / 2)`, a Newton
   step with the compressibility :math:`\kappa_\nu` of the clean band and the
   Hartree feedback.  With ``common_mu`` the bands instead share one
   chemical potential, :math:`\mu_\nu = \mu + \delta_\nu`, whose band
   offsets :math:`\delta_\nu` are those of the clean system at the same
   temperature (:func:`clean_chemical_potentials`), and the single shift
   holds the total filling :math:`n_1 + n_2` (paper Eq. 12): disorder then
   moves electrons between the bands.

A mixer (:mod:`largebdg.mixing`) proposes the next input.  The loop stops
when max|delta Delta| <= ``tol``, max|delta n| <= ``tol_density`` and every
filling error <= ``tol_filling``; otherwise it warns with
:class:`~largebdg.errors.ConvergenceWarning` and returns what it has, with
``converged = False``.
"""

import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from . import _validate as v
from .clean import band_density, mu_for_filling, uniform_solution
from .errors import ConvergenceWarning
from .mixing import MIXERS

__all__ = ["SCFState", "SCFOutcome", "clean_chemical_potentials", "initial_state", "solve"]


@dataclass
class SCFState:
    """A mean field: gaps and densities of shape (2, N), chemical potentials (2,)."""

    delta: np.ndarray
    density: np.ndarray
    mu: np.ndarray

    def pack(self, mu_weight):
        """Flatten to the mixer's vector (mu scaled by ``mu_weight``)."""
        return np.concatenate([self.delta.ravel(), self.density.ravel(), self.mu * mu_weight])

    @classmethod
    def unpack(cls, x, N, mu_weight):
        """Inverse of :meth:`pack`."""
        return cls(
            delta=x[: 2 * N].reshape(2, N).copy(),
            density=x[2 * N: 4 * N].reshape(2, N).copy(),
            mu=x[4 * N:] / mu_weight,
        )


@dataclass
class SCFOutcome:
    """What :func:`solve` returns.

    ``state`` holds the output of the last map evaluation (gaps from the gap
    equations, densities from the engine) and the chemical potentials that
    produced it; ``averages`` the engine's last :class:`LocalAverages` per band.
    """

    state: SCFState
    averages: tuple
    converged: bool
    iterations: int
    history: dict = field(default_factory=dict)


def _compressibility(T, t, mu_tilde):
    """dn/dmu of the clean normal band, the Newton slope of the mu update."""
    Teff = max(T, 0.02)
    h = 1e-3
    return (band_density(Teff, mu_tilde + h, t=t) - band_density(Teff, mu_tilde - h, t=t)) / (2 * h)


def clean_chemical_potentials(model, T):
    """Chemical potentials mu_nu of the clean model (V = 0) on the same lattice at ``T``.

    They hold the configured band fillings in the clean limit; their
    difference is the band offset kept fixed in the ``common_mu`` mode.
    """
    clean = uniform_solution(T, t=model.t, g=model.g, g12=model.g12, filling=model.filling,
                             L=model.L)
    return np.array(clean.mu, dtype=float)


def initial_state(model, T):
    """Uniform start: the clean T -> 0 gaps, target fillings, mu shifted by the mean potential.

    The clean gaps at low temperature are used even above the clean T_c so
    that a disordered system, whose condensate survives to higher T, does not
    start on the trivial Delta = 0 fixed point.  In the ``common_mu`` mode
    :func:`solve` projects these chemical potentials onto the clean-limit band
    offsets (:func:`clean_chemical_potentials`) before the first iteration.
    """
    clean = uniform_solution(
        0.01, t=model.t, g=model.g, g12=model.g12,
        filling=model.filling,
    )
    N = model.n_sites
    Vmean = model.potential.reshape(2, -1).mean(axis=1)
    mu = np.array([
        mu_for_filling(max(T, 0.01), model.filling[b], t=model.t[b])
        - model.g[b] * model.filling[b] / 2 + Vmean[b]
        for b in range(2)
    ])
    return SCFState(
        delta=np.repeat(clean.delta[:, None], N, axis=1),
        density=np.repeat(np.asarray(model.filling, float)[:, None], N, axis=1),
        mu=mu,
    )


def solve(model, engine, T, *, tol=1e-5, tol_density=1e-4, tol_filling=1e-5, max_iter=300,
          mixing="anderson", mixing_beta=0.5, history=8, initial=None, accuracy_schedule=None,
          callback=None):
    """Iterate the mean-field map of ``model`` to self-consistency.

    Parameters
    ----------
    model : TwoBandModel
    engine : object
        Provides ``averages(band, onsite, delta, T, accuracy)``.
    T : float
        Temperature (units of t, k_B = 1), >= 0.
    tol, tol_density, tol_filling : float
        Stopping thresholds on max|delta Delta|, max|delta n| and the filling errors.
    max_iter : int
        Iteration limit.
    mixing : {"anderson", "linear"}
    mixing_beta : float
        Linear weight of the mixer.
    history : int
        Anderson history length.
    initial : SCFState, optional
        Warm start (e.g. the neighbouring temperature of a sweep).
    accuracy_schedule : callable, optional
        ``accuracy_schedule(residual, current) -> accuracy`` passed to the engine,
        so that approximate engines run cheap settings while far from
        convergence; ``current`` is ``None`` at the start.  The mixer history
        restarts whenever the accuracy changes.
    callback : callable, optional
        Called after every iteration as ``callback(iteration, record)`` with the
        history record (a dict).

    Returns
    -------
    SCFOutcome
    """
    T = v.real("T", T, 0.0)
    v.positive_int("max_iter", max_iter)
    N = model.n_sites
    g1, g2 = model.g
    state = initial if initial is not None else initial_state(model, T)
    fill = np.asarray(model.filling, dtype=float)
    mu_clean = [mu_for_filling(max(T, 0.01), fill[b], t=model.t[b]) for b in range(2)]
    kappa = np.array([_compressibility(T, model.t[b], mu_clean[b]) for b in range(2)])
    newton = 1.0 / kappa + np.asarray(model.g) / 2
    mu_weight = np.sqrt(N)
    mu_offset = clean_chemical_potentials(model, T) if model.common_mu else None
    mixer = MIXERS[mixing](beta=mixing_beta, history=history)
    x = state.pack(mu_weight)
    keys = ("max_ddelta", "max_ddensity", "filling_error", "mean_abs_delta", "mu", "accuracy",
            "seconds")
    hist = {k: [] for k in keys}
    accuracy = accuracy_schedule(np.inf, None) if accuracy_schedule else None
    converged = False
    for it in range(1, max_iter + 1):
        t0 = time.perf_counter()
        s = SCFState.unpack(x, N, mu_weight)
        if model.common_mu:
            s.mu = mu_offset + (s.mu - mu_offset).mean()
        pot = model.potential.reshape(2, N)
        avg = tuple(
            engine.averages(b, pot[b] - model.g[b] * s.density[b] / 2 - s.mu[b], s.delta[b], T,
                            accuracy=accuracy)
            for b in range(2)
        )
        F = np.array([a.F for a in avg])
        n_out = np.array([a.n for a in avg])
        delta_out = np.array([g1 * F[0] + model.g12 * F[1], g2 * F[1] + model.g12 * F[0]])
        nbar = n_out.mean(axis=1)
        if model.common_mu:
            shift = (fill.sum() - nbar.sum()) / (1.0 / newton).sum()
            mu_out = s.mu + shift
        else:
            mu_out = s.mu + (fill - nbar) * newton
        out = SCFState(delta_out, n_out, mu_out)
        r = out.pack(mu_weight) - x
        ddelta = np.abs(delta_out - s.delta).max(axis=1)
        ddens = np.abs(n_out - s.density).max(axis=1)
        ferr = (np.abs(fill.sum() - nbar.sum()) * np.ones(2)) if model.common_mu else np.abs(
            fill - nbar)
        rec = {
            "max_ddelta": ddelta, "max_ddensity": ddens, "filling_error": ferr,
            "mean_abs_delta": np.abs(delta_out).mean(axis=1), "mu": s.mu.copy(),
            "accuracy": np.nan if accuracy is None else accuracy,
            "seconds": time.perf_counter() - t0,
        }
        for k in keys:
            hist[k].append(rec[k])
        if callback is not None:
            callback(it, rec)
        final_accuracy = accuracy_schedule is None or accuracy == accuracy_schedule(0.0, accuracy)
        if (ddelta.max() <= tol and ddens.max() <= tol_density and ferr.max() <= tol_filling
                and final_accuracy):
            converged = True
            break
        if accuracy_schedule is not None:
            new_accuracy = accuracy_schedule(ddelta.max(), accuracy)
            if new_accuracy != accuracy:
                accuracy = new_accuracy
                mixer.reset()
        x = mixer.step(x, r)
    if not converged:
        warnings.warn(
            f"self-consistency did not converge in {max_iter} iterations "
            f"(max|dDelta| = {ddelta.max():.2e}, tol = {tol:.1e}); returning the last iterate",
            ConvergenceWarning, stacklevel=2,
        )
    history_arrays = {k: np.array(hist[k], dtype=float) for k in keys}
    return SCFOutcome(state=SCFState(delta_out, n_out, s.mu.copy()), averages=avg,
                      converged=converged, iterations=it, history=history_arrays)
