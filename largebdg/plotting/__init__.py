"""Figures only: maps of one result (:mod:`.maps`), paper Figs. 1-2 from sweeps (:mod:`.paper`).

:mod:`.maps` draws the gap maps, profiles and histograms of one result;
:mod:`.paper` the panels of paper Figs. 1 and 2 from temperature sweeps.

Matplotlib is imported only when a figure is drawn; the numbers drawn come
from the analysis layer (:mod:`largebdg.analysis`).
"""

from .maps import (
    BAND_COLORS,
    figure_and_axes,
    plot_convergence,
    plot_gap_maps,
    plot_histograms,
    plot_profiles,
    plot_summary,
    profile_row,
)
from .output import check_figure_path, save_figure

__all__ = ["BAND_COLORS", "figure_and_axes", "profile_row", "plot_gap_maps", "plot_profiles",
           "plot_histograms", "plot_convergence", "plot_summary", "check_figure_path",
           "save_figure"]
