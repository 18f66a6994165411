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

Faults
------
A sweep holds an exclusive lock on its directory (:func:`largebdg.io.lock.directory_lock`)
while it runs: a second sweep into the same directory is refused at once, whatever its
configuration; the kernel releases the lock of a killed sweep.  Under the lock, a starting
sweep deletes the temporary files of killed writes (:func:`largebdg.io.remove_stale_temporaries`)
and regenerates a damaged ``summary.json`` from the point files.  The point being solved is
checkpointed (:func:`checkpoint_path`, every ``solver.checkpoint_seconds``), so a killed
sweep loses at most that interval of it: the rerun continues the identical iteration.  A
damaged point file is named in the refusal; ``repair=True`` (``--repair``) recomputes it in
place.  Every point of
the grid is checked (configuration, disorder parameters, memory) before the first is solved,
and grids hold at most :data:`MAX_GRID_POINTS` points.

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

import contextlib
import json
import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._optional import rank_size, world
from ..config import RunConfig, apply_overrides, comparable
from ..errors import ParameterError, RecoveryWarning
from ..io import load_result, remove_stale_temporaries, save_result
from ..io.checkpoint import checkpoint_path
from ..io.lock import directory_lock
from ..io.sweeps import (
    SweepPoint,
    find_point_file,
    format_value,
    point_file_name,
    write_summary,
)
from .run import check_config, on_root, run

__all__ = ["SweepSummary", "parse_values", "sweep", "point_checkpoint_path", "MAX_GRID_POINTS",
           "describe_values"]

MAX_GRID_POINTS = 10_000
"""Largest number of points of a sweep grid (counted before the grid is built)."""

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
        _check_count(count, name, text)
        if all(isinstance(x, int) for x in (start, stop, step)):
            return [start + k * step for k in range(count)]
        return [float(f"{start + k * step:.12g}") for k in range(count)]
    items = [p for p in text.split(",")]
    _check_count(len(items), name, text)
    if any(not p.strip() for p in items):
        raise ParameterError(f"'{name}': empty entry in the list {text!r}")
    numbers = [_number(p, name) for p in items]
    if not all(isinstance(x, int) for x in numbers):
        numbers = [float(x) for x in numbers]
    if len(set(numbers)) != len(numbers):
        raise ParameterError(f"'{name}': repeated values in {text!r}")
    return numbers


def _check_count(count, name, text):
    """Refuse grids of more than :data:`MAX_GRID_POINTS` points (quoting a short excerpt)."""
    if count > MAX_GRID_POINTS:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ParameterError(
            f"'{name}': the grid {shown!r} has {count:,} points, more than the limit of "
            f"{MAX_GRID_POINTS:,}; use a larger STEP or split the sweep"
        )


