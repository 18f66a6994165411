"""Sweep directories on disk: point files, the summary table and reading a sweep back.

The layout (written by :func:`largebdg.workflows.sweep.sweep`)::

    OUTDIR/point_000_T=0.06.h5
    OUTDIR/point_001_T=0.08.h5
    ...
    OUTDIR/summary.csv      one row per point, rewritten after every point
    OUTDIR/summary.json     the same rows plus the parameter and base configuration
"""

import csv
import dataclasses
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import RunConfig
from ..errors import ParameterError
from .files import write_text_atomic
from .hdf5 import load_result
from .result import Observable

__all__ = [
    "SUMMARY_COLUMNS",
    "SweepPoint",
    "SweepData",
    "format_value",
    "point_file_name",
    "find_point_file",
    "write_summary",
    "load_sweep",
]

SUMMARY_COLUMNS = (
    "index", "value", "converged", "iterations", "mean_abs_gap_1", "mean_abs_gap_2",
    "max_abs_gap_1", "max_abs_gap_2", "mu_1", "mu_2", "wall_time", "status", "file",
)
"""Columns of ``summary.csv`` (``status`` is ``computed`` or ``existing``)."""


def format_value(value):
    """Shortest text of a grid value, as used in file names and overrides."""
    return str(value) if isinstance(value, int) else f"{value:.12g}"


def point_file_name(index, parameter, value):
    """File name of one sweep point, ``point_<index>_<key>=<value>.h5``.

    ``<key>`` is the last component of `parameter` (``T`` for ``solver.T``).

    Examples
    --------
    >>> point_file_name(3, "solver.T", 0.1)
    'point_003_T=0.1.h5'
    """
    return f"point_{index:03d}_{parameter.rsplit('.', 1)[-1]}={format_value(value)}.h5"


def find_point_file(outdir, parameter, value):
    """Existing file of the point ``parameter = value`` in ``outdir`` (any index), or None.

    Raises
    ------
    ParameterError
        If several files hold that value.
    """
    outdir = Path(outdir)
    suffix = point_file_name(0, parameter, value)[len("point_000"):]
    matches = sorted(outdir.glob(f"point_*{suffix}"))
    matches = [m for m in matches if re.fullmatch(r"point_\d+" + re.escape(suffix), m.name)]
    if len(matches) > 1:
        raise ParameterError(
            f"'outdir': several files hold {parameter} = {format_value(value)}: "
            f"{', '.join(m.name for m in matches)}; remove all but one"
        )
    return matches[0] if matches else None


@dataclass
class SweepPoint:
    r"""One finished point of a sweep.

    Attributes
    ----------
    index : int
        Position in the grid.
    value : int or float
        Value of the swept parameter.
    path : pathlib.Path
        Result file.
    converged : bool
    iterations : int
    mean_abs_gap : ndarray, shape (2,)
        Sample-averaged gaps of paper Eq. (5).
    max_abs_gap : ndarray, shape (2,)
        :math:`\max_i |\Delta_{\nu i}|` per band.
    mu : ndarray, shape (2,)
        Chemical potentials.
    wall_time : float
        Seconds of the solve (as stored in the file for an existing point).
    status : {"computed", "existing"}
        Whether the point was solved now or found on disk.
    """

    index: int
    value: object
    path: Path
    converged: bool
    iterations: int
    mean_abs_gap: np.ndarray
    max_abs_gap: np.ndarray
    mu: np.ndarray
    wall_time: float
    status: str

    @classmethod
    def from_result(cls, index, value, path, result, status):
        """Summarise ``result`` (stored in ``path``) as point ``index``."""
        return cls(index=index, value=value, path=Path(path), converged=bool(result.converged),
                   iterations=int(result.iterations), mean_abs_gap=result.mean_abs_gap,
                   max_abs_gap=result.max_abs_gap, mu=np.array(result.mu),
                   wall_time=float(result.wall_time), status=status)

    def row(self):
        """Return the point as a dict keyed by :data:`SUMMARY_COLUMNS` (plain Python values)."""
        return {
            "index": self.index, "value": self.value, "converged": self.converged,
            "iterations": self.iterations,
            "mean_abs_gap_1": float(self.mean_abs_gap[0]),
            "mean_abs_gap_2": float(self.mean_abs_gap[1]),
            "max_abs_gap_1": float(self.max_abs_gap[0]),
            "max_abs_gap_2": float(self.max_abs_gap[1]),
            "mu_1": float(self.mu[0]), "mu_2": float(self.mu[1]),
            "wall_time": self.wall_time, "status": self.status, "file": self.path.name,
        }


