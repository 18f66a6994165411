"""Results and their files: the Result data, HDF5 save/load, sweep and study directories, safe
writes."""

from .files import (
    atomic_write,
    check_output_path,
    check_writable_directory,
    remove_stale_temporaries,
    write_csv_atomic,
    write_text_atomic,
)
from .hdf5 import config_to_toml, git_revision, load_result, save_result, update_result
from .result import Observable, Result
from .sweeps import SweepData, SweepPoint, load_sweep

__all__ = [
    "Result",
    "Observable",
    "save_result",
    "load_result",
    "update_result",
    "check_output_path",
    "check_writable_directory",
    "remove_stale_temporaries",
    "atomic_write",
    "write_text_atomic",
    "write_csv_atomic",
    "config_to_toml",
    "git_revision",
    "SweepData",
    "SweepPoint",
    "load_sweep",
]
