"""Typed, validated run configuration and its TOML form.

The TOML layout (names kept stable for user scripts)::

    [lattice]
    L = 32

    [model]
    t = [1.0, 1.0]          # hopping t_nu (matrix element -t_nu)
    g = [2.0, 1.0]          # intra-band couplings g_1, g_2
    g12 = 0.25              # inter-band pair transfer, paper Eq. (4)
    filling = [0.5, 0.8]    # per-band fillings n_nu (both spins)

    [disorder.band1]
    kind = "random"         # none | random | correlated | stripes | chessboard | file
    strength = 4.0
    density = 0.5
    seed = 1

    [solver]
    method = "dense"        # dense | chebyshev
    T = 0.098
    tol = 1e-5
    max_iter = 300

    [chebyshev]             # used when method = "chebyshev"
    tolerance = 1e-3

Library functions take keyword arguments; these dataclasses serve the driver
and the CLI.  Unknown keys raise :class:`~largebdg.errors.ParameterError`, and
:meth:`RunConfig.to_dict` returns the fully resolved configuration (defaults
included) that every output file records.
"""

import copy
import dataclasses
import inspect
import json
import tomllib
from dataclasses import dataclass, field

from . import _validate as v
from .engines import ENGINES
from .engines.chebyshev import BACKENDS, PROBING_MODELS
from .engines.chebyshev import DEFAULTS as CHEBYSHEV_DEFAULTS
from .errors import ParameterError
from .kpm.coefficients import check_tolerance
from .model import PAPER_PARAMETERS, TwoBandModel
from .model.twoband import check_parameters
from .model.disorder import GENERATORS, SEEDED_KINDS
from .model.lattice import lattice_size
from .model.thermal import T_MAX
from .scf import DEFAULTS as SCF_DEFAULTS
from .scf import MIXERS

__all__ = [
    "LatticeConfig",
    "ModelConfig",
    "DisorderConfig",
    "SolverConfig",
    "ChebyshevConfig",
    "RunConfig",
    "load_config",
    "apply_overrides",
    "with_seeds",
    "RESULT_NEUTRAL_KEYS",
    "comparable",
]

RESULT_NEUTRAL_KEYS = ("solver.checkpoint_seconds", "solver.checkpoint_iterations",
                       "chebyshev.threads")
"""Settings that never change a result; ignored when a stored configuration is compared with a
new one (resuming a sweep, a study or a checkpointed solve).  ``chebyshev.threads`` only
distributes blocks of start vectors: every column is computed by the same arithmetic
(tests/engines/test_chebyshev.py::test_threads_give_identical_averages)."""


def comparable(data, ignore=()):
    """A resolved config dict (``RunConfig.to_dict()``) reduced to what determines the result.

    Drops :data:`RESULT_NEUTRAL_KEYS` and the ``section.key`` names in ``ignore``, and turns
    tuples and NumPy scalars into plain JSON values, so that stored and new configurations
    compare equal with ``==``.
    """
    data = json.loads(json.dumps(data))
    for key in RESULT_NEUTRAL_KEYS + tuple(ignore):
        *path, last = key.split(".")
        node = data
        for part in path:
            node = node.get(part, {}) if isinstance(node, dict) else {}
        if isinstance(node, dict):
            node.pop(last, None)
    return data


_START_VECTORS = {"probing": "probing", "exact": "unit"}
# the documented strategy names of the [chebyshev] section -> the engine's start vectors


@dataclass(frozen=True)
class LatticeConfig:
    """L x L periodic square lattice, site index i = x + L*y."""

    L: int = 32

    def __post_init__(self):
        lattice_size(self.L, "lattice.L")


@dataclass(frozen=True)
class ModelConfig:
    """Two-band attractive-Hubbard parameters (paper Eqs. 2-4), defaults are the paper's values.

    ``common_mu = true`` replaces the per-band chemical potentials by one
    chemical potential holding the total filling ``sum(filling)``, with the
    band offsets of the clean system, so that ``filling`` are the band
    fillings of the clean limit and disorder moves electrons between the
    bands (paper Eq. 12 and Methods).
    """

    t: tuple = PAPER_PARAMETERS["t"]
    g: tuple = PAPER_PARAMETERS["g"]
    g12: float = PAPER_PARAMETERS["g12"]
    filling: tuple = PAPER_PARAMETERS["filling"]
    common_mu: bool = False

    def __post_init__(self):
        checked = check_parameters(self.t, self.g, self.g12, self.filling, prefix="model.")
        for name, value in zip(("t", "g", "g12", "filling"), checked):
            object.__setattr__(self, name, value)
        v.flag("model.common_mu", self.common_mu)


