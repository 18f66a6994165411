r"""Critical temperatures from temperature sweeps (the clean reference is in :mod:`.reference`).

Two estimates of the temperature where an order parameter :math:`y(T)` vanishes
are offered, both on a grid :math:`T_1 < T_2 < \dots` of solved points:

``"extrapolate"`` (default)
    Mean-field order parameters vanish as a power of :math:`T_c - T`: the gaps
    as :math:`\bar\Delta \propto (T_c - T)^{1/2}` (so :math:`\bar\Delta^2` is
    linear) and the superfluid stiffness as :math:`D_s \propto T_c - T`.  A
    straight line is fitted by least squares to :math:`y^p` (``p = 2`` for
    gaps, 1 for the stiffness) at the last ``npoints`` temperatures where
    :math:`y` exceeds the threshold, and :math:`T_c` is its zero.  If a point
    below the threshold exists, :math:`T_c` is clipped to the interval between
    the last point above and the first point below.  This uses only points
    that are well inside the ordered phase, where the self-consistency has
    converged to the physical branch, and it does not need a point close to
    :math:`T_c` (where convergence slows down critically).
``"crossing"``
    Linear interpolation of :math:`y(T)` between the last point above the
    threshold and the next point, which must lie below it.  With a tiny
    threshold this is essentially the first point where the order parameter has
    vanished, an upper bound accurate to one grid step.

The threshold is ``threshold * max(y)`` (relative, the default, with the maximum
taken over the sweep, i.e. its low-temperature value) or ``threshold`` itself
with ``relative=False``, but never below an absolute ``floor``.  For the gaps
the defaults (1e-2 relative, floor 1e-3) sit well above the residual gap that the
self-consistency leaves above :math:`T_c`: there the gap decays towards zero and
the iteration stops once it changes by less than ``solver.tol`` per step, at
1e-5 to a few 1e-4 for ``tol = 1e-4`` (measured at L = 8 and 32).  The
stiffness uses 1e-3 relative (see :func:`stiffness_critical_temperature`).

If the order parameter never drops below the threshold in the sweep, the
``"crossing"`` estimate is NaN and ``"extrapolate"`` returns the fitted zero
unclipped, or NaN if that zero lies more than two grid steps beyond the sweep
(a curve levelling off, e.g. the noise floor of a stochastic stiffness); a
:class:`~largebdg.errors.AccuracyWarning` says to extend the sweep in every case.
"""

import math
import warnings

import numpy as np

from .. import _validate as v
from ..errors import AccuracyWarning, ParameterError

__all__ = [
    "ESTIMATES",
    "vanishing_temperature",
    "gap_critical_temperature",
    "stiffness_critical_temperature",
]

ESTIMATES = ("extrapolate", "crossing")
"""Estimates of the vanishing temperature, the ``method`` argument (see the module docstring)."""


def _curve(T, y, name):
    """Sorted finite (T, y) of a sweep; NaN points (e.g. a missing stiffness) are dropped."""
    T = np.asarray(T, dtype=float)
    y = np.asarray(y, dtype=float)
    if T.ndim != 1 or y.shape != T.shape:
        raise ParameterError(
            f"'T' and '{name}' must be 1-D arrays of the same length, got shapes "
            f"{T.shape} and {y.shape}"
        )
    keep = np.isfinite(T) & np.isfinite(y)
    T, y = T[keep], y[keep]
    if T.size < 2:
        raise ParameterError(f"'{name}' needs at least two finite points, got {T.size}")
    order = np.argsort(T, kind="stable")
    T, y = T[order], y[order]
    if np.any(np.diff(T) == 0):
        raise ParameterError("'T' must not repeat a temperature")
    return T, y


