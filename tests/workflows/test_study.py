"""Finite-size scaling studies: resume after a kill, shards, locks, MPI groups, the report."""

import csv
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np
import pytest

from largebdg.analysis.scaling import finite_size_fit, stiffness_tc_error, study_tables
from largebdg.cli import main
from largebdg.config import RunConfig, apply_overrides
from largebdg.errors import ParameterError
from largebdg.io import load_result
from largebdg.io.lock import directory_lock
from largebdg.io.studies import REPORT_TABLES, chain_lock_dir, read_study
from largebdg.plotting.scaling import write_study_report
from largebdg.workflows.stiffness import METHODS
from largebdg.workflows.study import (
    STIFFNESS_CHOICES,
    StudyDefinition,
    StudyProgress,
    parse_seeds,
    parse_shard,
    partition,
    shard_chains,
    study,
)

matplotlib.use("Agg")

TOML = """
[lattice]
L = 8
[solver]
method = "dense"
T = 0.05
tol = 1e-6
[disorder.band1]
kind = "random"
strength = 4.0
density = 0.25
seed = 3
"""
ARGS = ["--L", "8,10", "--seeds", "1:2", "--T", "0.06,0.12,0.18", "--stiffness", "exact"]
N_POINTS = 2 * 2 * 3
ENV = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1",
           PYTHONPATH=str(Path(__file__).resolve().parents[2]), OMPI_ALLOW_RUN_AS_ROOT="1",
           OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_rmaps_base_oversubscribe="1")


def _cli(config, out, *extra):
    return [sys.executable, "-m", "largebdg", "study", str(config), *ARGS, "--out", str(out),
            *extra]


def _run(cmd):
    proc = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _table(path, drop=("wall_time",)):
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [{k: float(x) if k != "quantity" else x for k, x in row.items() if k not in drop}
            for row in rows]


def _assert_same_tables(a, b):
    for name in ("points.csv", "tc.csv", "tc_by_L.csv", "extrapolation.csv"):
        ta, tb = _table(a / name), _table(b / name)
        assert len(ta) == len(tb), name
        for ra, rb in zip(ta, tb, strict=True):
            assert ra.keys() == rb.keys()
            for key in ra:
                x, y = ra[key], rb[key]
                if isinstance(x, str):
                    assert x == y
                else:
                    assert (math.isnan(x) and math.isnan(y)) or math.isclose(
                        x, y, rel_tol=1e-9, abs_tol=1e-12), (name, key, x, y)


def _point_files(outdir):
    return sorted(outdir.glob("L*_seed*/point_*.h5"))


def _finished(path):
    try:
        return load_result(path).stiffness is not None
    except ParameterError:
        return False


@pytest.fixture(scope="module")
def config_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("config") / "tiny.toml"
    path.write_text(TOML)
    return path


@pytest.fixture(scope="module")
def reference(config_file, tmp_path_factory):
    """An uninterrupted study in one process."""
    out = tmp_path_factory.mktemp("reference") / "study"
    proc = _run(_cli(config_file, out))
    return out, proc


# --------------------------------------------------------------------------- units


def test_parsers_and_partition():
    assert parse_seeds("1:3") == [1, 2, 3]
    assert parse_seeds("4") == [4]
    assert parse_shard("2/3") == (2, 3)
    for bad in ("0/2", "3/2", "1-2", "a/b"):
        with pytest.raises(ParameterError, match="--shard"):
            parse_shard(bad)
    with pytest.raises(ParameterError, match="integers"):
        parse_seeds("1.5,2")
    bins = partition([32, 32, 64, 64, 128, 128], 3, cost=lambda L: L * L)
    assert sorted(x for b in bins for x in b) == [32, 32, 64, 64, 128, 128]
    assert all(128 in b for b in bins[:2])
    assert STIFFNESS_CHOICES == ("auto",) + METHODS


