import subprocess
import sys

import h5py
import numpy as np
import pytest

from largebdg import __version__
from largebdg.cli import COMMANDS, Command, arg, build_parser, main
from largebdg.io import config_to_toml, load_result

TINY = {
    "lattice": {"L": 8},
    "solver": {"method": "dense", "T": 0.05, "tol": 1e-6},
    "disorder": {"band1": {"kind": "random", "strength": 4.0, "density": 0.25, "seed": 3}},
}


def write_config(tmp_path, data=None, name="run.toml"):
    path = tmp_path / name
    path.write_text(config_to_toml(TINY if data is None else data))
    return path


def changed(section, key, value):
    data = {k: dict(v) for k, v in TINY.items()}
    data.setdefault(section, {})[key] = value
    return data


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """One converged L = 8 result file shared by the plot tests."""
    tmp = tmp_path_factory.mktemp("solved")
    out = tmp / "run.h5"
    assert main(["solve", str(write_config(tmp)), "--out", str(out), "--quiet"]) == 0
    return out


def test_solve_writes_result(tmp_path, capsys):
    out = tmp_path / "run.h5"
    assert main(["solve", str(write_config(tmp_path)), "--out", str(out)]) == 0
    with h5py.File(out, "r") as fh:
        assert fh["delta"].shape == (2, 8, 8)
        assert fh["mu"].shape == (2,)
        assert bool(fh.attrs["converged"]) is True
        assert fh.attrs["T"] == 0.05
    stdout, stderr = capsys.readouterr()
    assert stderr == ""
    lines = stdout.splitlines()
    assert lines[1].split()[0] == "iter"
    assert lines[2].split()[0] == "1" and len(lines[2].split()) == 8
    assert "converged in" in lines[-1] and "wall time" in lines[-1]
    assert load_result(out).config.disorder[0].params["seed"] == 3


def test_quiet_prints_nothing(tmp_path, capsys):
    assert main(["solve", str(write_config(tmp_path)), "--out", str(tmp_path / "r.h5"), "-q"]) == 0
    assert capsys.readouterr() == ("", "")


def _nan_map(tmp_path):
    V = np.zeros((8, 8))
    V[2, 3] = np.nan
    np.save(tmp_path / "nan.npy", V)
    return changed("disorder", "band1", {"kind": "file", "path": str(tmp_path / "nan.npy")})


def _wrong_shape_map(tmp_path):
    np.save(tmp_path / "small.npy", np.zeros((4, 4)))
    return changed("disorder", "band1", {"kind": "file", "path": str(tmp_path / "small.npy")})


BAD_CONFIGS = {
    "negative L": (lambda tmp: changed("lattice", "L", -4), "'lattice.L'"),
    "filling above 2": (lambda tmp: changed("model", "filling", 2.5), "'model.filling"),
    "negative T": (lambda tmp: changed("solver", "T", -0.1), "'solver.T'"),
    "unknown disorder kind": (
        lambda tmp: changed("disorder", "band1", {"kind": "bogus"}), "'disorder.kind'"),
    "map of wrong shape": (_wrong_shape_map, "'path'"),
    "map with NaN": (_nan_map, "NaN"),
    "unknown key": (lambda tmp: changed("lattice", "M", 3), "'lattice.M'"),
    "unknown section": (lambda tmp: changed("lattices", "L", 8), "'lattices'"),
}


def _assert_one_line_error(capsys, expected):
    stderr = capsys.readouterr().err
    assert stderr.startswith("largebdg: error: ")
    assert stderr.count("\n") == 1, stderr
    assert expected in stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("case", BAD_CONFIGS)
def test_bad_config_exits_2(tmp_path, capsys, case):
    make, expected = BAD_CONFIGS[case]
    out = tmp_path / "run.h5"
    assert main(["solve", str(write_config(tmp_path, make(tmp_path))), "--out", str(out)]) == 2
    _assert_one_line_error(capsys, expected)
    assert not out.exists()


def test_unreadable_and_invalid_config(tmp_path, capsys):
    out = str(tmp_path / "run.h5")
    assert main(["solve", str(tmp_path / "missing.toml"), "--out", out]) == 2
    _assert_one_line_error(capsys, "cannot read config file")
    bad = tmp_path / "bad.toml"
    bad.write_text("[lattice\nL = 8\n")
    assert main(["solve", str(bad), "--out", out]) == 2
    _assert_one_line_error(capsys, "not valid TOML")


def test_bad_option_values_exit_2(tmp_path, capsys):
    config, out = str(write_config(tmp_path)), str(tmp_path / "run.h5")
    assert main(["solve", config, "--out", out, "--L", "-4"]) == 2
    _assert_one_line_error(capsys, "'lattice.L'")
    assert main(["solve", config, "--out", out, "--set", "solver.T"]) == 2
    _assert_one_line_error(capsys, "section.key=value")
    assert main(["solve", config, "--out", str(tmp_path / "no" / "run.h5")]) == 2
    _assert_one_line_error(capsys, "'--out'")


