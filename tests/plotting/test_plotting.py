import matplotlib
import numpy as np
import pytest

from largebdg.config import RunConfig
from largebdg.errors import ParameterError
from largebdg.workflows.run import run

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from largebdg import plotting  # noqa: E402


@pytest.fixture(scope="module")
def result():
    config = RunConfig.from_dict({
        "lattice": {"L": 8},
        "solver": {"method": "dense", "T": 0.05, "tol": 1e-5},
        "disorder": {"band1": {"kind": "random", "strength": 4.0, "density": 0.25, "seed": 5}},
    })
    return run(config)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("draw", [plotting.plot_gap_maps, plotting.plot_profiles,
                                  plotting.plot_histograms, plotting.plot_convergence,
                                  plotting.plot_summary])
def test_functions_return_figures(result, draw):
    fig = draw(result)
    assert isinstance(fig, Figure)
    fig.canvas.draw()


def test_summary_has_maps_profiles_histograms(result):
    fig = plotting.plot_summary(result)
    titles = [ax.get_title() for ax in fig.axes]
    assert any("band 1" in t for t in titles) and any("band 2" in t for t in titles)
    assert any("profile" in t for t in titles) and any("distribution" in t for t in titles)


def test_given_axes_are_used(result):
    fig, axes = plt.subplots(1, 3)
    assert plotting.plot_gap_maps(result, axes=axes[:2]) is fig
    assert plotting.plot_profiles(result, ax=axes[2]) is fig
    with pytest.raises(ParameterError, match="'axes'"):
        plotting.plot_gap_maps(result, axes=axes)


def test_profile_row_and_minima(result):
    row = plotting.profile_row(result)
    y_max = np.unravel_index(np.argmax(np.abs(result.delta[0])), (8, 8))[0]
    assert row == y_max
    fig = plotting.plot_profiles(result, row=3)
    ax = fig.axes[0]
    profiles = [line for line in ax.lines if line.get_linestyle() == "-"]
    minima = [line for line in ax.lines if line.get_linestyle() == "--"]
    for band in range(2):
        np.testing.assert_array_equal(profiles[band].get_ydata(), np.abs(result.delta[band, 3]))
        assert minima[band].get_ydata()[0] == np.abs(result.delta[band, 3]).min()
    maps = plotting.plot_gap_maps(result, row=3)
    assert all(ax.lines[0].get_ydata()[0] == 3 for ax in maps.axes[:2] if ax.lines)


@pytest.mark.parametrize("row", [-1, 8, 2.0, True])
def test_bad_row(result, row):
    with pytest.raises(ParameterError, match="'row'"):
        plotting.plot_profiles(result, row=row)


def test_bad_bins(result):
    with pytest.raises(ParameterError, match="'bins'"):
        plotting.plot_histograms(result, bins=0)


def test_convergence_plot_is_logarithmic(result):
    ax = plotting.plot_convergence(result).axes[0]
    assert ax.get_yscale() == "log"
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), result.history["max_ddelta"][:, 0])
