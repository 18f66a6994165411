r"""Finite-size scaling studies: lattice sizes x disorder seeds x temperatures, as one run.

A study solves the product grid of lattice sizes L, disorder seeds and one
temperature grid.  Each (L, seed) is a *chain*: a temperature sweep
(:func:`largebdg.workflows.sweep.sweep`), warm-started along T, in its own
directory ``DIR/L<L>_seed<seed>/`` (layout in :mod:`largebdg.io.studies`).  The
seed is written into every seeded disorder kind
(:data:`largebdg.model.disorder.SEEDED_KINDS`) of the configuration.  With a
stiffness method, every point's superfluid stiffness is computed right after it
is solved and stored in its file (:func:`largebdg.workflows.stiffness.attach_stiffness`).

Resuming
--------
A point is *finished* when its file exists and, if a stiffness was requested,
holds a stiffness of the resolved method.  Rerunning the same study skips every
finished point (its file is not rewritten) and computes a missing stiffness
without solving again.  Files are written atomically, so a study killed at any
moment loses at most the point in progress.  The resolved definition is stored
in ``DIR/study.json``; a rerun with another definition is refused unless
``force`` (which recomputes and overwrites every point of the chains it runs).

Distributing
------------
``shard=(K, N)`` runs the K-th of N disjoint sets of chains (:func:`shard_chains`,
a deterministic balance of the estimated cost), e.g. one per job of a job array.
Under MPI, the ranks are split into groups of ``ranks_per_chain`` ranks
(``Comm.Split``); the groups share the shard's chains and each group solves its
chains with its sub-communicator (several ranks per group serve the Chebyshev
engine).  Each chain directory is written by exactly one group.

Locks (:func:`largebdg.io.lock.directory_lock`): the process running a shard
holds, for its whole run, the lock of each of its chains (``DIR/.locks/<chain>``,
not the chain directory itself, so a sweep that locks its own directory never
meets it), taken all at once: a second copy of the same shard, or an overlapping
one, is refused before anything is solved, while disjoint shards run side by
side.  ``study.json`` and the report are written under the study lock on ``DIR``
itself, held for moments only (:func:`study_lock` waits for it).
"""

import contextlib
import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import _validate as v
from .._optional import rank_size, world
from ..config import RunConfig, apply_overrides, comparable
from ..errors import ParameterError
from ..io import load_result
from ..io.lock import directory_lock
from ..io.studies import DEFINITION_KEYS, chain_lock_dir, chain_name, read_study, write_study
from ..io.sweeps import find_point_file
from ..model.disorder import SEEDED_KINDS
from .run import on_root
from .stiffness import EXACT_MAX_L, METHODS, attach_stiffness, resolve_method
from .sweep import parse_values, sweep

__all__ = [
    "COST_EXPONENT",
    "STIFFNESS_CHOICES",
    "Chain",
    "StudyDefinition",
    "StudyPoint",
    "StudyProgress",
    "StudySummary",
    "format_duration",
    "parse_seeds",
    "parse_sizes",
    "parse_shard",
    "partition",
    "shard_chains",
    "study_lock",
    "study",
]

PARAMETER = "solver.T"
"""The swept key of every chain."""

COST_EXPONENT = {"dense": 6, "chebyshev": 2}
"""Cost of a point as a power of L per engine (dense diagonalisation of 2L² x 2L²
matrices; Chebyshev expansion linear in the number of sites); used to balance shards
and to extrapolate the time estimate to sizes without a finished point."""

STIFFNESS_CHOICES = ("auto",) + METHODS
"""Accepted stiffness methods: those of :data:`largebdg.workflows.stiffness.METHODS` and
``auto`` (resolved per L by :func:`~largebdg.workflows.stiffness.resolve_method`)."""


# --------------------------------------------------------------------------- parsing


def _integers(values, name):
    if not all(isinstance(x, int) for x in values):
        raise ParameterError(f"'{name}' must be integers, got {values}")
    return values


def parse_sizes(text):
    """Lattice sizes: a list ``32,64,128`` or a grid ``START:STOP:STEP`` of integers."""
    sizes = _integers(parse_values(text, name="--L"), "--L")
    return sizes


