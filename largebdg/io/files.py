"""Safe file writing: output-path checks and atomic replacement."""

import os
import shutil
import uuid
from pathlib import Path

from ..errors import ParameterError

__all__ = ["check_output_path", "atomic_write", "write_text_atomic"]


def check_output_path(path, *, force=False, name="path"):
    """Check that an output file may be written: refuse to replace an existing one.

    Parameters
    ----------
    path : str or os.PathLike
        File about to be written.
    force : bool, optional
        Allow replacing an existing file.
    name : str, optional
        Parameter name used in the error messages (e.g. ``"--out"``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileExistsError
        If `path` exists and `force` is false.
    ParameterError
        If the directory of `path` does not exist.
    """
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(
            f"'{name}': '{path}' already exists; use --force (force=True) to overwrite it"
        )
    if not path.parent.is_dir():
        raise ParameterError(f"'{name}': directory '{path.parent}' of '{path}' does not exist")
    return path


def atomic_write(path, write, *, source=None):
    """Create ``path`` through a temporary file in its directory and :func:`os.replace`.

    ``write(tmp_path)`` fills the temporary file; with ``source`` it starts as a
    copy of that file.  An interrupted write leaves no partial ``path`` and
    removes its temporary file.
    """
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        if source is not None:
            shutil.copyfile(source, tmp)
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(path, text):
    """Write ``text`` to ``path`` atomically (:func:`atomic_write`)."""
    atomic_write(path, lambda tmp: Path(tmp).write_text(text))
