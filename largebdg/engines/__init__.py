"""Engines: local averages of one band for a given mean field (paper Eqs. 13-14).

:data:`ENGINES` registers them by name (the ``solver.method`` of the
configuration); :func:`make_engine` builds one.  To add an engine, implement
the :class:`~largebdg.engines.base.Engine` protocol in a module of this
package and register its class here.
"""

from .. import _validate as v
from .base import Engine, LocalAverages
from .chebyshev import ChebyshevEngine
from .dense import DenseEngine

__all__ = ["Engine", "LocalAverages", "ENGINES", "make_engine", "ChebyshevEngine", "DenseEngine"]

ENGINES = {"dense": DenseEngine, "chebyshev": ChebyshevEngine}
"""Registry of engines: name -> class."""


def make_engine(name, model, *, comm=None, **options):
    """Engine ``name`` (a key of :data:`ENGINES`) for ``model`` with its keyword ``options``."""
    v.choice("engine", name, tuple(ENGINES))
    return ENGINES[name](model, comm=comm, **options)