def test_shards_are_disjoint_and_complete():
    config = RunConfig.from_dict({"disorder": {"band1": {"kind": "random", "seed": 1}}})
    d = StudyDefinition.build(config, [32, 64, 128], [1, 2, 3], [0.1, 0.2])
    for n in (1, 2, 4, 9, 12):
        shards = [shard_chains(d, (k, n)) for k in range(1, n + 1)]
        flat = [c for s in shards for c in s]
        assert sorted(flat) == sorted(d.chains) and len(flat) == len(set(flat))


def test_definition_refusals():
    clean = RunConfig.from_dict({"lattice": {"L": 8}})
    with pytest.raises(ParameterError, match="no seeded"):
        StudyDefinition.build(clean, [8], [1, 2], [0.1])
    StudyDefinition.build(clean, [8], [1], [0.1])  # one seed: a label
    seeded = RunConfig.from_dict({"disorder": {"band1": {"kind": "random", "seed": 1},
                                               "band2": {"kind": "random", "seed": 5}}})
    d = StudyDefinition.build(seeded, [8, 64], [7], [0.1], stiffness="auto")
    cfg = d.chain_config(d.chains[0])
    assert cfg.lattice.L == 8 and [b.params["seed"] for b in cfg.disorder] == [7, 7]
    assert d.to_dict()["stiffness_methods"] == {"8": "exact", "64": "kpm"}
    assert "seed" not in d.to_dict()["config"]["disorder"]["band1"]
    with pytest.raises(ParameterError, match="exact"):
        StudyDefinition.build(seeded, [64], [1], [0.1], stiffness="exact")
    with pytest.raises(ParameterError, match="repeat"):
        StudyDefinition.build(seeded, [8, 8], [1], [0.1])


def test_progress_estimate_scales_with_L():
    from largebdg.workflows.study import Chain

    small, big = Chain(8, 1), Chain(16, 1)
    p = StudyProgress([small, big], 2, exponent=2)
    assert (p.done, p.running, p.left, p.eta()) == (0, 0, 4, None)
    p.mark_done((small, 0), 2.0)
    assert p.predicted(8) == 2.0 and p.predicted(16) == pytest.approx(8.0)
    assert p.eta() == pytest.approx(2.0 + 2 * 8.0)
    assert "1/4 done, 0 running, 3 left" in p.describe()


def test_finite_size_fit():
    L = np.array([32.0, 64.0, 128.0])
    fit = finite_size_fit(L, 0.8 + 2.0 / L, [0.01, 0.01, 0.02])
    assert fit["weighted"] and fit["intercept"] == pytest.approx(0.8, abs=1e-12)
    assert fit["intercept_err"] > 0 and fit["dof"] == 1
    y = 0.8 + 3.0 / L ** 2
    assert finite_size_fit(L, y, power=2)["intercept"] == pytest.approx(0.8)
    two = finite_size_fit([32, 64], [0.9, 0.95])  # unweighted, no residual: no error
    assert not two["weighted"] and math.isnan(two["intercept_err"])
    one = finite_size_fit([32], [0.9], [0.01])
    assert one["n_sizes"] == 1 and math.isnan(one["intercept"])


def test_stiffness_tc_error():
    T = np.array([0.05, 0.08, 0.11, 0.14, 0.17])
    Ds = np.clip(0.2 * (0.15 - T), 0, None)
    assert stiffness_tc_error(T, Ds, np.zeros(5)) == 0.0
    err = stiffness_tc_error(T, Ds, np.full(5, 1e-3))
    again = stiffness_tc_error(T, Ds, np.full(5, 1e-3))
    assert 0 < err < 0.02 and err == again  # fixed seed: reproducible


# --------------------------------------------------------------------------- in-process study


def _small_config(method, tol):
    """L = 8, random impurities in band 1 (seed 3): the configuration of the in-process tests."""
    return RunConfig.from_dict({
        "lattice": {"L": 8}, "solver": {"method": method, "tol": tol},
        "disorder": {"band1": {"kind": "random", "strength": 4.0, "density": 0.25, "seed": 3}}})


