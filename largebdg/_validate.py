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


def _describe_interval(low, high, low_open, high_open):
    """Plain words for an interval: 'a finite number >= 0', 'a number in [0, 1]', ..."""
    lo = "" if low == -math.inf else f"{'>' if low_open else '>='} {low:g}"
    hi = "" if high == math.inf else f"{'<' if high_open else '<='} {high:g}"
    if lo and hi:
        lb, rb = "(" if low_open else "[", ")" if high_open else "]"
        return f"a number in {lb}{low:g}, {high:g}{rb}"
    if lo or hi:
        return f"a finite number {lo or hi}"
    return "a finite real number"


def real(name, value, low=-math.inf, high=math.inf, low_open=False, high_open=False,
         allow_inf=False):
    """Return ``value`` as ``float`` if it is a finite real number in the given interval.

    With ``allow_inf``, ``+inf`` is accepted too (e.g. "never").
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ParameterError(f"'{name}' must be a real number, got {value!r}")
    value = float(value)
    if allow_inf and value == math.inf:
        return value
    lo_ok = value > low if low_open else value >= low
    hi_ok = value < high if high_open else value <= high
    if not math.isfinite(value) or not (lo_ok and hi_ok):
        what = _describe_interval(low, high, low_open, high_open)
        raise ParameterError(f"'{name}' must be {what}{' or inf' if allow_inf else ''}, "
                             f"got {value!r}")
    return value


def seed(name, value):
    """Return a random seed: ``None`` or an integer >= 0 (as ``int``)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ParameterError(f"'{name}' must be an integer >= 0, got {value!r}")
    return int(value)


def flag(name, value):
    """Return ``value`` if it is a bool (a TOML true or false)."""
    if not isinstance(value, bool):
        raise ParameterError(f"'{name}' must be true or false, got {value!r}")
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
