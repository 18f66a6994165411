"""Figure files: the format check done before any work, and saving a figure exactly there."""

from pathlib import Path

from ..errors import ParameterError
from ..io.files import check_output_path

__all__ = ["DEFAULT_FORMAT", "check_figure_path", "save_figure", "save_png"]

DEFAULT_FORMAT = "png"
"""Format of a figure file whose name has no suffix (the file keeps its exact name)."""


def _formats():
    from matplotlib.backend_bases import FigureCanvasBase

    return FigureCanvasBase.get_supported_filetypes()


def check_figure_path(path, *, force=False, name="--out"):
    """Check a figure file before anything is computed: format, existing file, directory.

    Parameters
    ----------
    path : str or os.PathLike
        ``NAME.png``, ``NAME.pdf``, ``NAME.svg``, ... (any format of matplotlib); without a
        suffix, a PNG file of exactly that name.
    force : bool
        Allow replacing an existing file.
    name : str
        Parameter name for the messages.

    Returns
    -------
    path : pathlib.Path
    fmt : str
        The format to pass to ``savefig``.

    Raises
    ------
    ParameterError
        On an unknown format (listing the known ones) and as
        :func:`largebdg.io.check_output_path`.
    FileExistsError
        As :func:`largebdg.io.check_output_path`.
    """
    path = Path(path)
    fmt = path.suffix[1:].lower() or DEFAULT_FORMAT
    formats = _formats()
    if fmt not in formats:
        raise ParameterError(
            f"'{name}': cannot write figures in the format '{path.suffix}' of '{path}'; "
            f"use one of {', '.join('.' + f for f in sorted(formats))}"
        )
    return check_output_path(path, force=force, name=name), fmt


def save_figure(fig, path, fmt, *, dpi=120):
    """Save ``fig`` to exactly ``path`` in format ``fmt`` and release it."""
    import matplotlib.pyplot as plt

    try:
        fig.savefig(path, format=fmt, dpi=dpi)
    finally:
        plt.close(fig)


def save_png(fig, path):
    """Save a panel of a figure set as PNG (100 dpi) and release it; return its path."""
    save_figure(fig, path, "png", dpi=100)
    return Path(path)
