r"""Figures of a finite-size scaling study, and the report (tables and figures) of its directory.

======================  ==================================================================
file (``DIR/figures``)  content
======================  ==================================================================
``study_gaps.png``      :math:`\bar\Delta_1(T)`, :math:`\bar\Delta_2(T)` (Eq. 5) per L, seed
                        mean with the seed standard deviation as error bars
``study_stiffness.png`` :math:`D_{s,2}(T)` per L with error bars
                        (:func:`largebdg.analysis.scaling.curves_by_size`) and the
                        normal-state baseline (dotted); only if some point holds a stiffness
``study_tc.png``        :math:`T_c/T_c^{(0)}` against :math:`1/L` for the gap and the
                        stiffness estimates: seeds (small), seed means with standard
                        errors, the weighted fit in :math:`1/L` and its intercept at
                        :math:`L \to \infty` with the fit's standard error
======================  ==================================================================

The numbers come from :mod:`largebdg.analysis.scaling`; :func:`write_study_report`
writes them and the figures under the study lock.
"""

from pathlib import Path

import numpy as np

from ..analysis.scaling import (
    BOOTSTRAP_RESAMPLES,
    PRIMARY_POWER,
    QUANTITIES,
    curves_by_size,
    study_tables,
    write_study_tables,
)
from ..errors import ParameterError
from ..io.studies import read_study
from ..workflows.study import study_lock
from . import maps
from .maps import BAND_COLORS
from .output import save_png

__all__ = ["plot_gaps_by_size", "plot_stiffness_by_size", "plot_tc_scaling", "write_study_report"]

QUANTITY_STYLE = {"gap": ("tab:red", "o", r"$T_c^\Delta$ (mean gap $\bar\Delta_1$)"),
                  "stiffness": ("tab:blue", "s", r"$T_c$ of $D_{s,2}$")}
"""Colour, marker and label of each T_c estimate."""


def _size_colors(sizes):
    """One colour of the viridis map per lattice size."""
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    n = len(sizes)
    return {L: cmap(0.85 * k / max(n - 1, 1)) for k, L in enumerate(sorted(sizes))}


def plot_gaps_by_size(curves, axes=None):
    r"""Mean gaps :math:`\bar\Delta_\nu(T/T_c^{(0)})` of both bands, one curve per L.

    Parameters
    ----------
    curves : dict
        :func:`~largebdg.analysis.scaling.curves_by_size`.
    axes : sequence of two matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = maps.figure_and_axes(axes, 2, (10.0, 4.0))
    colors = _size_colors(list(curves))
    for band, ax in enumerate(axes):
        for L, c in curves.items():
            several = np.any(c["n_seeds"] > 1)
            ax.errorbar(c["T_over_Tc0"], c["gap_mean"][:, band],
                        yerr=c["gap_std"][:, band] if several else None, fmt="o-",
                        color=colors[L], markersize=4, capsize=2,
                        label=f"L = {L} ({int(c['n_seeds'].max())} seeds)")
        ax.axvline(1.0, color="gray", linestyle=":", linewidth=1.0)
        ax.set_xlabel(r"$T / T_c^{(0)}(L)$")
        ax.set_ylabel(rf"$\bar\Delta_{band + 1}$")
        ax.set_title(f"band {band + 1}", color=BAND_COLORS[band])
        ax.legend(fontsize="small")
    return fig


def plot_stiffness_by_size(curves, ax=None):
    r"""Weak-band stiffness :math:`D_{s,2}(T/T_c^{(0)})` per L with error bars.

    Parameters
    ----------
    curves : dict
        :func:`~largebdg.analysis.scaling.curves_by_size`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax,) = maps.figure_and_axes(ax, 1, (6.0, 4.0))
    colors = _size_colors(list(curves))
    for L, c in curves.items():
        if not np.any(np.isfinite(c["stiffness_2"])):
            continue
        ax.errorbar(c["T_over_Tc0"], c["stiffness_2"], yerr=c["stiffness_2_err"], fmt="o-",
                    color=colors[L], markersize=4, capsize=2, label=f"L = {L}")
        ax.plot(c["T_over_Tc0"], c["stiffness_2_normal"], ":", color=colors[L], linewidth=1.0)
    ax.axhline(0.0, color="gray", linewidth=0.5)
    ax.axvline(1.0, color="gray", linestyle=":", linewidth=1.0)
    ax.set_xlabel(r"$T / T_c^{(0)}(L)$")
    ax.set_ylabel(r"$D_{s,2}$ (dotted: normal state)")
    ax.legend(fontsize="small")
    return fig


