import datetime
import json
import math
import os
import shutil
import subprocess
import tomllib

import h5py
import numpy as np
import pytest

from largebdg.config import RunConfig
from largebdg.errors import ParameterError
from largebdg.io import (
    Observable,
    Result,
    check_output_path,
    config_to_toml,
    git_revision,
    load_result,
    save_result,
    update_result,
)
from largebdg.io.hdf5 import seal

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

L = 6


def make_result(stiffness=True, seed=0):
    """A synthetic Result with every field set (no solve needed)."""
    rng = np.random.default_rng(seed)
    config = RunConfig.from_dict({
        "lattice": {"L": L},
        "solver": {"T": 0.07, "tol": 1e-6},
        "disorder": {"band1": {"kind": "random", "strength": 4.0, "density": 0.5, "seed": 11}},
    })
    n_iter = 4
    history = {
        "max_ddelta": rng.random((n_iter, 2)),
        "max_ddensity": rng.random((n_iter, 2)),
        "filling_error": rng.random((n_iter, 2)),
        "mean_abs_delta": rng.random((n_iter, 2)),
        "mu": rng.normal(size=(n_iter, 2)),
        "accuracy": np.full(n_iter, np.nan),
        "seconds": rng.random(n_iter),
    }
    return Result(
        config=config,
        delta=rng.normal(size=(2, L, L)),
        density=rng.random((2, L, L)),
        mu=np.array([-0.3, -1.1]),
        potential=rng.choice([0.0, 4.0], size=(2, L, L)),
        bond_x=rng.normal(size=(2, L, L)),
        bond_y=rng.normal(size=(2, L, L)),
        converged=True,
        iterations=n_iter,
        history=history,
        disorder_density=np.array([0.5, 0.0]),
        solver_settings={"method": "dense", "num_moments": 512, "bounds": [-5.5, 5.5]},
        wall_time=1.25,
        observables={"stiffness": Observable(np.array([0.3, 0.05]), np.array([1e-3, 2e-4]),
                                             {"method": "dense", "q": 0.0})} if stiffness else {},
    )


def assert_results_equal(a, b):
    assert b.config == a.config
    assert b.config.to_dict() == a.config.to_dict()
    for name in ("delta", "density", "mu", "potential", "bond_x", "bond_y", "disorder_density"):
        np.testing.assert_array_equal(getattr(b, name), getattr(a, name), err_msg=name)
    assert b.converged is a.converged
    assert b.iterations == a.iterations
    assert b.history.keys() == a.history.keys()
    for key in a.history:
        np.testing.assert_array_equal(b.history[key], a.history[key], err_msg=key)
    assert b.solver_settings == a.solver_settings
    assert b.wall_time == a.wall_time
    assert b.version == a.version
    assert b.stiffness_settings == a.stiffness_settings
    for name in ("stiffness", "stiffness_stderr"):
        if getattr(a, name) is None:
            assert getattr(b, name) is None
        else:
            np.testing.assert_array_equal(getattr(b, name), getattr(a, name))


@pytest.mark.parametrize("stiffness", [True, False])
def test_round_trip_every_field(tmp_path, stiffness):
    result = make_result(stiffness=stiffness)
    path = tmp_path / "run.h5"
    save_result(result, path)
    assert_results_equal(result, load_result(path))


def test_file_layout(tmp_path):
    result = make_result()
    path = tmp_path / "run.h5"
    save_result(result, path)
    with h5py.File(path, "r") as fh:
        for name in ("delta", "density", "potential", "bond_x", "bond_y"):
            assert fh[name].shape == (2, L, L)
        assert fh["mu"].shape == (2,)
        assert fh["stiffness"].shape == fh["stiffness_stderr"].shape == (2,)
        assert set(fh["history"]) == set(result.history)
        attrs = fh.attrs
        assert bool(attrs["converged"]) is True
        assert attrs["iterations"] == 4
        assert attrs["T"] == 0.07
        assert attrs["L"] == L
        assert attrs["largebdg_version"] == result.version
        assert attrs["git_revision"] == git_revision()
        datetime.datetime.fromisoformat(attrs["created"])
        resolved = result.config.to_dict()
        assert json.loads(attrs["config"]) == resolved
        assert tomllib.loads(attrs["config_toml"]) == resolved
        assert resolved["disorder"]["band1"]["seed"] == 11
        assert json.loads(attrs["solver_settings"]) == result.solver_settings
        assert json.loads(attrs["stiffness_settings"]) == result.stiffness_settings
        np.testing.assert_array_equal(attrs["disorder_density"], [0.5, 0.0])
        np.testing.assert_allclose(attrs["mean_abs_gap"], result.mean_abs_gap)
        assert attrs["wall_time"] == 1.25


def test_refuses_to_overwrite(tmp_path):
    path = tmp_path / "run.h5"
    save_result(make_result(seed=1), path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="--force"):
        save_result(make_result(seed=2), path)
    assert path.read_bytes() == before
    save_result(make_result(seed=2), path, force=True)
    assert_results_equal(make_result(seed=2), load_result(path))


def test_write_is_atomic(tmp_path):
    save_result(make_result(), tmp_path / "run.h5")
    assert os.listdir(tmp_path) == ["run.h5"]
    broken = make_result()
    broken.history["bad"] = np.array([object()])  # h5py cannot store object arrays
    with pytest.raises(TypeError):
        save_result(broken, tmp_path / "broken.h5")
    with pytest.raises(TypeError):
        save_result(broken, tmp_path / "run.h5", force=True)
    assert os.listdir(tmp_path) == ["run.h5"]
    assert_results_equal(make_result(), load_result(tmp_path / "run.h5"))


