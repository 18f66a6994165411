"""The driver of one solve: config -> disorder and model -> engine -> self-consistency -> Result."""

import dataclasses
import time

import numpy as np

from ..config import DisorderConfig
from ..engines import make_engine
from ..io.result import Result
from ..model.disorder import SEEDED_KINDS, make_potential
from ..scf import solve

__all__ = ["build_model", "resolve_seeds", "run"]


def resolve_seeds(config, entropy=None):
    """Return ``config`` with an explicit seed for every seeded disorder kind.

    Seeds left unset are drawn from ``numpy.random.SeedSequence(entropy)`` and
    recorded, so that every output can be reproduced.
    """
    bands = []
    for k, d in enumerate(config.disorder):
        params = dict(d.params)
        if d.kind in SEEDED_KINDS and params.get("seed") is None:
            params["seed"] = int(np.random.SeedSequence(entropy).spawn(2)[k].generate_state(1)[0])
        bands.append(DisorderConfig(kind=d.kind, params=params))
    return dataclasses.replace(config, disorder=tuple(bands))


def build_model(config):
    """Disorder potentials and the model of a (seed-resolved) config.

    Returns
    -------
    model : TwoBandModel
    disorder_density : ndarray, shape (2,)
        Realised impurity densities.
    """
    L = config.lattice.L
    maps, dens = zip(*(make_potential(d.kind, L, **d.params) for d in config.disorder), strict=True)
    return config.build_model(np.array(maps)), np.array(dens)


def run(config, *, initial=None, callback=None, comm=None):
    """Solve the model described by ``config`` self-consistently.

    Parameters
    ----------
    config : RunConfig
    initial : Result or SCFState, optional
        Warm start.
    callback : callable, optional
        Progress callback of :func:`largebdg.scf.solve`.
    comm : mpi4py communicator, optional
        Used by the Chebyshev engine; default ``COMM_WORLD`` when running under MPI.

    Returns
    -------
    Result
    """
    config = resolve_seeds(config)
    model, dens = build_model(config)
    engine = make_engine(config.solver.method, model, comm=comm, **config.engine_options())
    if isinstance(initial, Result):
        initial = initial.state()
    s = config.solver
    t0 = time.perf_counter()
    out = solve(model, engine, s.T, tol=s.tol, tol_density=s.tol_density,
                tol_filling=s.tol_filling, max_iter=s.max_iter, mixing=s.mixing,
                mixing_beta=s.mixing_beta, history=s.history, initial=initial,
                callback=callback)
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
        wall_time=time.perf_counter() - t0,
    )
