r"""Resumable parameter sweeps: one self-consistent solve per value, warm-started.

A sweep solves the configuration for each value of one parameter (by default
the temperature ``solver.T``) in the order given.  Each solve starts from the
previous point's solution (its gap and density maps and chemical potentials),
which near a transition saves most of the iterations of a cold start and keeps
the sweep on the same branch of solutions.  Every finished point is written at
once to its own result file, in the layout of ``largebdg solve``
(:func:`largebdg.io.save_result`, ``docs/output_format.md``)::

    OUTDIR/point_000_T=0.06.h5
    OUTDIR/point_001_T=0.08.h5
    ...
    OUTDIR/summary.csv      one row per point, rewritten after every point
    OUTDIR/summary.json     the same rows plus the parameter and base configuration

Resuming
--------
Running the same sweep again skips every point whose file already exists: the
file is checked to hold the same resolved configuration (seeds included), left
untouched, and its solution warm-starts the next point.  Since result files are
written atomically, a sweep killed at any moment loses at most the point in
progress.  A file produced by a different configuration is never reused nor
replaced: :func:`sweep` raises :class:`~largebdg.errors.ParameterError` (use a
new output directory, or ``force=True`` to recompute and overwrite).  A point
that did not converge is stored with ``converged = False`` and counts as
finished; delete its file (or use ``force``) to retry it.

Points are found by value, not by position: extending or refining a grid in the
same directory reuses the points already there (under their original names).

Sweeping other parameters
-------------------------
Any numeric configuration key can be swept, e.g. ``model.g12``,
``disorder.band1.density``, ``disorder.band1.strength``, or
``disorder.band1.seed`` for disorder averaging.  Seeded disorder kinds need an
explicit seed in the configuration (otherwise each rerun would draw a new
realisation and could not resume).  Warm-starting is used for every parameter
(with ``warm_start=True``, the default): for a seed sweep the previous
realisation's gap map is only a rough guess of the next one, but it still
starts the chemical potentials and the overall gap scale close to the
solution, and the converged result does not depend on the start as long as the
solution is unique.  Points of a different lattice size start cold.

Examples
--------
>>> from largebdg.sweep import parse_values
>>> parse_values("0.06:0.12:0.02")
[0.06, 0.08, 0.1, 0.12]
>>> parse_values("1,2,3")
[1, 2, 3]
"""

import csv
import dataclasses
import io
import json
import math
import os
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._optional import rank_size, world
from .config import RunConfig, apply_overrides
from .errors import ParameterError
from .io import load_result, save_result
from .results import _SEEDED_KINDS, run

__all__ = [
    "SweepPoint",
    "SweepSummary",
    "SweepData",
    "parse_values",
    "point_file_name",
    "sweep",
    "load_sweep",
    "SUMMARY_COLUMNS",
]

SUMMARY_COLUMNS = (
    "index", "value", "converged", "iterations", "mean_abs_gap_1", "mean_abs_gap_2",
    "max_abs_gap_1", "max_abs_gap_2", "mu_1", "mu_2", "wall_time", "status", "file",
)
"""Columns of ``summary.csv`` (``status`` is ``computed`` or ``existing``)."""

_RANGE_SLACK = 1e-9  # a stop within this many steps of a grid point is included
_INTEGER = re.compile(r"^[+-]?\d+$")


# --------------------------------------------------------------------------- values


