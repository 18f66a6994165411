"""Exception and warning classes of largebdg.

Every invalid user input raises :class:`ParameterError` (a ``ValueError``)
whose message names the parameter and the allowed values, so that the CLI can
print it as a one-line message.
"""

__all__ = ["ParameterError", "ConvergenceWarning", "AccuracyWarning", "RecoveryWarning"]


class ParameterError(ValueError):
    """An input parameter is outside its allowed range or of the wrong form."""


class ConvergenceWarning(UserWarning):
    """A self-consistent solve stopped before meeting its tolerances."""


class AccuracyWarning(UserWarning):
    """A numerical approximation may not meet the requested accuracy."""


class RecoveryWarning(UserWarning):
    """A run repaired what an earlier fault left behind (a regenerated summary, removed
    temporary files, a recomputed damaged point), or resumed from a checkpoint."""
