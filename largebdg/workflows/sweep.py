r"""Resumable parameter sweeps: one self-consistent solve per value, warm-started.

A sweep solves the configuration for each value of one parameter (by default
the temperature ``solver.T``) in the order given.  Each solve starts from the
previous point's solution (its gap and density maps and chemical potentials),
which near a transition saves most of the iterations of a cold start and keeps
the sweep on the same branch of solutions.  Every finished point is written at
once to its own result file, in the layout of ``largebdg solve``
(:func:`largebdg.io.save_result`, ``docs/output_format.md``), in the
directory layout of :mod:`largebdg.io.sweeps`.

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
>>> from largebdg.workflows.sweep import parse_values
>>> parse_values("0.06:0.12:0.02")
[0.06, 0.08, 0.1, 0.12]
>>> parse_values("1,2,3")
[1, 2, 3]
"""

import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._optional import rank_size, world
from ..config import RunConfig, apply_overrides
from ..errors import ParameterError
from ..io import load_result, save_result
from ..io.sweeps import (
    SweepPoint,
    find_point_file,
    format_value,
    point_file_name,
    write_summary,
)
from ..model.disorder import SEEDED_KINDS
from .run import run

__all__ = ["SweepSummary", "parse_values", "sweep"]

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


# --------------------------------------------------------------------------- records


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
    return apply_overrides(config, [f"{parameter}={format_value(value)}"])


def _require_seeds(config):
    """Refuse seeded disorder without an explicit seed (points must share one realisation)."""
    for k, d in enumerate(config.disorder):
        if d.kind in SEEDED_KINDS and d.params.get("seed") is None:
            raise ParameterError(
                f"'disorder.band{k + 1}.seed' must be set for a sweep, so that every point uses "
                "the same disorder realisation and a rerun can resume; add it to the config or "
                f"pass --set disorder.band{k + 1}.seed=N"
            )


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
        Passed to :func:`largebdg.workflows.run.run`; only its rank 0 writes files.

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
        path = None if force else find_point_file(outdir, parameter, x)
        if path is None:
            continue
        result = load_result(path)
        if _normalised(result.config.to_dict()) != _normalised(cfg.to_dict()):
            raise ParameterError(
                f"'outdir': '{path}' was produced by a different configuration than this sweep's "
                f"point {parameter} = {format_value(x)}; use a new --out directory, or --force "
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
            write_summary(outdir, parameter, summary.points, base)
        if on_point is not None:
            on_point(point)
        previous = result
    return summary