def _number(text, name):
    """One numeric literal: ``int`` if written as an integer, else ``float``."""
    text = text.strip()
    if _INTEGER.match(text):
        return int(text)
    try:
        value = float(text)
    except ValueError:
        raise ParameterError(f"'{name}': {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ParameterError(f"'{name}': {text!r} is not a finite number")
    return value


def parse_values(text, *, name="values"):
    """Parse a sweep grid: ``START:STOP:STEP`` or a comma-separated list.

    Parameters
    ----------
    text : str
        ``"0.02:0.2:0.02"`` gives ``START, START + STEP, ...`` up to ``STOP``,
        which is included when it lies on the grid within ``1e-9`` steps; a
        negative ``STEP`` gives a descending grid.  ``"0.05,0.08,0.1"`` gives
        the values as listed (in that order).  A single number is a one-point
        grid.
    name : str, optional
        Name used in error messages (e.g. ``"--T"``).

    Returns
    -------
    list
        ``int`` values if every number in `text` is written as an integer
        (e.g. seeds ``"1:5:1"``), else ``float`` values rounded to 12
        significant digits (so that ``0.06 + 0.02`` prints as ``0.08``).

    Raises
    ------
    ParameterError
        On malformed text, a zero step, a step pointing away from ``STOP``, or
        repeated values.

    Examples
    --------
    >>> parse_values("0.1:0.06:-0.02")
    [0.1, 0.08, 0.06]
    >>> parse_values("0.05, 0.08,0.1")
    [0.05, 0.08, 0.1]
    """
    if not isinstance(text, str) or not text.strip():
        raise ParameterError(
            f"'{name}' must be START:STOP:STEP or a comma-separated list of numbers, got {text!r}"
        )
    if ":" in text:
        parts = text.split(":")
        if len(parts) != 3:
            raise ParameterError(
                f"'{name}': a range must have the form START:STOP:STEP, got {text!r}"
            )
        start, stop, step = (_number(p, name) for p in parts)
        if step == 0:
            raise ParameterError(f"'{name}': STEP must be non-zero, got {text!r}")
        if (stop - start) * step < 0:
            raise ParameterError(
                f"'{name}': STEP {step} points away from STOP {stop} (START {start}); "
                "use a negative STEP for a descending grid"
            )
        count = math.floor((stop - start) / step + _RANGE_SLACK) + 1
        if all(isinstance(x, int) for x in (start, stop, step)):
            return [start + k * step for k in range(count)]
        return [float(f"{start + k * step:.12g}") for k in range(count)]
    items = [p for p in text.split(",")]
    if any(not p.strip() for p in items):
        raise ParameterError(f"'{name}': empty entry in the list {text!r}")
    numbers = [_number(p, name) for p in items]
    if not all(isinstance(x, int) for x in numbers):
        numbers = [float(x) for x in numbers]
    if len(set(numbers)) != len(numbers):
        raise ParameterError(f"'{name}': repeated values in {text!r}")
    return numbers


def _format_value(value):
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
    return f"point_{index:03d}_{parameter.rsplit('.', 1)[-1]}={_format_value(value)}.h5"


# --------------------------------------------------------------------------- records


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
                   max_abs_gap=np.abs(result.delta).max(axis=(1, 2)), mu=np.array(result.mu),
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


@dataclass
class SweepSummary:
    """What :func:`sweep` returns: the points in grid order.

    Attributes
    ----------
    parameter : str
        The swept configuration key, e.g. ``"solver.T"``.
    outdir : pathlib.Path
        Directory of the point files and the summary table.
    points : list of SweepPoint
    """

    parameter: str
    outdir: Path
    points: list = field(default_factory=list)

    @property
    def values(self):
        """Parameter values of the points."""
        return [p.value for p in self.points]

    @property
    def computed(self):
        """Number of points solved in this call (the rest were found on disk)."""
        return sum(p.status == "computed" for p in self.points)

    @property
    def converged(self):
        """Whether every point converged."""
        return all(p.converged for p in self.points)


# --------------------------------------------------------------------------- helpers


def _normalised(data):
    """Plain JSON form of a config dict, so that stored and new configs compare equal."""
    return json.loads(json.dumps(data))


def _without(data, parameter):
    """Config dict without the swept key (the part shared by every point)."""
    data = _normalised(data)
    node = data
    keys = parameter.split(".")
    for key in keys[:-1]:
        node = node.get(key, {})
    node.pop(keys[-1], None)
    return data


def _check_parameter(config, parameter, value):
    """Validate the key by applying one value; return the point's config."""
    if not isinstance(parameter, str) or parameter.count(".") < 1:
        raise ParameterError(
            f"'parameter' must be a config key section.key (e.g. solver.T), got {parameter!r}"
        )
    return apply_overrides(config, [f"{parameter}={_format_value(value)}"])


def _require_seeds(config):
    """Refuse seeded disorder without an explicit seed (points must share one realisation)."""
    for k, d in enumerate(config.disorder):
        if d.kind in _SEEDED_KINDS and d.params.get("seed") is None:
            raise ParameterError(
                f"'disorder.band{k + 1}.seed' must be set for a sweep, so that every point uses "
                "the same disorder realisation and a rerun can resume; add it to the config or "
                f"pass --set disorder.band{k + 1}.seed=N"
            )


def _find_existing(outdir, parameter, value):
    """Existing file of ``value`` in ``outdir`` (any index), or None."""
    suffix = point_file_name(0, parameter, value)[len("point_000"):]
    matches = sorted(outdir.glob(f"point_*{suffix}"))
    matches = [m for m in matches if re.fullmatch(r"point_\d+" + re.escape(suffix), m.name)]
    if len(matches) > 1:
        raise ParameterError(
            f"'outdir': several files hold {parameter} = {_format_value(value)}: "
            f"{', '.join(m.name for m in matches)}; remove all but one"
        )
    return matches[0] if matches else None


def _write_text_atomic(path, text):
    """Write ``text`` to ``path`` through a temporary file and ``os.replace``."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.write_text(text)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_summary(summary, base):
    """Rewrite ``summary.csv`` and ``summary.json`` from the finished points."""
    rows = [p.row() for p in summary.points]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=SUMMARY_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: (f"{x:.10g}" if isinstance(x, float) else x) for k, x in row.items()})
    _write_text_atomic(summary.outdir / "summary.csv", buf.getvalue())
    doc = {"parameter": summary.parameter, "base_config": base, "points": rows}
    _write_text_atomic(summary.outdir / "summary.json", json.dumps(doc, indent=1) + "\n")


def _check_summary(outdir, parameter, base, force):
    """Refuse a directory whose summary belongs to another sweep (unless ``force``)."""
    path = outdir / "summary.json"
    if force or not path.is_file():
        return
    try:
        doc = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ParameterError(f"'outdir': cannot read '{path}': {e}") from e
    if doc.get("parameter") != parameter or doc.get("base_config") != base:
        what = ("parameter " + repr(doc.get("parameter"))
                if doc.get("parameter") != parameter else "configuration")
        raise ParameterError(
            f"'outdir': '{outdir}' holds a sweep with a different {what}; use a new --out "
            "directory, or --force (force=True) to recompute and overwrite its points"
        )


# --------------------------------------------------------------------------- sweep


def sweep(config, values, *, parameter="solver.T", outdir, callback=None, on_point=None,
          force=False, warm_start=True, comm=None):
    """Solve ``config`` for each value of one parameter, resumably.

    Parameters
    ----------
    config : RunConfig
        Base configuration; ``parameter`` is overridden point by point.
    values : sequence of int or float
        Grid, solved in this order (see :func:`parse_values`).
    parameter : str, optional
        Configuration key ``section.key`` (``disorder.band1.key`` for disorder
        parameters), default ``"solver.T"``.
    outdir : str or os.PathLike
        Output directory (created if missing, its parent must exist).
    callback : callable, optional
        ``callback(index, iteration, record)`` after every self-consistency
        iteration of point ``index`` (``record`` as in :func:`largebdg.scf.solve`).
    on_point : callable, optional
        ``on_point(point)`` with the :class:`SweepPoint` after each point is
        written or found on disk.
    force : bool, optional
        Recompute every point and overwrite existing files, whatever
        configuration produced them.
    warm_start : bool, optional
        Start each point from the previous one (default); ``False`` starts
        every point from the uniform clean-limit guess.
    comm : mpi4py communicator, optional
        Passed to :func:`largebdg.results.run`; only its rank 0 writes files.

    Returns
    -------
    SweepSummary

    Raises
    ------
    ParameterError
        For an invalid grid or key, seeded disorder without a seed, or an
        existing point file (or summary) produced by a different configuration
        (unless `force`).

    Notes
    -----
    All existing point files are checked before anything is solved, so a
    mismatch is reported at once.  See the module docstring for the layout
    and the resume rules.
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"'config' must be a RunConfig, got {type(config).__name__}")
    values = list(values)
    if not values:
        raise ParameterError("'values' must hold at least one value")
    for x in values:
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
            raise ParameterError(f"'values' must be numbers, got {x!r}")
    values = [x.item() if isinstance(x, np.generic) else x for x in values]
    if len(set(values)) != len(values):
        raise ParameterError("'values' must not repeat a value")
    _require_seeds(config)
    configs = [_check_parameter(config, parameter, x) for x in values]
    base = _without(configs[0].to_dict(), parameter)
    outdir = Path(outdir)
    if not outdir.parent.is_dir():
        raise ParameterError(f"'outdir': directory '{outdir.parent}' does not exist")
    rank = rank_size(comm if comm is not None else world())[0]
    if rank == 0:
        outdir.mkdir(exist_ok=True)
    _check_summary(outdir, parameter, base, force)

    existing = {}
    for k, (x, cfg) in enumerate(zip(values, configs, strict=True)):
        path = None if force else _find_existing(outdir, parameter, x)
        if path is None:
            continue
        result = load_result(path)
        if _normalised(result.config.to_dict()) != _normalised(cfg.to_dict()):
            raise ParameterError(
                f"'outdir': '{path}' was produced by a different configuration than this sweep's "
                f"point {parameter} = {_format_value(x)}; use a new --out directory, or --force "
                "(force=True) to recompute and overwrite it"
            )
        existing[k] = (path, result)

    summary = SweepSummary(parameter=parameter, outdir=outdir)
    previous = None
    for k, (x, cfg) in enumerate(zip(values, configs, strict=True)):
        if k in existing:
            path, result = existing[k]
            status = "existing"
        else:
            path = outdir / point_file_name(k, parameter, x)
            initial = previous if warm_start and previous is not None and \
                previous.L == cfg.lattice.L else None
            progress = None if callback is None else (
                lambda it, rec, k=k: callback(k, it, rec))
            result = run(cfg, initial=initial, callback=progress, comm=comm)
            if rank == 0:
                save_result(result, path, force=True)
            status = "computed"
        point = SweepPoint.from_result(k, x, path, result, status)
        summary.points.append(point)
        if rank == 0:
            _write_summary(summary, base)
        if on_point is not None:
            on_point(point)
        previous = result
    return summary


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
    stiffness, stiffness_stderr : ndarray, shape (n, 2)
        Superfluid stiffness per band and its standard error (0 for the exact
        method) where the file holds them, NaN elsewhere.
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
    stiffness: np.ndarray
    stiffness_stderr: np.ndarray
    config: RunConfig

    def results(self):
        """Load every point's :class:`~largebdg.results.Result` (in grid order)."""
        return [load_result(p) for p in self.files]

    def sorted(self):
        """Return the same data ordered by increasing parameter value."""
        order = np.argsort(self.values, kind="stable")
        per_point = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self)
            if f.name not in ("parameter", "config")
        }
        return dataclasses.replace(self, **{
            name: value[order] if isinstance(value, np.ndarray) else [value[i] for i in order]
            for name, value in per_point.items()
        })


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
        max_abs_gap=np.array([np.abs(r.delta).max(axis=(1, 2)) for r in results]),
        mu=np.array([r.mu for r in results]),
        filling=np.array([r.filling for r in results]),
        stiffness=np.array([nan2 if r.stiffness is None else r.stiffness for r in results],
                           dtype=float),
        stiffness_stderr=np.array(
            [nan2 if r.stiffness_stderr is None else r.stiffness_stderr for r in results],
            dtype=float),
        config=results[0].config,
    )