def test_single_size_study_and_refusals(tmp_path):
    config = _small_config("dense", 1e-6)
    out = tmp_path / "one"
    seen = []
    temps = [0.06, 0.12, 0.2]
    summary = study(config, [8], [1], temps, outdir=out,
                    on_point=lambda p, progress: seen.append((p.status, progress.done)))
    assert seen == [("computed", 1), ("computed", 2), ("computed", 3)]
    assert summary.computed == 3 and read_study(out)["L"] == [8]
    tables, written = write_study_report(out)
    assert math.isfinite(tables.tc[0]["tc_gap"])
    assert [r["n_sizes"] for r in tables.extrapolation] == [1, 1, 0, 0]  # gap; no stiffness
    assert all(math.isnan(r["intercept"]) for r in tables.extrapolation)
    assert (out / "figures" / "study_tc.png").is_file()
    assert not (out / "figures" / "study_stiffness.png").exists()  # no stiffness asked
    data = np.genfromtxt(out / "points.csv", delimiter=",", names=True)
    assert data.shape == (3,) and np.all(np.isnan(data["stiffness_2"]))
    # resume: nothing recomputed; another definition refused
    again = study(config, [8], [1], temps, outdir=out)
    assert again.computed == 0
    # settings that cannot change a result (config.RESULT_NEUTRAL_KEYS) may differ on resume
    neutral = apply_overrides(config, ["chebyshev.threads=3", "solver.checkpoint_seconds=5"])
    assert study(neutral, [8], [1], temps, outdir=out).computed == 0
    with pytest.raises(ParameterError, match="different definition.*config differs"):
        study(apply_overrides(config, ["solver.tol=1e-7"]), [8], [1], temps, outdir=out)
    with pytest.raises(ParameterError, match="different definition.*T differs"):
        study(config, [8], [1], [0.06, 0.1], outdir=out)
    # adding the stiffness is a different definition too; with force every point is redone
    with pytest.raises(ParameterError, match="stiffness"):
        study(config, [8], [1], temps, outdir=out, stiffness="exact")
    # a chain locked by another process (a second copy of the same shard) is refused
    lock = chain_lock_dir(out, 8, 1)
    with directory_lock(lock):
        with pytest.raises(ParameterError, match="in use"):
            study(config, [8], [1], temps, outdir=out)
    assert study_tables(out).tc[0]["n_points"] == 3


def test_missing_stiffness_is_computed_without_solving(tmp_path):
    config = _small_config("dense", 1e-6)
    out = tmp_path / "s"
    study(config, [8], [1], [0.06, 0.12], outdir=out, stiffness="exact")
    files = _point_files(out)
    from largebdg.io import save_result

    stripped = load_result(files[1])
    stripped.observables.clear()
    save_result(stripped, files[1], force=True)  # as if killed before its stiffness
    before = files[0].stat().st_mtime_ns
    statuses = []
    summary = study(config, [8], [1], [0.06, 0.12], outdir=out, stiffness="exact",
                    on_point=lambda p, _: statuses.append((p.point.status, p.stiffness_status)))
    assert statuses == [("existing", "existing"), ("existing", "computed")]
    assert summary.computed == 1 and files[0].stat().st_mtime_ns == before
    assert load_result(files[1]).stiffness is not None


