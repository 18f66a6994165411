r"""Figures of a :class:`~largebdg.io.Result`, in the style of paper Fig. 1.

Every function accepts existing axes (``ax=`` or ``axes=``) or creates a new
figure, and returns the :class:`matplotlib.figure.Figure`.  Matplotlib is
imported only when a function is called; without a display (no ``DISPLAY``
or ``WAYLAND_DISPLAY`` on Linux) the non-interactive Agg backend is selected,
unless pyplot was already imported by the caller.

Band 1 (strong) is drawn in red and band 2 (weak) in blue, as in the paper.
"""

import os
import sys

import numpy as np

from ..errors import ParameterError

__all__ = [
    "BAND_COLORS",
    "figure_and_axes",
    "profile_row",
    "plot_gap_maps",
    "plot_profiles",
    "plot_histograms",
    "plot_convergence",
    "plot_summary",
]

BAND_COLORS = ("tab:red", "tab:blue")
"""Line colours of band 1 and band 2."""


def _pyplot():
    """Import pyplot, choosing Agg when no display is available."""
    if "matplotlib.pyplot" not in sys.modules and sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
        or os.environ.get("MPLBACKEND")
    ):
        import matplotlib

        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def figure_and_axes(ax, n, figsize):
    """``(figure, list of n axes)``: new ones if ``ax`` is None, else those given."""
    if ax is None:
        fig, axes = _pyplot().subplots(1, n, figsize=figsize, layout="constrained", squeeze=False)
        return fig, list(axes[0])
    axes = list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != n:
        raise ParameterError(f"'axes' must hold {n} matplotlib Axes, got {len(axes)}")
    return axes[0].figure, axes


def profile_row(result, row=None):
    """Row ``y`` of the gap profiles: ``row`` checked, or the row of the largest ``|Delta_1|``.

    Parameters
    ----------
    result : Result
        The solution whose gap maps are profiled.
    row : int, optional
        Row index in ``[0, L)``.

    Returns
    -------
    int
    """
    L = result.L
    if row is None:
        return int(np.unravel_index(np.argmax(np.abs(result.delta[0])), (L, L))[0])
    if isinstance(row, bool) or not isinstance(row, (int, np.integer)) or not 0 <= row < L:
        raise ParameterError(f"'row' must be an integer in [0, {L - 1}], got {row!r}")
    return int(row)


def plot_gap_maps(result, axes=None, row=None):
    r"""Draw maps of :math:`|\Delta_{1i}|` and :math:`|\Delta_{2i}|` side by side (Fig. 1b, c).

    Parameters
    ----------
    result : Result
        The solution to draw.
    axes : sequence of two matplotlib Axes, optional
        Where to draw band 1 and band 2; a new figure by default.
    row : int, optional
        Row marked by a dashed line, that of :func:`plot_profiles`
        (default: :func:`profile_row`).

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = figure_and_axes(axes, 2, (9.0, 4.0))
    row = profile_row(result, row)
    for band, ax in enumerate(axes):
        image = ax.imshow(np.abs(result.delta[band]), origin="lower", cmap="viridis",
                          interpolation="nearest")
        fig.colorbar(image, ax=ax, label=rf"$|\Delta_{{{band + 1}i}}|$")
        ax.axhline(row, color="white", linestyle="--", linewidth=1.0)
        ax.set_title(rf"band {band + 1}: $|\Delta_{{{band + 1}i}}|$, $T = {result.T:g}$")
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    return fig


def plot_profiles(result, row=None, ax=None):
    r"""Gap profiles :math:`|\Delta_{\nu i}|` along one row, minima dashed (paper Fig. 1d).

    Parameters
    ----------
    result : Result
        The solution to draw.
    row : int, optional
        Row ``y`` of the profile (default: the row through the site of the
        largest :math:`|\Delta_{1i}|`, see :func:`profile_row`).
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax,) = figure_and_axes(ax, 1, (6.0, 4.0))
    row = profile_row(result, row)
    x = np.arange(result.L)
    for band in range(2):
        gap = np.abs(result.delta[band, row])
        ax.plot(x, gap, "o-", color=BAND_COLORS[band], markersize=3,
                label=rf"$|\Delta_{{{band + 1}i}}|$ (max {gap.max():.3g})")
        ax.axhline(gap.min(), color=BAND_COLORS[band], linestyle="--", linewidth=1.0)
    ax.set_xlabel("x")
    ax.set_ylabel(r"$|\Delta_{\nu i}|$")
    ax.set_title(f"profile along y = {row}, T = {result.T:g}")
    ax.legend()
    return fig


def plot_histograms(result, bins=50, ax=None):
    r"""Distributions :math:`P(|\Delta_\nu|)` of the gap values of both bands (paper Fig. 1e).

    Parameters
    ----------
    result : Result
        The solution to draw.
    bins : int, optional
        Number of histogram bins per band.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ParameterError(f"'bins' must be a positive integer, got {bins!r}")
    fig, (ax,) = figure_and_axes(ax, 1, (6.0, 4.0))
    for band in range(2):
        ax.hist(np.abs(result.delta[band]).ravel(), bins=int(bins), density=True,
                color=BAND_COLORS[band], alpha=0.6, label=f"band {band + 1}")
    ax.set_xlabel(r"$|\Delta|$")
    ax.set_ylabel(r"$P(|\Delta|)$")
    ax.set_title(f"gap distribution, T = {result.T:g}")
    ax.legend()
    return fig


def plot_convergence(result, ax=None):
    r"""Self-consistency history: :math:`\max_i |\delta\Delta_{\nu i}|` per band vs iteration.

    Parameters
    ----------
    result : Result
        The solution whose ``history`` is drawn.
    ax : matplotlib Axes, optional
        Where to draw; a new figure by default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, (ax,) = figure_and_axes(ax, 1, (6.0, 4.0))
    steps = np.atleast_2d(np.asarray(result.history["max_ddelta"], dtype=float))
    iteration = np.arange(1, steps.shape[0] + 1)
    for band in range(2):
        ax.semilogy(iteration, steps[:, band], "o-", color=BAND_COLORS[band], markersize=3,
                    label=f"band {band + 1}")
    ax.axhline(result.config.solver.tol, color="gray", linestyle=":", label="tol")
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("iteration")
    ax.set_ylabel(r"$\max_i |\delta\Delta_{\nu i}|$")
    status = "converged" if result.converged else "not converged"
    ax.set_title(f"{status} after {result.iterations} iterations")
    ax.legend()
    return fig


def plot_summary(result, row=None):
    """Gap maps, profiles and histograms of one result in a 2 x 2 figure.

    Parameters
    ----------
    result : Result
        The solution to draw.
    row : int, optional
        Row of the profiles and of the dashed line in the maps.

    Returns
    -------
    matplotlib.figure.Figure
    """
    fig, axes = _pyplot().subplots(2, 2, figsize=(10.0, 8.0), layout="constrained")
    plot_gap_maps(result, axes=axes[0], row=row)
    plot_profiles(result, row=row, ax=axes[1, 0])
    plot_histograms(result, ax=axes[1, 1])
    fig.suptitle(f"L = {result.L}, T = {result.T:g}, "
                 f"{'converged' if result.converged else 'NOT converged'}")
    return fig
