"""Safe file writing: output-path checks, atomic replacement and clean-up after crashes.

Every file is written to a temporary file ``.<name>.<pid>.<hex>.tmp`` in its directory and
moved into place with :func:`os.replace`, so a reader never sees a partial file.  A process
killed during a write (``kill -9``, power loss) leaves its temporary file behind;
:func:`remove_stale_temporaries` deletes those whose process is gone.
"""

import math
import os
import re
import shutil
import stat
import uuid
from pathlib import Path

from ..errors import ParameterError

__all__ = ["check_output_path", "check_writable_directory", "atomic_write", "write_text_atomic",
           "write_csv_atomic", "remove_stale_temporaries", "temporary_name"]

_TEMPORARY = re.compile(r"^\.(.+)\.(\d+)\.[0-9a-f]{8}\.tmp$")


def temporary_name(path):
    """Path of a fresh temporary file next to ``path``: ``.<name>.<pid>.<hex>.tmp``."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")


def check_writable_directory(directory, *, name="path"):
    """Check that files can be created in ``directory`` by creating and removing one.

    A test write is the only check that sees everything a real write meets: permission bits,
    access-control lists, read-only mounts, quotas of zero.  (``os.access`` misses the last
    ones, and always says yes to root.)

    Raises
    ------
    ParameterError
        If ``directory`` is not a directory or a file cannot be created in it.
    """
    directory = Path(directory)
    if not directory.is_dir():
        what = "is not a directory" if directory.exists() else "does not exist"
        raise ParameterError(f"'{name}': directory '{directory}' {what}")
    probe = temporary_name(directory / "write-test")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as e:
        raise ParameterError(
            f"'{name}': cannot write into directory '{directory}' ({e.strerror}); "
            "choose a writable output location"
        ) from None
    probe.unlink(missing_ok=True)


def check_output_path(path, *, force=False, name="path"):
    """Check that an output file may be written, before any work is done.

    Parameters
    ----------
    path : str or os.PathLike
        File about to be written.
    force : bool, optional
        Allow replacing an existing regular file.
    name : str, optional
        Parameter name used in the error messages (e.g. ``"--out"``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    FileExistsError
        If `path` is an existing file and `force` is false.
    ParameterError
        If `path` exists but is not a regular file (a directory, a device such as
        ``/dev/null``, a FIFO, a socket: never replaced, even with `force`), or its
        directory does not exist or is not writable.
    """
    path = Path(path)
    if path.exists() or path.is_symlink():
        try:
            mode = path.stat().st_mode
        except OSError:  # a dangling symbolic link
            mode = 0
        if stat.S_ISDIR(mode):
            raise ParameterError(f"'{name}': '{path}' is a directory; give a file name")
        if not stat.S_ISREG(mode):
            raise ParameterError(
                f"'{name}': '{path}' exists and is not a regular file (a device, pipe, socket or "
                "broken link); it is never replaced, not even with --force"
            )
        if not force:
            raise FileExistsError(
                f"'{name}': '{path}' already exists; use --force (force=True) to overwrite it"
            )
    check_writable_directory(path.parent, name=name)
    return path


def atomic_write(path, write, *, source=None):
    """Create ``path`` through a temporary file in its directory and :func:`os.replace`.

    ``write(tmp_path)`` fills the temporary file; with ``source`` it starts as a
    copy of that file.  An interrupted write leaves no partial ``path`` and
    removes its temporary file (unless the process is killed outright; see
    :func:`remove_stale_temporaries`).
    """
    path = Path(path)
    tmp = temporary_name(path)
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


def _alive(pid):
    """Whether a process ``pid`` exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def remove_stale_temporaries(directory, names=None):
    """Delete the temporary files of killed writes in ``directory``.

    A file ``.<name>.<pid>.<hex>.tmp`` (the pattern of :func:`atomic_write`) is stale when no
    process ``<pid>`` is running; files of running processes are left alone.  Call it only
    while holding the directory's lock (:func:`largebdg.io.lock.directory_lock`), and only on a
    directory that no process of another host writes into (PIDs are per host).

    Parameters
    ----------
    directory : str or os.PathLike
    names : collection of str, optional
        Only temporaries of these target file names (e.g. a solve's output and checkpoint,
        under that output's lock); default: all.

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    removed = []
    for entry in Path(directory).iterdir():
        m = _TEMPORARY.match(entry.name)
        if (m and (names is None or m.group(1) in names) and entry.is_file()
                and not _alive(int(m.group(2)))):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return sorted(removed)


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
