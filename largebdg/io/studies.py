"""Study directories on disk: the definition file, chain directories, locks and report files.

A finite-size scaling study (:mod:`largebdg.workflows.study`) writes::

    DIR/study.json                 the study's resolved definition (below)
    DIR/L<L>_seed<seed>/           one temperature sweep per chain (L, seed), the layout of
                                   :mod:`largebdg.io.sweeps` (point_*.h5, summary.csv/json)
    DIR/.locks/L<L>_seed<seed>/    lock of one chain (:func:`largebdg.io.lock.directory_lock`),
                                   held by the process that runs the chain
    DIR/.largebdg.lock             study lock, held briefly while study.json or the report
                                   is written
    DIR/points.csv, tc.csv, tc_by_L.csv, extrapolation.csv, figures/   the report

``study.json`` holds the keys of :data:`DEFINITION_KEYS` (which a rerun must
reproduce) plus ``format`` and ``largebdg_version``.
"""

import json
from pathlib import Path

from .._version import __version__
from ..errors import ParameterError
from .files import write_text_atomic

__all__ = [
    "STUDY_FILE",
    "STUDY_FORMAT",
    "DEFINITION_KEYS",
    "REPORT_TABLES",
    "chain_name",
    "chain_lock_dir",
    "read_study",
    "write_study",
]

STUDY_FILE = "study.json"
"""Name of the definition file inside a study directory."""

STUDY_FORMAT = "largebdg-study-1"
"""Value of the ``format`` key of ``study.json``."""

DEFINITION_KEYS = ("config", "L", "seeds", "T", "stiffness", "stiffness_methods")
"""Keys of ``study.json`` that define a study: ``config`` (the resolved configuration
shared by every point, without ``lattice.L``, ``solver.T`` and the disorder seeds),
the lists ``L``, ``seeds`` and ``T``, the requested ``stiffness`` (null, ``"auto"`` or a
method) and ``stiffness_methods``, the method resolved per L (``{"32": "exact", ...}``)."""

REPORT_TABLES = ("points.csv", "tc.csv", "tc_by_L.csv", "extrapolation.csv")
"""Tables of the report, in the study directory."""


def chain_name(L, seed):
    """Directory name of the chain (L, seed).

    Examples
    --------
    >>> chain_name(128, 2)
    'L128_seed2'
    """
    return f"L{L}_seed{seed}"


def chain_lock_dir(outdir, L, seed):
    """Directory whose lock a process holds while it runs chain (L, seed).

    It is not the chain directory itself, so that a sweep locking its own
    output directory inside a study never meets the study's lock.
    """
    return Path(outdir) / ".locks" / chain_name(L, seed)


def read_study(outdir):
    """Read ``outdir/study.json``.

    Returns
    -------
    dict or None
        The definition, or None if the file does not exist.

    Raises
    ------
    ParameterError
        If the file exists but is not a study definition.
    """
    path = Path(outdir) / STUDY_FILE
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ParameterError(f"'outdir': cannot read '{path}': {e}") from e
    if not isinstance(doc, dict) or doc.get("format") != STUDY_FORMAT or any(
            k not in doc for k in DEFINITION_KEYS):
        raise ParameterError(f"'outdir': '{path}' is not a largebdg study definition")
    return doc


def write_study(outdir, definition):
    """Write the definition (a dict with the :data:`DEFINITION_KEYS`) to ``outdir/study.json``.

    The file is written atomically, with ``format`` and ``largebdg_version`` added.
    """
    doc = {"format": STUDY_FORMAT, "largebdg_version": __version__}
    doc.update({k: definition[k] for k in DEFINITION_KEYS})
    path = Path(outdir) / STUDY_FILE
    write_text_atomic(path, json.dumps(doc, indent=1) + "\n")
    return path