def test_output_directory_must_exist(tmp_path):
    with pytest.raises(ParameterError, match="does not exist"):
        save_result(make_result(), tmp_path / "missing" / "run.h5")
    with pytest.raises(ParameterError, match="'--out'"):
        check_output_path(tmp_path / "missing" / "run.h5", name="--out")


def test_save_refuses_non_result(tmp_path):
    with pytest.raises(TypeError, match="'result'"):
        save_result({"delta": 1}, tmp_path / "run.h5")


def test_update_result_adds_stiffness(tmp_path):
    path = tmp_path / "run.h5"
    save_result(make_result(stiffness=False), path)
    update_result(path, {"stiffness": [0.2, 0.04], "stiffness_stderr": [1e-3, 1e-4]},
                  {"stiffness_settings": {"method": "dense", "T": 0.07}})
    loaded = load_result(path)
    np.testing.assert_array_equal(loaded.stiffness, [0.2, 0.04])
    np.testing.assert_array_equal(loaded.stiffness_stderr, [1e-3, 1e-4])
    assert loaded.stiffness_settings == {"method": "dense", "T": 0.07}
    update_result(path, {"stiffness": [0.25, 0.05]})  # replaces the dataset
    np.testing.assert_array_equal(load_result(path).stiffness, [0.25, 0.05])
    np.testing.assert_array_equal(load_result(path).delta, make_result().delta)
    assert os.listdir(tmp_path) == ["run.h5"]


@pytest.mark.parametrize("datasets, attrs", [({"delta": np.zeros((2, L, L))}, {}),
                                             ({}, {"config": "{}"}),
                                             ({"history": [1.0]}, {})])
def test_update_result_protects_solution(tmp_path, datasets, attrs):
    path = tmp_path / "run.h5"
    save_result(make_result(), path)
    before = path.read_bytes()
    with pytest.raises(ParameterError, match="cannot be replaced"):
        update_result(path, datasets, attrs)
    assert path.read_bytes() == before


def test_bad_files(tmp_path):
    with pytest.raises(ParameterError, match="'path'.*does not exist"):
        load_result(tmp_path / "missing.h5")
    text = tmp_path / "notes.h5"
    text.write_text("not hdf5")
    with pytest.raises(ParameterError, match="'path'.*not a readable HDF5 file"):
        load_result(text)
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as fh:
        fh["delta"] = np.zeros((2, L, L))
    with pytest.raises(ParameterError, match="'path'.*not a largebdg result"):
        load_result(other)
    with pytest.raises(ParameterError, match="not a largebdg result"):
        update_result(other, {"stiffness": [0.0, 0.0]})
    assert sorted(os.listdir(tmp_path)) == ["notes.h5", "other.h5"]


def test_bad_config_in_file(tmp_path):
    path = tmp_path / "run.h5"
    save_result(make_result(), path)
    with h5py.File(path, "a") as fh:
        fh.attrs["config"] = json.dumps({"lattice": {"L": -1}})
    with pytest.raises(ParameterError, match="damaged or changed outside largebdg"):
        load_result(path)  # the checksum sees the change
    seal(path)  # accept the change
    with pytest.raises(ParameterError, match="invalid configuration.*lattice.L"):
        load_result(path)


def test_config_to_toml_round_trip():
    data = {
        "top": 1,
        "empty": {},
        "a": {
            "int": -3, "float": 1e-300, "big": 1.5e300, "inf": math.inf, "minf": -math.inf,
            "true": True, "false": False, "text": 'quote " back \\ tab\t nl\n ctrl\x01 del\x7f é',
            "list": [1.0, 2.5], "nested": [[1, 2], ["x"]], "none": [],
            "b": {"c": {"d": "deep"}},
        },
        "key with space": {"dotted.key": 0.1},
    }
    assert tomllib.loads(config_to_toml(data)) == data
    resolved = RunConfig().to_dict()
    assert tomllib.loads(config_to_toml(resolved)) == resolved
    assert math.isnan(tomllib.loads(config_to_toml({"x": math.nan}))["x"])
    tables = {"a": [{"b": 1}]}  # an array of tables
    assert tomllib.loads(config_to_toml(tables)) == tables


@pytest.mark.parametrize("data", [{"a": None}, {1: 2}, [1]])
def test_config_to_toml_rejects_non_toml(data):
    with pytest.raises(TypeError):
        config_to_toml(data)


_keys = st.text(min_size=1, max_size=8)
_leaves = st.one_of(
    st.booleans(), st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False),
    st.text(max_size=10),
)
_values = st.one_of(_leaves, st.lists(_leaves, max_size=3))
_tables = st.recursive(st.dictionaries(_keys, _values, max_size=4),
                       lambda sub: st.dictionaries(_keys, st.one_of(_values, sub), max_size=4),
                       max_leaves=12)


@given(_tables)
def test_config_to_toml_property(data):
    assert tomllib.loads(config_to_toml(data)) == data


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_revision(tmp_path, monkeypatch):
    import largebdg.io.hdf5 as io_module

    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
                              cwd=tmp_path, check=True, capture_output=True, text=True).stdout

    git("init", "-q")
    (tmp_path / "io.py").write_text("")
    git("commit", "-q", "--allow-empty", "-m", "first")
    monkeypatch.setattr(io_module, "__file__", str(tmp_path / "io.py"))
    assert git_revision() == "unknown"  # the file is not tracked by this repository
    git("add", "io.py")
    git("commit", "-q", "-m", "second")
    assert git_revision() == git("rev-parse", "HEAD").strip()
    monkeypatch.setattr(io_module, "__file__", "/nonexistent/dir/io.py")
    assert git_revision() == "unknown"
