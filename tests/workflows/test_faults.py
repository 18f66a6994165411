"""Faults and recovery (issue 10): killed solves resume, concurrent sweeps, damaged files.

Every command is run as a user types it, through ``largebdg.cli.main`` or a subprocess.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from largebdg.cli import main
from largebdg.io import config_to_toml, load_result
from largebdg.io.checkpoint import checkpoint_path

ROOT = Path(__file__).resolve().parents[2]

SLOW_SOLVE = {  # linear mixing at a small weight: ~150 cheap dense iterations at L = 10
    "lattice": {"L": 10},
    "solver": {"method": "dense", "T": 0.1, "tol": 1e-8, "tol_density": 1e-7,
               "tol_filling": 1e-8, "mixing": "linear", "mixing_beta": 0.05, "max_iter": 150,
               "checkpoint_seconds": 0.0},
    "disorder": {"band1": {"kind": "random", "strength": 4.0, "density": 0.3, "seed": 5}},
}

SWEEP = {
    "lattice": {"L": 8},
    "solver": {"method": "dense", "tol": 1e-6},
    "disorder": {"band1": {"kind": "random", "strength": 4.0, "density": 0.25, "seed": 3}},
}


def run_cli(args):
    """``largebdg.cli.main`` with the arguments as the shell passes them (strings)."""
    return main([str(a) for a in args])


def cli(*args, **kwargs):
    """``python -m largebdg ARGS`` in a subprocess (not waited for)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen([sys.executable, "-m", "largebdg", *map(str, args)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, **kwargs)


def write(path, data):
    path.write_text(config_to_toml(data))
    return path


def same_solution(a, b):
    for name in ("delta", "density", "mu", "bond_x", "bond_y"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=0, atol=1e-12)
    assert a.iterations == b.iterations and a.converged == b.converged
    for key in ("max_ddelta", "mu", "filling_error"):
        np.testing.assert_allclose(a.history[key], b.history[key], rtol=0, atol=1e-12)


# --------------------------------------------------------------------------- solve


def test_kill_9_during_a_checkpointed_solve_then_resume(tmp_path):
    config = write(tmp_path / "run.toml", SLOW_SOLVE)
    reference = tmp_path / "reference.h5"
    assert run_cli(["solve", config, "--out", reference, "-q"]) in (0, 3)
    out = tmp_path / "r.h5"
    checkpoint = checkpoint_path(out)
    proc = cli("solve", config, "--out", out, "-q")
    deadline = time.monotonic() + 120
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(float(np.random.default_rng().uniform(0, 0.3)))  # some random moment
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    if out.exists():  # pragma: no cover - the machine raced through the whole solve
        pytest.skip("the solve finished before it could be killed")
    assert checkpoint.exists()
    with h5py.File(checkpoint, "r") as fh:
        done = json.loads(fh["state"].attrs["iteration"])
    assert 1 <= done < 150
    status = run_cli(["solve", config, "--out", out])
    assert status in (0, 3)
    assert not checkpoint.exists()
    assert not any(p.name.endswith(".tmp") or p.name.endswith(".lock") for p in tmp_path.iterdir())
    same_solution(load_result(out), load_result(reference))


def test_checkpoint_of_another_configuration_is_refused_or_restarted(tmp_path, capsys):
    config = write(tmp_path / "run.toml", SLOW_SOLVE)
    out = tmp_path / "r.h5"
    proc = cli("solve", config, "--out", out, "-q", "--T", 0.09)
    while not checkpoint_path(out).exists() and proc.poll() is None:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    if out.exists():  # pragma: no cover
        pytest.skip("the solve finished before it could be killed")
    capsys.readouterr()
    assert run_cli(["solve", config, "--out", out, "-q"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "r.h5.checkpoint' belongs to a different configuration (differs in solver.T)" in err
    assert run_cli(["solve", config, "--out", out, "-q", "--force", "--set",
                 "solver.max_iter=3"]) in (0, 3)
    assert "starting over" in capsys.readouterr().err
    assert not checkpoint_path(out).exists() and load_result(out).iterations == 3


def test_second_solve_into_the_same_output_is_refused(tmp_path, capsys):
    config = write(tmp_path / "run.toml", SLOW_SOLVE)
    out = tmp_path / "r.h5"
    proc = cli("solve", config, "--out", out, "-q")
    try:
        lock = tmp_path / ".r.h5.lock"
        while not (lock.exists() and lock.read_text()) and proc.poll() is None:
            time.sleep(0.01)
        assert run_cli(["solve", config, "--out", out, "-q", "--force"]) == 2
        assert "is in use by another largebdg solve (host" in capsys.readouterr().err
    finally:
        proc.kill()
        proc.communicate(timeout=60)


# --------------------------------------------------------------------------- sweep


def test_two_concurrent_sweeps_second_refused_first_keeps_its_files(tmp_path, capsys):
    first = write(tmp_path / "a.toml", {**SWEEP, "model": {"g12": 0.25}})
    second = write(tmp_path / "b.toml", {**SWEEP, "model": {"g12": 0.3}})
    outdir = tmp_path / "sweep"
    grid = "0.05:0.15:0.01"
    proc = cli("sweep", first, "--T", grid, "--out", outdir, "-q")
    lock = outdir / ".largebdg.lock"
    while not (lock.exists() and lock.read_text()) and proc.poll() is None:
        time.sleep(0.01)
    assert run_cli(["sweep", second, "--T", grid, "--out", outdir, "-q"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "in use by another largebdg sweep (host" in err
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr
    files = sorted(outdir.glob("point_*.h5"))
    assert len(files) == 11
    assert {load_result(f).config.model.g12 for f in files} == {0.25}
    summary = json.loads((outdir / "summary.json").read_text())
    assert summary["base_config"]["model"]["g12"] == 0.25 and len(summary["points"]) == 11


@pytest.fixture
def finished_sweep(tmp_path):
    config = write(tmp_path / "run.toml", SWEEP)
    outdir = tmp_path / "sweep"
    assert run_cli(["sweep", config, "--T", "0.05,0.08,0.1", "--out", outdir, "-q"]) == 0
    return config, outdir


def test_stale_temporaries_cleaned_at_sweep_start(finished_sweep, capsys):
    config, outdir = finished_sweep
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = outdir / f".point_003_T=0.12.h5.{dead}.0123abcd.tmp"
    stale.write_bytes(b"half a file")
    assert run_cli(["sweep", config, "--T", "0.05,0.08,0.1", "--out", outdir, "-q"]) == 0
    assert not stale.exists()
    assert "removed 1 temporary file(s) left by killed writes" in capsys.readouterr().err


def test_damaged_summary_is_regenerated(finished_sweep, capsys):
    config, outdir = finished_sweep
    (outdir / "summary.json").write_text('{"parameter": "solver.T", "po')
    assert run_cli(["sweep", config, "--T", "0.05,0.08,0.1", "--out", outdir, "-q"]) == 0
    assert "summary.json' is damaged" in capsys.readouterr().err
    assert len(json.loads((outdir / "summary.json").read_text())["points"]) == 3


def test_damaged_point_file_is_named_and_repaired(finished_sweep, capsys):
    config, outdir = finished_sweep
    victim = outdir / "point_001_T=0.08.h5"
    good = load_result(victim)
    data = bytearray(victim.read_bytes())
    data[: len(data) // 2] = bytes(len(data) // 2)
    victim.write_bytes(bytes(data))
    args = ["sweep", config, "--T", "0.05,0.08,0.1", "--out", outdir, "-q"]
    assert run_cli(args) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1
    assert "point_001_T=0.08.h5' (solver.T = 0.08) cannot be read" in err
    assert "--repair" in err
    assert run_cli(args + ["--repair"]) == 0
    assert "recomputing the damaged point file" in capsys.readouterr().err
    np.testing.assert_allclose(load_result(victim).delta, good.delta, atol=1e-9)


def test_param_grid_is_validated_before_solving(tmp_path, capsys):
    config = write(tmp_path / "run.toml", SWEEP)
    outdir = tmp_path / "sweep"
    assert run_cli(["sweep", config, "--param", "disorder.band1.density", "--values",
                 "0.1,0.5,1.5", "--out", outdir, "-q"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("largebdg: error: disorder.band1.density = 1.5: [disorder.band1]: "
                           "'density' must be a number in [0, 1], got 1.5")
    assert not list(outdir.glob("point_*")) if outdir.exists() else True


@pytest.mark.parametrize("grid", ["0.1:0.2:1e-7", "0.1:0.2:1e-12"])
def test_huge_grids_refused_at_once(tmp_path, capsys, grid):
    config = write(tmp_path / "run.toml", SWEEP)
    t0 = time.perf_counter()
    assert run_cli(["sweep", config, "--T", grid, "--out", tmp_path / "s"]) == 2
    assert time.perf_counter() - t0 < 5
    out, err = capsys.readouterr()
    assert out == "" and len(err) < 300
    assert "more than the limit of 10,000" in err