def describe_values(values, limit=8):
    """Short text of a grid for messages: all values, or the first and last few.

    Examples
    --------
    >>> describe_values([1, 2, 3])
    '1, 2, 3'
    >>> describe_values(list(range(100)))
    '0, 1, 2, 3, ..., 97, 98, 99'
    """
    text = [format_value(x) for x in values]
    if len(text) > limit:
        text = text[: limit // 2] + ["..."] + text[-(limit // 2 - 1):]
    return ", ".join(text)


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


def _without(data, parameter):
    """Config dict without the swept key (the part shared by every point)."""
    return comparable(data, ignore=(parameter,))


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
        if d.needs_seed:
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
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        stored = doc.get("base_config")
        stored = comparable(stored) if isinstance(stored, dict) else stored
    except (OSError, ValueError) as e:  # UnicodeDecodeError and JSONDecodeError included
        warnings.warn(f"'{path}' is damaged ({e}); it is regenerated from the point files "
                      "(which are checked one by one)", RecoveryWarning, stacklevel=3)
        return
    if doc.get("parameter") != parameter or stored != base:
        what = ("parameter " + repr(doc.get("parameter"))
                if doc.get("parameter") != parameter else "configuration")
        raise ParameterError(
            f"'outdir': '{outdir}' holds a sweep with a different {what}; use a new --out "
            "directory, or --force (force=True) to recompute and overwrite its points"
        )


# --------------------------------------------------------------------------- sweep


def sweep(config, values, *, parameter="solver.T", outdir, callback=None, on_point=None,
          force=False, repair=False, warm_start=True, comm=None):
    """Solve ``config`` for each value of one parameter, resumably.

    Parameters
    ----------
    config : RunConfig
        Base configuration; ``parameter`` is overridden point by point.
    values : sequence of int or float
        Grid, solved in this order (see :func:`parse_values`), at most
        :data:`MAX_GRID_POINTS` values.
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
    repair : bool, optional
        Recompute (in place) point files that cannot be read, instead of refusing them;
        files of another configuration are still refused.
    warm_start : bool, optional
        Start each point from the previous one (default); ``False`` starts
        every point from the uniform clean-limit guess.
    comm : mpi4py communicator, optional
        Passed to :func:`largebdg.workflows.run.run`; only its rank 0 writes files
        and holds the directory lock.

    Returns
    -------
    SweepSummary

    Raises
    ------
    ParameterError
        For an invalid grid, key or value at any point, seeded disorder without a seed, a
        directory in use by another sweep, or an existing point file (or summary) produced
        by a different configuration (unless `force`) or damaged (unless `repair`).

    Warns
    -----
    RecoveryWarning
        When stale temporary files are removed, a damaged summary is regenerated or a
        damaged point file is recomputed.

    Notes
    -----
    All existing point files and all points of the grid are checked before anything is
    solved, so a mismatch is reported at once.  See the module docstring for the layout, the
    resume rules and the handling of faults.
    """
    if not isinstance(config, RunConfig):
        raise TypeError(f"'config' must be a RunConfig, got {type(config).__name__}")
    values = list(values)
    if not values:
        raise ParameterError("'values' must hold at least one value")
    _check_count(len(values), "values", f"{len(values)} values")
    for x in values:
        if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
            raise ParameterError(f"'values' must be numbers, got {x!r}")
    values = [x.item() if isinstance(x, np.generic) else x for x in values]
    if len(set(values)) != len(values):
        raise ParameterError("'values' must not repeat a value")
    _require_seeds(config)
    configs = []
    for x in values:
        try:
            cfg = _check_parameter(config, parameter, x)
        except ParameterError as e:
            raise ParameterError(f"{parameter} = {format_value(x)}: {e}") from None
        configs.append(cfg)
    if comm is None:
        comm = world()
    rank = rank_size(comm)[0]

    def check_points():
        for x, cfg in zip(values, configs, strict=True):
            try:
                check_config(cfg)
            except ParameterError as e:
                raise ParameterError(f"{parameter} = {format_value(x)}: {e}") from None

    on_root(comm, check_points)
    base = _without(configs[0].to_dict(), parameter)
    outdir = Path(outdir)
    if not outdir.parent.is_dir():
        raise ParameterError(f"'outdir': directory '{outdir.parent}' does not exist")
    with contextlib.ExitStack() as lock:
        def take_lock():
            if outdir.exists() and not outdir.is_dir():
                raise ParameterError(f"'outdir': '{outdir}' exists and is not a directory")
            outdir.mkdir(exist_ok=True)
            try:
                lock.enter_context(directory_lock(outdir, what="sweep"))
            except OSError as e:
                raise ParameterError(
                    f"'outdir': cannot write into '{outdir}' ({e.strerror})") from None
            removed = remove_stale_temporaries(outdir)
            if removed:
                warnings.warn(
                    f"removed {len(removed)} temporary file(s) left by killed writes in "
                    f"'{outdir}' ({', '.join(p.name for p in removed[:3])}"
                    f"{', ...' if len(removed) > 3 else ''})", RecoveryWarning, stacklevel=4)

        on_root(comm, take_lock)
        return _sweep_locked(configs, values, parameter, outdir, base, rank, callback,
                             on_point, force, repair, warm_start, comm)


def _load_existing(outdir, parameter, values, configs, force, repair):
    """Existing point files by index: {k: (path, result)} and {k: path} of damaged ones."""
    existing, damaged = {}, {}
    for k, (x, cfg) in enumerate(zip(values, configs, strict=True)):
        path = None if force else find_point_file(outdir, parameter, x)
        if path is None:
            continue
        try:
            result = load_result(path)
        except ParameterError as e:
            if not repair:
                raise ParameterError(
                    f"'outdir': the point file '{path}' ({parameter} = {format_value(x)}) cannot "
                    f"be read: {e}; delete it, or rerun with --repair (repair=True) to recompute "
                    "it"
                ) from None
            warnings.warn(f"recomputing the damaged point file '{path}'", RecoveryWarning,
                          stacklevel=4)
            damaged[k] = path
            continue
        if comparable(result.config.to_dict()) != comparable(cfg.to_dict()):
            raise ParameterError(
                f"'outdir': '{path}' was produced by a different configuration than this sweep's "
                f"point {parameter} = {format_value(x)}; use a new --out directory, or --force "
                "(force=True) to recompute and overwrite it"
            )
        existing[k] = (path, result)
    return existing, damaged


def point_checkpoint_path(outdir, name):
    """Checkpoint of the point file ``name`` while it is being solved: that of
    :func:`~largebdg.io.checkpoint.checkpoint_path`, hidden (``.NAME.checkpoint``).

    :func:`~largebdg.workflows.run.run` saves the self-consistency state there every
    ``solver.checkpoint_seconds`` (default 60 s); a rerun of a killed sweep resumes the
    point from it, and it is deleted once the point file is written.
    """
    return checkpoint_path(Path(outdir) / f".{name}")


def _sweep_locked(configs, values, parameter, outdir, base, rank, callback, on_point, force,
                  repair, warm_start, comm):
    """The body of :func:`sweep`, run while rank 0 holds the directory lock."""
    _check_summary(outdir, parameter, base, force)
    existing, damaged = _load_existing(outdir, parameter, values, configs, force, repair)
    summary = SweepSummary(parameter=parameter, outdir=outdir)
    previous = None
    for k, (x, cfg) in enumerate(zip(values, configs, strict=True)):
        if k in existing:
            path, result = existing[k]
            status = "existing"
        else:
            path = damaged.get(k, outdir / point_file_name(k, parameter, x))
            initial = previous if warm_start and previous is not None and \
                previous.L == cfg.lattice.L else None
            progress = None if callback is None else (
                lambda it, rec, k=k: callback(k, it, rec))
            ckpt = point_checkpoint_path(outdir, path.name)
            # the sweep's definition is checked above, so a checkpoint that does not match
            # its point is stale (or damaged): restart=True starts that point over
            result = run(cfg, initial=initial, callback=progress, comm=comm, checkpoint=ckpt,
                         restart=True)
            if rank == 0:
                save_result(result, path, force=True)
                ckpt.unlink(missing_ok=True)
            status = "computed"
        point = SweepPoint.from_result(k, x, path, result, status)
        summary.points.append(point)
        if rank == 0:
            write_summary(outdir, parameter, summary.points, base)
        if on_point is not None:
            on_point(point)
        previous = result
    return summary