def write_summary(outdir, parameter, points, base):
    """Rewrite ``summary.csv`` and ``summary.json`` from the finished points.

    Parameters
    ----------
    outdir : pathlib.Path
    parameter : str
        The swept configuration key.
    points : list of SweepPoint
    base : dict
        The configuration shared by every point (without the swept key).
    """
    rows = [p.row() for p in points]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{x:.10g}" if isinstance(x, float) else x) for k, x in row.items()})
    write_text_atomic(outdir / "summary.csv", buf.getvalue())
    doc = {"parameter": parameter, "base_config": base, "points": rows}
    write_text_atomic(outdir / "summary.json", json.dumps(doc, indent=1) + "\n")


# --------------------------------------------------------------------------- reading


@dataclass
class SweepData:
    """Arrays of a finished sweep, read back from its directory by :func:`load_sweep`.

    Attributes
    ----------
    parameter : str
    values : ndarray, shape (n,)
    files : list of pathlib.Path
    converged : ndarray of bool, shape (n,)
    mean_abs_gap, max_abs_gap, mu : ndarray, shape (n, 2)
    filling : ndarray, shape (n, 2)
        Realised band fillings (differ from the configured ones with ``model.common_mu``).
    observables : dict of str -> Observable
        Every observable found in some point file, as
        :class:`~largebdg.io.result.Observable` with ``value`` and ``stderr`` of
        shape (n, 2) (NaN where a file lacks it) and ``settings`` a list.
    config : RunConfig
        Configuration of the first point.
    """

    parameter: str
    values: np.ndarray
    files: list
    converged: np.ndarray
    mean_abs_gap: np.ndarray
    max_abs_gap: np.ndarray
    mu: np.ndarray
    filling: np.ndarray
    observables: dict
    config: RunConfig

    def _observable(self, name, index):
        if name in self.observables:
            return self.observables[name][index]
        return np.full((self.values.size, 2), np.nan)

    @property
    def stiffness(self):
        """Superfluid stiffness per band, shape (n, 2); NaN where not computed."""
        return self._observable("stiffness", 0)

    @property
    def stiffness_stderr(self):
        """Its uncertainty (0 for the exact method), shape (n, 2); NaN where not computed."""
        return self._observable("stiffness", 1)

    def results(self):
        """Load every point's :class:`~largebdg.io.result.Result` (in grid order)."""
        return [load_result(p) for p in self.files]

    def sorted(self):
        """Return the same data ordered by increasing parameter value."""
        order = np.argsort(self.values, kind="stable")

        def take(value):
            return value[order] if isinstance(value, np.ndarray) else [value[i] for i in order]

        per_point = {
            f.name: take(getattr(self, f.name)) for f in dataclasses.fields(self)
            if f.name not in ("parameter", "config", "observables")
        }
        observables = {name: Observable(*(take(x) for x in obs))
                       for name, obs in self.observables.items()}
        return dataclasses.replace(self, observables=observables, **per_point)


def load_sweep(outdir):
    """Read the points listed in ``outdir/summary.json`` from their result files.

    The result files are the source of truth (the summary only lists them), so
    quantities added after the sweep, such as the stiffness written by
    ``largebdg stiffness``, are picked up.

    Parameters
    ----------
    outdir : str or os.PathLike
        Directory written by :func:`sweep`.

    Returns
    -------
    SweepData

    Raises
    ------
    ParameterError
        If ``outdir`` holds no readable ``summary.json`` or a listed file is missing.
    """
    outdir = Path(outdir)
    path = outdir / "summary.json"
    try:
        doc = json.loads(path.read_text())
        rows = doc["points"]
        parameter = doc["parameter"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as e:
        raise ParameterError(f"'outdir': '{path}' is not a readable sweep summary ({e})") from e
    if not rows:
        raise ParameterError(f"'outdir': '{path}' lists no finished points")
    results = [load_result(outdir / row["file"]) for row in rows]
    nan2 = np.full(2, np.nan)
    return SweepData(
        parameter=parameter,
        values=np.array([row["value"] for row in rows], dtype=float),
        files=[outdir / row["file"] for row in rows],
        converged=np.array([r.converged for r in results]),
        mean_abs_gap=np.array([r.mean_abs_gap for r in results]),
        max_abs_gap=np.array([r.max_abs_gap for r in results]),
        mu=np.array([r.mu for r in results]),
        filling=np.array([r.filling for r in results]),
        observables={name: Observable(
            np.array([r.observables[name].value if name in r.observables else nan2
                      for r in results], dtype=float),
            np.array([r.observables[name].stderr if name in r.observables else nan2
                      for r in results], dtype=float),
            [r.observables[name].settings if name in r.observables else {} for r in results])
            for name in sorted({n for r in results for n in r.observables})},
        config=results[0].config,
    )
