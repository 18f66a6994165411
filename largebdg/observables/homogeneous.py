r"""The homogeneous part :math:`\Delta_2^{(0)}` of the weak-band gap (paper Eqs. 6, 7, 24-26).

The paper finds that the weak-band gap splits as

.. math::

    \Delta_{2i} \simeq \Delta_2^{(0)} + \gamma\,\Delta_{1i} \qquad (6)

into a homogeneous part and a part following the strong band, and derives (Methods,
"Homogeneous contribution to the gap") :math:`\gamma = g_{12}/g_1` and

.. math::

    \Delta_2^{(0)} = \frac{g_{12}}{g_1}\,\frac{g_2\alpha}{1 - g_2\alpha}\,\bar\Delta_1,
    \qquad
    \alpha = \frac{1}{N^2}\sum_{\mathbf k}\frac{\tanh(E_{\mathbf k}/2T)}{2E_{\mathbf k}},
    \qquad
    E_{\mathbf k} = \sqrt{\xi_{\mathbf k}^2 + \bigl(\Delta_2^{(0)}
        + \tfrac{g_{12}}{g_1}\bar\Delta_1\bigr)^2}  \qquad (26, 23)

with :math:`\bar\Delta_1` the sample-averaged strong-band gap, Eq. (5).  This module
measures :math:`\Delta_2^{(0)}` in a solution (:func:`homogeneous_gap`,
:func:`gamma_fit`) and evaluates Eq. (26) numerically (:func:`eq26_homogeneous_gap`,
:func:`eq26_estimate`); Eq. (7), the same with :math:`\alpha \simeq c_1\ln(c_2/T)`,
is offered with fitted constants for comparison only (:func:`eq7_fit`).

Definitions of the measured :math:`\Delta_2^{(0)}`
-------------------------------------------------
The paper reads :math:`\Delta_2^{(0)}` off as the minimal value of the weak-band gap,
the lower edge of the lower peak of :math:`P(|\Delta_2|)` (Figs. 1d, e).
:func:`homogeneous_gap` offers

``"percentile"`` (default)
    the ``q``-th percentile of :math:`|\Delta_{2i}|` (``q = 5``): the minimum made
    robust against a few outlying sites;
``"lower_peak"``
    the position of the lower peak of the histogram of :math:`|\Delta_{2i}|`, an
    upper-side estimate (the peak sits above its lower edge by about its width).

:func:`gamma_fit` gives a third estimate, the intercept of the least-squares fit
of Eq. (6).

Accuracy of Eq. (26)
--------------------
Eqs. (15)-(26) replace :math:`g_{12}F_{1i}` by :math:`(g_{12}/g_1)\Delta_{1i}`, i.e.
they drop the back action :math:`-(g_{12}^2/g_1)F_{2i}` of the weak band on the
strong one, and they drop the Hartree potential of band 2 (exact for the clean
band, whose uniform Hartree shift is absorbed in :math:`\tilde\mu_2`).  For the
clean uniform system the exact gap equations give

.. math::

    \Delta_2\bigl[1 - (g_2 - g_{12}^2/g_1)\,\alpha(\Delta_2)\bigr] = \frac{g_{12}}{g_1}\Delta_1,

which is Eq. (26) for the total gap :math:`\Delta_2 = \Delta_2^{(0)} + (g_{12}/g_1)\Delta_1`
with :math:`g_2` replaced by :math:`g_2 - g_{12}^2/g_1` (``tests/test_analysis.py``
checks this identity to 1e-9).  With the paper's :math:`g_2` the estimate is
therefore slightly too large: for the clean model at :math:`L = 32` it
overestimates :math:`\Delta_2` by 5-6 % for :math:`0.02 \le T \le 0.105`.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from .. import _validate as v
from ..errors import ParameterError
from ..model import PAPER_PARAMETERS
from ..model.clean import mu_for_filling, pair_susceptibility

__all__ = [
    "HOMOGENEOUS_METHODS",
    "homogeneous_gap",
    "GammaFit",
    "gamma_fit",
    "Eq26Estimate",
    "eq26_homogeneous_gap",
    "eq26_estimate",
    "Eq7Fit",
    "eq7_fit",
    "GapHistogram",
    "gap_histogram",
]


# --------------------------------------------------------------------------- measured


def _percentile(gap, q, bins):
    return float(np.percentile(gap, q))


def _lower_peak(gap, q, bins, min_height=0.1):
    """Centre of the lowest histogram bin that is a local maximum of >= 10 % of the highest."""
    counts, edges = np.histogram(gap, bins=bins)
    padded = np.concatenate([[-1], counts, [-1]])
    peaks = [k for k in range(bins)
             if padded[k + 1] > padded[k] and padded[k + 1] >= padded[k + 2]
             and counts[k] >= min_height * counts.max()]
    k = peaks[0]
    return float(0.5 * (edges[k] + edges[k + 1]))


HOMOGENEOUS_METHODS = {"percentile": _percentile, "lower_peak": _lower_peak}
"""Definitions of the measured :math:`\\Delta_2^{(0)}`: name -> ``f(|gap|, q, bins)``."""


def homogeneous_gap(delta2, method="percentile", *, q=5.0, bins=50):
    r"""Measured homogeneous part :math:`\Delta_2^{(0)}` of a weak-band gap map.

    Parameters
    ----------
    delta2 : array_like
        Gap :math:`\Delta_{2i}` of the weak band (any shape, e.g. ``result.delta[1]``).
    method : {"percentile", "lower_peak"}, optional
        Definition, see the module docstring.
    q : float, optional
        Percentile in [0, 100] for ``"percentile"`` (``q = 0`` is the minimum).
    bins : int, optional
        Number of histogram bins for ``"lower_peak"``.

    Returns
    -------
    float
        :math:`\Delta_2^{(0)} \ge 0` (of :math:`|\Delta_{2i}|`).

    Examples
    --------
    >>> import numpy as np
    >>> gap = np.concatenate([np.full(90, 0.05), np.linspace(0.06, 0.1, 10)])
    >>> homogeneous_gap(gap)
    0.05
    """
    v.choice("method", method, tuple(HOMOGENEOUS_METHODS))
    q = v.real("q", q, 0.0, 100.0)
    bins = v.positive_int("bins", bins)
    gap = np.abs(np.asarray(delta2, dtype=float)).ravel()
    if gap.size == 0 or not np.all(np.isfinite(gap)):
        raise ParameterError("'delta2' must be a non-empty array of finite numbers")
    return HOMOGENEOUS_METHODS[method](gap, q, bins)


@dataclass(frozen=True)
class GammaFit:
    r"""Fit of paper Eq. (6), :math:`\Delta_{2i} \simeq \Delta_2^{(0)} + \gamma\Delta_{1i}`.

    Attributes
    ----------
    delta0 : float
        Intercept :math:`\Delta_2^{(0)}`.
    gamma : float
        Slope :math:`\gamma` (Eq. 24 predicts :math:`g_{12}/g_1`).
    r2 : float
        Coefficient of determination of the fit.
    """

    delta0: float
    gamma: float
    r2: float


def gamma_fit(delta1, delta2):
    r"""Fit :math:`\Delta_{2i} = \Delta_2^{(0)} + \gamma\Delta_{1i}` over all sites (paper Eq. 6).

    Parameters
    ----------
    delta1, delta2 : array_like
        Gap maps of the strong and weak band (same shape, e.g. ``result.delta[0]``
        and ``result.delta[1]``).

    Returns
    -------
    GammaFit

    Raises
    ------
    ParameterError
        If the shapes differ or :math:`\Delta_{1i}` is uniform (no slope to fit).

    Examples
    --------
    >>> import numpy as np
    >>> d1 = np.linspace(0.0, 0.4, 50)
    >>> fit = gamma_fit(d1, 0.03 + 0.125 * d1)
    >>> round(fit.delta0, 12), round(fit.gamma, 12), round(fit.r2, 12)
    (0.03, 0.125, 1.0)
    """
    x = np.asarray(delta1, dtype=float).ravel()
    y = np.asarray(delta2, dtype=float).ravel()
    if np.shape(delta1) != np.shape(delta2) or x.size < 2:
        raise ParameterError(
            f"'delta1' and 'delta2' must have the same shape with at least two sites, got "
            f"{np.shape(delta1)} and {np.shape(delta2)}"
        )
    if np.ptp(x) == 0:
        raise ParameterError("'delta1' is uniform: gamma of Eq. (6) is undefined")
    A = np.column_stack([np.ones_like(x), x])
    (delta0, gamma), *_ = np.linalg.lstsq(A, y, rcond=None)
    residual = y - (delta0 + gamma * x)
    total = np.sum((y - y.mean()) ** 2)
    r2 = 1.0 - np.sum(residual ** 2) / total if total > 0 else 1.0
    return GammaFit(delta0=float(delta0), gamma=float(gamma), r2=float(r2))


# --------------------------------------------------------------------------- Eq. (26)


@dataclass(frozen=True)
class Eq26Estimate:
    r"""Solution of paper Eq. (26).

    Attributes
    ----------
    delta0 : float
        Homogeneous part :math:`\Delta_2^{(0)}`.
    alpha : float
        Pair susceptibility :math:`\alpha` at the self-consistent gap.
    gap : float
        Gap entering :math:`E_{\mathbf k}` (Eq. 23),
        :math:`\Delta_2^{(0)} + (g_{12}/g_1)\bar\Delta_1`.
    mu_tilde : float
        Fermi level :math:`\tilde\mu_2` holding the band's filling at that gap.
    """

    delta0: float
    alpha: float
    gap: float
    mu_tilde: float


def eq26_homogeneous_gap(T, mean_delta1, *, g=PAPER_PARAMETERS["g"], g12=PAPER_PARAMETERS["g12"],
                         t2=PAPER_PARAMETERS["t"][1], filling2=PAPER_PARAMETERS["filling"][1],
                         L=None):
    r"""Solve paper Eq. (26) for :math:`\Delta_2^{(0)}`, self-consistently in Eq. (23).

    With :math:`c = (g_{12}/g_1)\bar\Delta_1` and the gap
    :math:`D = \Delta_2^{(0)} + c` of Eq. (23), Eq. (26) reads
    :math:`D\,[1 - g_2\alpha(D)] = c`, where
    :math:`\alpha(D) =` :func:`~largebdg.model.clean.pair_susceptibility` of the clean
    weak band at :math:`\tilde\mu_2(D)` holding its filling
    (:func:`~largebdg.model.clean.mu_for_filling`).  The left side increases with
    :math:`D` and the root is bracketed by :math:`[c, c + g_2]`
    (:math:`\alpha \le 1/2D`); it is found with Brent's method.

    Parameters
    ----------
    T : float
        Temperature, ``T >= 0``.
    mean_delta1 : float
        Sample-averaged strong-band gap :math:`\bar\Delta_1` (Eq. 5).
    g : pair of float, optional
        :math:`(g_1, g_2)`; ``g1 > 0``.
    g12 : float, optional
        Inter-band coupling.
    t2 : float, optional
        Weak-band hopping.
    filling2 : float, optional
        Weak-band filling :math:`n_2` (both spins).
    L : int or None, optional
        Momentum sum over the :math:`L \times L` lattice; ``None`` for the
        thermodynamic limit.

    Returns
    -------
    Eq26Estimate
        ``delta0 = 0`` when :math:`c = 0`.  A negative :math:`c` (``g12 < 0``)
        gives the mirror solution of :math:`|c|` with negative ``delta0`` and ``gap``.

    Examples
    --------
    >>> est = eq26_homogeneous_gap(0.1, 0.2)
    >>> round(est.delta0, 4), round(est.gap, 4)
    (0.039, 0.064)
    """
    T = v.real("T", T, 0.0)
    mean_delta1 = v.real("mean_delta1", mean_delta1)
    if not isinstance(g, (list, tuple, np.ndarray)) or len(g) != 2:
        raise ParameterError(f"'g' must be a pair (g1, g2), got {g!r}")
    g1 = v.real("g[0]", g[0], 0.0, low_open=True)
    g2 = v.real("g[1]", g[1], 0.0)
    g12 = v.real("g12", g12)
    c = g12 / g1 * mean_delta1
    sign, c = math.copysign(1.0, c), abs(c)
    if c == 0.0 or g2 == 0.0:
        mu = mu_for_filling(T, filling2, t=t2, delta=c, L=L)
        alpha = pair_susceptibility(T, mu, t=t2, delta=c, L=L) if c > 0 else math.nan
        return Eq26Estimate(delta0=0.0, alpha=alpha, gap=sign * c, mu_tilde=mu)

    def band(D):
        mu = mu_for_filling(T, filling2, t=t2, delta=D, L=L)
        return mu, pair_susceptibility(T, mu, t=t2, delta=D, L=L)

    D = optimize.brentq(lambda D: D * (1.0 - g2 * band(D)[1]) - c, c, c + g2,
                        xtol=1e-14, rtol=1e-13)
    mu, alpha = band(D)
    return Eq26Estimate(delta0=sign * (D - c), alpha=alpha, gap=sign * D, mu_tilde=mu)


def eq26_estimate(result, *, thermodynamic=False):
    r"""Eq. (26) estimate of :math:`\Delta_2^{(0)}` for a solved configuration.

    Uses the model's couplings and weak-band hopping, the realised weak-band
    filling, the result's temperature and :math:`\bar\Delta_1` = mean
    :math:`|\Delta_{1i}|` (Eq. 5), see :func:`eq26_homogeneous_gap`.

    Parameters
    ----------
    result : Result
        A self-consistent solution.
    thermodynamic : bool, optional
        Sum over momenta in the thermodynamic limit instead of the result's
        :math:`L \times L` lattice (the default, consistent with the solution).

    Returns
    -------
    Eq26Estimate
    """
    m = result.config.model
    return eq26_homogeneous_gap(result.T, float(result.mean_abs_gap[0]), g=m.g, g12=m.g12,
                                t2=m.t[1], filling2=float(result.filling[1]),
                                L=None if thermodynamic else result.L)


# --------------------------------------------------------------------------- Eq. (7)


@dataclass(frozen=True)
class Eq7Fit:
    r"""Paper Eq. (7) with fitted constants, :math:`\alpha \simeq c_1\ln(c_2/T)` (Eq. 27).

    Attributes
    ----------
    c1, c2 : float
        The fitted constants.
    g1, g2, g12 : float
        Couplings used.
    """

    c1: float
    c2: float
    g1: float
    g2: float
    g12: float

    def delta0(self, T, mean_delta1):
        r""":math:`\Delta_2^{(0)}` of Eq. (7) at temperatures `T` and gaps :math:`\bar\Delta_1`."""
        x = self.g2 * self.c1 * np.log(self.c2 / np.asarray(T, dtype=float))
        return self.g12 / self.g1 * x / (1.0 - x) * np.asarray(mean_delta1, dtype=float)


def eq7_fit(T, delta0, mean_delta1, *, g=PAPER_PARAMETERS["g"], g12=PAPER_PARAMETERS["g12"]):
    r"""Fit the constants :math:`c_1, c_2` of paper Eq. (7) to measured :math:`\Delta_2^{(0)}(T)`.

    Eq. (26) is inverted point by point for
    :math:`g_2\alpha = r/(1 + r)`, :math:`r = g_1\Delta_2^{(0)}/(g_{12}\bar\Delta_1)`,
    and :math:`\alpha = c_1\ln c_2 - c_1\ln T` is fitted by least squares.  This
    is the paper's shortcut; :func:`eq26_homogeneous_gap` does the sum instead,
    with no fitted constant.

    Parameters
    ----------
    T, delta0, mean_delta1 : array_like, shape (n,)
        Temperatures, measured :math:`\Delta_2^{(0)}` and :math:`\bar\Delta_1`;
        points with :math:`\bar\Delta_1 = 0` are ignored.
    g, g12
        As in :func:`eq26_homogeneous_gap`.

    Returns
    -------
    Eq7Fit
    """
    T, d0, d1 = (np.asarray(a, dtype=float).ravel() for a in (T, delta0, mean_delta1))
    if not T.shape == d0.shape == d1.shape:
        raise ParameterError("'T', 'delta0' and 'mean_delta1' must have the same length")
    g1, g2 = (v.real(f"g[{k}]", x, 0.0, low_open=True) for k, x in enumerate(g))
    g12 = v.real("g12", g12)
    keep = (d1 != 0) & (T > 0)
    if np.count_nonzero(keep) < 2:
        raise ParameterError("eq7_fit needs at least two points with T > 0 and mean_delta1 != 0")
    r = g1 * d0[keep] / (g12 * d1[keep])
    alpha = r / (g2 * (1.0 + r))
    slope, intercept = np.polyfit(np.log(T[keep]), alpha, 1)
    c1 = -slope
    return Eq7Fit(c1=float(c1), c2=float(np.exp(intercept / c1)), g1=g1, g2=g2, g12=g12)


# --------------------------------------------------------------------------- histograms


@dataclass(frozen=True)
class GapHistogram:
    r"""Normalised histograms :math:`P(|\Delta_\nu|)` of both bands (paper Fig. 1e).

    Attributes
    ----------
    edges : ndarray, shape (2, bins + 1)
        Bin edges per band (each band spans its own range of :math:`|\Delta|`).
    density : ndarray, shape (2, bins)
        Probability densities (each integrates to 1).
    """

    edges: np.ndarray
    density: np.ndarray

    @property
    def centers(self):
        """Bin centres, shape (2, bins)."""
        return 0.5 * (self.edges[:, 1:] + self.edges[:, :-1])


def gap_histogram(result, bins=50):
    r"""Histograms of :math:`|\Delta_{1i}|` and :math:`|\Delta_{2i}|` of a solution.

    Parameters
    ----------
    result : Result
        The solution (its ``delta`` of shape (2, L, L) is used).
    bins : int, optional
        Number of bins per band.

    Returns
    -------
    GapHistogram
    """
    bins = v.positive_int("bins", bins)
    edges, density = [], []
    for band in range(2):
        d, e = np.histogram(np.abs(result.delta[band]).ravel(), bins=bins, density=True)
        edges.append(e)
        density.append(d)
    return GapHistogram(edges=np.array(edges), density=np.array(density))