def test_unfinished_chains_stay_out_of_the_size_statistics(tmp_path):
    """A chain stopped below T_c gets a T_c row (marked incomplete) but does not enter the
    per-L means, which would otherwise average an extrapolation from below the transition."""
    config = _small_config("dense", 1e-6)
    out = tmp_path / "s"

    class Stop(Exception):
        pass

    def stop_after_seven(point, progress):
        if progress.done == 7:  # seed 2 stops at T = 0.14, as if the job had been killed
            raise Stop

    with pytest.raises(Stop):
        study(config, [8], [1, 2], [0.06, 0.1, 0.14, 0.3], outdir=out, on_point=stop_after_seven)
    tables = study_tables(out)
    assert [bool(r["complete"]) for r in tables.tc] == [True, False]
    assert math.isfinite(tables.tc[1]["tc_gap"])  # extrapolated from T <= 0.14
    gap = {r["quantity"]: r for r in tables.by_L}["gap"]
    assert gap["n_seeds"] == 1 and gap["tc_mean"] == tables.tc[0]["tc_gap"]
    study(config, [8], [1, 2], [0.06, 0.1, 0.14, 0.3], outdir=out)  # resumed: both count
    assert {r["quantity"]: r for r in study_tables(out).by_L}["gap"]["n_seeds"] == 2


def test_stiffness_from_approximate_bond_averages_is_recomputed(tmp_path):
    """A kpm estimate that took <-k_x> from a Chebyshev solution's bond averages (not in its
    uncertainty) is not a finished point: the rerun recomputes it without solving again."""
    from largebdg.workflows.stiffness import attach_stiffness

    config = _small_config("chebyshev", 1e-5)
    out = tmp_path / "s"
    study(config, [8], [1], [0.06, 0.12], outdir=out, stiffness="kpm")
    files = _point_files(out)
    assert load_result(files[0]).stiffness_settings["diamagnetic"] == "probed"
    attach_stiffness(files[1], "kpm", force=True, seed=1, diamagnetic="bond_averages")
    statuses = []
    summary = study(config, [8], [1], [0.06, 0.12], outdir=out, stiffness="kpm",
                    on_point=lambda p, _: statuses.append((p.point.status, p.stiffness_status)))
    assert statuses == [("existing", "existing"), ("existing", "computed")]
    assert summary.computed == 1
    assert load_result(files[1]).stiffness_settings["diamagnetic"] == "probed"


# --------------------------------------------------------------------------- CLI, kill, shards


def test_cli_output_is_log_friendly(reference):
    out, proc = reference
    assert "\r" not in proc.stdout
    finished = [line for line in proc.stdout.splitlines() if " done, " in line]
    assert len(finished) == N_POINTS and "ETA" in finished[0]
    assert f"{N_POINTS}/{N_POINTS} done, 0 running, 0 left" in finished[-1]
    for name in REPORT_TABLES:
        with open(out / name) as fh:
            header = fh.readline().strip().split(",")
        assert header and "" not in header
    points = _table(out / "points.csv", drop=())
    assert len(points) == N_POINTS
    for col in ("L", "seed", "T", "mean_gap_1", "mean_gap_2", "max_gap_1", "max_gap_2",
                "delta2_hom", "stiffness_1", "stiffness_2", "stiffness_2_err", "converged",
                "wall_time"):
        assert col in points[0]
    assert all(np.isfinite(r["stiffness_2"]) and r["stiffness_2_err"] == 0 for r in points)
    tc = _table(out / "tc.csv")
    assert [(r["L"], r["seed"]) for r in tc] == [(8, 1), (8, 2), (10, 1), (10, 2)]
    for col in ("tc_gap", "tc_stiffness", "tc_stiffness_err"):
        assert col in tc[0]
    assert len(_table(out / "tc_by_L.csv")) == 4
    fit = [r for r in _table(out / "extrapolation.csv") if r["primary"] == 1]
    assert len(fit) == 2 and all(r["n_sizes"] == 2 for r in fit)
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "study_gaps.png", "study_stiffness.png", "study_tc.png"]