def parse_seeds(text):
    """Disorder seeds: ``1:3`` (1, 2, 3), a list ``1,5,9`` or ``START:STOP:STEP``.

    Examples
    --------
    >>> parse_seeds("1:3")
    [1, 2, 3]
    >>> parse_seeds("2,7")
    [2, 7]
    """
    if isinstance(text, str) and text.count(":") == 1:
        start, stop = text.split(":")
        text = f"{start}:{stop}:1"
    return _integers(parse_values(text, name="--seeds"), "--seeds")


def parse_shard(text):
    """``"K/N"`` -> ``(K, N)`` with 1 <= K <= N.

    Examples
    --------
    >>> parse_shard("2/4")
    (2, 4)
    """
    try:
        k, n = (int(p) for p in str(text).split("/"))
    except ValueError:
        raise ParameterError(f"'--shard' must be K/N (e.g. 2/4), got {text!r}") from None
    if not 1 <= k <= n:
        raise ParameterError(f"'--shard' K/N needs 1 <= K <= N, got {text!r}")
    return k, n


# --------------------------------------------------------------------------- definition


@dataclass(frozen=True, order=True)
class Chain:
    """One chain of a study: the temperature sweep of lattice size ``L`` and disorder ``seed``."""

    L: int
    seed: int

    @property
    def name(self):
        """Directory name, ``L<L>_seed<seed>``."""
        return chain_name(self.L, self.seed)


def _comparable(key, value):
    """A ``study.json`` entry reduced to what determines the results (config: ``comparable``)."""
    return comparable(value) if key == "config" else _plain(value)


def _plain(data):
    """JSON form of a dict, so that stored and new definitions compare equal."""
    return json.loads(json.dumps(data))


@dataclass(frozen=True)
class StudyDefinition:
    """What a study solves; :meth:`build` validates, :meth:`to_dict` is ``study.json``.

    Attributes
    ----------
    config : RunConfig
        Base configuration (its ``lattice.L``, ``solver.T`` and seeds are replaced per point).
    sizes, seeds : tuple of int
    temperatures : tuple of float
        Solved in this order along every chain.
    stiffness : str or None
        Requested stiffness method (one of :data:`STIFFNESS_CHOICES`) or None.
    """

    config: RunConfig
    sizes: tuple
    seeds: tuple
    temperatures: tuple
    stiffness: str = None

    @classmethod
    def build(cls, config, sizes, seeds, temperatures, stiffness=None):
        """Check the study and return its definition.

        Raises
        ------
        ParameterError
            On empty or repeated sizes, seeds or temperatures, several seeds for a
            configuration without seeded disorder, an unknown stiffness method, or
            ``exact`` stiffness above :data:`~largebdg.workflows.stiffness.EXACT_MAX_L`.
        """
        if not isinstance(config, RunConfig):
            raise TypeError(f"'config' must be a RunConfig, got {type(config).__name__}")
        sizes, seeds, temperatures = list(sizes), list(seeds), list(temperatures)
        for name, values in (("sizes", sizes), ("seeds", seeds), ("temperatures", temperatures)):
            if not values:
                raise ParameterError(f"'{name}' must hold at least one value")
            if len(set(values)) != len(values):
                raise ParameterError(f"'{name}' must not repeat a value, got {values}")
        for L in sizes:
            v.positive_int("sizes", L)
        for s in seeds:
            v.positive_int("seeds", s, minimum=0)
        temperatures = [float(v.real("temperatures", T, 0.0, low_open=True))
                        for T in temperatures]
        if len(seeds) > 1 and not _seeded_bands(config):
            raise ParameterError(
                f"'seeds': {len(seeds)} seeds given, but the configuration has no seeded "
                f"disorder (kinds {', '.join(SEEDED_KINDS)}): every seed would solve the same "
                "sample; give one seed"
            )
        if stiffness is not None:
            v.choice("stiffness", stiffness, STIFFNESS_CHOICES)
            for L in sizes:
                if resolve_method(stiffness, L) == "exact" and L > EXACT_MAX_L:
                    raise ParameterError(
                        f"'stiffness' = 'exact' is limited to L <= {EXACT_MAX_L} (got L = {L}); "
                        "use 'auto' (exact up to that size, kpm above), 'kpm' or 'stochastic'"
                    )
        out = cls(config=config, sizes=tuple(int(L) for L in sizes),
                  seeds=tuple(int(s) for s in seeds), temperatures=tuple(temperatures),
                  stiffness=stiffness)
        for chain in out.chains:
            out.chain_config(chain)  # validates L and the seed overrides
        return out

    @property
    def chains(self):
        """All chains, sizes in the order given, then seeds."""
        return tuple(Chain(L, s) for L in self.sizes for s in self.seeds)

    def chain_config(self, chain):
        """Configuration of ``chain``: the base one with its L and every seeded band's seed."""
        items = [f"lattice.L={chain.L}"]
        items += [f"disorder.band{k + 1}.seed={chain.seed}" for k in _seeded_bands(self.config)]
        return apply_overrides(self.config, items)

    def stiffness_method(self, L):
        """Resolved stiffness method at size ``L``, or None if no stiffness is requested."""
        return None if self.stiffness is None else resolve_method(self.stiffness, L)

    def cost(self, chain):
        """Relative cost of a chain, ``L ** COST_EXPONENT[engine]``."""
        return float(chain.L) ** COST_EXPONENT.get(self.config.solver.method, 2)

    def to_dict(self):
        """The definition as stored in ``study.json`` (``io.studies.DEFINITION_KEYS``)."""
        base = _plain(self.config.to_dict())
        base.get("lattice", {}).pop("L", None)
        base.get("solver", {}).pop("T", None)
        for k in _seeded_bands(self.config):
            base["disorder"][f"band{k + 1}"].pop("seed", None)
        return _plain({
            "config": base, "L": list(self.sizes), "seeds": list(self.seeds),
            "T": list(self.temperatures), "stiffness": self.stiffness,
            "stiffness_methods": (None if self.stiffness is None else
                                  {str(L): self.stiffness_method(L) for L in self.sizes}),
        })