@dataclass(frozen=True)
class DisorderConfig:
    """Disorder potential of one band: a generator ``kind`` and its parameters.

    The parameters are those of the generator in :mod:`largebdg.model.disorder`;
    unknown ones raise, and :meth:`resolved` fills in the defaults.
    """

    kind: str = "none"
    params: dict = field(default_factory=dict)

    def __post_init__(self):
        v.choice("disorder.kind", self.kind, tuple(GENERATORS))
        accepted = [p for p in inspect.signature(GENERATORS[self.kind]).parameters if p != "L"]
        for key in self.params:
            if key not in accepted:
                raise ParameterError(
                    f"unknown disorder parameter '{key}' for kind '{self.kind}'; "
                    f"accepted: {', '.join(accepted) or 'none'}"
                )

    def resolved(self):
        """Parameters with the generator's defaults filled in."""
        sig = inspect.signature(GENERATORS[self.kind])
        out = {
            name: p.default
            for name, p in sig.parameters.items()
            if name != "L" and p.default is not inspect.Parameter.empty
        }
        out.update(self.params)
        return out

    @property
    def seeded(self):
        """Whether the kind draws a random realisation from a seed (:data:`SEEDED_KINDS`)."""
        return self.kind in SEEDED_KINDS

    @property
    def needs_seed(self):
        """Whether the kind is seeded and no seed is given (a run would draw one)."""
        return self.seeded and self.params.get("seed") is None

    def to_dict(self):
        """TOML-ready form (``None`` values dropped)."""
        return {"kind": self.kind, **{k: x for k, x in self.resolved().items() if x is not None}}


def with_seeds(config, seed_of):
    """``config`` with the missing seed of every seeded band ``k`` (0, 1) set to
    ``seed_of(k)`` (:attr:`DisorderConfig.needs_seed`)."""
    bands = tuple(DisorderConfig(d.kind, {**d.params, "seed": seed_of(k)}) if d.needs_seed else d
                  for k, d in enumerate(config.disorder))
    return dataclasses.replace(config, disorder=bands)


@dataclass(frozen=True)
class SolverConfig:
    """Self-consistency settings shared by every method.

    ``tol`` bounds max|delta Delta| between iterations; ``tol_density`` the
    largest change of a local density; ``tol_filling`` the error of each
    band's filling.  ``mixing`` is ``"anderson"`` (Pulay/DIIS, default) or
    ``"linear"``.  ``T`` lies in [0, ``T_MAX``] = [0, 100].  ``defect_correction``
    (default true) lets an approximate engine reach each accuracy level's fixed point by
    iterating the previous level's cheaper map corrected by the defect
    (:mod:`largebdg.scf.correction`); the fixed point is the same.

    ``checkpoint_seconds`` (default 60) is the interval at which ``largebdg solve --out r.h5``
    saves its self-consistency state to ``r.h5.checkpoint`` (``0``: after every iteration;
    ``inf``: never by time); ``checkpoint_iterations`` (default 0: off) also saves every
    this many iterations.  Rerunning the same command resumes from the checkpoint.  Neither
    setting changes the result, so neither is compared when resuming.
    """

    method: str = "dense"
    T: float = 0.05
    tol: float = SCF_DEFAULTS["tol"]
    tol_density: float = SCF_DEFAULTS["tol_density"]
    tol_filling: float = SCF_DEFAULTS["tol_filling"]
    max_iter: int = SCF_DEFAULTS["max_iter"]
    mixing: str = SCF_DEFAULTS["mixing"]
    mixing_beta: float = SCF_DEFAULTS["mixing_beta"]
    history: int = SCF_DEFAULTS["history"]
    defect_correction: bool = SCF_DEFAULTS["defect_correction"]
    checkpoint_seconds: float = SCF_DEFAULTS["checkpoint_seconds"]
    checkpoint_iterations: int = SCF_DEFAULTS["checkpoint_iterations"]

    def __post_init__(self):
        v.choice("solver.method", self.method, tuple(ENGINES))
        object.__setattr__(self, "T", v.real("solver.T", self.T, 0.0, T_MAX))
        for name in ("tol", "tol_density", "tol_filling"):
            object.__setattr__(
                self, name, v.real(f"solver.{name}", getattr(self, name), 0.0, low_open=True)
            )
        v.positive_int("solver.max_iter", self.max_iter)
        v.choice("solver.mixing", self.mixing, tuple(MIXERS))
        object.__setattr__(
            self, "mixing_beta", v.real("solver.mixing_beta", self.mixing_beta, 0.0, 1.0, True)
        )
        v.positive_int("solver.history", self.history)
        v.flag("solver.defect_correction", self.defect_correction)
        object.__setattr__(self, "checkpoint_seconds", v.real(
            "solver.checkpoint_seconds", self.checkpoint_seconds, 0.0, allow_inf=True))
        v.positive_int("solver.checkpoint_iterations", self.checkpoint_iterations, minimum=0)