def test_existing_output_is_refused_before_solving(tmp_path, capsys):
    out = tmp_path / "run.h5"
    out.write_bytes(b"precious")
    assert main(["solve", str(write_config(tmp_path)), "--out", str(out)]) == 2
    _assert_one_line_error(capsys, "--force")
    assert capsys.readouterr().out == ""  # nothing was solved
    assert out.read_bytes() == b"precious"
    assert main(["solve", str(write_config(tmp_path)), "--out", str(out), "--force", "-q"]) == 0
    assert load_result(out).converged


def test_out_is_required(tmp_path, capsys):
    assert main(["solve", str(write_config(tmp_path))]) == 2
    assert "--out" in capsys.readouterr().err


def test_not_converged_exits_3_and_saves(tmp_path, capsys):
    out = tmp_path / "run.h5"
    argv = ["solve", str(write_config(tmp_path)), "--out", str(out), "--set", "solver.max_iter=1"]
    assert main(argv + ["--quiet"]) == 3
    stdout, stderr = capsys.readouterr()
    assert stdout == ""
    assert stderr.startswith("largebdg: not converged after 1 iterations")
    assert "converged = False" in stderr and "Warning" not in stderr
    with h5py.File(out, "r") as fh:
        assert bool(fh.attrs["converged"]) is False
        assert fh.attrs["iterations"] == 1


def test_overrides(tmp_path, capsys):
    out = tmp_path / "run.h5"
    argv = ["solve", str(write_config(tmp_path)), "--out", str(out), "-q",
            "--set", "model.g12=0.3", "--set", "solver.T=0.2", "--T", "0.07",
            "--set", "disorder.band1.kind=stripes", "--set", "disorder.band1.period=4",
            "--set", "disorder.band1.width=1"]
    assert main(argv) == 0
    result = load_result(out)
    assert result.config.model.g12 == 0.3
    assert result.T == 0.07  # the shorthand wins over --set
    assert result.config.disorder[0].kind == "stripes"
    np.testing.assert_array_equal(result.disorder_density, [0.25, 0.0])


def test_solve_with_plot(tmp_path):
    out, png = tmp_path / "run.h5", tmp_path / "run.png"
    argv = ["solve", str(write_config(tmp_path)), "--out", str(out), "--plot", str(png), "-q"]
    assert main(argv) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("kind", ["summary", "maps", "profiles", "histograms", "convergence"])
def test_plot_writes_png(solved, tmp_path, capsys, kind):
    png = tmp_path / f"{kind}.png"
    assert main(["plot", str(solved), "--kind", kind, "--out", str(png), "--row", "2"]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"wrote {png}" in capsys.readouterr().out


def test_plot_default_name_and_overwrite(solved, capsys):
    png = solved.with_name("run_summary.png")
    png.unlink(missing_ok=True)
    assert main(["plot", str(solved), "-q"]) == 0
    assert png.exists()
    assert main(["plot", str(solved), "-q"]) == 2
    _assert_one_line_error(capsys, "--force")
    assert main(["plot", str(solved), "-q", "--force"]) == 0


def test_plot_bad_input(solved, tmp_path, capsys):
    assert main(["plot", str(tmp_path / "missing.h5")]) == 2
    _assert_one_line_error(capsys, "does not exist")
    out = str(tmp_path / "p.png")
    assert main(["plot", str(solved), "--kind", "profiles", "--row", "8", "--out", out]) == 2
    _assert_one_line_error(capsys, "'row'")


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"largebdg {__version__}"


@pytest.mark.parametrize("name", COMMANDS)
def test_every_option_has_help(name, capsys):
    assert main([name, "--help"]) == 0
    assert "usage: largebdg " + name in capsys.readouterr().out
    subparsers = next(a for a in build_parser()._actions if a.dest == "command")
    for action in subparsers.choices[name]._actions:
        assert action.help, action.dest


def test_new_command_is_one_registry_entry(monkeypatch, capsys):
    def hello(args):
        print(f"hello {args.name}")
        return 0

    monkeypatch.setitem(COMMANDS, "hello",
                        Command(help="say hello", run=hello, arguments=(arg("name", help="who"),)))
    assert main(["hello", "world"]) == 0
    assert capsys.readouterr().out == "hello world\n"


def test_python_m_largebdg_help():
    proc = subprocess.run([sys.executable, "-m", "largebdg", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0
    assert "solve" in proc.stdout and "plot" in proc.stdout


def test_stored_toml_reproduces_the_run(solved, tmp_path):
    with h5py.File(solved, "r") as fh:
        (tmp_path / "again.toml").write_text(fh.attrs["config_toml"])
    again = tmp_path / "again.h5"
    assert main(["solve", str(tmp_path / "again.toml"), "--out", str(again), "-q"]) == 0
    first, second = load_result(solved), load_result(again)
    assert second.config == first.config
    np.testing.assert_allclose(second.delta, first.delta, rtol=0, atol=1e-12)


def test_solve_with_stiffness(tmp_path):
    from largebdg.cli import main
    from largebdg.io import load_result

    cfg = tmp_path / "c.toml"
    cfg.write_text('[lattice]\nL = 6\n[solver]\nT = 0.05\ntol = 1e-6\n')
    out = tmp_path / "r.h5"
    assert main(["solve", str(cfg), "--out", str(out), "--quiet", "--stiffness", "exact"]) == 0
    res = load_result(out)
    assert res.stiffness.shape == (2,) and np.all(res.stiffness_stderr == 0)
    assert np.all(res.stiffness > 0)