def _seeded_bands(config):
    """Indices of the bands with seeded disorder."""
    return [k for k, d in enumerate(config.disorder) if d.seeded]


# --------------------------------------------------------------------------- distribution


def partition(items, n, cost):
    """Split ``items`` into ``n`` lists of about equal total ``cost(item)``.

    Greedy longest-processing-time assignment: items by decreasing cost (ties in
    the given order), each to the least loaded list (ties to the first).
    Deterministic; each list keeps the given order.

    Examples
    --------
    >>> partition([32, 64, 128, 128], 2, cost=lambda L: L * L)
    [[64, 128], [32, 128]]
    """
    v.positive_int("n", n)
    items = list(items)
    order = sorted(range(len(items)), key=lambda i: (-cost(items[i]), i))
    loads, bins = [0.0] * n, [[] for _ in range(n)]
    for i in order:
        b = min(range(n), key=lambda j: (loads[j], j))
        loads[b] += cost(items[i])
        bins[b].append(i)
    return [[items[i] for i in sorted(b)] for b in bins]


def shard_chains(definition, shard):
    """Chains of shard ``(K, N)``: the K-th list of :func:`partition` of all chains into N."""
    k, n = shard
    return partition(definition.chains, n, definition.cost)[k - 1]


# --------------------------------------------------------------------------- locks


@contextlib.contextmanager
def study_lock(outdir, *, timeout=120.0, poll=0.2):
    """Hold the study lock on ``outdir`` (``directory_lock``), waiting up to ``timeout`` s.

    Taken for moments only (writing ``study.json`` or the report), so that
    shards starting or finishing together take turns instead of failing.
    """
    deadline = time.monotonic() + timeout
    with contextlib.ExitStack() as stack:
        while True:
            try:
                stack.enter_context(directory_lock(outdir, what="study"))
                break
            except ParameterError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(poll)
        yield Path(outdir)


def _check_definition(outdir, definition, force):
    """Write ``study.json``, or check that the stored one is this definition."""
    new = definition.to_dict()
    old = read_study(outdir)
    if old is not None and not force:
        changed = [k for k in DEFINITION_KEYS if _comparable(k, old[k]) != _comparable(k, new[k])]
        if changed:
            raise ParameterError(
                f"'outdir': '{outdir}' holds a study with a different definition "
                f"({', '.join(changed)} differ{'s' if len(changed) == 1 else ''}); use a new "
                "--out directory, or --force (force=True) to recompute and overwrite its points"
            )
        return
    write_study(outdir, new)


