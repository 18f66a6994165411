import hashlib
import json

import matplotlib
import numpy as np
import pytest

from largebdg.cli import main
from largebdg.config import RunConfig, apply_overrides
from largebdg.errors import ParameterError
from largebdg.io import config_to_toml, load_result
from largebdg.io.sweeps import SUMMARY_COLUMNS, load_sweep, point_file_name
from largebdg.workflows.sweep import parse_values, sweep

matplotlib.use("Agg")

TINY = {
    "lattice": {"L": 8},
    "solver": {"method": "dense", "T": 0.05, "tol": 1e-6},
    "disorder": {"band1": {"kind": "random", "strength": 4.0, "density": 0.25, "seed": 3}},
}
TEMPS = [0.05, 0.08, 0.11, 0.14]


@pytest.fixture(scope="module")
def config():
    return RunConfig.from_dict(TINY)


def fingerprint(path):
    return path.stat().st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


class Counter:
    """Sweep callback recording which points were solved; may interrupt at one point."""

    def __init__(self, stop_at=None):
        self.stop_at = stop_at
        self.points = set()

    def __call__(self, index, iteration, record):
        if index == self.stop_at:
            raise KeyboardInterrupt
        self.points.add(index)


@pytest.fixture(scope="module")
def reference(config, tmp_path_factory):
    """An uninterrupted sweep over TEMPS."""
    outdir = tmp_path_factory.mktemp("reference") / "sweep"
    counter = Counter()
    summary = sweep(config, TEMPS, outdir=outdir, callback=counter)
    assert counter.points == {0, 1, 2, 3}
    return summary


# --------------------------------------------------------------------------- parse_values


@pytest.mark.parametrize("text, expected", [
    ("0.02:0.2:0.02", [0.02, 0.04, 0.06, 0.08, 0.1, 0.12, 0.14, 0.16, 0.18, 0.2]),
    ("0.1:0.35:0.1", [0.1, 0.2, 0.3]),  # STOP off the grid is not reached
    ("0.3:0.1:-0.1", [0.3, 0.2, 0.1]),
    ("0.05,0.08,0.1", [0.05, 0.08, 0.1]),
    (" 0.1 , 0.05 ", [0.1, 0.05]),  # kept in the given order
    ("0.5", [0.5]),
    ("1:4:1", [1, 2, 3, 4]),
    ("3,1,2", [3, 1, 2]),
    ("1,2.5", [1.0, 2.5]),
])
def test_parse_values(text, expected):
    values = parse_values(text)
    assert values == expected
    assert [type(x) for x in values] == [type(x) for x in expected]


def test_parse_values_stop_within_tolerance():
    assert parse_values("0:1:0.1")[-1] == 1.0
    assert len(parse_values("0:0.3:0.1")) == 4  # 0.3/0.1 = 2.9999999999999996


@pytest.mark.parametrize("text, match", [
    ("", "START:STOP:STEP"),
    ("a:b:c", "not a number"),
    ("0.1:0.2", "START:STOP:STEP"),
    ("0.1:0.2:0", "non-zero"),
    ("0.2:0.1:0.05", "points away"),
    ("0.1,,0.2", "empty entry"),
    ("0.1,0.1", "repeated"),
    ("nan", "finite"),
])
def test_parse_values_errors(text, match):
    with pytest.raises(ParameterError, match=match) as info:
        parse_values(text, name="--T")
    assert "'--T'" in str(info.value)


def test_point_file_name():
    assert point_file_name(0, "solver.T", 0.06) == "point_000_T=0.06.h5"
    assert point_file_name(12, "disorder.band1.seed", 7) == "point_012_seed=7.h5"


# --------------------------------------------------------------------------- sweep


def test_sweep_writes_points_and_summary(reference):
    outdir = reference.outdir
    assert [p.status for p in reference.points] == ["computed"] * 4
    assert reference.converged and reference.computed == 4
    for k, (point, T) in enumerate(zip(reference.points, TEMPS, strict=True)):
        assert point.path == outdir / point_file_name(k, "solver.T", T)
        result = load_result(point.path)
        assert result.T == T and result.converged
        np.testing.assert_array_equal(point.mean_abs_gap, result.mean_abs_gap)
    lines = (outdir / "summary.csv").read_text().splitlines()
    assert lines[0].split(",") == list(SUMMARY_COLUMNS)
    assert len(lines) == 5
    doc = json.loads((outdir / "summary.json").read_text())
    assert doc["parameter"] == "solver.T" and len(doc["points"]) == 4
    assert "T" not in doc["base_config"]["solver"]
    data = load_sweep(outdir)
    np.testing.assert_array_equal(data.values, TEMPS)
    assert data.mean_abs_gap.shape == (4, 2) and np.all(np.isnan(data.stiffness))
    # the gap closes with temperature
    assert np.all(np.diff(data.mean_abs_gap[:, 0]) < 0)


