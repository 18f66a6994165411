"""Bad settings give one-line errors before any work (issue 10, items 2 and 4-9), and a
property-based test: every failure of the config loader and the CLI is the package's own
one-line error."""

import os
import string

import h5py
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from largebdg.cli import main
from largebdg.config import load_config
from largebdg.errors import ParameterError
from largebdg.io import config_to_toml

TINY = {
    "lattice": {"L": 8},
    "solver": {"method": "dense", "T": 0.05, "tol": 1e-6},
    "disorder": {"band1": {"kind": "random", "strength": 4.0, "density": 0.25, "seed": 3}},
}


def run(*args):
    return main([str(a) for a in args])


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text(config_to_toml(TINY))
    return path


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("solved")
    (tmp / "run.toml").write_text(config_to_toml(TINY))
    out = tmp / "r.h5"
    assert run("solve", tmp / "run.toml", "--out", out, "-q") == 0
    return out


def one_line_error(capsys, *fragments):
    out, err = capsys.readouterr()
    assert len(err.splitlines()) == 1 and err.startswith("largebdg: error: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err
    return err


def no_result(tmp_path):
    return not any(p.suffix == ".h5" for p in tmp_path.iterdir())


# item 2
def test_force_does_not_replace_a_device(config, capsys):
    assert run("solve", config, "--out", "/dev/null", "--force", "-q") == 2
    one_line_error(capsys, "'/dev/null' exists and is not a regular file")
    assert os.path.exists("/dev/null") and not os.path.isfile("/dev/null")


# item 4
def test_unwritable_output_refused_before_solving(config, tmp_path, capsys):
    (tmp_path / "plain").write_text("a file, not a directory")
    assert run("solve", config, "--out", tmp_path / "plain" / "r.h5", "-q") == 2
    one_line_error(capsys, "is not a directory")


def test_unwritable_directory_refused_before_solving(config, tmp_path, capsys, monkeypatch):
    import largebdg.io.files as files

    real_open = os.open

    def denied(path, flags, *args):
        if flags & os.O_CREAT and ".tmp" in str(path):
            raise PermissionError(13, "Permission denied")
        return real_open(path, flags, *args)

    monkeypatch.setattr(files.os, "open", denied)
    assert run("solve", config, "--out", tmp_path / "r.h5", "-q") == 2
    one_line_error(capsys, "cannot write into directory", "Permission denied")
    assert no_result(tmp_path)


# item 5
def test_same_file_for_result_and_figure(config, tmp_path, capsys):
    os.chdir(tmp_path)
    assert run("solve", config, "--out", "r.png", "--plot", "./r.png", "-q") == 2
    one_line_error(capsys, "name the same file")
    assert not (tmp_path / "r.png").exists()


# item 6
@pytest.mark.parametrize("args, fragment", [
    (["--L", "100000"], "needs about"),
    (["--L", "200", "--method", "dense"], "use --method chebyshev"),
    (["--T", "1e300"], "'solver.T' must be a number in [0, 100], got 1e+300"),
    (["--plot", "x.foo"], "cannot write figures in the format '.foo'"),
    (["--set", "chebyshev.tolerance=1e-300"], "'chebyshev.tolerance' must be a number in [1e-12"),
    (["--set", "disorder.band1.density=1.5"], "[disorder.band1]: 'density' must be"),
    (["--set", "disorder.band1.seed=-1"], "'seed' must be an integer >= 0, got -1"),
    (["--set", "solver.checkpoint_seconds=-1"], "'solver.checkpoint_seconds' must be"),
])
def test_bad_solve_settings(config, tmp_path, capsys, args, fragment, monkeypatch):
    if "100000" in args or "200" in args:  # the same refusal on a machine with 16 GB free
        import largebdg.workflows.run as run_module

        monkeypatch.setattr(run_module, "available_memory", lambda: 16 * 10**9)
    os.chdir(tmp_path)
    assert run("solve", config, "--out", "r.h5", "-q", *args) == 2
    err = one_line_error(capsys, fragment)
    assert "numpy" not in err and "Generator" not in err
    assert no_result(tmp_path)


def test_binary_config(tmp_path, capsys):
    (tmp_path / "bin.toml").write_bytes(bytes(range(256)))
    assert run("solve", tmp_path / "bin.toml", "--out", tmp_path / "r.h5") == 2
    one_line_error(capsys, "is not a text (UTF-8 TOML) file")


def test_corrupted_result_files(solved, tmp_path, capsys):
    data = solved.read_bytes()
    rng = np.random.default_rng(12)
    for k in range(12):
        damaged = bytearray(data)
        for pos in rng.integers(0, len(data), 16):
            damaged[pos] ^= 0xFF
        path = tmp_path / f"bad{k}.h5"
        path.write_bytes(bytes(damaged))
        for command in (["plot", path, "--out", tmp_path / f"bad{k}.png", "--force", "-q"],
                        ["stiffness", path, "--force", "-q"]):
            status = run(*command)
            out, err = capsys.readouterr()
            assert status in (0, 2) and "Traceback" not in err
            if status == 2:
                assert len(err.splitlines()) == 1


def test_plot_and_stiffness_arguments(solved, tmp_path, capsys):
    assert run("plot", solved, "--out", tmp_path / "x.foo") == 2
    one_line_error(capsys, "'.foo'")
    assert run("plot", tmp_path) == 2
    one_line_error(capsys, "is a directory, not a result file")
    assert run("stiffness", solved, "--seed", "-1") == 2
    one_line_error(capsys, "'seed' must be an integer >= 0, got -1")
    assert run("stiffness", solved, "--tolerance", "10") == 2
    one_line_error(capsys, "'tolerance' must be a number in [1e-12, 0.1], got 10.0")


def test_plot_without_suffix_names_the_file_written(solved, tmp_path, capsys):
    out = tmp_path / "xnoext"
    assert run("plot", solved, "--out", out) == 0
    assert f"wrote {out}\n" in capsys.readouterr().out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not (tmp_path / "xnoext.png").exists()


# item 9
def test_messages_in_plain_words(config, tmp_path, capsys):
    os.chdir(tmp_path)
    assert run("solve", config, "--out", "r.h5", "--T", "inf") == 2
    err = one_line_error(capsys, "'solver.T' must be a number in [0, 100], got inf")
    assert "[0.0, inf]" not in err
    assert run("solve", config, "--out", "r.h5", "--L", "2") == 2
    one_line_error(capsys, "'lattice.L' must be an integer >= 3, got 2")
    assert run("solve", config, "--out", "r.h5", "--set", "model.t=0") == 2
    one_line_error(capsys, "'model.t[0]' must be a finite number > 0, got 0.0")


def test_stiffness_of_an_unconverged_result_warns(config, tmp_path, capsys):
    out = tmp_path / "r.h5"
    assert run("solve", config, "--out", out, "-q", "--set", "solver.max_iter=2") == 3
    capsys.readouterr()
    assert run("stiffness", out) == 0
    err = capsys.readouterr().err
    assert "did not converge (converged = False, 2 iterations)" in err
    with h5py.File(out) as fh:
        assert "stiffness" in fh


def test_sweep_prints_long_grids_short(config, tmp_path, capsys):
    assert run("sweep", config, "--T", "0.05:0.1:0.0001", "--out", tmp_path / "s", "--set",
               "model.g12=nan") == 2
    capsys.readouterr()
    grid = "0.05:0.0502:0.0001"
    assert run("sweep", config, "--T", grid, "--out", tmp_path / "s", "--L", "1") == 2
    one_line_error(capsys, "'lattice.L' must be an integer >= 3")


# --------------------------------------------------------------------------- properties

_KEYS = ["lattice", "model", "solver", "chebyshev", "disorder", "band1", "band2", "L", "T",
         "t", "g", "g12", "filling", "common_mu", "method", "tol", "max_iter", "mixing",
         "mixing_beta", "history", "kind", "strength", "density", "seed", "tolerance", "path",
         "checkpoint_seconds", "num_moments", "strategy", "period", "x"]
_SCALARS = (st.integers(-10**20, 10**20) | st.floats(allow_nan=True) | st.booleans()
            | st.text(string.printable, max_size=12)
            | st.sampled_from(["dense", "chebyshev", "random", "stripes", "anderson", "none"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3)
                       | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=4),
                       max_leaves=12)
_DOCUMENTS = st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=5)