def test_killed_study_resumes(reference, config_file, tmp_path):
    out = tmp_path / "killed"
    proc = subprocess.Popen(_cli(config_file, out, "--quiet"), env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 600
        while not any(_finished(p) for p in _point_files(out)):
            assert proc.poll() is None, "the study ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finished = {p: p.stat().st_mtime_ns for p in _point_files(out) if _finished(p)}
    assert 0 < len(finished) < N_POINTS
    rerun = _run(_cli(config_file, out))
    computed = int(rerun.stdout.split(" point(s) computed")[0].rsplit(" ", 1)[-1])
    assert computed == N_POINTS - len(finished)
    assert {p: p.stat().st_mtime_ns for p in finished} == finished
    assert len(_point_files(out)) == N_POINTS
    _assert_same_tables(reference[0], out)
    # and a third run computes nothing
    third = _run(_cli(config_file, out))
    assert "0 point(s) computed" in third.stdout


def test_two_shards_give_the_unsharded_points(reference, config_file, tmp_path):
    out = tmp_path / "sharded"
    procs = [subprocess.Popen(_cli(config_file, out, "--shard", f"{k}/2", "--no-report",
                                   "--quiet"), env=ENV, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for k in (1, 2)]
    for p in procs:  # both shards run at the same time on one DIR
        stdout, stderr = p.communicate(timeout=900)
        assert p.returncode == 0, stderr
    assert main(["report", str(out), "--quiet"]) == 0
    assert [p.relative_to(out) for p in _point_files(out)] == [
        p.relative_to(reference[0]) for p in _point_files(reference[0])]
    _assert_same_tables(reference[0], out)


@pytest.mark.mpi
@pytest.mark.skipif(shutil.which("mpiexec") is None, reason="mpiexec not installed")
def test_mpi_groups_match_one_process(reference, config_file, tmp_path):
    out = tmp_path / "mpi"
    cmd = ["mpiexec", "--allow-run-as-root", "--oversubscribe", "-n", "2"] + _cli(
        config_file, out, "--ranks-per-chain", "1")
    proc = _run(cmd)
    assert "group 1/2" in proc.stdout and "group 2/2" in proc.stdout
    _assert_same_tables(reference[0], out)


def test_report_over_several_study_directories(tmp_path, capsys):
    """A size run as a study of its own (as the 256² chain) joins the others in one report."""
    config = _small_config("dense", 1e-6)
    temps = [0.06, 0.12, 0.2]
    a, b, both = tmp_path / "a", tmp_path / "b", tmp_path / "both"
    study(config, [8], [1, 2], temps, outdir=a)
    study(config, [12], [1], temps, outdir=b)
    alone = write_study_report(a)[0]
    assert main(["report", str(a), str(b), "--out", str(both), "--quiet"]) == 0
    tc = _table(both / "tc.csv")
    assert [(r["L"], r["seed"]) for r in tc] == [(8.0, 1.0), (8.0, 2.0), (12.0, 1.0)]
    by_L = _table(both / "tc_by_L.csv")
    assert sorted({r["L"] for r in by_L}) == [8.0, 12.0]
    gap = [r for r in _table(both / "extrapolation.csv")
           if r["quantity"] == "gap" and r["power"] == 1.0]
    assert gap[0]["n_sizes"] == 2 and math.isfinite(gap[0]["intercept"])
    # the chains of 'a' get the same rows as in its own report
    np.testing.assert_equal([r for r in tc if r["L"] == 8.0], _table(a / "tc.csv"))
    assert len(_table(both / "points.csv")) == 9 and len(alone.points) == 6
    # several directories need --out; a chain in two directories and another model are refused
    assert main(["report", str(a), str(b)]) == 2
    assert "'--out'" in capsys.readouterr().err
    assert main(["report", str(a), str(a), "--out", str(tmp_path / "x")]) == 2
    assert "more than one" in capsys.readouterr().err
    other = tmp_path / "other"
    study(apply_overrides(config, ["solver.tol=1e-7"]), [12], [2], [0.06], outdir=other)
    assert main(["report", str(a), str(other), "--out", str(tmp_path / "y")]) == 2
    assert "another model" in capsys.readouterr().err


def test_report_of_a_non_study_directory_exits_2(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a study directory" in capsys.readouterr().err
