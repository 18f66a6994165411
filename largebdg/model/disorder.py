r"""Disorder potentials on the :math:`L \times L` periodic square lattice.

Every generator returns a ``float64`` array ``V`` of shape ``(L, L)`` indexed
``V[y, x]``, so that ``V.ravel()[i]`` is the on-site potential of site
``i = x + L*y``.  In the paper's model (Neverov et al. 2025) a site either
carries an impurity of strength :math:`V` or is clean, :math:`V_i \in \{0, V\}`;
only :func:`from_file` accepts arbitrary real maps.

Generators
----------
none
    Clean lattice.
random_impurities
    Uncorrelated impurities at exactly ``round(density * L**2)`` sites.
correlated_impurities
    Spatially correlated (clustered) impurities, Methods Eqs. (28)-(31).
stripes, chessboard
    Periodic 1D and 2D superstructures, the fully correlated limit.
from_file
    A user-supplied ``.npy`` map.

:data:`GENERATORS` maps the kind names used in configurations to these
functions, and :func:`make_potential` dispatches on them, rejecting unknown
parameters.  Random generators take ``seed`` (``None``, an ``int``, a
``SeedSequence``/``BitGenerator`` or a ``Generator``), which is passed to
:func:`numpy.random.default_rng`; no global random state is touched.
"""

import inspect
import math
import os

import numpy as np

from .._validate import choice, positive_int, real
from .._validate import seed as _seed
from ..errors import ParameterError

__all__ = [
    "GENERATORS",
    "SEEDED_KINDS",
    "chessboard",
    "correlated_field",
    "correlated_impurities",
    "from_file",
    "impurity_density",
    "make_potential",
    "none",
    "random_impurities",
    "stripes",
]

# Largest |beta| accepted by the correlated generators: the mode amplitudes
# q^(-beta/2) of Eq. (28) span q in [2 pi / L, pi sqrt(2)], and for |beta| <= 100
# they stay far inside the float64 range for any lattice that fits in memory.
_BETA_MAX = 100.0


def _rng(seed):
    """Return ``np.random.default_rng(seed)``, naming 'seed' if it is invalid.

    A seed is ``None`` or an integer >= 0; library callers may also pass a NumPy
    ``SeedSequence``, ``BitGenerator`` or ``Generator``.
    """
    if not isinstance(seed, (np.random.SeedSequence, np.random.BitGenerator,
                             np.random.Generator)):
        seed = _seed("seed", seed)
    return np.random.default_rng(seed)


def _strength(strength):
    """Validate an impurity strength: a finite, nonzero real number."""
    strength = real("strength", strength)
    if strength == 0.0:
        raise ParameterError(
            "'strength' must be a nonzero real number (use kind 'none' for a clean "
            f"lattice), got {strength!r}"
        )
    return strength


def _count(density, L):
    """Number of impurity sites, ``round(density * L**2)`` (ties to even)."""
    return round(real("density", density, 0.0, 1.0) * L * L)


def _superstructure_period(L, period, name, value):
    """Validate ``period`` (dividing ``L``) and a sub-period size ``name=value``."""
    period = positive_int("period", period, minimum=2)
    if L % period:
        raise ParameterError(
            f"'period' must divide L = {L} (periodic boundaries), got {period!r}"
        )
    value = positive_int(name, value)
    if value >= period:
        raise ParameterError(
            f"'{name}' must be an integer in [1, period - 1] = [1, {period - 1}], got {value!r}"
        )
    return period, value


def none(L):
    """Clean lattice: zero potential everywhere.

    Parameters
    ----------
    L : int
        Linear lattice size, ``L >= 1``.

    Returns
    -------
    V : ndarray of float64, shape (L, L)
        Zeros.
    """
    L = positive_int("L", L)
    return np.zeros((L, L))