def _toml(doc):
    try:
        return config_to_toml(doc)
    except (TypeError, ValueError):  # a value without TOML form (e.g. a dict in a list)
        return None


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(doc=_DOCUMENTS, raw=st.binary(max_size=40))
def test_config_loader_fails_only_with_its_own_error(tmp_path_factory, doc, raw):
    path = tmp_path_factory.mktemp("doc") / "c.toml"
    text = _toml(doc)
    for content in ([text.encode()] if text is not None else []) + [raw]:
        path.write_bytes(content)
        try:
            load_config(path)
        except ParameterError as e:
            assert "\n" not in str(e).strip()


_ARGS = st.lists(
    st.sampled_from(["--T", "--L", "--set", "--method", "--plot", "--param", "--values",
                     "--seed", "--tolerance", "--vectors", "--kind", "--row", "-q", "--force",
                     "1e300", "-1", "0", "2", "inf", "nan", "x.foo", "0.1:0.2:1e-9", "1,1",
                     "solver.T=-1", "lattice.L=1", "model.g12=[1,2]", "disorder.band1.kind=x",
                     "disorder=3", "chebyshev", "dense", "solver.T", "a.b.c=1", "=", "."]),
    max_size=6)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(command=st.sampled_from(["solve", "sweep", "plot", "stiffness", "bogus"]), args=_ARGS)
def test_cli_fails_only_with_one_line_errors(tmp_path_factory, capsys, command, args):
    tmp = tmp_path_factory.mktemp("cli")
    (tmp / "run.toml").write_text(config_to_toml(TINY))
    (tmp / "r.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(64))  # a damaged result
    target = tmp / ("run.toml" if command in ("solve", "sweep") else "r.h5")
    argv = [command, str(target), "--out", str(tmp / "o.h5"), *args, "--L", "0"]
    if command in ("plot", "stiffness"):
        argv = [command, str(target), *args]
    status = main(argv)  # --L 0 (or the damaged file) stops every command before it solves
    out, err = capsys.readouterr()
    assert status == 2, (argv, status, err)
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("largebdg: error:")]
    assert len(lines) == 1 or err.startswith("usage:"), err