# --------------------------------------------------------------------------- progress


def format_duration(seconds):
    """``1h02m``, ``3m05s`` or ``12s``; ``--`` if unknown (None).

    Examples
    --------
    >>> format_duration(3725), format_duration(185), format_duration(None)
    ('1h02m', '3m05s', '--')
    """
    if seconds is None or not math.isfinite(seconds):
        return "--"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    if s >= 60:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s}s"


def _finished(result, method):
    """Whether a point's result counts as finished (holding the requested stiffness).

    A random estimate whose diamagnetic term was taken from the bond averages of an
    approximate (non-dense) solution does not count: that term carries the solver's error,
    which is not in its uncertainty (``compute_stiffness``, ``diamagnetic``); it is
    recomputed from the stored solution.
    """
    settings = result.stiffness_settings
    if method is None:
        return True
    return settings.get("method") == method and not (
        settings.get("diamagnetic") == "bond_averages"
        and result.solver_settings.get("method") != "dense")


def _point_seconds(result):
    """Wall time of a point: its solve plus its stiffness."""
    return float(result.wall_time) + float(result.stiffness_settings.get("wall_time", 0.0))


class StudyProgress:
    """Points done, running and left of one process group, with a time estimate.

    Attributes
    ----------
    total : int
        Points of the group's chains.
    group, groups : int
        This group and the number of groups (MPI).
    chains : list of Chain
        The group's chains.
    """

    def __init__(self, chains, n_temperatures, exponent, *, group=0, groups=1):
        self.chains = list(chains)
        self.total = len(self.chains) * n_temperatures
        self.exponent = exponent
        self.group, self.groups = group, groups
        self._done = {}
        self._running = None
        self._started = None

    def mark_done(self, key, seconds):
        """Record point ``key = (chain, index)`` as finished after ``seconds``."""
        self._done[key] = float(seconds)
        if self._running == key:
            self._running = None

    def start(self, key):
        """Record that point ``key`` is being computed."""
        if self._running != key:
            self._running, self._started = key, time.monotonic()

    @property
    def done(self):
        """Number of finished points."""
        return len(self._done)

    @property
    def running(self):
        """Number of points being computed (0 or 1)."""
        return int(self._running is not None)

    @property
    def left(self):
        """Points neither finished nor running."""
        return self.total - self.done - self.running

    def predicted(self, L):
        """Expected seconds of a point of size ``L``: the mean over finished points of that
        size, else scaled as ``L ** exponent`` from the other sizes; None before any point."""
        same = [t for (c, _), t in self._done.items() if c.L == L]
        if same:
            return float(np.mean(same))
        if not self._done:
            return None
        scale = np.mean([t / float(c.L) ** self.exponent for (c, _), t in self._done.items()])
        return float(scale) * float(L) ** self.exponent

    def eta(self):
        """Estimated seconds until the group's points are finished (None if unknown)."""
        total = 0.0
        for chain, count in self._pending().items():
            t = self.predicted(chain.L)
            if t is None:
                return None
            total += count * t
        if self._running is not None:
            t = self.predicted(self._running[0].L)
            if t is None:
                return None
            total += max(t - (time.monotonic() - self._started), 0.0)
        return total

    def describe(self):
        """``12/54 done, 1 running, 41 left, ETA 1h02m`` (with the group under MPI)."""
        text = (f"{self.done}/{self.total} done, {self.running} running, {self.left} left, "
                f"ETA {format_duration(self.eta())}")
        return f"group {self.group + 1}/{self.groups}: {text}" if self.groups > 1 else text

    def _pending(self):
        """Chain -> number of points neither finished nor running."""
        n = self.total // max(len(self.chains), 1)
        out = {}
        for chain in self.chains:
            busy = sum(1 for (c, _) in self._done if c == chain)
            busy += int(self._running is not None and self._running[0] == chain)
            out[chain] = n - busy
        return out


# --------------------------------------------------------------------------- records


@dataclass
class StudyPoint:
    """One finished point of a study, as passed to ``on_point``.

    Attributes
    ----------
    chain : Chain
    point : SweepPoint
        The sweep's record (``status`` ``computed`` or ``existing``).
    stiffness : Observable or None
        The stiffness stored in the file (None if not requested).
    stiffness_status : {"computed", "existing", None}
    """

    chain: Chain
    point: object
    stiffness: object = None
    stiffness_status: str = None

    @property
    def status(self):
        """``computed`` if anything was computed for this point now, else ``existing``."""
        return "computed" if "computed" in (self.point.status, self.stiffness_status) \
            else "existing"


