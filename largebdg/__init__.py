"""largebdg: self-consistent Bogoliubov-de Gennes equations of disordered two-band superconductors.

The most used pieces are re-exported here::

    from largebdg import load_config, run, save_result, load_result

See the documentation in ``docs/`` for the model, the engines and the file formats.
"""

__version__ = "0.1.0"

from .config import RunConfig, apply_overrides, load_config  # noqa: E402
from .errors import AccuracyWarning, ConvergenceWarning, ParameterError  # noqa: E402
from .io import load_result, save_result  # noqa: E402
from .model import TwoBandModel  # noqa: E402
from .results import Result, run  # noqa: E402

__all__ = [
    "__version__",
    "RunConfig",
    "load_config",
    "apply_overrides",
    "run",
    "Result",
    "TwoBandModel",
    "save_result",
    "load_result",
    "ParameterError",
    "ConvergenceWarning",
    "AccuracyWarning",
]