def random_impurities(L, *, strength=4.0, density=0.5, seed=None):
    """Uncorrelated impurities at a fixed number of random sites.

    Exactly ``round(density * L**2)`` distinct sites, drawn without replacement
    with the seeded generator, carry the potential ``strength``; all other
    sites are clean (the paper's model, Results section "Random disorder").

    Parameters
    ----------
    L : int
        Linear lattice size, ``L >= 1``.
    strength : float, optional
        Impurity potential :math:`V` (nonzero). The paper uses 4.
    density : float, optional
        Impurity density :math:`N_d` in [0, 1]; the number of impurities is
        rounded to the nearest integer (ties to even). The paper uses 0.5.
    seed : None, int, SeedSequence, BitGenerator or Generator, optional
        Passed to :func:`numpy.random.default_rng`.

    Returns
    -------
    V : ndarray of float64, shape (L, L)
        Potential map indexed ``[y, x]``.

    Examples
    --------
    >>> V = random_impurities(4, density=0.5, seed=1)
    >>> int((V == 4.0).sum()), int((V == 0.0).sum())
    (8, 8)
    """
    L = positive_int("L", L)
    strength = _strength(strength)
    n = _count(density, L)
    rng = _rng(seed)
    V = np.zeros(L * L)
    V[rng.choice(L * L, size=n, replace=False)] = strength
    return V.reshape(L, L)


def correlated_field(L, *, beta=-4.0, seed=None):
    r"""Spatially correlated random function :math:`Z_i` of Eq. (28).

    .. math::

        Z_i = \frac{1}{L^2} \sum_{j_x, j_y = 1}^{\lfloor L/2 \rfloor}
              q_j^{-\beta/2} \cos(\mathbf{q}_j \cdot \mathbf{r}_i + \phi_j),
        \qquad \mathbf{q}_j = \frac{2\pi}{L} (j_x, j_y),

    with independent phases :math:`\phi_j` uniform in :math:`[0, 2\pi)`.

    Parameters
    ----------
    L : int
        Linear lattice size, ``L >= 2`` (for odd ``L`` the sum runs to
        ``floor(L/2)``).
    beta : float, optional
        Exponent :math:`\beta` of the mode amplitudes, in [-100, 100]. The paper
        uses -4 (amplitudes :math:`q^2`).
    seed : None, int, SeedSequence, BitGenerator or Generator, optional
        Passed to :func:`numpy.random.default_rng`.

    Returns
    -------
    Z : ndarray of float64, shape (L, L)
        The field indexed ``[y, x]``, with :math:`\mathbf{r}_i = (x, y)`,
        ``x, y = 0, ..., L-1``.

    Notes
    -----
    The phases are drawn as one array ``phi[j_y - 1, j_x - 1]`` of shape
    ``(floor(L/2), floor(L/2))``. With the complex amplitudes
    :math:`c_j = q_j^{-\beta/2} e^{i\phi_j}` placed at FFT index
    ``(j_y, j_x)``, Eq. (28) is :math:`Z = \mathrm{Re}\,\mathrm{ifft2}(c)`
    (NumPy's ``ifft2`` carries the factor :math:`1/L^2`), which costs
    :math:`O(L^2 \log L)`. Consequently ``fft2(Z)`` is :math:`c_j / 2` at
    :math:`\mathbf{q}_j`, :math:`c_j^* / 2` at :math:`-\mathbf{q}_j`, and zero
    elsewhere, except that for even ``L`` the mode
    :math:`\mathbf{q} = (\pi, \pi)` is its own mirror image and contributes
    :math:`q^{-\beta/2} \cos\phi_j (-1)^{x+y}`. As written in Eq. (28), only
    wave vectors with both components positive (and their negatives) enter.

    Examples
    --------
    >>> Z = correlated_field(8, seed=0)
    >>> Z.shape, Z.dtype
    ((8, 8), dtype('float64'))
    """
    L = positive_int("L", L, minimum=2)
    beta = real("beta", beta, -_BETA_MAX, _BETA_MAX)
    rng = _rng(seed)
    m = L // 2
    j = np.arange(1, m + 1)
    qx, qy = np.meshgrid(2.0 * np.pi * j / L, 2.0 * np.pi * j / L)  # [jy-1, jx-1]
    phi = rng.uniform(0.0, 2.0 * np.pi, size=(m, m))
    c = np.zeros((L, L), dtype=complex)
    c[1 : m + 1, 1 : m + 1] = np.hypot(qx, qy) ** (-beta / 2.0) * np.exp(1j * phi)
    return np.fft.ifft2(c).real


