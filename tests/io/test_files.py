"""Output checks, stale temporaries and locks (issue 10, items 2-4 and 8)."""

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from largebdg.errors import ParameterError
from largebdg.io import check_output_path, remove_stale_temporaries, write_text_atomic
from largebdg.io.files import temporary_name
from largebdg.io.lock import directory_lock, output_lock


def test_force_never_replaces_a_device(tmp_path):
    with pytest.raises(ParameterError, match="not a regular file.*not even with --force"):
        check_output_path("/dev/null", force=True, name="--out")


def test_directory_and_dangling_link_refused(tmp_path):
    with pytest.raises(ParameterError, match="is a directory"):
        check_output_path(tmp_path, force=True)
    link = tmp_path / "link.h5"
    link.symlink_to(tmp_path / "missing")
    with pytest.raises(ParameterError, match="not a regular file"):
        check_output_path(link, force=True)


def test_parent_that_is_a_file(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(ParameterError, match="file' is not a directory"):
        check_output_path(tmp_path / "file" / "r.h5")


def test_unwritable_directory_is_found_by_a_test_write(tmp_path, monkeypatch):
    real_open = os.open

    def read_only(path, flags, *args):
        if flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(ParameterError, match="cannot write into directory .*Permission denied"):
        check_output_path(tmp_path / "r.h5")


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0,
                    reason="needs root to run a command as an unprivileged user")
def test_read_only_directory_as_a_real_user():
    """What a real (non-root) user hits: --out into a read-only directory fails before solving."""
    base = Path(tempfile.mkdtemp(prefix="largebdg-ro-"))
    try:
        os.chmod(base, 0o755)
        ro = base / "ro"
        ro.mkdir(mode=0o555)
        os.chmod(ro, 0o555)
        code = ("import sys; from largebdg.io import check_output_path; "
                "from largebdg.errors import ParameterError\n"
                "try:\n    check_output_path(sys.argv[1])\n"
                "except ParameterError as e:\n    print(e); sys.exit(2)\n")
        cache = base / "numba-cache"
        cache.mkdir(mode=0o777)
        os.chmod(cache, 0o777)
        env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[2]),
                   NUMBA_CACHE_DIR=str(cache), HOME=str(cache), MPLCONFIGDIR=str(cache))
        try:
            p = subprocess.run([sys.executable, "-c", code, str(ro / "r.h5")], user=65534,
                               env=env, capture_output=True, text=True, timeout=60)
        except (PermissionError, OSError) as e:
            pytest.skip(f"cannot switch user: {e}")
        if "ModuleNotFoundError" in p.stderr or "Permission denied: '" in p.stderr:
            pytest.skip("the package is not readable by an unprivileged user here")
        assert p.returncode == 2, p.stderr
        assert "cannot write into directory" in p.stdout
    finally:
        shutil.rmtree(base)


def test_stale_temporaries_removed_live_ones_kept(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".point_000_T=0.1.h5.{dead}.0123abcd.tmp"
    stale.write_text("partial")
    live = temporary_name(tmp_path / "summary.json")
    live.write_text("being written")
    other = tmp_path / ".notes.tmp"
    other.write_text("not ours")
    assert remove_stale_temporaries(tmp_path, names=("other.h5",)) == []
    assert remove_stale_temporaries(tmp_path) == [stale]
    assert live.exists() and other.exists() and not stale.exists()


def test_atomic_write_leaves_no_temporary(tmp_path):
    write_text_atomic(tmp_path / "a.txt", "x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]


def test_directory_lock_refuses_a_second_holder(tmp_path):
    with directory_lock(tmp_path, what="sweep"):
        with pytest.raises(ParameterError, match=r"in use by another largebdg sweep \(host .*pid"):
            with directory_lock(tmp_path, what="sweep"):
                pass
    with directory_lock(tmp_path, what="sweep"):  # released
        pass


def test_output_lock_removed_on_release(tmp_path):
    out = tmp_path / "r.h5"
    with output_lock(out) as lock:
        assert lock.exists()
        with pytest.raises(ParameterError, match="in use by another largebdg solve"):
            with output_lock(out):
                pass
    assert not lock.exists()
    assert not any(stat.S_ISREG(p.stat().st_mode) for p in tmp_path.iterdir())
