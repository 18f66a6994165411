"""The benchmarks still run: each on a tiny input, started as a user starts it.

Nothing is timed here (speed is measured by the benchmarks themselves, docs/performance.md);
these tests keep the scripts in ``benchmarks/`` from rotting when the package's interfaces
change, as ``bench_engines.one_iteration`` once did when an engine keyword was renamed.  What
is asserted is what each script must print for its documented use.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from _helpers import paper_config

from largebdg import attach_stiffness, run, save_result

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def bench(script, *args):
    """stdout of ``python benchmarks/SCRIPT ARGS``; fails with its stderr if it fails."""
    proc = subprocess.run([sys.executable, str(BENCHMARKS / script), *map(str, args)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.fixture(scope="module")
def chebyshev_file(tmp_path_factory):
    """A converged L = 12 Chebyshev result with its kpm stiffness, saved as a user's file."""
    result = run(paper_config(12, T=0.1, method="chebyshev", tol=1e-4))
    assert result.converged
    path = tmp_path_factory.mktemp("bench") / "cheb12.h5"
    save_result(result, path)
    attach_stiffness(path, "kpm")
    return path


@pytest.mark.parametrize("strategy", ["probing", "exact"])
def test_bench_engines_one_iteration(strategy):
    out = bench("bench_engines.py", "--child", "iter", 8, "chebyshev", 1e-2, strategy)
    line = next(x for x in out.splitlines() if x.startswith("RESULT "))
    found = json.loads(line[len("RESULT "):])
    assert found["seconds"] > 0
    assert found["settings"]["strategy"] == strategy
    assert len(found["F"]) == 2 and len(found["F"][0]) == 64


def test_bench_probing_prints_a_row_per_band_and_distance():
    # L = 24, d = 6 and 8: four and three segments per axis, probing active (d < L/2)
    out = bench("bench_probing.py", 24, 0.2, "random", 1, "--distances", "6,8,30")
    rows = [x.split() for x in out.splitlines() if not x.startswith("#")]
    assert sorted((int(r[0]), int(r[1])) for r in rows) == [(1, 6), (1, 8), (2, 6), (2, 8)]
    # the realised error is covered by the whole-lattice estimate (realised/estimate <= 1)
    assert all(0 < float(r[2]) <= float(r[3]) for r in rows)


def test_bench_dense_residual(chebyshev_file):
    out = json.loads(bench("bench_dense_residual.py", chebyshev_file))
    assert out["L"] == 12 and out["converged"]
    # a converged result is a fixed point of the exact map up to the engine's error
    assert max(out["dense_residual"]["max_gap_band"]) < 1e-2


def test_iteration_on_field_times_the_stored_field(chebyshev_file, tmp_path):
    field = tmp_path / "field.npz"
    bench("iteration_on_field.py", "save", chebyshev_file, field)
    out = json.loads(bench("iteration_on_field.py", "time", field))
    assert out["L"] == 12 and out["T"] == 0.1 and out["seconds"] > 0
    assert len(out["num_moments"]) == 2 and len(out["control_variate"]) == 2


def test_refinement_ratio_reports_covered_errors(chebyshev_file, tmp_path):
    field = tmp_path / "field.npz"
    bench("iteration_on_field.py", "save", chebyshev_file, field)
    lines = [json.loads(x) for x in bench("refinement_ratio.py", field, 1, "3,4").splitlines()]
    assert lines[0]["L"] == 12 and [x["d"] for x in lines[1:]] == [3, 4]
    assert lines[1]["refining"]["nested"] and lines[1]["ratio"] == 2.0  # q = 4
    for row in lines[1:]:
        covered = [x for x in row["estimate_over_realised"] if x is not None]
        assert covered and min(covered) >= 1  # the estimate covers the realised error


def test_bench_stiffness_kpm_covers_the_exact_value(chebyshev_file):
    out = bench("bench_stiffness_kpm.py", chebyshev_file)
    assert "covered (computed): 2/2" in out and "covered (stored): 2/2" in out


def test_bench_stiffness_table():
    out = bench("bench_stiffness.py", "--sizes", 8, "--exact-max", 8, "--vectors", 4,
                "--repeats", 1)
    rows = [x for x in out.splitlines() if x.startswith("| 8 |")]
    assert len(rows) == 1


def test_compare_versions_lists_its_workloads():
    out = bench("compare_versions.py", "--list")
    assert "full128" in out and "iter64_exact" in out


def test_bench_control_variate_prints_covered_errors():
    out = bench("bench_control_variate.py", 24, 0.2, "--distances", 8)
    rows = [x.split() for x in out.splitlines() if not x.startswith("#")]
    assert [int(r[0]) for r in rows] == [8]
    plain, engine, estimate = map(float, rows[0][2:5])
    assert 0 < engine <= estimate and engine <= plain
