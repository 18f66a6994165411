"""The driver of one solve: config -> disorder and model -> engine -> self-consistency -> Result.

Before anything is allocated, :func:`check_memory` compares a rough estimate of the run's
memory with what the machine (or its cgroup, under a batch system) has available and refuses
hopeless runs with the figure.  With ``checkpoint=PATH``, :func:`run` saves the
self-consistency state to ``PATH`` while it iterates and resumes from an existing checkpoint of
the same configuration (:mod:`largebdg.io.checkpoint`).
"""

import dataclasses
import os
import time
import warnings
from pathlib import Path

import numpy as np

from .._optional import rank_size, world
from ..config import comparable, with_seeds
from ..engines import ENGINES, make_engine
from ..errors import ParameterError, RecoveryWarning
from ..io.checkpoint import load_checkpoint, save_checkpoint
from ..io.result import Result
from ..model.disorder import make_potential
from ..scf import solve

__all__ = ["build_model", "resolve_seeds", "run", "memory_estimate", "available_memory",
           "check_memory", "check_config", "on_root"]


def on_root(comm, task):
    """Run ``task()`` on rank 0 of ``comm`` only; every rank gets its value or its error.

    A :class:`~largebdg.errors.ParameterError` or ``OSError`` raised on rank 0 is raised there
    and, as a ParameterError with its message, on every other rank, so that no rank goes on
    alone into collective operations (and hangs).
    """
    rank, size = rank_size(comm)
    value, error = None, None
    if rank == 0:
        try:
            value = task()
        except (ParameterError, OSError) as e:
            error = e
    if size > 1:
        value, message = comm.bcast((value, None if error is None else str(error)), root=0)
        if message is not None and error is None:
            raise ParameterError(message)
    if error is not None:
        raise error
    return value


# --------------------------------------------------------------------------- memory


def _human(nbytes):
    """``1.5 GB`` style size."""
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB"):
        if nbytes < 1000 or unit == "PB":
            return f"{nbytes:.0f} {unit}" if unit == "bytes" else f"{nbytes:.3g} {unit}"
        nbytes /= 1000
    return ""  # unreachable


def memory_estimate(config):
    """Rough peak memory of one solve of ``config`` in bytes (per MPI rank).

    The engine's own estimate (``memory_estimate`` of its class: the dense matrices, or the
    Chebyshev blocks and operators) plus the per-site arrays of the self-consistency loop:
    the mixer history of ``2 (history + 2)`` vectors of 4 L² numbers, and some 40 maps of L²
    numbers (model, state, averages, result).
    """
    L = config.lattice.L
    N = L * L
    engine = ENGINES[config.solver.method].memory_estimate(L, **config.engine_options())
    return int(engine + 8 * N * (4 * 2 * (config.solver.history + 2) + 40))


def available_memory():
    """Bytes of memory this process may still use, or ``None`` if unknown.

    The smaller of ``MemAvailable`` of ``/proc/meminfo`` (or ``os.sysconf`` available pages)
    and the room left under a cgroup v2 limit (``memory.max`` - ``memory.current``), which is
    what batch systems such as Slurm impose.
    """
    candidates = []
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (OSError, ValueError, AttributeError):
            pass
    try:
        cgroup = Path("/sys/fs/cgroup")
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            candidates.append(int(limit) - int((cgroup / "memory.current").read_text()))
    except (OSError, ValueError):
        pass
    return min(candidates) if candidates else None


def check_memory(config, available=None):
    """Refuse a run whose :func:`memory_estimate` exceeds the available memory.

    Parameters
    ----------
    config : RunConfig
    available : int, optional
        Bytes available (default: :func:`available_memory`; no check if unknown).

    Raises
    ------
    ParameterError
        With the estimate, the available memory and a hint.
    """
    available = available_memory() if available is None else available
    need = memory_estimate(config)
    if available is None or need <= available:
        return
    L, method = config.lattice.L, config.solver.method
    if method == "dense":
        other = memory_estimate(dataclasses.replace(
            config, solver=dataclasses.replace(config.solver, method="chebyshev")))
        hint = (f"use --method chebyshev (about {_human(other)}) or a smaller L; the dense "
                "engine stores 2 L^2 x 2 L^2 matrices")
    else:
        hint = ("use a smaller L or a smaller chebyshev.block_size, or run on a machine with "
                "more memory")
    raise ParameterError(
        f"L = {L} with method '{method}' needs about {_human(need)} of memory, but only "
        f"{_human(available)} is available; {hint}"
    )


# --------------------------------------------------------------------------- model


def resolve_seeds(config, entropy=None):
    """Return ``config`` with an explicit seed for every seeded disorder kind.

    Seeds left unset are drawn from ``numpy.random.SeedSequence(entropy)`` and
    recorded, so that every output can be reproduced.
    """
    streams = np.random.SeedSequence(entropy).spawn(2)
    return with_seeds(config, lambda k: int(streams[k].generate_state(1)[0]))


def build_model(config):
    """Disorder potentials and the model of a (seed-resolved) config.

    Returns
    -------
    model : TwoBandModel
    disorder_density : ndarray, shape (2,)
        Realised impurity densities.
    """
    L = config.lattice.L
    maps, dens = [], []
    for k, d in enumerate(config.disorder):
        try:
            V, density = make_potential(d.kind, L, **d.params)
        except ParameterError as e:
            raise ParameterError(f"[disorder.band{k + 1}]: {e}") from None
        maps.append(V)
        dens.append(density)
    return config.build_model(np.array(maps)), np.array(dens)


