"""Saving and loading :class:`~largebdg.io.result.Result` objects as HDF5 files.

File layout
-----------
One result per file.  Arrays are indexed ``[band, y, x]`` (band 1 first) as
in :class:`~largebdg.io.result.Result`.

Root datasets

================================  =============  ========================================
name                              shape          content
================================  =============  ========================================
``delta``                         (2, L, L)      gap Delta_nu i
``density``                       (2, L, L)      total density n_nu i (both spins)
``mu``                            (2,)           chemical potentials mu_nu
``potential``                     (2, L, L)      disorder potentials V_nu i
``bond_x``, ``bond_y``            (2, L, L)      bond averages sum_sigma <c^dagger_{i+e} c_i>
``history/<key>``                 (n_iter, ...)  per-iteration record of the
                                                 self-consistency loop, one dataset per
                                                 key (``max_ddelta``, ``max_ddensity``,
                                                 ``filling_error``, ``mean_abs_delta``,
                                                 ``mu``, ``accuracy``, ``seconds``)
``NAME`` (optional)               (2,)           an observable per band, e.g.
                                                 ``stiffness`` (superfluid stiffness)
``NAME_stderr`` (optional)        (2,)           its uncertainty
================================  =============  ========================================

Root attributes

======================  ===================================================================
name                    content
======================  ===================================================================
``converged``           bool, whether the tolerances were met
``iterations``          number of self-consistency iterations
``T``, ``L``            temperature and linear lattice size (copies of the config values)
``largebdg_version``    package version that wrote the file (marks a largebdg result)
``git_revision``        ``git rev-parse HEAD`` of the package source, or ``"unknown"``
``created``             ISO 8601 creation time (local time zone)
``config``              JSON of the fully resolved configuration, ``RunConfig.to_dict()``;
                        the disorder seeds are in ``disorder.band<k>.seed``
``config_toml``         the same configuration as TOML text (a valid input file)
``solver_settings``     JSON of the engine settings actually used
``NAME_settings``       JSON of the settings of observable ``NAME`` (with the dataset)
``disorder_density``    float array (2,), realised impurity densities
``mean_abs_gap``        float array (2,), sample averages (1/N^2) sum_i |Delta_nu i|
``wall_time``           seconds of the solve
======================  ===================================================================

Every file starts with a 512-byte HDF5 user block holding ``largebdg-sha256:`` and the
SHA-256 of the rest of the file, checked before the file is opened, so that a damaged file
is reported as such (the HDF5 library can crash on damaged metadata).  Files written before
this checksum (no user block) are read unchecked.

Files are written to a temporary file in the target directory and moved into
place with :func:`os.replace`, so that an interrupted run never leaves a
half-written result, and an existing file is only replaced when asked to.
"""

import datetime
import hashlib
import json
import subprocess
from pathlib import Path

import h5py
import numpy as np
import tomli_w

from ..config import RunConfig
from ..errors import ParameterError
from .files import atomic_write, check_output_path
from .result import Observable, Result

__all__ = [
    "save_result",
    "load_result",
    "update_result",
    "config_to_toml",
    "git_revision",
    "write_hdf5",
    "seal",
    "check_seal",
]

_ARRAYS = ("delta", "density", "mu", "potential", "bond_x", "bond_y")
_JSON_ATTRS = ("config", "solver_settings")
_REQUIRED_ATTRS = ("largebdg_version", "config", "converged", "iterations")
# What update_result may not replace: the solution itself and its provenance.
_PROTECTED = frozenset(
    _ARRAYS
    + ("history", "converged", "iterations", "T", "L", "largebdg_version", "git_revision",
       "created", "config", "config_toml", "solver_settings", "disorder_density",
       "mean_abs_gap", "wall_time")
)


