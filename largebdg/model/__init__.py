"""The physical model: lattice geometry, disorder potentials, the two-band model, its clean limit.

This is the lowest physics layer: it knows nothing of operators, expansions or engines.
"""

from .twoband import PAPER_PARAMETERS, TwoBandModel

__all__ = ["TwoBandModel", "PAPER_PARAMETERS"]
