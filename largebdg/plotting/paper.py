r"""Figures of temperature sweeps in the style of paper Figs. 1 and 2.

Panel functions accept existing axes (``ax=``) or create a figure, and return the
:class:`matplotlib.figure.Figure`; matplotlib is imported only when they are
called (see :mod:`largebdg.plotting`).  :func:`write_figure_set` draws every
panel of one scenario from its sweep directories (one per disorder seed) and
records the critical temperatures; it is what ``largebdg sweep --plot`` and the
``examples/paper_fig*.py`` scripts call.

======================  =====================================================  ============
file                    content                                                paper panel
======================  =====================================================  ============
``PREFIX_a_gaps.png``   :math:`\bar\Delta_{1,2}(T)`, disordered (seed mean and  1a, 2a3-c3
                        spread) and clean
``PREFIX_bcde.png``     gap maps, profiles and histograms at                   1b-e, 2a1-c2
                        :math:`T \approx 0.9T_c^{(0)}` (first seed)
``PREFIX_f_delta0.png`` measured :math:`\Delta_2^{(0)}(T)` and Eq. (26)        1f, 2a4-c4
``PREFIX_g_stiff.png``  :math:`D_{s,2}(T)` with its uncertainty as error bars,  1g
                        scaled :math:`|\Delta_2^{(0)}|^2` and
                        :math:`\bar\Delta_2^2` (only if the files hold a
                        stiffness); ``PREFIX_g_stiff_log.png`` the same on the
                        paper's logarithmic axis
======================  =====================================================  ============
"""

from pathlib import Path

import numpy as np

from ..analysis.reference import clean_reference_gaps, clean_reference_stiffness, clean_reference_tc
from ..analysis.tables import (map_index, scenario_tables, seed_mean, seed_spread, sweep_table,
                               write_critical_temperatures)
from ..errors import ParameterError
from ..io import load_result, load_sweep
from ..observables.homogeneous import eq7_fit
from . import maps
from .maps import BAND_COLORS
from .output import save_png

__all__ = [
    "plot_mean_gaps",
    "plot_homogeneous",
    "plot_stiffness",
    "write_figure_set",
    "write_sweep_figures",
]


def _axes(ax, figsize=(6.0, 4.0)):
    fig, (ax,) = maps.figure_and_axes(ax, 1, figsize)
    return fig, ax


def plot_mean_gaps(T, mean_gap, *, clean=None, tc0=None, xlabel="T", ax=None):
    r"""Sample-averaged gaps :math:`\bar\Delta_\nu(T)` of Eq. (5) (paper Fig. 1a).

    Parameters
    ----------
    T : array_like, shape (n,)
        Temperatures (or values of another swept parameter).
    mean_gap : array_like, shape (n_seeds, n, 2) or (n, 2)
        :math:`\bar\Delta_\nu` per seed; the seed mean is drawn as filled
        circles with the standard deviation as error bars.
    clean : tuple of array_like, optional
        ``(T_clean, gaps_clean)`` with ``gaps_clean`` of shape (m, 2), drawn as
        open circles joined by a line.
    tc0 : float, optional
        :math:`T_c^{(0)}`: plot against :math:`T/T_c^{(0)}` and mark 1.
    xlabel : str, optional
        Label of the x axis when `tc0` is not given.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax)
    T = np.asarray(T, dtype=float)
    gaps = np.asarray(mean_gap, dtype=float).reshape(-1, T.size, 2)
    scale = tc0 or 1.0
    mean, std = seed_spread(gaps)
    for band in range(2):
        ax.errorbar(T / scale, mean[:, band], yerr=std[:, band] if gaps.shape[0] > 1 else None,
                    fmt="o-", color=BAND_COLORS[band], markersize=5, capsize=2,
                    label=rf"$\bar\Delta_{band + 1}$ disordered"
                          + (f" ({gaps.shape[0]} seeds)" if gaps.shape[0] > 1 else ""))
        if clean is not None:
            Tc, gc = np.asarray(clean[0], dtype=float), np.asarray(clean[1], dtype=float)
            ax.plot(Tc / scale, gc[:, band], "o-", color=BAND_COLORS[band], markersize=4,
                    markerfacecolor="white", linewidth=0.8, label=rf"$\Delta_{band + 1}$ clean")
    if tc0:
        ax.axvline(1.0, color="gray", linestyle=":", linewidth=1.0)
        ax.set_xlabel(r"$T / T_c^{(0)}$")
    else:
        ax.set_xlabel(xlabel)
    ax.set_ylabel(r"$\bar\Delta_\nu$")
    ax.legend(fontsize="small")
    return fig


def plot_homogeneous(T, delta0, *, estimate=None, fitted=None, tc0=None, ax=None):
    r"""Homogeneous weak-band gap :math:`\Delta_2^{(0)}(T)` and its estimate (paper Fig. 1f).

    Parameters
    ----------
    T : array_like, shape (n,)
    delta0 : array_like, shape (n_seeds, n) or (n,)
        Measured :math:`\Delta_2^{(0)}`, e.g. from
        :func:`~largebdg.observables.homogeneous.homogeneous_gap`.
    estimate : array_like, optional
        Eq. (26) values, same shape as `delta0`, drawn as a dashed line (seed mean).
    fitted : array_like, shape (n,), optional
        Eq. (7) with fitted constants (:func:`~largebdg.observables.homogeneous.eq7_fit`),
        drawn dotted.
    tc0 : float, optional
        Plot against :math:`T/T_c^{(0)}`.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax)
    T = np.asarray(T, dtype=float)
    scale = tc0 or 1.0
    d0 = np.asarray(delta0, dtype=float).reshape(-1, T.size)
    mean, std = seed_spread(d0)
    ax.errorbar(T / scale, mean, yerr=std if d0.shape[0] > 1 else None, fmt="o",
                color=BAND_COLORS[1], capsize=2, label=r"$\Delta_2^{(0)}$ numerical")
    if estimate is not None:
        est = seed_spread(np.asarray(estimate, dtype=float).reshape(-1, T.size))[0]
        ax.plot(T / scale, est, "--", color="tab:orange", label="Eq. (26)")
    if fitted is not None:
        ax.plot(T / scale, fitted, ":", color="tab:gray", label=r"Eq. (7), fitted $c_1, c_2$")
    ax.set_xlabel(r"$T / T_c^{(0)}$" if tc0 else "T")
    ax.set_ylabel(r"$\Delta_2^{(0)}$")
    ax.legend(fontsize="small")
    return fig


