"""Damping kernels g_m of Chebyshev series: callables ``kernel(num_moments) -> g`` (shape (M,)).

They multiply the moments of a spectral density to suppress Gibbs oscillations
(Weisse et al., Rev. Mod. Phys. 78, 275, section II.C); :data:`KERNELS` is the
registry by name.
"""

import numpy as np

from .. import _validate as v

__all__ = ["jackson_kernel", "lorentz_kernel", "KERNELS"]


def jackson_kernel(num_moments):
    """Jackson damping factors g_m (Weisse et al., Rev. Mod. Phys. 78, 275, Eq. 71)."""
    M = v.positive_int("num_moments", num_moments)
    m = np.arange(M)
    q = np.pi / (M + 1)
    return ((M - m + 1) * np.cos(q * m) + np.sin(q * m) / np.tan(q)) / (M + 1)


def lorentz_kernel(num_moments, lam=4.0):
    """Lorentz damping factors sinh(lam (1 - m/M)) / sinh(lam)."""
    M = v.positive_int("num_moments", num_moments)
    lam = v.real("lam", lam, 0.0, low_open=True)
    m = np.arange(M)
    return np.sinh(lam * (1 - m / M)) / np.sinh(lam)


KERNELS = {
    "none": lambda M: np.ones(M),
    "jackson": jackson_kernel,
    "lorentz": lorentz_kernel,
}
