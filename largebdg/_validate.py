"""Small validators shared by the public entry points.

Each raises :class:`largebdg.errors.ParameterError` naming the parameter and
the allowed range, so that bad input never surfaces as a traceback from deep
inside NumPy.
"""

import math
import numbers

import numpy as np

from .errors import ParameterError


def positive_int(name, value, minimum=1):
    """Return ``value`` as ``int`` if it is an integer ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ParameterError(f"'{name}' must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ParameterError(f"'{name}' must be an integer >= {minimum}, got {value!r}")
    return int(value)


def real(name, value, low=-math.inf, high=math.inf, low_open=False, high_open=False):
    """Return ``value`` as ``float`` if it is a finite real number in the given interval."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"'{name}' must be a real number, got {value!r}")
    value = float(value)
    lo_ok = value > low if low_open else value >= low
    hi_ok = value < high if high_open else value <= high
    if not math.isfinite(value) or not (lo_ok and hi_ok):
        lb = "(" if low_open else "["
        rb = ")" if high_open else "]"
        raise ParameterError(f"'{name}' must lie in {lb}{low}, {high}{rb}, got {value!r}")
    return value


def choice(name, value, allowed):
    """Return ``value`` if it is one of ``allowed``."""
    if value not in allowed:
        raise ParameterError(
            f"'{name}' must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}"
        )
    return value


def pair(name, value, low=-math.inf, high=math.inf, low_open=False, high_open=False):
    """Return a per-band pair (band 1, band 2) as a tuple of floats; a number applies to both."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = (value, value)
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__") or len(value) != 2:
        raise ParameterError(
            f"'{name}' must be a number or a list of two numbers (band 1, band 2), got {value!r}"
        )
    return tuple(real(f"{name}[{k}]", x, low, high, low_open=low_open, high_open=high_open)
                 for k, x in enumerate(value))


def positive_array(name, value):
    """Return ``value`` as a float array of finite positive numbers (e.g. temperatures)."""
    arr = np.asarray(value, dtype=float)
    if np.any(~np.isfinite(arr)) or np.any(arr <= 0):
        raise ParameterError(f"'{name}' must be positive finite numbers")
    return arr