def git_revision():
    """Git commit of the package source, ``"unknown"`` outside a git checkout.

    Returns
    -------
    str
        Output of ``git rev-parse HEAD`` run in the package directory, provided
        the package's files are tracked by that repository (an installed copy
        inside some other repository reports ``"unknown"``).
    """
    here = Path(__file__).resolve()
    try:
        for command in (["git", "ls-files", "--error-unmatch", here.name],
                        ["git", "rev-parse", "HEAD"]):
            out = subprocess.run(command, cwd=here.parent, capture_output=True, text=True,
                                 timeout=10, check=True)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() or "unknown"


def _json_default(obj):
    """Make NumPy scalars and arrays JSON-serialisable."""
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    raise TypeError(f"cannot store a value of type {type(obj).__name__} as JSON")


def _to_json(value):
    return json.dumps(value, default=_json_default)


def config_to_toml(data):
    """Write a nested dict as TOML text (with tomli-w).

    Parameters
    ----------
    data : dict
        Nested tables (dicts with string keys) whose leaves are ``str``,
        ``int``, ``float``, ``bool`` or (nested) lists of these, such as
        :meth:`RunConfig.to_dict() <largebdg.config.RunConfig.to_dict>`.

    Returns
    -------
    str
        TOML text with ``tomllib.loads(config_to_toml(data)) == data``.

    Raises
    ------
    TypeError
        If a value has no TOML form (``None``, a dict inside a list, ...).

    Examples
    --------
    >>> print(config_to_toml({"solver": {"T": 0.05, "method": "dense"},
    ...                       "model": {"g": [2.0, 1.0]}}))
    [solver]
    T = 0.05
    method = "dense"
    <BLANKLINE>
    [model]
    g = [
        2.0,
        1.0,
    ]
    <BLANKLINE>
    """
    if not isinstance(data, dict):
        raise TypeError(f"'data' must be a dict of TOML tables, got {type(data).__name__}")
    return tomli_w.dumps(_plain(data))


