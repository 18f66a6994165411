"""The example scripts still run: each started as a user starts it, on a tiny lattice.

The scripts in ``examples/`` are documented as the way to reproduce the paper (docs/sweeps.md)
and to run large lattices (README); these tests keep them from rotting when the package's
modules move (``paper_fig1.py`` once imported a module that no longer existed, which broke it
and the two scripts built on it).  Nothing is timed; what is asserted is the files each
script must write.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.example
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py"))


def example(script, *args):
    """stdout of ``python examples/SCRIPT ARGS``; fails with its stderr if it fails."""
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *map(str, args)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_example_starts(script):
    assert "usage" in example(script, "--help")


@pytest.mark.slow
def test_paper_figure_scripts_write_their_figures(tmp_path):
    sweep = ["--L", 8, "--method", "dense", "--T-points", "0.1,0.3", "--seeds", 1, "--quiet"]
    example("paper_fig1.py", *sweep, "--out", tmp_path / "f1")
    assert (tmp_path / "f1/random_seed1/point_001_T=0.3.h5").is_file()
    assert {"fig1_a_gaps.png", "fig1_bcde.png"} <= {
        p.name for p in (tmp_path / "f1/figures").iterdir()}
    tc = json.loads((tmp_path / "f1/tc.json").read_text())
    assert tc["L"] == 8 and tc["all_converged"]
    chain = tc["sweeps"][str(tmp_path / "f1/random_seed1")]
    assert 0.1 < chain["Tc_gap_crossing"] < 0.3  # the gaps vanish between the two points
    example("paper_fig2.py", *sweep, "--scenarios", "stripes", "--out", tmp_path / "f2")
    assert (tmp_path / "f2/tc_stripes.json").is_file()


@pytest.mark.slow
def test_large_lattice_and_stiffness_scripts_write_their_results(tmp_path):
    example("large_128.py", "--L", 12, "--out", tmp_path / "large")
    assert {"L12.h5", "L12.png"} <= {p.name for p in (tmp_path / "large").iterdir()}
    example("stiffness_vs_T.py", "--out", tmp_path / "ds", "--L", 8, "--T", 0.1,
            "--cases", "coupled")
    assert (tmp_path / "ds/coupled_L8_T0.1000.h5").is_file()
    assert (tmp_path / "ds/stiffness_vs_T.png").is_file()