def correlated_impurities(L, *, strength=4.0, beta=-4.0, epsilon=None, density=None, seed=None):
    r"""Spatially correlated (clustered) impurities, Eqs. (28)-(31).

    From the field :math:`Z_i` of Eq. (28) (:func:`correlated_field`) build

    .. math::

        Y_i = \left[1 - \frac{|Z_i|}{\max|Z|}\right]^2 \quad (29), \qquad
        X_i = V \frac{Y_i}{\max|Y|} \quad (30), \qquad
        V_i = \begin{cases} V, & X_i \ge \epsilon \\ 0, & X_i < \epsilon \end{cases}
        \quad (31).

    Impurities thus sit where :math:`|Z_i|` is small.

    Parameters
    ----------
    L : int
        Linear lattice size, ``L >= 2``.
    strength : float, optional
        Impurity potential :math:`V > 0`. The paper uses 4.
    beta : float, optional
        Correlation exponent :math:`\beta` of Eq. (28), in [-100, 100]. The
        paper uses -4.
    epsilon : float, optional
        Threshold :math:`\epsilon \in [0, V]` of Eq. (31); ``epsilon = 0`` puts
        an impurity on every site, ``epsilon = V`` only on the site(s) of
        smallest :math:`|Z_i|` (the paper: "the potential is absent"). Defaults
        to ``0.5 * strength``, the paper's value for Fig. 2a. Mutually
        exclusive with `density`.
    density : float, optional
        Target impurity density in [0, 1]. If given, the threshold is chosen
        so that exactly ``round(density * L**2)`` sites, those with the
        largest :math:`X_i`, are impurities (ties broken by site index).
        Mutually exclusive with `epsilon`.
    seed : None, int, SeedSequence, BitGenerator or Generator, optional
        Passed to :func:`numpy.random.default_rng`.

    Returns
    -------
    V : ndarray of float64, shape (L, L)
        Potential map indexed ``[y, x]`` with values 0 or `strength`.

    Notes
    -----
    The realised density for a given `epsilon` fluctuates from sample to
    sample; use :func:`impurity_density` (or :func:`make_potential`) to report
    it. The paper quotes :math:`N_d = 0.7` for Fig. 2a.

    If :math:`|Z_i|` is the same on every site (possible only for ``L = 2``,
    where Eq. (28) has the single mode :math:`(\pi, \pi)`), then
    :math:`Y \equiv 0` and Eq. (30) is 0/0; :math:`X \equiv 0` is used then.

    Examples
    --------
    >>> V = correlated_impurities(16, density=0.7, seed=3)
    >>> int(np.count_nonzero(V))
    179
    """
    L = positive_int("L", L, minimum=2)
    strength = real("strength", strength, 0.0, math.inf, low_open=True)
    if epsilon is not None and density is not None:
        raise ParameterError(
            "'epsilon' and 'density' are mutually exclusive: pass at most one of them"
        )
    if density is None:
        epsilon = 0.5 * strength if epsilon is None else real("epsilon", epsilon, 0.0, strength)
    else:
        n = _count(density, L)
    Z = np.abs(correlated_field(L, beta=beta, seed=seed))
    Y = (1.0 - Z / Z.max()) ** 2  # Eq. (29)
    Y_max = Y.max()
    X = strength * (Y / Y_max) if Y_max > 0.0 else np.zeros_like(Y)  # Eq. (30)
    if density is None:
        return np.where(X >= epsilon, strength, 0.0)  # Eq. (31)
    V = np.zeros(L * L)
    V[np.argsort(-X.ravel(), kind="stable")[:n]] = strength
    return V.reshape(L, L)


