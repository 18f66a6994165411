"""The self-consistency loop shared by every engine: state, mixing, chemical potential, loop."""

from .loop import DEFAULTS, SCFOutcome, solve
from .mixing import MIXERS, AndersonMixer, LinearMixer
from .state import SCFState, initial_state

__all__ = ["solve", "SCFOutcome", "SCFState", "initial_state", "DEFAULTS", "MIXERS",
           "AndersonMixer", "LinearMixer"]
