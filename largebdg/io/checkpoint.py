"""Checkpoint files of a running solve: the self-consistency state, written atomically.

``largebdg solve ... --out r.h5`` keeps ``r.h5.checkpoint`` next to its output while it runs
(:func:`checkpoint_path`), replaced atomically every ``solver.checkpoint_seconds``; the file
is removed once ``r.h5`` is saved.  Layout (HDF5)::

    attrs  format = "largebdg-checkpoint-1", largebdg_version, created,
           config (JSON of the resolved RunConfig, seeds included), elapsed (seconds)
    /state                 the snapshot of :func:`largebdg.scf.solve` as nested groups:
                           arrays as datasets, other values as JSON attributes

JSON keeps every float exactly (shortest round-trip repr), so a resumed solve continues the
identical iteration.
"""

import datetime
import json
from pathlib import Path

import h5py
import numpy as np

from .._version import __version__
from ..errors import ParameterError
from .files import atomic_write
from .hdf5 import check_seal, write_hdf5

__all__ = ["CHECKPOINT_SUFFIX", "checkpoint_path", "save_checkpoint", "load_checkpoint"]

CHECKPOINT_SUFFIX = ".checkpoint"
"""Appended to the output file name: ``r.h5`` -> ``r.h5.checkpoint``."""

_FORMAT = "largebdg-checkpoint-1"


def checkpoint_path(out):
    """Checkpoint file of the output file ``out``."""
    out = Path(out)
    return out.with_name(out.name + CHECKPOINT_SUFFIX)


def _write_node(group, data):
    for key, value in data.items():
        if isinstance(value, dict):
            _write_node(group.create_group(key), value)
        elif isinstance(value, np.ndarray):
            group.create_dataset(key, data=value)
        else:
            group.attrs[key] = json.dumps(value.item() if isinstance(value, np.generic)
                                          else value)


def _read_node(group):
    out = {key: json.loads(value) for key, value in group.attrs.items()}
    for key, item in group.items():
        out[key] = _read_node(item) if isinstance(item, h5py.Group) else item[()]
    return out


def save_checkpoint(path, config, snapshot, *, elapsed=0.0):
    """Write a checkpoint atomically (the previous one stays intact until the new one is whole).

    Parameters
    ----------
    path : str or os.PathLike
    config : dict
        The resolved configuration, ``RunConfig.to_dict()`` (seeds included).
    snapshot : dict
        The ``checkpoint`` argument of :func:`largebdg.scf.solve`: nested dicts of NumPy
        arrays and JSON values.
    elapsed : float
        Seconds of solving so far (added to the wall time of the resumed result).
    """
    def write(fh):
        fh.attrs.update({
            "format": _FORMAT,
            "largebdg_version": __version__,
            "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "config": json.dumps(config),
            "elapsed": float(elapsed),
        })
        _write_node(fh.create_group("state"), snapshot)

    atomic_write(path, lambda tmp: write_hdf5(tmp, write))


def load_checkpoint(path):
    """Read a checkpoint written by :func:`save_checkpoint`.

    Returns
    -------
    config : dict
    snapshot : dict
    elapsed : float

    Raises
    ------
    ParameterError
        If the file is not a readable checkpoint; the message names the file to delete.
    """
    try:
        check_seal(path, "checkpoint")
    except ParameterError as e:
        raise ParameterError(f"{e}; delete it to start over, or use --force") from None
    try:
        with h5py.File(path, "r") as fh:
            if fh.attrs.get("format") != _FORMAT:
                raise ValueError(f"format {fh.attrs.get('format')!r}, expected {_FORMAT!r}")
            config = json.loads(fh.attrs["config"])
            elapsed = float(fh.attrs["elapsed"])
            snapshot = _read_node(fh["state"])
    except (OSError, KeyError, ValueError, TypeError, RuntimeError) as e:
        raise ParameterError(
            f"checkpoint '{path}' is damaged or not a largebdg checkpoint "
            f"({' '.join(str(e).split())}); delete it to start over, or use --force"
        ) from None
    return config, snapshot, elapsed