def stripes(L, *, strength=4.0, period=8, width=4, axis="x", offset=0):
    """Periodic 1D superstructure of impurity stripes.

    For ``axis="x"`` the potential depends on ``x`` only,
    ``V[y, x] = strength`` if ``(x - offset) % period < width`` and 0
    otherwise: stripes of `width` impurity columns running along ``y``,
    repeated with `period`. ``axis="y"`` gives the transpose. The realised
    density is ``width / period``; the defaults give the paper's
    :math:`N_d = 0.5` (Fig. 2b).

    Parameters
    ----------
    L : int
        Linear lattice size; must be a multiple of `period`.
    strength : float, optional
        Impurity potential :math:`V` (nonzero). The paper uses 4.
    period : int, optional
        Superstructure period, ``>= 2``, dividing `L`.
    width : int, optional
        Stripe width, in [1, period - 1].
    axis : {"x", "y"}, optional
        Coordinate on which the potential depends.
    offset : int, optional
        Shift of the pattern along `axis`, ``>= 0`` (taken modulo `period`).

    Returns
    -------
    V : ndarray of float64, shape (L, L)
        Potential map indexed ``[y, x]``.

    Examples
    --------
    >>> stripes(4, period=2, width=1)
    array([[4., 0., 4., 0.],
           [4., 0., 4., 0.],
           [4., 0., 4., 0.],
           [4., 0., 4., 0.]])
    """
    L = positive_int("L", L)
    strength = _strength(strength)
    period, width = _superstructure_period(L, period, "width", width)
    axis = choice("axis", axis, ("x", "y"))
    offset = positive_int("offset", offset, minimum=0)
    row = np.where((np.arange(L) - offset) % period < width, strength, 0.0)
    V = np.broadcast_to(row, (L, L))
    return np.array(V if axis == "x" else V.T)


def chessboard(L, *, strength=4.0, period=8, island=4, offset=0):
    """Periodic 2D superstructure: clean square islands in an impurity grid.

    ``V[y, x] = 0`` if ``(x - offset) % period < island`` and
    ``(y - offset) % period < island``, and ``strength`` elsewhere. The
    realised density is ``1 - (island / period)**2``; the defaults give the
    paper's :math:`N_d = 0.75` (Fig. 2c).

    Parameters
    ----------
    L : int
        Linear lattice size; must be a multiple of `period`.
    strength : float, optional
        Impurity potential :math:`V` (nonzero). The paper uses 4.
    period : int, optional
        Superstructure period, ``>= 2``, dividing `L`.
    island : int, optional
        Side of the clean islands, in [1, period - 1].
    offset : int, optional
        Diagonal shift of the pattern, ``>= 0`` (taken modulo `period`).

    Returns
    -------
    V : ndarray of float64, shape (L, L)
        Potential map indexed ``[y, x]``.

    Examples
    --------
    >>> chessboard(4, period=2, island=1)
    array([[0., 4., 0., 4.],
           [4., 4., 4., 4.],
           [0., 4., 0., 4.],
           [4., 4., 4., 4.]])
    """
    L = positive_int("L", L)
    strength = _strength(strength)
    period, island = _superstructure_period(L, period, "island", island)
    offset = positive_int("offset", offset, minimum=0)
    clean = (np.arange(L) - offset) % period < island
    return np.where(np.logical_and.outer(clean, clean), 0.0, strength)