def _fit_scale(target, model):
    """Least-squares factor s minimising |target - s model| over finite points."""
    keep = np.isfinite(target) & np.isfinite(model)
    denom = np.dot(model[keep], model[keep])
    return np.dot(target[keep], model[keep]) / denom if denom > 0 else np.nan


def plot_stiffness(T, Ds2, delta0, mean_delta2, *, Ds2_err=None, clean=None, tc0=None,
                   log=False, ax=None):
    r"""Weak-band stiffness :math:`D_{s,2}(T)` against scaled gap squares (paper Fig. 1g).

    :math:`|\Delta_2^{(0)}|^2` (orange) and :math:`\bar\Delta_2^2` (red) are each
    multiplied by the factor that fits them best to :math:`D_{s,2}` (least squares).

    Parameters
    ----------
    T : array_like, shape (n,)
    Ds2, delta0, mean_delta2 : array_like, shape (n,)
        Stiffness, homogeneous gap and mean gap of band 2 (seed means).
    Ds2_err : array_like, shape (n,), optional
        Uncertainty of ``Ds2`` (the estimator's, ``stiffness_stderr``), drawn as error bars.
    clean : tuple of array_like, optional
        ``(T_clean, Ds2_clean)``, drawn as open circles.
    tc0 : float, optional
        Plot against :math:`T/T_c^{(0)}`.
    log : bool, optional
        Logarithmic D_s axis, as in the paper (points with D_s <= 0 are left out).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, ax = _axes(ax)
    T, Ds2, d0, m2 = (np.asarray(a, dtype=float) for a in (T, Ds2, delta0, mean_delta2))
    x = T / (tc0 or 1.0)
    err = None if Ds2_err is None else np.asarray(Ds2_err, dtype=float)
    if log:  # drop D_s <= 0 and clip the lower bars at a tenth of the value
        ax.set_yscale("log")
        Ds2 = np.where(Ds2 > 0, Ds2, np.nan)
        if err is not None:
            err = np.array([np.minimum(err, 0.9 * Ds2), err])
    ax.errorbar(x, Ds2, yerr=err, fmt="o", color=BAND_COLORS[1], capsize=2,
                label=r"$D_{s,2}$ disordered")
    if clean is not None:
        ax.plot(np.asarray(clean[0]) / (tc0 or 1.0), clean[1], "o", color=BAND_COLORS[1],
                markerfacecolor="white", label=r"$D_{s,2}$ clean")
    for values, color, label in ((d0 ** 2, "tab:orange", r"$\propto|\Delta_2^{(0)}|^2$"),
                                 (m2 ** 2, "tab:red", r"$\propto\bar\Delta_2^2$")):
        ax.plot(x, _fit_scale(Ds2, values) * values, "--", color=color, label=label)
    if log and np.any(Ds2 > 0):  # the scaled gap curves fall far below the data: cut there
        ax.set_ylim(bottom=0.3 * np.nanmin(Ds2[Ds2 > 0]))
    ax.set_xlabel(r"$T / T_c^{(0)}$" if tc0 else "T")
    ax.set_ylabel(r"$D_{s,2}$")
    ax.legend(fontsize="small")
    return fig


def write_figure_set(dirs, figdir, *, prefix="fig", clean_dir=None, tc_file=None,
                     map_T=None, delta0_method="percentile"):
    r"""Draw all panels of one scenario from its temperature sweeps and record :math:`T_c`.

    Parameters
    ----------
    dirs : sequence of str or os.PathLike
        Sweep directories of the disordered system, one per seed, over the
        same temperatures.
    figdir : str or os.PathLike
        Directory of the PNG files (created if missing).
    prefix : str, optional
        File name prefix, e.g. ``"fig1"`` gives ``fig1_a_gaps.png`` etc.
    clean_dir : str or os.PathLike, optional
        Real-space sweep of the clean lattice; otherwise the clean curves are the
        momentum-space solution of the same lattice
        (:func:`~largebdg.analysis.reference.clean_reference_gaps` and
        :func:`~largebdg.analysis.reference.clean_reference_stiffness`).
    tc_file : str or os.PathLike, optional
        JSON file receiving the critical temperatures
        (:func:`~largebdg.analysis.tables.write_critical_temperatures`).
    map_T : float, optional
        Temperature of the maps, profiles and histograms (default the point
        nearest to :math:`0.9T_c^{(0)}`).
    delta0_method : str, optional
        Definition of the measured :math:`\Delta_2^{(0)}`.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    tables = scenario_tables(dirs, delta0_method=delta0_method)
    T = tables[0]["T"]
    config = tables[0]["data"].config
    ref = clean_reference_tc(config)
    tc0 = ref.lattice
    figdir = Path(figdir)
    figdir.mkdir(parents=True, exist_ok=True)
    written = []

    if clean_dir is not None:
        ct = sweep_table(clean_dir)
        clean_curve = (ct["T"], ct["mean_abs_gap"])
    else:
        Tfine = np.linspace(0.0, 1.0, 41)[1:] * max(T.max(), 1.05 * tc0)
        clean_curve = (Tfine, clean_reference_gaps(config, Tfine))
        ct = None
    gaps = np.array([t["mean_abs_gap"] for t in tables])
    fig = plot_mean_gaps(T, gaps, clean=clean_curve, tc0=tc0)
    fig.axes[0].set_title(f"L = {config.lattice.L}, {config.disorder[0].kind} disorder")
    written.append(save_png(fig, figdir / f"{prefix}_a_gaps.png"))

    k = map_index(T, tc0, map_T)
    fig = maps.plot_summary(load_result(tables[0]["data"].files[k]))
    written.append(save_png(fig, figdir / f"{prefix}_bcde.png"))

    d0 = np.array([t["delta0"] for t in tables])
    est = np.array([t["eq26"] for t in tables])
    d1 = seed_spread(gaps[:, :, 0])[0]
    ordered = d1 > 1e-2 * d1.max()  # fit Eq. (7) only where the condensate exists
    m = config.model
    try:
        fit7 = eq7_fit(T[ordered], seed_spread(d0)[0][ordered], d1[ordered], g=m.g, g12=m.g12)
        fitted = fit7.delta0(T, d1)
    except ParameterError:  # fewer than two such points
        fitted = None
    written.append(save_png(plot_homogeneous(T, d0, estimate=est, fitted=fitted, tc0=tc0),
                         figdir / f"{prefix}_f_delta0.png"))

    Ds = np.array([t["stiffness"][:, 1] for t in tables])
    if np.any(np.isfinite(Ds)):
        if ct is None:
            Tds = Tfine[Tfine >= T.min()]  # the sweep's range: disordered points stay legible
            clean_ds = (Tds, clean_reference_stiffness(config, Tds)[:, 1])
        else:
            clean_ds = (ct["T"], ct["stiffness"][:, 1])
        m2 = seed_spread(np.array([t["mean_abs_gap"][:, 1] for t in tables]))[0]
        # the seed mean's error: seeds' standard error or the estimators' uncertainty
        mean_ds, err, _ = seed_mean(Ds, [t["stiffness_stderr"][:, 1] for t in tables])
        for log, suffix in ((False, ""), (True, "_log")):
            fig = plot_stiffness(T, mean_ds, seed_spread(d0)[0], m2, Ds2_err=err,
                                 clean=clean_ds, tc0=tc0, log=log)
            written.append(save_png(fig, figdir / f"{prefix}_g_stiff{suffix}.png"))

    if tc_file is not None:
        written.append(write_critical_temperatures(dirs, tc_file, map_T=map_T,
                                                   delta0_method=delta0_method))
    return written


def write_sweep_figures(outdir):
    """Figures of one sweep directory into ``outdir/figures`` (``largebdg sweep --plot``).

    A temperature sweep gets the panels of :func:`write_figure_set` (prefix
    ``sweep``) and ``outdir/tc.json``; a sweep over another parameter gets the
    mean gaps against that parameter, ``sweep_gaps.png``.

    Parameters
    ----------
    outdir : str or os.PathLike
        Directory written by :func:`largebdg.workflows.sweep.sweep`.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    outdir = Path(outdir)
    data = load_sweep(outdir).sorted()
    if data.parameter == "solver.T":
        return write_figure_set([outdir], outdir / "figures", prefix="sweep",
                                tc_file=outdir / "tc.json")
    (outdir / "figures").mkdir(exist_ok=True)
    fig = plot_mean_gaps(data.values, data.mean_abs_gap, xlabel=data.parameter)
    return [save_png(fig, outdir / "figures" / "sweep_gaps.png")]