@dataclass
class StudySummary:
    """What :func:`study` returns.

    Attributes
    ----------
    definition : StudyDefinition
    outdir : pathlib.Path
    chains : list of Chain
        Chains of this process's shard (all groups).
    points : list of StudyPoint
        Points of this process group's chains.
    computed : int
        Points (solves or stiffnesses) computed in this run, over all groups.
    unconverged : list of tuple
        ``(L, seed, T)`` of every point of the shard that did not converge.
    """

    definition: StudyDefinition
    outdir: Path
    chains: list
    points: list = field(default_factory=list)
    computed: int = 0
    unconverged: list = field(default_factory=list)

    @property
    def converged(self):
        """Whether every point of the shard converged."""
        return not self.unconverged


# --------------------------------------------------------------------------- driver


def _stiffness_seed(chain, index):
    """Seed of the stochastic (or kpm) stiffness of one point (reproducible, distinct per point)."""
    return int(np.random.SeedSequence([chain.L, chain.seed, index]).generate_state(1)[0])


def _ensure_stiffness(path, method, chain, index):
    """Compute and store the stiffness of a point file unless it already holds it (of
    ``method``; a stiffness of another method is replaced).

    Returns
    -------
    (Observable, status)
    """
    result = load_result(path)
    if _finished(result, method):
        return result.observables["stiffness"], "existing"
    kwargs = ({"seed": _stiffness_seed(chain, index)} if method in ("stochastic", "kpm")
              else {})
    obs = attach_stiffness(path, method, force=True, **kwargs)
    return obs, "computed"


def _scan(progress, definition, outdir, chains):
    """Mark the finished points already on disk."""
    for chain in chains:
        method = definition.stiffness_method(chain.L)
        for k, T in enumerate(definition.temperatures):
            path = find_point_file(outdir / chain.name, PARAMETER, T)
            if path is None:
                continue
            result = load_result(path)
            if _finished(result, method):
                progress.mark_done((chain, k), _point_seconds(result))


def _run_chain(definition, chain, outdir, comm, force, progress, callback, on_point):
    """Sweep one chain (every rank of ``comm``), stiffness on its rank 0."""
    lead = rank_size(comm)[0] == 0
    method = definition.stiffness_method(chain.L)
    records = []

    def iteration(index, it, record):
        if lead:
            progress.start((chain, index))
            if callback is not None:
                callback(chain, index, it, record, progress)

    def finished(point):
        obs = status = None
        if lead:
            if method is not None:
                progress.start((chain, point.index))
                obs, status = _ensure_stiffness(point.path, method, chain, point.index)
            seconds = point.wall_time + (float(obs.settings.get("wall_time", 0.0))
                                         if obs is not None else 0.0)
            progress.mark_done((chain, point.index), seconds)
        record = StudyPoint(chain, point, obs, status)
        records.append(record)
        if lead and on_point is not None:
            on_point(record, progress)

    chain_dir = outdir / chain.name
    sweep(definition.chain_config(chain), list(definition.temperatures), parameter=PARAMETER,
          outdir=chain_dir, callback=iteration, on_point=finished, force=force, comm=comm)
    return records


