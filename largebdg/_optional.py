"""The one place that imports petsc4py, slepc4py and mpi4py.

``HAVE_PETSC`` / ``HAVE_MPI`` tell what is available; :func:`petsc` and
:func:`slepc` return the initialised modules or raise ImportError with an
install hint.  Without mpi4py, :func:`world` returns ``None`` and ranks are
``rank = 0, size = 1``.

mpi4py is imported on first use, not with this module: ``from mpi4py import MPI``
runs ``MPI_Init``, which commands that never communicate (``--help``, ``plot``)
should not wait for (an Open MPI singleton start can stall on a loaded machine).
"""

import importlib.util
import os
import warnings

__all__ = ["HAVE_PETSC", "HAVE_MPI", "petsc", "slepc", "world", "rank_size"]

_HINT = (
    "largebdg needs petsc4py and slepc4py: run `make setup` (Debian packages "
    "python3-petsc4py-real python3-slepc4py-real) or `conda env create -f environment.yml`"
)

try:
    import petsc4py
    import slepc4py

    HAVE_PETSC = True
except ImportError:  # pragma: no cover - depends on the installation
    HAVE_PETSC = False

HAVE_MPI = importlib.util.find_spec("mpi4py") is not None
if not HAVE_MPI and any(k in os.environ for k in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE")):
    warnings.warn("launched under mpiexec but mpi4py is missing: every rank runs alone",
                  RuntimeWarning, stacklevel=1)


def _mpi():
    """``mpi4py.MPI`` (initialises MPI on the first call), or ``None`` without mpi4py."""
    if not HAVE_MPI:
        return None
    from mpi4py import MPI

    return MPI


def petsc():
    """The initialised ``petsc4py.PETSc`` module."""
    if not HAVE_PETSC:
        raise ImportError(_HINT)
    petsc4py.init()
    from petsc4py import PETSc

    return PETSc


def slepc():
    """The initialised ``slepc4py.SLEPc`` module."""
    petsc()
    slepc4py.init()
    from slepc4py import SLEPc

    return SLEPc


def world():
    """``MPI.COMM_WORLD`` when mpi4py is available, else ``None``."""
    return _mpi().COMM_WORLD if HAVE_MPI else None


def rank_size(comm):
    """(rank, size) of ``comm``; (0, 1) for ``None``."""
    if comm is None:
        return 0, 1
    return comm.Get_rank(), comm.Get_size()