@dataclass(frozen=True)
class ChebyshevConfig:
    """Settings of the Chebyshev (kernel-polynomial) engine.

    ``tolerance`` is the target absolute error of the local averages; the
    number of moments and the probing distance are derived from it unless
    given (``num_moments``, ``probing_distance``; 0 means automatic).
    ``strategy`` is ``"probing"`` or ``"exact"`` (one unit vector per site),
    ``kernel_backend`` ``"numba"`` (fused stencil) or ``"numpy"`` (the SciPy
    CSR reference recursion); under MPI both split the start vectors over ranks.
    ``probing_model`` is ``"measured"`` (the probing error measured on the
    current mean field) or ``"clean"`` (the clean-band worst-case model);
    ``control_variate`` lets plans subtract the homogeneous band's tails (to
    first order in the field where the colouring is a sublattice) from the
    probes where that measures smaller (a clean band at low T);
    ``spectral_gap`` lets plans expand tanh(H/2T) only outside the band's certified
    spectral gap where that needs fewer moments (low T; PETSc with MUMPS);
    ``threads`` the threads over blocks of start vectors (0: the cores
    available divided by the MPI ranks).  See docs/chebyshev.md.
    """

    tolerance: float = CHEBYSHEV_DEFAULTS["tolerance"]
    num_moments: int = 0
    probing_distance: int = 0
    strategy: str = "probing"
    block_size: int = CHEBYSHEV_DEFAULTS["block_size"]
    kernel_backend: str = CHEBYSHEV_DEFAULTS["backend"]
    bound_safety: float = CHEBYSHEV_DEFAULTS["bound_safety"]
    probing_model: str = CHEBYSHEV_DEFAULTS["probing_model"]
    control_variate: bool = CHEBYSHEV_DEFAULTS["control_variate"]
    spectral_gap: bool = CHEBYSHEV_DEFAULTS["spectral_gap"]
    threads: int = 0

    def __post_init__(self):
        object.__setattr__(
            self, "tolerance", check_tolerance("chebyshev.tolerance", self.tolerance)
        )
        v.positive_int("chebyshev.num_moments", self.num_moments, minimum=0)
        v.positive_int("chebyshev.probing_distance", self.probing_distance, minimum=0)
        v.choice("chebyshev.strategy", self.strategy, tuple(_START_VECTORS))
        v.positive_int("chebyshev.block_size", self.block_size)
        v.choice("chebyshev.kernel_backend", self.kernel_backend, BACKENDS)
        object.__setattr__(
            self, "bound_safety", v.real("chebyshev.bound_safety", self.bound_safety, 0.0, 0.5)
        )
        v.choice("chebyshev.probing_model", self.probing_model, PROBING_MODELS)
        v.flag("chebyshev.control_variate", self.control_variate)
        v.flag("chebyshev.spectral_gap", self.spectral_gap)
        v.positive_int("chebyshev.threads", self.threads, minimum=0)

    def engine_options(self):
        """Keyword arguments of :class:`~largebdg.engines.chebyshev.ChebyshevEngine`."""
        return dict(
            tolerance=self.tolerance,
            num_moments=self.num_moments or None,
            probing_distance=self.probing_distance or None,
            start_vectors=_START_VECTORS[self.strategy],
            block_size=self.block_size,
            backend=self.kernel_backend,
            bound_safety=self.bound_safety,
            probing_model=self.probing_model,
            control_variate=self.control_variate,
            spectral_gap=self.spectral_gap,
            threads=self.threads or None,
        )


_SECTIONS = {
    "lattice": LatticeConfig,
    "model": ModelConfig,
    "solver": SolverConfig,
    "chebyshev": ChebyshevConfig,
}


