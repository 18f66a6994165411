r"""Chebyshev coefficients of the matrix functions the solver needs.

A function :math:`f(E)` on :math:`[-a, a]` is expanded as
:math:`f(a x) \approx \sum_{m<M} g_m c_m T_m(x)` with the coefficients
:math:`c_m` computed by a discrete cosine transform on Chebyshev nodes
(exact for polynomials of degree < M, spectrally accurate otherwise) and
optional kernel factors :math:`g_m` (:mod:`largebdg.kpm.kernels`) that damp
Gibbs oscillations of discontinuous or spectral-density outputs.

The thermal factor :math:`\tanh(E/2T)` is analytic in a strip of half-width
:math:`\pi T` around the real axis, so its coefficients decay like
:math:`\rho^{-m}` with :math:`\rho \approx 1 + \pi T / a`; :func:`moments_for_tolerance`
picks the smallest M whose neglected tail is below the requested tolerance.
No kernel is applied to it by default: damping would add an O(1/M)
broadening error to an expansion that already converges geometrically.

A band whose BdG spectrum has a certified gap, no eigenvalue in :math:`(-g, g)`
(:func:`largebdg.operators.window.band_gap`), needs tanh only on
:math:`g \le |E| \le a`.  There the odd function is written as
:math:`\tanh(E/2T) = E\, h(E^2)` with :math:`h(s) = \tanh(\sqrt{s}/2T)/\sqrt{s}`,
analytic in s except at the Matsubara poles :math:`s = -\omega_n^2`,
:math:`\omega_n = (2n+1)\pi T`; h is expanded in Chebyshev polynomials on
:math:`[g^2, a^2]`, and the odd polynomial :math:`E\,q(E^2)` of degree M - 1 is
rewritten as an ordinary series in :math:`T_m(E/a)`, so that every consumer runs the same
recursion.  The nearest pole then lies :math:`g^2 + \omega_0^2` below the interval, and
the number of moments shrinks by about :math:`\sqrt{1 + g^2/\omega_0^2}` (band 1 of the
paper's case at 128², T = 0.025: 868 -> 220, docs/chebyshev.md).  The truncation error on
the gapped spectrum is bounded by the sum of the Chebyshev coefficients of the error
on [g, a], or by :math:`a \sum_{k \ge M/2} |q_k|` if smaller (:func:`truncation_bound`);
inside the gap the polynomial is not controlled, which is why the gap must be certified.
"""

import functools

import numpy as np
import scipy.fft

from .. import _validate as v

__all__ = [
    "TOLERANCE_RANGE",
    "check_tolerance",
    "chebyshev_coefficients",
    "tanh_coefficients",
    "moments_for_tolerance",
    "truncation_bound",
]

TOLERANCE_RANGE = (1e-12, 0.1)
"""Allowed absolute truncation tolerances of a Chebyshev expansion (Chebyshev engine, stochastic
stiffness): below 1e-12 the tail sum is lost in double-precision rounding and the number of
moments explodes; above 0.1 the expansion of tanh(E/2T), which lies in [-1, 1], is meaningless."""


def check_tolerance(name, value):
    """Return ``value`` as ``float`` if it lies in :data:`TOLERANCE_RANGE`."""
    return v.real(name, value, *TOLERANCE_RANGE)


def chebyshev_coefficients(func, num_moments):
    """Coefficients c_m, m < M, of ``func`` on [-1, 1] (DCT-II on Chebyshev nodes).

    Parameters
    ----------
    func : callable
        Vectorised function of x in [-1, 1].
    num_moments : int
        M, the number of coefficients.
    """
    M = v.positive_int("num_moments", num_moments)
    k = np.arange(M)
    x = np.cos(np.pi * (k + 0.5) / M)
    c = scipy.fft.dct(func(x), type=2) / M
    c[0] /= 2
    return c


def _gap(gap, scale):
    """``gap`` as a float in [0, scale)."""
    return v.real("gap", gap, 0.0, scale, high_open=True)


def _gapped_terms(T, scale, gap, num_terms):
    """Coefficients q_k, k < K, of h(s) = tanh(sqrt(s)/2T)/sqrt(s) on s in [gap², scale²]."""
    lo, hi = gap * gap, scale * scale

    def h(y):
        r = np.sqrt((hi - lo) / 2 * y + (hi + lo) / 2)
        return np.tanh(r / (2 * T)) / r

    return chebyshev_coefficients(h, num_terms)