def test_interrupted_sweep_resumes_identically(config, reference, tmp_path):
    outdir = tmp_path / "sweep"
    with pytest.raises(KeyboardInterrupt):
        sweep(config, TEMPS, outdir=outdir, callback=Counter(stop_at=2))
    done = sorted(outdir.glob("point_*.h5"))
    assert [p.name for p in done] == [p.path.name for p in reference.points[:2]]
    assert len(json.loads((outdir / "summary.json").read_text())["points"]) == 2
    before = {p.name: fingerprint(p) for p in done}

    counter = Counter()
    summary = sweep(config, TEMPS, outdir=outdir, callback=counter)
    assert counter.points == {2, 3}  # nothing already written is solved again
    assert [p.status for p in summary.points] == ["existing"] * 2 + ["computed"] * 2
    assert {p.name: fingerprint(p) for p in done} == before  # files untouched
    for ours, theirs in zip(summary.points, reference.points, strict=True):
        a, b = load_result(ours.path), load_result(theirs.path)
        for name in ("delta", "density", "mu"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        assert a.iterations == b.iterations

    counter = Counter()
    again = sweep(config, TEMPS, outdir=outdir, callback=counter)
    assert counter.points == set() and again.computed == 0


def test_killed_point_resumes_from_its_checkpoint(config, reference, tmp_path):
    """A point killed mid-solve continues from its checkpoint: the identical iteration."""
    from largebdg.errors import RecoveryWarning
    from largebdg.workflows.sweep import point_checkpoint_path

    every = apply_overrides(config, ["solver.checkpoint_iterations=1"])  # result-neutral
    outdir = tmp_path / "sweep"

    def kill(index, iteration, record):
        if index == 1 and iteration == 4:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(every, TEMPS[:2], outdir=outdir, callback=kill)
    ckpt = point_checkpoint_path(outdir, reference.points[1].path.name)
    assert ckpt.is_file() and not (outdir / reference.points[1].path.name).exists()
    seen = []
    with pytest.warns(RecoveryWarning, match="resuming from checkpoint"):
        summary = sweep(every, TEMPS[:2], outdir=outdir,
                        callback=lambda k, it, rec: seen.append((k, it)))
    assert seen and seen[0][0] == 1 and seen[0][1] > 1  # not from iteration 1 again
    assert not ckpt.exists()
    a, b = load_result(summary.points[1].path), load_result(reference.points[1].path)
    for name in ("delta", "density", "mu"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.iterations == b.iterations


def test_cli_notes_a_resumed_point_when_it_resumes(tmp_path, capsys):
    """The CLI says when a point resumes from its checkpoint (printed as it happens)."""
    data = dict(TINY, solver=dict(TINY["solver"], checkpoint_iterations=1))
    cfg = tmp_path / "run.toml"
    cfg.write_text(config_to_toml(data))
    outdir = tmp_path / "out"

    def kill(index, iteration, record):
        if iteration == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(RunConfig.from_dict(data), [0.05], outdir=outdir, callback=kill)
    assert main(["sweep", str(cfg), "--T", "0.05", "--out", str(outdir)]) == 0
    stdout, stderr = capsys.readouterr()
    assert "note: resuming from checkpoint" in stderr
    assert "1 points computed" in stdout


def test_extended_grid_reuses_points_by_value(config, reference, tmp_path):
    outdir = tmp_path / "sweep"
    sweep(config, TEMPS[:2], outdir=outdir)
    counter = Counter()
    summary = sweep(config, [0.02] + TEMPS[:2], outdir=outdir, callback=counter)
    assert counter.points == {0}
    assert [p.path.name for p in summary.points[1:]] == ["point_000_T=0.05.h5",
                                                         "point_001_T=0.08.h5"]


def test_mismatching_config_is_refused(config, tmp_path):
    outdir = tmp_path / "sweep"
    sweep(config, TEMPS[:1], outdir=outdir)
    first = outdir / point_file_name(0, "solver.T", TEMPS[0])
    stamp = fingerprint(first)
    other = apply_overrides(config, ["model.g12=0.3"])
    with pytest.raises(ParameterError, match="different configuration.*--force"):
        sweep(other, TEMPS[:1], outdir=outdir)
    (outdir / "summary.json").unlink()  # the point file alone also refuses
    with pytest.raises(ParameterError, match=r"point_000_T=0.05.h5.*different configuration"):
        sweep(other, TEMPS[:1], outdir=outdir)
    assert fingerprint(first) == stamp
    summary = sweep(other, TEMPS[:1], outdir=outdir, force=True)
    assert summary.computed == 1
    assert load_result(first).config.model.g12 == 0.3


def test_other_parameter_refused_in_same_directory(config, tmp_path):
    outdir = tmp_path / "sweep"
    sweep(config, [0.05], outdir=outdir)
    with pytest.raises(ParameterError, match="different parameter"):
        sweep(config, [0.25], parameter="model.g12", outdir=outdir)


def test_seed_sweep(config, tmp_path):
    summary = sweep(config, [1, 2], parameter="disorder.band1.seed", outdir=tmp_path / "s")
    assert [p.path.name for p in summary.points] == ["point_000_seed=1.h5", "point_001_seed=2.h5"]
    seeds = [load_result(p.path).config.disorder[0].params["seed"] for p in summary.points]
    assert seeds == [1, 2]
    maps = [load_result(p.path).potential[0] for p in summary.points]
    assert not np.array_equal(*maps)


@pytest.mark.parametrize("kwargs, match", [
    ({"values": []}, "at least one"),
    ({"values": [0.05, 0.05]}, "repeat"),
    ({"values": ["0.05"]}, "numbers"),
    ({"values": [0.05], "parameter": "T"}, "section.key"),
    ({"values": [0.05], "parameter": "solver.temperature"}, "solver.temperature"),
    ({"values": [-0.1]}, "solver.T"),
])
def test_sweep_invalid_input(config, tmp_path, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        sweep(config, outdir=tmp_path / "s", **kwargs)


def test_seeded_disorder_needs_a_seed(tmp_path):
    data = {**TINY, "disorder": {"band1": {"kind": "random", "density": 0.25}}}
    with pytest.raises(ParameterError, match=r"'disorder.band1.seed'"):
        sweep(RunConfig.from_dict(data), [0.05], outdir=tmp_path / "s")


# --------------------------------------------------------------------------- CLI


def test_cli_sweep_end_to_end(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text(config_to_toml(TINY))
    outdir = tmp_path / "out"
    assert main(["sweep", str(cfg), "--T", "0.05,0.1", "--out", str(outdir)]) == 0
    stdout, stderr = capsys.readouterr()
    assert stderr == ""
    assert "solver.T over 2 points" in stdout
    assert stdout.count("iter ") == 2  # one iteration table per point
    assert "point 2/2: solver.T = 0.1: converged in" in stdout
    assert "2 points computed and 0 found on disk" in stdout
    files = sorted(outdir.glob("point_*.h5"))
    assert [f.name for f in files] == ["point_000_T=0.05.h5", "point_001_T=0.1.h5"]
    stamps = [fingerprint(f) for f in files]

    assert main(["sweep", str(cfg), "--T", "0.05:0.1:0.05", "--out", str(outdir), "--plot"]) == 0
    stdout, _ = capsys.readouterr()
    assert "existing file kept" in stdout and "0 points computed and 2 found" in stdout
    assert [fingerprint(f) for f in files] == stamps
    assert (outdir / "figures" / "sweep_a_gaps.png").is_file()
    assert (outdir / "figures" / "sweep_f_delta0.png").is_file()
    assert "Tc_gap" in json.loads((outdir / "tc.json").read_text())["sweeps"][str(outdir)]

    assert main(["sweep", str(cfg), "--T", "0.05", "--out", str(outdir), "--set",
                 "model.g12=0.3", "-q"]) == 2
    assert "--force" in capsys.readouterr().err


@pytest.mark.parametrize("extra, match", [
    (["--T", "0.1:0.2"], "'--T'"),
    (["--param", "model.g12"], "'--param' and '--values'"),
    (["--T", "0.1", "--param", "model.g12", "--values", "0.2"], "'--T'"),
    ([], "give a grid"),
])
def test_cli_sweep_bad_grid(tmp_path, capsys, extra, match):
    cfg = tmp_path / "run.toml"
    cfg.write_text(config_to_toml(TINY))
    assert main(["sweep", str(cfg), "--out", str(tmp_path / "o"), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("largebdg: error:") and match in err