@dataclass(frozen=True)
class RunConfig:
    """The complete, validated configuration of one run."""

    lattice: LatticeConfig = field(default_factory=LatticeConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    disorder: tuple = (DisorderConfig(), DisorderConfig())
    solver: SolverConfig = field(default_factory=SolverConfig)
    chebyshev: ChebyshevConfig = field(default_factory=ChebyshevConfig)

    @classmethod
    def from_dict(cls, data):
        """Build from a nested dict (the TOML layout); unknown keys raise."""
        data = copy.deepcopy(data)
        allowed = set(_SECTIONS) | {"disorder"}
        for key in data:
            if key not in allowed:
                raise ParameterError(
                    f"unknown config section '{key}'; allowed: {', '.join(sorted(allowed))}"
                )
        kwargs = {}
        for name, klass in _SECTIONS.items():
            section = data.get(name, {})
            if not isinstance(section, dict):
                raise ParameterError(f"'{name}' must be a table")
            known = {f.name for f in dataclasses.fields(klass)}
            for key in section:
                if key not in known:
                    raise ParameterError(
                        f"unknown key '{name}.{key}'; allowed: {', '.join(sorted(known))}"
                    )
            kwargs[name] = klass(**section)
        dis = data.get("disorder", {})
        if not isinstance(dis, dict):
            raise ParameterError("'disorder' must be a table with the tables band1, band2")
        for key in dis:
            if key not in ("band1", "band2"):
                raise ParameterError(f"unknown disorder section '{key}'; allowed: band1, band2")
        bands = []
        for key in ("band1", "band2"):
            section = dis.get(key, {})
            if not isinstance(section, dict):
                raise ParameterError(f"'disorder.{key}' must be a table")
            section = dict(section)
            kind = section.pop("kind", "none")
            try:
                bands.append(DisorderConfig(kind=kind, params=section))
            except ParameterError as e:
                raise ParameterError(f"[disorder.{key}]: {e}") from e
        kwargs["disorder"] = tuple(bands)
        return cls(**kwargs)

    def engine_options(self):
        """Keyword arguments of the engine of ``solver.method`` (none for the dense engine)."""
        return self.chebyshev.engine_options() if self.solver.method == "chebyshev" else {}

    def build_model(self, potential):
        """Build the :class:`~largebdg.model.TwoBandModel` with a potential map (2, L, L)."""
        m = self.model
        return TwoBandModel(L=self.lattice.L, t=m.t, g=m.g, g12=m.g12, filling=m.filling,
                            potential=potential, common_mu=m.common_mu)

    def to_dict(self):
        """Fully resolved nested dict, defaults included (TOML/JSON-ready)."""
        out = {}
        for name in _SECTIONS:
            section = dataclasses.asdict(getattr(self, name))
            out[name] = {k: list(x) if isinstance(x, tuple) else x for k, x in section.items()}
        out["disorder"] = {
            f"band{k + 1}": d.to_dict() for k, d in enumerate(self.disorder)
        }
        return out


def load_config(path):
    """Read and validate a TOML configuration file.

    Raises
    ------
    ParameterError
        If the file cannot be read or parsed, or holds invalid values.
    """
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except OSError as e:
        raise ParameterError(f"cannot read config file '{path}': {e.strerror}") from e
    except tomllib.TOMLDecodeError as e:
        raise ParameterError(f"config file '{path}' is not valid TOML: {e}") from e
    except UnicodeDecodeError:
        raise ParameterError(f"config file '{path}' is not a text (UTF-8 TOML) file") from None
    return RunConfig.from_dict(data)


def _parse_value(text):
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text  # a bare string such as chebyshev or random


def apply_overrides(config, overrides):
    """Return ``config`` with ``"section.key=value"`` overrides applied.

    Values are parsed as TOML literals (never evaluated as Python), e.g.
    ``"solver.T=0.08"``, ``"model.filling=[0.5, 0.7]"``,
    ``"disorder.band1.kind=stripes"``.
    """
    data = config.to_dict()
    for item in overrides:
        if "=" not in item:
            raise ParameterError(f"override '{item}' must have the form section.key=value")
        key, text = item.split("=", 1)
        path = key.strip().split(".")
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ParameterError(f"override '{item}': '{part}' is not a section")
        if path[:2] in (["disorder", "band1"], ["disorder", "band2"]) and path[-1] == "kind":
            node.clear()  # a new kind starts from its own defaults
        node[path[-1]] = _parse_value(text.strip())
    return RunConfig.from_dict(data)
