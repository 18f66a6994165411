"""The self-consistency loop shared by every engine: state, mixing, chemical potential, loop."""

from .loop import DEFAULTS, MeanFieldMap, SCFOutcome, solve
from .mixing import MIXERS, AndersonMixer, LinearMixer
from .state import SCFState, initial_state

__all__ = ["solve", "SCFOutcome", "MeanFieldMap", "SCFState", "initial_state", "DEFAULTS",
           "MIXERS", "AndersonMixer", "LinearMixer"]
