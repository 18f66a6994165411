r"""Thermal factors of the BdG levels: :math:`\tanh(E/2T)` and the Fermi-function ratio.

Both enter through :math:`f(E) = (1 - \tanh(E/2T))/2` (paper Eqs. 13-14 and 33-35).
"""

import numpy as np

__all__ = ["T_MAX", "thermal_factor", "fermi_ratio"]

T_MAX = 100.0
"""Highest temperature accepted by the solver (units of t): 100 t is far above every band
width (8 t) and critical temperature (~0.2 t), so the model is long normal there; much larger
values only overflow the clean-band sums."""


def thermal_factor(E, T):
    """tanh(E / 2T) = 1 - 2 f(E), with the T = 0 limit sign(E)."""
    if T == 0:
        return np.sign(E)
    return np.tanh(E / (2.0 * T))


def fermi_ratio(E, T, E2=None):
    r"""Matrix :math:`R_{nm} = (f(E_n) - f(E'_m))/(E'_m - E_n)`, or :math:`-f'(E_n)` if degenerate.

    ``E2`` (default ``E``) gives the energies :math:`E'` of the columns.
    For T > 0 uses :math:`R = \sinh x / (4T x \cosh a \cosh b)` in logarithms
    (a = E_n/2T, b = E'_m/2T, x = b - a), free of cancellation and overflow and
    continuous at :math:`E_n = E'_m`; at T = 0, :math:`R = 1/|E'_m - E_n|` for
    levels of opposite sign, else 0.
    """
    E2 = E if E2 is None else E2
    if T == 0:
        opposite = (E[:, None] > 0) != (E2[None, :] > 0)
        gap = np.abs(E[:, None] - E2[None, :])
        return np.divide(1.0, gap, out=np.zeros_like(gap), where=opposite)
    a = E / (2.0 * T)
    b = E2 / (2.0 * T)

    def log_cosh(z):
        return np.abs(z) + np.log1p(np.exp(-2.0 * np.abs(z))) - np.log(2.0)

    x = np.abs(b[None, :] - a[:, None])
    log_sinhc = np.empty_like(x)  # log(sinh x / x), accurate for all x >= 0
    big = x >= 1.0
    xb = x[big]
    log_sinhc[big] = xb + np.log(-np.expm1(-2.0 * xb)) - np.log(2.0) - np.log(xb)
    xs = x[~big]
    nonzero = xs > 0
    sinhc = np.ones_like(xs)
    sinhc[nonzero] = np.sinh(xs[nonzero]) / xs[nonzero]
    log_sinhc[~big] = np.log(sinhc)
    return np.exp(log_sinhc - log_cosh(a)[:, None] - log_cosh(b)[None, :]) / (4.0 * T)
