"""An exclusive lock on an output directory, so that two runs never write into the same one.

The lock is ``fcntl.flock`` on ``DIR/.largebdg.lock``: the kernel releases it when the holding
process exits, however it exits (``kill -9`` included), so a lock left behind by a crashed
run is never stale: the next run simply takes it.  The file records the holder's host, PID and
start time, which the refusal message quotes.  (Advisory locks on network file systems depend
on the file system; on NFS, ``flock`` is emulated with POSIX locks by Linux.)
"""

import contextlib
import datetime
import fcntl
import os
import socket
from pathlib import Path

from ..errors import ParameterError

__all__ = ["LOCK_NAME", "directory_lock", "output_lock"]

LOCK_NAME = ".largebdg.lock"
"""Name of the lock file inside a locked directory."""


@contextlib.contextmanager
def directory_lock(directory, *, what="run"):
    """Hold an exclusive lock on ``directory`` (which must exist) for the ``with`` block.

    Parameters
    ----------
    directory : str or os.PathLike
    what : str, optional
        Name of the locking activity in the refusal message (e.g. ``"sweep"``).

    Raises
    ------
    ParameterError
        If another process holds the lock, naming its host, PID and start time.
    """
    with _flock(Path(directory) / LOCK_NAME, f"'{directory}'", what, remove=False) as path:
        yield path


@contextlib.contextmanager
def output_lock(path, *, what="solve"):
    """Hold an exclusive lock on the output file ``path`` (which need not exist yet).

    The lock file is ``.<name>.lock`` next to ``path``; it is removed on release (a
    crashed holder leaves it behind, unlocked, and the next run takes it over).

    Raises
    ------
    ParameterError
        If another process holds the lock, naming its host, PID and start time.
    """
    path = Path(path)
    with _flock(path.with_name(f".{path.name}.lock"), f"'{path}'", what, remove=True) as lock:
        yield lock


@contextlib.contextmanager
def _flock(path, subject, what, *, remove):
    """``flock`` the file ``path`` (created if missing) and record the holder in it."""
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 4096, 0).decode(errors="replace").strip() or "another process"
            os.close(fd)
            raise ParameterError(
                f"{subject} is in use by another largebdg {what} ({holder}); wait for it to "
                "finish or use another output location"
            ) from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the previous holder removed the file while we waited: take the new one
    try:
        stamp = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"host {socket.gethostname()}, pid {os.getpid()}, since {stamp}".encode(), 0)
        try:
            yield path
        finally:
            if remove:
                Path(path).unlink(missing_ok=True)
            else:
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
