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
"""

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


def tanh_coefficients(T, scale, num_moments):
    """Coefficients of tanh(E / 2T) with E = scale * x."""
    T = v.real("T", T, 0.0, low_open=True)
    return chebyshev_coefficients(lambda x: np.tanh(scale * x / (2 * T)), num_moments)


def moments_for_tolerance(T, scale, tolerance, maximum=200_000):
    """Smallest M whose neglected tail sum_{m >= M} |c_m| of tanh(E/2T) is <= tolerance.

    The tail bounds the uniform truncation error on the spectrum, so every
    matrix element of the expanded function is accurate to ``tolerance``.
    """
    T = v.real("T", T, 0.0, low_open=True)
    tolerance = v.real("tolerance", tolerance, 0.0, low_open=True)
    # geometric decay rho^-m with log(rho) ~ pi T / scale: start from twice that estimate
    guess = int(2 * np.log(10 / tolerance) * scale / (np.pi * T)) + 64
    M = min(max(guess, 128), maximum)
    while True:
        c = np.abs(tanh_coefficients(T, scale, M))
        tail = np.cumsum(c[::-1])[::-1]  # tail[m] = sum_{j >= m} |c_j|
        ok = np.nonzero(tail <= tolerance)[0]
        if ok.size and ok[0] < M // 2:  # the DCT's own aliasing error is negligible there
            return int(max(ok[0], 2))
        if M >= maximum:
            return maximum
        M = min(2 * M, maximum)


def truncation_bound(T, scale, num_moments):
    """Neglected tail sum_{m >= M} |c_m| of tanh(E/2T): a uniform bound of the truncation error.

    It bounds the error of every matrix element of the expanded tanh(H/2T) for
    a spectrum inside the window (the counterpart of :func:`moments_for_tolerance`
    for a given M, e.g. one set by hand).
    """
    M = v.positive_int("num_moments", num_moments)
    c = np.abs(tanh_coefficients(T, scale, 2 * M + 64))  # 2M + 64 keeps the DCT aliasing negligible
    return float(c[M:].sum())