def from_file(L, *, path):
    """Load a user-supplied potential map from a ``.npy`` file.

    The values are used as the on-site potential as they are (any finite
    real numbers, not only 0 and :math:`V`).

    Parameters
    ----------
    L : int
        Linear lattice size, ``L >= 1``.
    path : str or os.PathLike
        File written by :func:`numpy.save` holding a real array of shape
        ``(L, L)`` indexed ``[y, x]``. Pickled (object) arrays are refused.

    Returns
    -------
    V : ndarray of float64, shape (L, L)
        The map converted to ``float64``.

    Raises
    ------
    ParameterError
        If the file cannot be read as a ``.npy`` array, or the array is not
        of shape ``(L, L)``, not of a real numeric (integer or float) dtype,
        or contains NaN or infinite values.
    """
    L = positive_int("L", L)
    if not isinstance(path, (str, os.PathLike)):
        raise ParameterError(f"'path' must be a str or os.PathLike, got {path!r}")
    try:
        with open(path, "rb") as fh:
            data = np.lib.format.read_array(fh, allow_pickle=False)
    except (OSError, ValueError, EOFError) as e:
        raise ParameterError(f"'path' {str(path)!r} could not be read as a .npy array: {e}") from e
    if data.shape != (L, L):
        raise ParameterError(
            f"'path' {str(path)!r} holds an array of shape {data.shape}, expected ({L}, {L})"
        )
    if data.dtype.kind not in "iuf":
        raise ParameterError(
            f"'path' {str(path)!r} holds an array of dtype {data.dtype}, expected a real "
            "numeric (integer or float) dtype"
        )
    V = data.astype(np.float64)
    if not np.isfinite(V).all():
        raise ParameterError(f"'path' {str(path)!r} holds NaN or infinite values")
    return V


GENERATORS = {
    "none": none,
    "random": random_impurities,
    "correlated": correlated_impurities,
    "stripes": stripes,
    "chessboard": chessboard,
    "file": from_file,
}
"""Registry of disorder kinds: name -> generator ``f(L, **params) -> V``."""

SEEDED_KINDS = tuple(k for k, f in GENERATORS.items() if "seed" in inspect.signature(f).parameters)
"""Disorder kinds drawn from a random generator (they take a ``seed``)."""


def impurity_density(V):
    """Fraction of sites with a nonzero potential.

    Parameters
    ----------
    V : array_like
        Potential map (any shape, at least one site).

    Returns
    -------
    float
        ``count_nonzero(V) / V.size``.

    Examples
    --------
    >>> impurity_density(chessboard(16))
    0.75
    """
    V = np.asarray(V)
    if V.size == 0:
        raise ParameterError("'V' must contain at least one site, got an empty array")
    return np.count_nonzero(V) / V.size


def make_potential(kind, L, **params):
    """Build a disorder potential by kind name and report its density.

    Parameters
    ----------
    kind : str
        One of the keys of :data:`GENERATORS`: ``"none"``, ``"random"``,
        ``"correlated"``, ``"stripes"``, ``"chessboard"``, ``"file"``.
    L : int
        Linear lattice size.
    **params
        Keyword arguments of the chosen generator (e.g. ``strength``,
        ``density``, ``seed`` for ``"random"``). Unknown keys are refused.

    Returns
    -------
    V : ndarray of float64, shape (L, L)
        Potential map indexed ``[y, x]``.
    density : float
        Realised impurity density, the fraction of sites with ``V != 0``.

    Raises
    ------
    ParameterError
        For an unknown `kind`, a parameter the generator does not accept, a
        missing required parameter, or an invalid value.

    Examples
    --------
    >>> V, nd = make_potential("stripes", 16, period=4, width=1)
    >>> nd
    0.25
    """
    kind = choice("kind", kind, tuple(GENERATORS))
    generator = GENERATORS[kind]
    keywords = {
        name: p
        for name, p in inspect.signature(generator).parameters.items()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    }
    accepted = ", ".join(repr(name) for name in keywords) or "none"
    for key in params:
        if key not in keywords:
            raise ParameterError(
                f"unknown parameter {key!r} for disorder kind {kind!r}; accepted: {accepted}"
            )
    for name, p in keywords.items():
        if p.default is inspect.Parameter.empty and name not in params:
            raise ParameterError(f"disorder kind {kind!r} requires the parameter {name!r}")
    V = generator(L, **params)
    return V, impurity_density(V)
