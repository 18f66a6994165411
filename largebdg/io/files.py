"""Safe file writing: output-path checks and atomic replacement."""

import math
import os
import shutil
import uuid
from pathlib import Path

from ..errors import ParameterError

__all__ = ["check_output_path", "atomic_write", "write_text_atomic", "write_csv_atomic"]


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


def _csv_field(value):
    """One CSV field: numbers plainly (``NaN`` if missing), booleans as 1/0, text as is."""
    if hasattr(value, "item"):  # NumPy scalar
        value = value.item()
    if value is None:
        return "NaN"
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return "NaN" if math.isnan(value) else f"{value:.12g}"
    text = str(value)
    if any(c in text for c in ',"\n'):
        raise ValueError(f"CSV field {text!r} must not contain commas, quotes or newlines")
    return text


def write_csv_atomic(path, columns, rows):
    """Write a tidy table atomically: one header line, then one line per row.

    Parameters
    ----------
    path : str or os.PathLike
    columns : sequence of str
        Column names, in order.
    rows : iterable of dict
        One dict per row; keys missing from a row are written as ``NaN``.

    Notes
    -----
    Floats are written with 12 significant digits and ``NaN`` for missing
    values, booleans as 1/0, so that ``pandas.read_csv`` and
    ``numpy.genfromtxt`` read the table without options.
    """
    lines = [",".join(columns)]
    lines += [",".join(_csv_field(row.get(c)) for c in columns) for row in rows]
    write_text_atomic(path, "\n".join(lines) + "\n")