def study(config, sizes, seeds, temperatures, *, outdir, stiffness=None, shard=(1, 1),
          ranks_per_chain=1, force=False, comm=None, callback=None, on_point=None,
          lock_timeout=120.0):
    r"""Run a finite-size scaling study (or one shard of it), resumably.

    Parameters
    ----------
    config : RunConfig
        Base configuration; ``lattice.L``, ``solver.T`` and the seeds of seeded
        disorder kinds are set per point.
    sizes : sequence of int
        Lattice sizes L.
    seeds : sequence of int
        Disorder seeds (non-negative), written into every seeded band.
    temperatures : sequence of float
        Temperature grid, solved in this order along every chain (warm-started);
        sweep upwards from the ordered phase.
    outdir : str or os.PathLike
        Study directory (created if missing; its parent must exist).
    stiffness : str, optional
        Stiffness method for every point, one of :data:`STIFFNESS_CHOICES`
        (``auto`` resolved per L); None computes none.
    shard : tuple of int, optional
        ``(K, N)``: run only the K-th of N disjoint sets of chains.
    ranks_per_chain : int, optional
        MPI ranks per group (must divide the number of ranks of ``comm``).
    force : bool, optional
        Accept a different stored definition and recompute (and overwrite) every
        point of the chains run here.
    comm : mpi4py communicator, optional
        Default ``COMM_WORLD`` when mpi4py is available.
    callback : callable, optional
        ``callback(chain, index, iteration, record, progress)`` after every
        self-consistency iteration (on the rank 0 of each group).
    on_point : callable, optional
        ``on_point(study_point, progress)`` after each point of the group's chains
        is finished or found on disk (rank 0 of each group), with a
        :class:`StudyPoint` and the group's :class:`StudyProgress`.
    lock_timeout : float, optional
        Seconds to wait for the study lock (held briefly by other shards).

    Returns
    -------
    StudySummary

    Raises
    ------
    ParameterError
        For an invalid study, a stored definition that differs (unless `force`), a
        chain locked by another process, or a point file from another configuration.

    Notes
    -----
    The report (``points.csv``, ``tc.csv``, ...) is not written here; see
    :func:`largebdg.analysis.scaling.study_tables` and ``largebdg report``.
    """
    definition = StudyDefinition.build(config, sizes, seeds, temperatures, stiffness)
    k, n = shard
    parse_shard(f"{k}/{n}")
    v.positive_int("ranks_per_chain", ranks_per_chain)
    outdir = Path(outdir)
    if not outdir.parent.is_dir():
        raise ParameterError(f"'outdir': directory '{outdir.parent}' does not exist")
    comm = world() if comm is None else comm
    rank, size = rank_size(comm)
    if size % ranks_per_chain:
        raise ParameterError(
            f"'ranks_per_chain' = {ranks_per_chain} must divide the number of MPI ranks {size}"
        )
    groups, group = size // ranks_per_chain, rank // ranks_per_chain
    chains = shard_chains(definition, shard)
    mine = partition(chains, groups, definition.cost)[group]
    sub = comm.Split(group, rank) if comm is not None else None
    summary = StudySummary(definition=definition, outdir=outdir, chains=chains)
    try:
        with contextlib.ExitStack() as locks:
            def setup():
                outdir.mkdir(exist_ok=True)
                with study_lock(outdir, timeout=lock_timeout):
                    _check_definition(outdir, definition, force)
                for chain in chains:
                    lock_dir = chain_lock_dir(outdir, chain.L, chain.seed)
                    lock_dir.mkdir(parents=True, exist_ok=True)
                    locks.enter_context(directory_lock(
                        lock_dir, what=f"study (chain {chain.name}, shard {k}/{n})"))

            on_root(comm, setup)
            progress = StudyProgress(mine, len(definition.temperatures),
                                     COST_EXPONENT.get(definition.config.solver.method, 2),
                                     group=group, groups=groups)
            error, current = None, None
            try:
                if rank_size(sub)[0] == 0 and not force:
                    _scan(progress, definition, outdir, mine)
                for current in mine:
                    summary.points += _run_chain(definition, current, outdir, sub, force,
                                                 progress, callback, on_point)
            except (ParameterError, OSError) as e:
                error = e
            lead = rank_size(sub)[0] == 0
            computed = sum(p.status == "computed" for p in summary.points) if lead else 0
            bad = [(p.chain.L, p.chain.seed, p.point.value) for p in summary.points
                   if not p.point.converged] if lead else []
            where = f"{current.name}: " if current is not None else ""
            message = None if error is None else f"{where}{error}"
            if size > 1:
                gathered = comm.allgather((computed, bad, message))
                computed = sum(g[0] for g in gathered)
                bad = [x for g in gathered for x in g[1]]
                messages = [g[2] for g in gathered if g[2] is not None]
            else:
                messages = [] if message is None else [message]
            if error is not None:
                raise error
            if messages:
                raise ParameterError("; ".join(messages))
            summary.computed, summary.unconverged = computed, sorted(bad)
    finally:
        if sub is not None:
            sub.Free()
    return summary
