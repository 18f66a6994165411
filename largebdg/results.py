"""The result of a self-consistent solve and the driver that produces it from a config."""

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

from . import __version__
from .config import DisorderConfig, RunConfig
from .disorder import make_potential
from .engines import make_engine
from .model import TwoBandModel
from .scf import SCFState, solve

__all__ = ["Result", "build_model", "resolve_seeds", "run"]

_SEEDED_KINDS = ("random", "correlated")


@dataclass
class Result:
    """Self-consistent solution of the two-band model.

    Arrays are indexed ``[band, y, x]`` (band 1 first).

    Attributes
    ----------
    config : RunConfig
        The fully resolved configuration (seeds included).
    delta, density : ndarray, shape (2, L, L)
        Gap Delta_nu i and total density n_nu i.
    mu : ndarray, shape (2,)
        Chemical potentials.
    potential : ndarray, shape (2, L, L)
        Disorder potentials V_nu i.
    bond_x, bond_y : ndarray, shape (2, L, L)
        Bond averages sum_sigma <c^dagger_{i+e} c_i>.
    converged : bool
    iterations : int
    history : dict of ndarray
        Per-iteration convergence record (see :func:`largebdg.scf.solve`).
    disorder_density : ndarray, shape (2,)
        Realised impurity density of each band.
    solver_settings : dict
        Engine settings actually used (moments, probing distance, bounds...).
    wall_time : float
        Seconds for the solve.
    stiffness, stiffness_stderr : ndarray, shape (2,), optional
        Superfluid stiffness per band and its standard error, once computed.
    """

    config: RunConfig
    delta: np.ndarray
    density: np.ndarray
    mu: np.ndarray
    potential: np.ndarray
    bond_x: np.ndarray
    bond_y: np.ndarray
    converged: bool
    iterations: int
    history: dict
    disorder_density: np.ndarray
    solver_settings: dict
    wall_time: float = 0.0
    version: str = __version__
    stiffness: np.ndarray = None
    stiffness_stderr: np.ndarray = None
    stiffness_settings: dict = field(default_factory=dict)

    @property
    def L(self):
        """Linear lattice size."""
        return self.delta.shape[-1]

    @property
    def T(self):
        """Temperature of the solve."""
        return self.config.solver.T

    @property
    def mean_abs_gap(self):
        """Sample-averaged gaps (1/N^2) sum_i |Delta_nu i| of both bands, paper Eq. (5)."""
        return np.abs(self.delta).mean(axis=(1, 2))

    @property
    def filling(self):
        """Realised band fillings (lattice averages of n_nu i)."""
        return self.density.mean(axis=(1, 2))

    def model(self):
        """The :class:`TwoBandModel` this result solves."""
        return model_from(self.config, self.potential)

    def state(self):
        """The mean field as an :class:`~largebdg.scf.SCFState`, for warm starts."""
        N = self.L * self.L
        return SCFState(self.delta.reshape(2, N).copy(), self.density.reshape(2, N).copy(),
                        self.mu.copy())


def resolve_seeds(config, entropy=None):
    """Return ``config`` with an explicit seed for every seeded disorder kind.

    Seeds left unset are drawn from ``numpy.random.SeedSequence(entropy)`` and
    recorded, so that every output can be reproduced.
    """
    bands = []
    for k, d in enumerate(config.disorder):
        params = dict(d.params)
        if d.kind in _SEEDED_KINDS and params.get("seed") is None:
            params["seed"] = int(np.random.SeedSequence(entropy).spawn(2)[k].generate_state(1)[0])
        bands.append(DisorderConfig(kind=d.kind, params=params))
    return dataclasses.replace(config, disorder=tuple(bands))


def model_from(config, potential):
    """:class:`TwoBandModel` from a config and a potential map (2, L, L)."""
    m = config.model
    return TwoBandModel(L=config.lattice.L, t=m.t, g=m.g, g12=m.g12, filling=m.filling,
                        potential=potential, common_mu=m.common_mu)


def build_model(config):
    """Disorder potentials and the model of a (seed-resolved) config.

    Returns
    -------
    model : TwoBandModel
    disorder_density : ndarray, shape (2,)
        Realised impurity densities.
    """
    L = config.lattice.L
    maps, dens = zip(*(make_potential(d.kind, L, **d.params) for d in config.disorder))
    return model_from(config, np.array(maps)), np.array(dens)


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
    engine = make_engine(model, config, comm=comm)
    if isinstance(initial, Result):
        initial = initial.state()
    s = config.solver
    t0 = time.perf_counter()
    out = solve(model, engine, s.T, tol=s.tol, tol_density=s.tol_density,
                tol_filling=s.tol_filling, max_iter=s.max_iter, mixing=s.mixing,
                mixing_beta=s.mixing_beta, history=s.history, initial=initial,
                accuracy_schedule=getattr(engine, "accuracy_schedule", None), callback=callback)
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
        solver_settings=engine.settings(),
        wall_time=time.perf_counter() - t0,
    )