def vanishing_temperature(T, y, *, power=2, threshold=1e-2, relative=True, floor=0.0,
                          method="extrapolate", npoints=2, name="y"):
    r"""Temperature where a non-negative order parameter ``y(T)`` vanishes.

    Parameters
    ----------
    T : array_like, shape (n,)
        Temperatures of the sweep (any order).
    y : array_like, shape (n,)
        Order parameter at `T`; NaN entries are ignored.
    power : float, optional
        Exponent :math:`p` with :math:`y^p \propto T_c - T` near :math:`T_c`
        (2 for a mean-field gap, 1 for the stiffness).
    threshold : float, optional
        Level below which ``y`` counts as zero, relative to ``max(y)`` unless
        ``relative=False``.
    relative : bool, optional
        Whether `threshold` is relative to ``max(y)``.
    floor : float, optional
        Absolute lower bound of the threshold, so that a curve that is zero
        within numerical noise everywhere has no :math:`T_c` (NaN).
    method : {"extrapolate", "crossing"}, optional
        See the module docstring.
    npoints : int, optional
        Number of points above the threshold used by ``"extrapolate"`` (>= 2).
    name : str, optional
        Name of `y` in error messages.

    Returns
    -------
    float
        :math:`T_c`; NaN if ``y`` never exceeds the threshold, (for
        ``"crossing"``) never falls below it, or (for ``"extrapolate"``) if fewer
        than two consecutive points lie above it next to :math:`T_c`, if
        :math:`y^p` does not decrease there, or if no point lies below the
        threshold and the extrapolation lands more than two grid steps beyond
        the last temperature; these cases warn with
        :class:`~largebdg.errors.AccuracyWarning`.

    Raises
    ------
    ParameterError
        On malformed input.
    """
    v.choice("method", method, ESTIMATES)
    v.real("power", power, 0.0, low_open=True)
    v.real("threshold", threshold, 0.0, low_open=True)
    v.real("floor", floor, 0.0)
    v.positive_int("npoints", npoints, minimum=2)
    T, y = _curve(T, y, name)
    if np.any(y < 0):
        raise ParameterError(f"'{name}' must be non-negative (an absolute value), got {y.min()}")
    level = max(threshold * y.max() if relative else threshold, floor)
    above = np.nonzero(y > level)[0]
    if above.size == 0:
        return math.nan
    last = above[-1]
    below = last + 1 if last + 1 < T.size else None
    if below is None:
        warnings.warn(
            f"'{name}' is still above the threshold at the highest temperature T = {T[-1]:g}; "
            "extend the sweep to higher T for a reliable critical temperature",
            AccuracyWarning, stacklevel=3,
        )
    if method == "crossing":
        if below is None:
            return math.nan
        t0, t1, y0, y1 = T[last], T[below], y[last], y[below]
        return float(t0 + (y0 - level) * (t1 - t0) / (y0 - y1))
    # extrapolate: the last npoints consecutive points above the level, up to `last`
    run = [last]
    while len(run) < npoints and run[-1] - 1 >= 0 and y[run[-1] - 1] > level:
        run.append(run[-1] - 1)
    if len(run) < 2:
        warnings.warn(
            f"'{name}': only one point (T = {T[last]:g}) lies above the threshold next to T_c; "
            "the 'extrapolate' estimate needs two: refine the grid below T_c (or use "
            "method='crossing')", AccuracyWarning, stacklevel=3,
        )
        return math.nan
    idx = np.array(run[::-1])
    slope, intercept = np.polyfit(T[idx], y[idx] ** power, 1)
    if slope >= 0:
        warnings.warn(
            f"'{name}'^{power:g} does not decrease towards T_c at T = {T[idx[0]]:g}.."
            f"{T[idx[-1]]:g}: the points are not in the critical regime (refine the grid near "
            "T_c)", AccuracyWarning, stacklevel=3,
        )
        return math.nan
    tc = -intercept / slope
    if below is not None:
        return float(min(max(tc, T[last]), T[below]))
    spacing = (T[last] - T[idx[0]]) / (idx.size - 1)  # mean grid step of the fitted points
    if tc > T[last] + 2 * spacing:
        warnings.warn(
            f"'{name}': the extrapolated T_c = {tc:.4g} lies more than two grid steps beyond the "
            f"sweep (last T = {T[last]:g}) and no point is below the threshold: not determined",
            AccuracyWarning, stacklevel=3,
        )
        return math.nan
    return float(tc)