def _plain(value):
    """NumPy scalars and arrays as plain Python values (tomli-w writes only those)."""
    if isinstance(value, dict):
        return {k: _plain(x) for k, x in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(x) for x in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


_USERBLOCK = 512
_SEAL = b"largebdg-sha256:"
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def _digest(fh):
    """SHA-256 (hex) of an open binary file from the end of the user block on."""
    fh.seek(_USERBLOCK)
    return hashlib.file_digest(fh, "sha256").hexdigest().encode()


def seal(path):
    """Write the SHA-256 of an HDF5 file (made with a 512-byte user block) into its user block.

    The checksum lets :func:`check_seal` detect a damaged file before the HDF5 library reads
    it: the library may crash the process (segmentation fault) on damaged metadata.  A file
    changed with h5py directly (rather than :func:`update_result`) must be sealed again.
    """
    with open(path, "r+b") as fh:
        stamp = _SEAL + _digest(fh)
        fh.seek(0)
        fh.write(stamp + bytes(_USERBLOCK - len(stamp)))


def check_seal(path, what="file"):
    """Verify the checksum written by :func:`seal`; files without a user block pass unchecked.

    Raises
    ------
    ParameterError
        If the checksum does not match (or the user block itself is damaged), naming the file.
    """
    with open(path, "rb") as fh:
        head = fh.read(_USERBLOCK + len(_HDF5_SIGNATURE))
        sealed = head.startswith(_SEAL) or head[_USERBLOCK:] == _HDF5_SIGNATURE
        if not sealed:
            return  # written before checksums, or not a largebdg file at all: h5py will tell
        stored = head[len(_SEAL): len(_SEAL) + 64]
        if not head.startswith(_SEAL) or stored != _digest(fh):
            raise ParameterError(
                f"'path': {what} '{path}' is damaged or changed outside largebdg (its SHA-256 "
                "checksum does not match its content); if you changed it on purpose, accept "
                "the change with largebdg.io.hdf5.seal(path)"
            )


def write_hdf5(path, write, mode="w"):
    """Create (``mode="w"``, with a sealed user block) or change (``"a"``) an HDF5 file with
    ``write(h5py.File)``, then :func:`seal` it."""
    kwargs = {"userblock_size": _USERBLOCK} if mode == "w" else {}
    with h5py.File(path, mode, **kwargs) as fh:
        sealed = fh.userblock_size == _USERBLOCK
        write(fh)
    if sealed:
        seal(path)


def save_result(result, path, *, force=False):
    """Write a :class:`~largebdg.io.Result` to an HDF5 file.

    Parameters
    ----------
    result : Result
        The solution to store.
    path : str or os.PathLike
        Output file (conventionally ``*.h5``); its directory must exist.
    force : bool, optional
        Replace an existing file.  Without it an existing file is never touched.

    Raises
    ------
    FileExistsError
        If `path` exists and `force` is false.
    ParameterError
        If the directory of `path` does not exist.

    Notes
    -----
    The layout is described in the module docstring and in
    ``docs/output_format.md``.  The file appears only once it is complete
    (written to a temporary file and moved into place).
    """
    if not isinstance(result, Result):
        raise TypeError(f"'result' must be a largebdg Result, got {type(result).__name__}")
    path = check_output_path(path, force=force)
    config = result.config.to_dict()
    revision = git_revision()

    def write(fh):
        for name in _ARRAYS:
            fh.create_dataset(name, data=np.asarray(getattr(result, name)))
        hist = fh.create_group("history")
        for key, values in result.history.items():
            hist.create_dataset(key, data=np.asarray(values))
        for name, obs in result.observables.items():
            fh.create_dataset(name, data=np.asarray(obs.value, dtype=float))
            fh.create_dataset(f"{name}_stderr", data=np.asarray(obs.stderr, dtype=float))
            fh.attrs[f"{name}_settings"] = _to_json(obs.settings)
        fh.attrs.update({
            "converged": bool(result.converged),
            "iterations": int(result.iterations),
            "T": float(result.T),
            "L": int(result.L),
            "largebdg_version": str(result.version),
            "git_revision": revision,
            "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "config": _to_json(config),
            "config_toml": config_to_toml(config),
            "solver_settings": _to_json(result.solver_settings),
            "disorder_density": np.asarray(result.disorder_density, dtype=float),
            "mean_abs_gap": np.asarray(result.mean_abs_gap, dtype=float),
            "wall_time": float(result.wall_time),
        })

    atomic_write(path, lambda tmp: write_hdf5(tmp, write))


def _open_result(path):
    """Open ``path`` read-only as a largebdg result, raising ParameterError otherwise."""
    if Path(path).is_dir():
        raise ParameterError(f"'path': '{path}' is a directory, not a result file")
    if not Path(path).is_file():
        raise ParameterError(f"'path': result file '{path}' does not exist")
    try:
        check_seal(path, "result file")
    except OSError as e:
        raise ParameterError(f"'path': cannot read '{path}' ({e.strerror})") from None
    try:
        fh = h5py.File(path, "r")
    except OSError as e:
        raise ParameterError(f"'path': '{path}' is not a readable HDF5 file ({e})") from e
    missing = [a for a in _REQUIRED_ATTRS if a not in fh.attrs]
    missing += [d for d in _ARRAYS + ("history",) if d not in fh]
    if missing:
        fh.close()
        raise ParameterError(
            f"'path': '{path}' is not a largebdg result (missing {', '.join(missing)})"
        )
    return fh


def load_result(path):
    """Read a result written by :func:`save_result`.

    Parameters
    ----------
    path : str or os.PathLike
        HDF5 result file.

    Returns
    -------
    Result
        All fields restored; ``config`` is rebuilt with
        :meth:`RunConfig.from_dict <largebdg.config.RunConfig.from_dict>`, and
        the JSON-stored settings come back as dicts of plain Python values.

    Raises
    ------
    ParameterError
        If `path` does not exist, is not an HDF5 file, is not a largebdg result, or is
        damaged (unreadable data, inconsistent shapes).
    """
    try:
        result = _read_result(path)
    except ParameterError:
        raise
    except (OSError, KeyError, ValueError, TypeError, RuntimeError, AttributeError,
            IndexError) as e:  # h5py's errors on damaged files
        raise ParameterError(
            f"'path': '{path}' is damaged and cannot be read ({type(e).__name__}: "
            f"{' '.join(str(e).split())})"
        ) from e
    L = result.config.lattice.L
    shapes = {name: np.shape(getattr(result, name)) for name in _ARRAYS}
    expected = {name: (2,) if name == "mu" else (2, L, L) for name in _ARRAYS}
    if shapes != expected:
        wrong = [f"{n} {shapes[n]}" for n in _ARRAYS if shapes[n] != expected[n]]
        raise ParameterError(
            f"'path': '{path}' is damaged: its arrays do not match L = {L} ({', '.join(wrong)})"
        )
    return result


def _read_result(path):
    """Body of :func:`load_result` (any h5py error on a damaged file propagates)."""
    with _open_result(path) as fh:
        attrs = fh.attrs
        try:
            json_attrs = {name: json.loads(attrs.get(name, "{}")) for name in _JSON_ATTRS}
            config = RunConfig.from_dict(json_attrs["config"])
        except (json.JSONDecodeError, TypeError, ParameterError) as e:
            raise ParameterError(f"'path': '{path}' holds an invalid configuration: {e}") from e
        observables = {}
        for name in fh:
            if name in _ARRAYS or name == "history" or name.endswith("_stderr"):
                continue
            value = np.asarray(fh[name][()], dtype=float)
            stderr = (np.asarray(fh[f"{name}_stderr"][()], dtype=float)
                      if f"{name}_stderr" in fh else np.zeros_like(value))
            try:
                settings = json.loads(attrs.get(f"{name}_settings", "{}"))
            except (json.JSONDecodeError, TypeError) as e:
                raise ParameterError(
                    f"'path': '{path}' holds invalid settings of '{name}': {e}") from e
            observables[name] = Observable(value, stderr, settings)
        return Result(
            config=config,
            **{name: fh[name][()] for name in _ARRAYS},
            converged=bool(attrs["converged"]),
            iterations=int(attrs["iterations"]),
            history={key: ds[()] for key, ds in fh["history"].items()},
            disorder_density=np.asarray(attrs.get("disorder_density", np.full(2, np.nan))),
            solver_settings=json_attrs["solver_settings"],
            wall_time=float(attrs.get("wall_time", 0.0)),
            version=str(attrs["largebdg_version"]),
            observables=observables,
        )


def update_result(path, datasets=None, attrs=None):
    """Add or replace datasets and attributes of an existing result file.

    Used to store quantities computed after the solve, e.g. the superfluid
    stiffness.  The update is atomic: the file is copied, changed and moved
    back into place, so an interrupted update leaves the original intact.

    Parameters
    ----------
    path : str or os.PathLike
        Result file written by :func:`save_result`.
    datasets : dict of array_like, optional
        Root datasets to write (an existing one of the same name is replaced).
    attrs : dict, optional
        Root attributes to write; dict values are stored as JSON text
        (e.g. ``{"stiffness_settings": {...}}``).

    Raises
    ------
    ParameterError
        If `path` is not a largebdg result, or a name would replace part of the
        solution or its provenance (``delta``, ``config``, ``history``, ...).

    Examples
    --------
    >>> update_result("run.h5", {"stiffness": [0.1, 0.02]},
    ...               {"stiffness_settings": {"method": "dense"}})  # doctest: +SKIP
    """
    datasets = dict(datasets or {})
    attrs = dict(attrs or {})
    for name in list(datasets) + list(attrs):
        if name in _PROTECTED:
            raise ParameterError(
                f"'{name}' is part of the stored solution and cannot be replaced by update_result"
            )
    _open_result(path).close()

    def write(fh):
        for name, data in datasets.items():
            if name in fh:
                del fh[name]
            fh.create_dataset(name, data=np.asarray(data))
        for name, value in attrs.items():
            fh.attrs[name] = _to_json(value) if isinstance(value, dict) else value

    atomic_write(Path(path), lambda tmp: write_hdf5(tmp, write, mode="a"), source=path)
