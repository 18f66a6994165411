"""largebdg: self-consistent Bogoliubov-de Gennes equations of disordered two-band superconductors.

The most used pieces are re-exported here::

    from largebdg import load_config, run, save_result, load_result

The package is layered (``docs/architecture.md``): model -> operators -> kpm
-> engines -> scf -> observables -> config -> io -> analysis -> workflows ->
plotting -> cli, each importing only from the layers before it.
"""

from ._version import __version__
from .config import RunConfig, apply_overrides, load_config
from .errors import AccuracyWarning, ConvergenceWarning, ParameterError
from .io import Observable, Result, load_result, load_sweep, save_result
from .model import TwoBandModel
from .workflows.run import run
from .workflows.stiffness import attach_stiffness, compute_stiffness
from .workflows.sweep import sweep

__all__ = [
    "__version__",
    "RunConfig",
    "load_config",
    "apply_overrides",
    "run",
    "sweep",
    "Result",
    "Observable",
    "TwoBandModel",
    "save_result",
    "load_result",
    "load_sweep",
    "compute_stiffness",
    "attach_stiffness",
    "ParameterError",
    "ConvergenceWarning",
    "AccuracyWarning",
]
