"""MPI: `mpiexec -n 2 largebdg solve` gives the same gaps as one process and writes one file."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from largebdg.io import load_result

pytestmark = pytest.mark.mpi

CONFIG = """
[lattice]
L = 16
[disorder.band1]
kind = "random"
strength = 4.0
density = 0.5
seed = 11
[solver]
method = "chebyshev"
T = 0.098
tol = 1e-6
[chebyshev]
tolerance = 5e-2
"""
# a loose tolerance, so that the automatic probing distance (measured, split over the ranks
# like the colours themselves) stays below L


def _solve(tmp_path, name, nprocs):
    out = tmp_path / name
    cmd = [sys.executable, "-m", "largebdg", "solve", str(tmp_path / "c.toml"), "--out", str(out),
           "--quiet"]
    if nprocs > 1:
        cmd = ["mpiexec", "-n", str(nprocs), "--oversubscribe"] + cmd
    env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stderr
    return load_result(out), proc


@pytest.mark.skipif(shutil.which("mpiexec") is None, reason="mpiexec not installed")
@pytest.mark.parametrize("T", [0.098, 0.03])
def test_two_ranks_match_one(tmp_path, T):
    """Band 1's tanh series is made for its certified gap (MUMPS factorisations of the
    distributed matrix, the same gap on every rank), at T = 0.098 and at 0.03."""
    (tmp_path / "c.toml").write_text(CONFIG.replace("T = 0.098", f"T = {T}"))
    one, _ = _solve(tmp_path, "one.h5", 1)
    two, proc = _solve(tmp_path, "two.h5", 2)
    assert two.solver_settings["mpi_ranks"] == 2
    gaps = two.solver_settings["certified_gap"]
    assert gaps == one.solver_settings["certified_gap"] and gaps[0] > 0
    assert np.abs(two.delta - one.delta).max() <= 1e-10
    assert one.iterations == two.iterations
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml", "one.h5", "two.h5"]