def check_config(config):
    """Check everything about ``config`` that is not checked when it is built, cheaply.

    The memory estimate (:func:`check_memory`) and the disorder parameters (the potentials
    are generated once), so that a sweep can check all its points before solving the first.

    Raises
    ------
    ParameterError
    """
    check_memory(config)
    build_model(resolve_seeds(config, entropy=0))


# --------------------------------------------------------------------------- checkpoints


def _resume_from(config, path):
    """(config with the checkpoint's seeds, snapshot, elapsed) of a matching checkpoint.

    Raises ParameterError if the checkpoint belongs to another configuration.
    """
    stored, snapshot, elapsed = load_checkpoint(path)
    config = with_seeds(
        config, lambda k: stored.get("disorder", {}).get(f"band{k + 1}", {}).get("seed"))
    ignore = ("solver.max_iter",)
    new, old = comparable(config.to_dict(), ignore), comparable(stored, ignore)
    if new != old:
        diff = sorted(f"{section}.{key}" for section in set(new) | set(old)
                      for key in set(new.get(section, {})) | set(old.get(section, {}))
                      if new.get(section, {}).get(key) != old.get(section, {}).get(key))
        raise ParameterError(
            f"checkpoint '{path}' belongs to a different configuration (differs in "
            f"{', '.join(diff[:5])}{', ...' if len(diff) > 5 else ''}); rerun the original "
            "command to finish it, or use --force to start over (or delete the checkpoint)"
        )
    return config, snapshot, elapsed


# --------------------------------------------------------------------------- run


def run(config, *, initial=None, callback=None, comm=None, checkpoint=None, restart=False):
    """Solve the model described by ``config`` self-consistently.

    Parameters
    ----------
    config : RunConfig
    initial : Result or SCFState, optional
        Warm start; from a Result the engine also inherits what it learned
        (``engine.inherit(result.solver_settings)``, e.g. the Chebyshev plan margins).
    callback : callable, optional
        Progress callback of :func:`largebdg.scf.solve`.
    comm : mpi4py communicator, optional
        Used by the Chebyshev engine; default ``COMM_WORLD`` when running under MPI.
    checkpoint : str or os.PathLike, optional
        Checkpoint file: the self-consistency state is saved there (by rank 0, atomically)
        every ``solver.checkpoint_seconds`` / ``solver.checkpoint_iterations``; if it exists,
        the solve resumes from it (with a :class:`~largebdg.errors.RecoveryWarning`) and
        continues the identical iteration.  The caller removes it once the result is saved.
    restart : bool, optional
        Start over instead of refusing when the checkpoint belongs to another configuration
        or is damaged (it is overwritten by the next save); a matching checkpoint is still
        resumed.

    Returns
    -------
    Result

    Raises
    ------
    ParameterError
        For a run that cannot fit into memory, bad disorder parameters, or a checkpoint of
        another configuration (unless `restart`).
    """
    comm = world() if comm is None else comm
    on_root(comm, lambda: check_memory(config))
    resume, elapsed = None, 0.0
    if checkpoint is not None and Path(checkpoint).exists():
        try:
            config, resume, elapsed = on_root(comm, lambda: _resume_from(config, checkpoint))
        except ParameterError as e:
            if not restart:
                raise
            warnings.warn(f"starting over: {e}", RecoveryWarning, stacklevel=2)
        else:
            warnings.warn(f"resuming from checkpoint '{checkpoint}' after iteration "
                          f"{resume['iteration']}", RecoveryWarning, stacklevel=2)
    config = on_root(comm, lambda: resolve_seeds(config))  # one set of seeds on every rank
    model, dens = build_model(config)
    engine = make_engine(config.solver.method, model, comm=comm, **config.engine_options())
    if isinstance(initial, Result):
        engine.inherit(initial.solver_settings)
        initial = initial.state()
    s = config.solver
    t0 = time.perf_counter()
    save = None
    if checkpoint is not None and rank_size(comm)[0] == 0:
        resolved = config.to_dict()

        def save(snapshot):
            save_checkpoint(checkpoint, resolved, snapshot,
                            elapsed=elapsed + time.perf_counter() - t0)

    out = solve(model, engine, s.T, tol=s.tol, tol_density=s.tol_density,
                tol_filling=s.tol_filling, max_iter=s.max_iter, mixing=s.mixing,
                mixing_beta=s.mixing_beta, history=s.history,
                defect_correction=s.defect_correction, initial=initial,
                callback=callback, checkpoint=save, checkpoint_seconds=s.checkpoint_seconds,
                checkpoint_iterations=s.checkpoint_iterations, resume=resume)
    L = model.L
    return Result(
        config=config,
        delta=out.state.delta.reshape(2, L, L),
        density=out.state.density.reshape(2, L, L),
        mu=out.state.mu,
        potential=model.potential,
        bond_x=np.array([a.bond_x for a in out.averages]).reshape(2, L, L),
        bond_y=np.array([a.bond_y for a in out.averages]).reshape(2, L, L),
        converged=out.converged,
        iterations=out.iterations,
        history=out.history,
        disorder_density=dens,
        solver_settings={**engine.settings(), "error_estimate": out.error_estimates,
                         "not_converged": out.note},
        wall_time=elapsed + time.perf_counter() - t0,
    )