def plot_tc_scaling(tables, ax=None, power=PRIMARY_POWER):
    r""":math:`T_c/T_c^{(0)}` against :math:`1/L` with the extrapolation to :math:`L \to \infty`.

    Parameters
    ----------
    tables : StudyTables
        :func:`~largebdg.analysis.scaling.study_tables`.
    ax : matplotlib Axes, optional
    power : int, optional
        Which fit to draw (``power`` of ``extrapolation.csv``), default the primary one.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax,) = maps.figure_and_axes(ax, 1, (6.0, 4.5))
    notes = []
    xmax = 0.0
    for quantity in QUANTITIES:
        color, marker, label = QUANTITY_STYLE[quantity]
        seeds = [(r["L"], r[f"ratio_{quantity}"]) for r in tables.tc]
        seeds = [(L, y) for L, y in seeds if np.isfinite(y)]
        if not seeds:
            continue
        x = np.array([1.0 / L for L, _ in seeds])
        xmax = max(xmax, x.max())
        ax.plot(x, [y for _, y in seeds], marker, color=color, alpha=0.35, markersize=4)
        rows = [r for r in tables.by_L if r["quantity"] == quantity and r["n_seeds"] > 0]
        ax.errorbar([1.0 / r["L"] for r in rows], [r["ratio_mean"] for r in rows],
                    yerr=[np.nan_to_num(r["ratio_sem"]) for r in rows], fmt=marker,
                    color=color, capsize=3, markersize=7, label=label)
        fit = tables.fit(quantity, power)
        if np.isfinite(fit["intercept"]):
            grid = np.linspace(0.0, 1.05 * x.max(), 50)
            ax.plot(grid, fit["intercept"] + fit["slope"] * grid ** power, "--", color=color,
                    linewidth=1.0)
            err = fit["intercept_err"]
            ax.errorbar([0.0], [fit["intercept"]], yerr=[err] if np.isfinite(err) else None,
                        fmt="*", color=color, markersize=12, capsize=4)
            notes.append(f"{quantity}: L→∞ {fit['intercept']:.4f} ± {err:.4f}"
                         + ("" if fit["weighted"] else " (unweighted)"))
        else:
            notes.append(f"{quantity}: fewer than 2 sizes, no extrapolation")
    ax.set_xlim(-0.02 * max(xmax, 1e-3), 1.1 * xmax if xmax else 1.0)
    ax.set_xlabel(r"$1/L$")
    ax.set_ylabel(r"$T_c / T_c^{(0)}(L)$")
    fit_name = "1/L" if power == 1 else f"1/L^{power}"
    ax.set_title(f"fit in {fit_name}: " + "; ".join(notes) if notes else "no T_c yet",
                 fontsize="small")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize="small")
    return fig


def write_study_report(outdir, *, sources=None, resamples=BOOTSTRAP_RESAMPLES,
                       lock_timeout=120.0):
    """Write the tables and figures of a study directory from whatever it holds.

    Taken under the study lock (:func:`largebdg.workflows.study.study_lock`) of
    ``outdir``, so that shards finishing together write complete reports in turn.

    Parameters
    ----------
    outdir : str or os.PathLike
        Study directory, or the directory of a combined report (created if missing).
    sources : sequence of str or os.PathLike, optional
        Study directories to analyse together (:func:`~largebdg.analysis.scaling.study_tables`);
        default ``[outdir]``.
    resamples : int, optional
        Bootstrap resamples of the stiffness T_c errors.
    lock_timeout : float, optional

    Returns
    -------
    tables : StudyTables
    written : list of pathlib.Path
    """
    outdir = Path(outdir)
    sources = [outdir] if sources is None else [Path(d) for d in sources]
    for d in sources:
        if read_study(d) is None:
            raise ParameterError(f"'dir': '{d}' is not a study directory (no study.json)")
    outdir.mkdir(parents=True, exist_ok=True)
    with study_lock(outdir, timeout=lock_timeout):
        tables = study_tables(sources, resamples=resamples)
        written = write_study_tables(outdir, tables)
        figdir = outdir / "figures"
        figdir.mkdir(exist_ok=True)
        curves = curves_by_size(tables.points)
        if curves:
            written.append(save_png(plot_gaps_by_size(curves), figdir / "study_gaps.png"))
            if any(np.any(np.isfinite(c["stiffness_2"])) for c in curves.values()):
                written.append(save_png(plot_stiffness_by_size(curves),
                                     figdir / "study_stiffness.png"))
        written.append(save_png(plot_tc_scaling(tables), figdir / "study_tc.png"))
    return tables, written