def gap_critical_temperature(T, mean_gap, *, threshold=1e-2, relative=True, floor=1e-3,
                             method="extrapolate", npoints=2):
    r"""Critical temperature :math:`T_c^\Delta` where a sample-averaged gap vanishes.

    Parameters
    ----------
    T : array_like, shape (n,)
        Temperatures of a sweep.
    mean_gap : array_like, shape (n,)
        :math:`\bar\Delta_\nu(T)` of paper Eq. (5), e.g. a column of
        :attr:`largebdg.io.sweeps.SweepData.mean_abs_gap`.
    threshold, relative, floor, method, npoints
        See :func:`vanishing_temperature`; ``"extrapolate"`` fits
        :math:`\bar\Delta^2 \propto T_c - T`.  The default ``floor`` of 1e-3
        (ten times the ``solver.tol`` of the paper configurations) treats a
        mean gap below it as zero whatever the rest of the curve.

    Returns
    -------
    float
        :math:`T_c^\Delta`.

    Notes
    -----
    With inter-band coupling both gaps vanish at the same temperature, so
    either band may be used; band 1 (the larger gap) is the better conditioned.

    Examples
    --------
    >>> import numpy as np
    >>> T = np.array([0.05, 0.1, 0.15, 0.18, 0.22])
    >>> gap = 0.3 * np.sqrt(np.clip(1 - T / 0.2, 0, None))
    >>> round(gap_critical_temperature(T, gap), 10)
    0.2
    """
    return vanishing_temperature(T, mean_gap, power=2, threshold=threshold, relative=relative,
                                 floor=floor, method=method, npoints=npoints, name="mean_gap")


def stiffness_critical_temperature(T, Ds, *, baseline=None, stderr=None, nsigma=2.0,
                                   threshold=1e-3, relative=True, method="extrapolate",
                                   npoints=2):
    r"""Critical temperature where the superfluid stiffness :math:`D_s(T)` vanishes.

    Parameters
    ----------
    T : array_like, shape (n,)
        Temperatures of a sweep.
    Ds : array_like, shape (n,)
        Stiffness of one band (e.g. a column of
        :attr:`largebdg.io.sweeps.SweepData.stiffness`); NaN entries are ignored.
    baseline : array_like, shape (n,), optional
        Normal-state value subtracted from `Ds` first.  On a finite lattice the
        normal state keeps a Drude remainder (docs/model.md, Conventions: 0.020 at
        L = 32, T = 0.1 for a clean band), which would otherwise look like a
        stiffness surviving above :math:`T_c`.
    stderr : array_like, shape (n,), optional
        Standard errors of a stochastic estimate (``stiffness_stderr`` of the
        result files); a point within ``nsigma * stderr`` of zero counts as
        zero, so that statistical noise above :math:`T_c` is not read as a
        surviving stiffness.
    nsigma : float, optional
        Significance required of a non-zero stiffness, in standard errors.
    threshold, relative, method, npoints
        See :func:`vanishing_temperature`; ``"extrapolate"`` fits
        :math:`D_s \propto T_c - T`.  Negative values (after subtracting the
        baseline) are set to zero.  The default threshold is lower than for
        the gap: the stiffness, roughly quadratic in the gap, falls to 1e-2 of
        its low-temperature value well before :math:`T_c` in disordered samples.

    Returns
    -------
    float
        :math:`T_c` of the stiffness.
    """
    Ds = np.asarray(Ds, dtype=float)
    if baseline is not None:
        baseline = np.asarray(baseline, dtype=float)
        if baseline.shape != Ds.shape:
            raise ParameterError(
                f"'baseline' must have the shape of 'Ds' {Ds.shape}, got {baseline.shape}"
            )
        Ds = Ds - baseline
    Ds = np.clip(Ds, 0.0, None)
    if stderr is not None:
        stderr = np.asarray(stderr, dtype=float)
        if stderr.shape != Ds.shape:
            raise ParameterError(
                f"'stderr' must have the shape of 'Ds' {Ds.shape}, got {stderr.shape}"
            )
        v.real("nsigma", nsigma, 0.0)
        significant = np.isnan(Ds) | (Ds > nsigma * np.nan_to_num(stderr))  # NaN: no estimate
        Ds = np.where(significant, Ds, 0.0)
    return vanishing_temperature(T, Ds, power=1, threshold=threshold,
                                 relative=relative, method=method, npoints=npoints, name="Ds")