def tanh_coefficients(T, scale, num_moments, gap=0.0):
    r"""Coefficients of tanh(E / 2T) with E = scale * x.

    With ``gap`` > 0 the series is accurate only for :math:`gap \le |E| \le scale`
    (the module docstring): the odd polynomial :math:`E\,q(E^2)` with M/2 terms of q,
    whose even coefficients vanish.
    """
    T = v.real("T", T, 0.0, low_open=True)
    M = v.positive_int("num_moments", num_moments)
    gap = _gap(gap, scale)
    if not gap or M < 2:
        return chebyshev_coefficients(lambda x: np.tanh(scale * x / (2 * T)), M)
    q = _gapped_terms(T, scale, gap, M // 2)
    lo, hi = gap * gap, scale * scale

    def odd(x):
        E = scale * x
        return E * np.polynomial.chebyshev.chebval((2 * E * E - hi - lo) / (hi - lo), q)

    c = np.zeros(M)
    c[:M - M % 2] = chebyshev_coefficients(odd, M - M % 2)  # exact: degree M - 1 < M nodes
    c[::2] = 0.0  # an odd polynomial: the even ones are rounding
    return c


def _terms(T, scale, num_terms, gap):
    """|coefficients| whose tail bounds the truncation error, and the factor it is scaled by.

    Plain: those of tanh itself (factor 1).  Gapped: those of q, whose tail times the largest
    |E| on the spectrum, ``scale``, bounds that of E q(E²).
    """
    if not gap:
        return np.abs(tanh_coefficients(T, scale, num_terms)), 1.0
    return np.abs(_gapped_terms(T, scale, gap, num_terms)), scale


@functools.lru_cache(maxsize=1024)
def _gapped_error(T, scale, gap, num_moments):
    """sum_j |r_j| of the error r(E) = tanh(E/2T) - p(E) of the gapped series p, expanded in
    Chebyshev polynomials on [gap, scale]: a uniform bound of |r| there (and on
    [-scale, -gap], r being odd).  The nodes are doubled until the last quarter of the r_j
    adds less than 1e-3 of the sum (the DCT's aliasing then negligible)."""
    c = tanh_coefficients(T, scale, num_moments, gap)
    n = 4 * num_moments + 256
    while True:
        z = np.cos(np.pi * (np.arange(n) + 0.5) / n)
        E = (scale - gap) / 2 * z + (scale + gap) / 2
        r = scipy.fft.dct(np.tanh(E / (2 * T)) - np.polynomial.chebyshev.chebval(E / scale, c),
                          type=2) / n
        r[0] /= 2
        total = float(np.abs(r).sum())
        if np.abs(r[3 * n // 4:]).sum() <= 1e-3 * total or n > 1 << 20:
            return total
        n *= 2


@functools.lru_cache(maxsize=1024)
def moments_for_tolerance(T, scale, tolerance, maximum=200_000, gap=0.0):
    """Smallest M whose truncation bound (:func:`truncation_bound`) is below ``tolerance``.

    Plain (``gap`` 0): the tail sum_{m >= M} |c_m|, a uniform bound on [-scale, scale], so
    every matrix element of the expanded function is accurate to ``tolerance``.  With a
    certified spectral ``gap``: M = 2 x (terms of q), the fewest for which the bound on the
    gapped spectrum is met (bisection below the count that ``scale`` times the tail of q
    gives).
    """
    T = v.real("T", T, 0.0, low_open=True)
    tolerance = v.real("tolerance", tolerance, 0.0, low_open=True)
    gap = _gap(gap, scale)
    # geometric decay rho^-m with log(rho) ~ pi T / scale (plain) or 2 sqrt(g² + (pi T)²) / scale
    # per term of q (gapped): start from twice that estimate
    rate, factor, terms = ((np.pi * T / scale, 1.0, maximum) if not gap else
                           (2 * np.hypot(gap, np.pi * T) / scale, scale, maximum // 2))
    guess = int(2 * np.log(10 * factor / tolerance) / rate) + 64
    K = min(max(guess, 128), terms)
    while True:
        c, factor = _terms(T, scale, K, gap)
        tail = factor * np.cumsum(c[::-1])[::-1]  # tail[k] = factor * sum_{j >= k} |c_j|
        ok = np.nonzero(tail <= tolerance)[0]
        if ok.size and ok[0] < K // 2:  # the DCT's own aliasing error is negligible there
            break
        if K >= terms:
            return maximum
        K = min(2 * K, terms)
    if not gap:
        return int(max(ok[0], 2))
    lo, hi = 0, int(max(ok[0], 1))  # terms of q: hi meets the tolerance
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _gapped_error(T, scale, gap, 2 * mid) <= tolerance else (mid, hi)
    return 2 * hi


def truncation_bound(T, scale, num_moments, gap=0.0):
    """A uniform bound of the truncation error of tanh(E/2T) with M moments.

    It bounds the error of every matrix element of the expanded tanh(H/2T) for
    a spectrum inside the window (and outside ``(-gap, gap)``): the counterpart of
    :func:`moments_for_tolerance` for a given M, e.g. one set by hand.  Plain: the neglected
    tail of the series.  Gapped: the smaller of ``scale`` times the tail of the series of q
    and the sum of the Chebyshev coefficients of the error on [gap, scale].
    """
    M = v.positive_int("num_moments", num_moments)
    gap = _gap(gap, scale)
    K = M if not gap else M // 2
    c, factor = _terms(T, scale, 2 * K + 64, gap)  # 2K + 64 keeps the DCT aliasing negligible
    tail = float(factor * c[K:].sum())
    return tail if not gap else min(tail, _gapped_error(T, scale, gap, 2 * K))
