r"""Superfluid stiffness of one band from the dense BdG eigensystem (paper Eqs. 32-35).

Notes
-----
Scalapino-White-Zhang convention, per site and per band (CONVENTIONS.md,
"Superfluid stiffness"):

.. math::

    D_s = \langle -k_x \rangle - \Lambda_{xx}(q_x = 0, q_y \to 0, \omega = 0).

Here :math:`\Lambda \ge 0` is the static paramagnetic current-current
correlator; the paper's Eq. (32) prints :math:`+\Lambda` (see the last
paragraph).

**Kinetic energy** (paper Eq. 33).  With :math:`b^x_i = \sum_\sigma \langle
c^\dagger_{i+x,\sigma} c_{i\sigma} \rangle = -\tau_{i+x, i}`,
:math:`\tau = \tanh(H/2T)` (see :mod:`largebdg.engines`),

.. math::

    \langle -k_x \rangle = \frac{t}{N} \sum_{i,\sigma}
    \langle c^\dagger_{i+x,\sigma} c_{i\sigma} + \mathrm{h.c.} \rangle
    = \frac{2t}{N} \sum_i b^x_i .

**Current operator in the Nambu basis.**  In the spin-reduced Nambu basis
:math:`\psi = (c_{i\uparrow}, c^\dagger_{i\downarrow})` a spin-independent
one-body operator :math:`\sum_{ij\sigma} O_{ij} c^\dagger_{i\sigma} c_{j\sigma}`
equals :math:`\psi^\dagger \mathrm{diag}(O, -O^T) \psi + \mathrm{Tr}\, O`,
because :math:`c^\dagger_{i\downarrow} c_{j\downarrow} = \delta_{ij} -
c_{j\downarrow} c^\dagger_{i\downarrow}`.  For the hopping :math:`O = h`
(real symmetric) this gives the familiar hole block :math:`-h`.  The
paramagnetic current at :math:`q = 0`,

.. math::

    j_x = i t \sum_{i\sigma} (c^\dagger_{i+x,\sigma} c_{i\sigma} - \mathrm{h.c.}),
    \qquad O = i A, \quad A_{i+x, i} = t,\ A_{i, i+x} = -t,

is odd under transposition (:math:`O^T = -O`, :math:`\mathrm{Tr}\, O = 0`),
so its Nambu matrix is :math:`J = \mathrm{diag}(O, O) = i\,\mathrm{diag}(A, A)`:
the hole block carries the **same** sign as the particle block.

**Correlator.**  The 2N eigenvectors :math:`w_n` (columns of the real
orthogonal W) of the BdG matrix define 2N *independent* fermion modes
:math:`\gamma_n = w_n^T \psi` with :math:`H = \sum_n E_n \gamma_n^\dagger
\gamma_n + \mathrm{const}` and :math:`\langle \gamma_n^\dagger \gamma_n
\rangle = f(E_n)` (in this spin-reduced basis every mode is physical, so the
sum over the full spectrum needs no factor 1/2).  With
:math:`M = W^T \mathrm{diag}(A, A) W` (real antisymmetric) the static
current-current correlator :math:`\Lambda = \frac{1}{N} \int_0^\beta d\tau
\langle j_x(\tau) j_x \rangle` is

.. math::

    \Lambda = \frac{1}{N} \sum_{n,m=1}^{2N} M_{nm}^2 \, R(E_n, E_m), \qquad
    R(E_n, E_m) = \frac{f(E_n) - f(E_m)}{E_m - E_n}
    = \frac{1}{4T} \frac{\sinh x}{x} \frac{1}{\cosh a \cosh b},

with :math:`a = E_n/2T`, :math:`b = E_m/2T`, :math:`x = b - a` (from
:math:`\tanh b - \tanh a = \sinh(b - a)/(\cosh a \cosh b)`).  The last form
is evaluated in logarithms: it is free of cancellation and overflow and is
continuous at :math:`E_n = E_m`, where it equals :math:`-f'(E_n) =
1/(4T\cosh^2 a)`.  Degenerate pairs (including n = m) therefore enter
through :math:`-\partial f/\partial E` with no threshold, as the convention
requires; within a degenerate level the sum is basis independent.
At T = 0, :math:`R = 1/|E_m - E_n|` for levels of opposite sign and 0
otherwise (no level may then sit at E = 0).

Equivalently :math:`N D_s = \partial^2 \Omega / \partial A^2` at fixed
:math:`\Delta`, the curvature of the grand potential under a uniform Peierls
phase :math:`t \to t e^{iA}` on the x bonds (second-order perturbation
theory of the eigenvalues); the tests use this as an independent check.

**Relation to paper Eqs. (33)-(35).**  Using only :math:`E_n > 0` with
:math:`w_n = (u_n, v_n)` and the partner :math:`(v_n, -u_n)` at
:math:`-E_n`, the four sign sectors of the double sum pair up and give

.. math::

    \Lambda = \frac{2}{N} \sum_{n,m: E > 0} \Big[ |J_{nm}|^2
    \frac{f_n - f_m}{E_m - E_n} + |J_{n\bar m}|^2
    \frac{1 - f_n - f_m}{E_n + E_m} \Big],

with :math:`J_{nm} = i t \sum_i [u_n(i{+}x) u_m(i) - u_n(i) u_m(i{+}x) +
v_n(i{+}x) v_m(i) - v_n(i) v_m(i{+}x)]` and :math:`J_{n\bar m}` the same with
:math:`(u_m, v_m) \to (v_m, -u_m)`.  Expanding the squares reproduces the
paper's tensors exactly: :math:`\sum_{ij} (A + C)_{ij} = -|J_{nm}|^2/t^2` and
:math:`\sum_{ij} (B + D)_{ij} = -|J_{n\bar m}|^2/t^2`; the sign pattern of
:math:`A` requires the same-sign hole block derived above.  Read literally,
Eqs. (32)-(35) contain three misprints: the interband factor must be
:math:`(f_n + f_m - 1)/(E_n + E_m)` (the printed :math:`f_n - f_m - 1`
would, after symmetrising in :math:`n \leftrightarrow m`, leave a
temperature-independent remainder); Eq. (34) lacks the 1/N of Eq. (33); and
with Eqs. (34)-(35) as printed the correlator is non-negative, so Eq. (32)
must subtract it, as in the SWZ convention (the normal-state stiffness then
vanishes as L grows).
"""

import time

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from .. import __version__
from .. import _validate as v
from ..engines.dense import thermal_factor
from ..errors import ParameterError
from ..lattice import neighbour_index
from ..model import BdGPattern

__all__ = [
    "exact_stiffness",
    "kinetic_energy_x",
    "band_mean_field",
    "compute_stiffness",
    "attach_stiffness",
    "EXACT_MAX_L",
    "METHODS",
]

EXACT_MAX_L = 48
"""Largest L for which :func:`compute_stiffness` accepts ``method="exact"`` (O(L^6) time)."""

METHODS = ("exact", "stochastic")
"""Methods of :func:`compute_stiffness`."""

# a level within this fraction of the spectral scale counts as E = 0 at T = 0
_ZERO_LEVEL = 1e-10


def kinetic_energy_x(L, t, bond_x):
    r"""Bond kinetic energy per site :math:`\langle -k_x \rangle` (paper Eq. 33).

    Parameters
    ----------
    L : int
        Linear lattice size.
    t : float
        Hopping of the band (matrix element :math:`-t`).
    bond_x : array_like, shape (L*L,)
        :math:`b^x_i = \sum_\sigma \langle c^\dagger_{i+x,\sigma} c_{i\sigma}\rangle`,
        real, as in :class:`largebdg.engines.LocalAverages`.  Passing
        ``bond_y`` gives :math:`\langle -k_y \rangle`.

    Returns
    -------
    float
        :math:`(t/N) \sum_{i\sigma} \langle c^\dagger_{i+x,\sigma} c_{i\sigma}
        + \mathrm{h.c.}\rangle = (2t/N) \sum_i b^x_i` with N = L*L.
    """
    L = v.positive_int("L", L)
    t = v.real("t", t)
    bond_x = _site_array("bond_x", bond_x, L)
    return 2.0 * t * float(np.mean(bond_x))


def exact_stiffness(L, t, onsite, delta, T, *, direction="x"):
    r"""Superfluid stiffness per site of one band, :math:`D_s = \langle -k_x\rangle - \Lambda_{xx}`.

    Exact for the given mean field, from the full eigensystem of the dense
    :math:`2N \times 2N` BdG matrix (cost :math:`O(N^3)`; practical up to
    L ~ 32-48).

    Parameters
    ----------
    L : int
        Linear lattice size (>= 3), N = L*L sites.
    t : float
        Hopping of the band (matrix element :math:`-t`).
    onsite : array_like, shape (L*L,)
        Particle-block diagonal :math:`V_i - g n_i / 2 - \mu` (site i = x + L*y).
    delta : array_like, shape (L*L,)
        Real gap :math:`\Delta_i`.
    T : float
        Temperature (>= 0).
    direction : {"x", "y"}
        Direction of the current and of the bonds in :math:`\langle -k \rangle`.

    Returns
    -------
    float
        :math:`D_s = \langle -k_x \rangle - \Lambda_{xx}(q_x = 0, q_y \to 0,
        \omega = 0)` (paper Eq. 32, Scalapino-White-Zhang sign), per site.

    Raises
    ------
    ParameterError
        On invalid input, or at T = 0 when a BdG level lies at E = 0, where
        the T = 0 limit of the degenerate terms diverges.

    Notes
    -----
    With W the eigenvectors, :math:`\tau_n = \tanh(E_n/2T)` and
    :math:`W_p` the particle rows,

    .. math::

        \langle -k_x \rangle = -\frac{2t}{N} \sum_{i,n} W_{p, i+x, n} W_{p, i n} \tau_n,
        \qquad
        \Lambda = \frac{1}{N} \sum_{n,m=1}^{2N} M_{nm}^2
        \frac{\sinh x_{nm}}{4 T x_{nm} \cosh(E_n/2T) \cosh(E_m/2T)},

    :math:`M = W^T \mathrm{diag}(A, A) W`, :math:`A_{i+x,i} = -A_{i,i+x} = t`,
    :math:`x_{nm} = (E_m - E_n)/2T`; the last factor is
    :math:`(f_n - f_m)/(E_m - E_n)`, equal to :math:`-f'(E_n)` for
    :math:`E_n = E_m`.  The derivation, the sign of the hole block of the
    current and the relation to paper Eqs. (33)-(35) are in the module notes
    and ``docs/stiffness.md``.  The lattice is finite: in the normal state
    the result is a finite-size Drude remainder that vanishes as L grows.

    Examples
    --------
    The normal-state remainder quoted in CONVENTIONS.md (clean, mu_tilde = -1):

    >>> import numpy as np
    >>> round(exact_stiffness(8, 1.0, np.ones(64), np.zeros(64), 0.1), 3)
    0.617
    """
    L = v.positive_int("L", L, minimum=3)
    t = v.real("t", t)
    onsite = _site_array("onsite", onsite, L)
    delta = _site_array("delta", delta, L)
    T = v.real("T", T, 0.0)
    v.choice("direction", direction, ("x", "y"))
    N = L * L

    H = BdGPattern(L).matrix(t, onsite, delta).toarray()
    E, W = scipy.linalg.eigh(H, driver="evr", overwrite_a=True, check_finite=False)
    if T == 0 and np.any(np.abs(E) <= _ZERO_LEVEL * max(1.0, np.abs(E).max())):
        raise ParameterError(
            "'T' = 0 is not allowed here: the BdG spectrum has a level at E = 0, "
            "where the T = 0 stiffness is undefined; use T > 0"
        )

    nb = neighbour_index(L, direction)
    Wp = W[:N]
    bond = -(Wp[nb] * Wp) @ thermal_factor(E, T)  # b_i = -tau_{i+e, i}
    kinetic = kinetic_energy_x(L, t, bond)

    # A_{i+e, i} = t, A_{i, i+e} = -t, in both Nambu blocks (J = i diag(A, A))
    sites = np.arange(N)
    rows = np.concatenate([nb, sites, nb + N, sites + N])
    cols = np.concatenate([sites, nb, sites + N, nb + N])
    vals = np.tile(np.concatenate([np.full(N, t), np.full(N, -t)]), 2)
    A = sp.csr_matrix((vals, (rows, cols)), shape=(2 * N, 2 * N))
    M = W.T @ (A @ W)
    correlator = float(np.sum(M * M * _fermi_ratio(E, T))) / N
    return kinetic - correlator


def _fermi_ratio(E, T, E2=None):
    r"""Matrix :math:`R_{nm} = (f(E_n) - f(E'_m))/(E'_m - E_n)`, or :math:`-f'(E_n)` if degenerate.

    ``E2`` (default ``E``) gives the energies :math:`E'` of the columns.
    For T > 0 uses :math:`R = \sinh x / (4T x \cosh a \cosh b)` in logarithms
    (a = E_n/2T, b = E'_m/2T, x = b - a); at T = 0, :math:`R = 1/|E'_m - E_n|`
    for levels of opposite sign, else 0.
    """
    E2 = E if E2 is None else E2
    if T == 0:
        opposite = (E[:, None] > 0) != (E2[None, :] > 0)
        gap = np.abs(E[:, None] - E2[None, :])
        return np.divide(1.0, gap, out=np.zeros_like(gap), where=opposite)
    a = E / (2.0 * T)
    b = E2 / (2.0 * T)

    def log_cosh(z):
        return np.abs(z) + np.log1p(np.exp(-2.0 * np.abs(z))) - np.log(2.0)

    x = np.abs(b[None, :] - a[:, None])
    log_sinhc = np.empty_like(x)  # log(sinh x / x), accurate for all x >= 0
    big = x >= 1.0
    xb = x[big]
    log_sinhc[big] = xb + np.log(-np.expm1(-2.0 * xb)) - np.log(2.0) - np.log(xb)
    xs = x[~big]
    nonzero = xs > 0
    sinhc = np.ones_like(xs)
    sinhc[nonzero] = np.sinh(xs[nonzero]) / xs[nonzero]
    log_sinhc[~big] = np.log(sinhc)
    return np.exp(log_sinhc - log_cosh(a)[:, None] - log_cosh(b)[None, :]) / (4.0 * T)


def _site_array(name, value, L):
    """Return ``value`` as a finite real float array of shape (L*L,), naming it if not."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "iuf":
        raise ParameterError(f"'{name}' must be a real array, got dtype {arr.dtype}")
    if arr.shape != (L * L,):
        raise ParameterError(f"'{name}' must have shape ({L * L},), got {arr.shape}")
    arr = arr.astype(float)
    if not np.all(np.isfinite(arr)):
        raise ParameterError(f"'{name}' must be finite (no NaN or inf)")
    return arr


# ----------------------------------------------------------------- results


def band_mean_field(result, band):
    r"""Hopping, particle diagonal and gap of one band of a solved result.

    Parameters
    ----------
    result : Result
        A solution from :func:`largebdg.results.run` or :func:`largebdg.io.load_result`.
    band : {0, 1}
        Band index (0 is band 1).

    Returns
    -------
    t : float
    onsite : ndarray, shape (L*L,)
        :math:`V_{\nu i} - g_\nu n_{\nu i}/2 - \mu_\nu`, site i = x + L*y.
    delta : ndarray, shape (L*L,)
    """
    v.choice("band", band, (0, 1))
    m = result.config.model
    onsite = (result.potential[band] - m.g[band] * result.density[band] / 2
              - result.mu[band]).ravel()
    return float(m.t[band]), onsite, np.asarray(result.delta[band], dtype=float).ravel()


def compute_stiffness(result, method="exact", *, direction="x", num_vectors=64,
                      num_moments=None, tolerance=1e-4, seed=None, use_bond_averages=True,
                      **options):
    r"""Superfluid stiffness of both bands of a solved result.

    Parameters
    ----------
    result : Result
        Self-consistent solution (the mean field enters at fixed
        :math:`\Delta`, as in paper Eqs. 32-35).
    method : {"exact", "stochastic"}
        ``"exact"``: :func:`exact_stiffness` (dense, refused for
        L > :data:`EXACT_MAX_L`).  ``"stochastic"``:
        :func:`~largebdg.observables.stiffness_stochastic.stochastic_stiffness`,
        linear in L² per random vector.
    direction : {"x", "y"}
    num_vectors, num_moments, tolerance, seed
        Settings of the stochastic estimator (ignored for ``"exact"``);
        ``seed`` feeds ``numpy.random.default_rng``, the bands get independent
        streams spawned from it.
    use_bond_averages : bool
        Stochastic only: take :math:`\langle -k_x \rangle` from the result's
        bond averages (exact up to the solver's tolerance) instead of a
        stochastic trace.
    **options
        Further keywords of ``stochastic_stiffness`` (``block_size``,
        ``memory_limit``, ``distribution``, ``scale``, ``bound_safety``).

    Returns
    -------
    stiffness : ndarray, shape (2,)
        :math:`D_s` per band (band 1 first), per site, SWZ convention.
    stderr : ndarray, shape (2,)
        Standard errors (0 for ``"exact"``).
    settings : dict
        What was done (method, direction, vectors, moments, spectral scales,
        seed, wall time, package version), JSON-ready.

    Raises
    ------
    ParameterError
        On a bad method or setting, or ``method="exact"`` with L > EXACT_MAX_L.
    """
    v.choice("method", method, METHODS)
    v.choice("direction", direction, ("x", "y"))
    L = result.L
    if method == "exact" and L > EXACT_MAX_L:
        raise ParameterError(
            f"'method' = 'exact' diagonalises dense {2 * L * L} x {2 * L * L} matrices and is "
            f"limited to L <= {EXACT_MAX_L} (got L = {L}); use method 'stochastic'"
        )
    T = float(result.T)
    t0 = time.perf_counter()
    ds, err = np.zeros(2), np.zeros(2)
    settings = {"method": method, "direction": direction, "largebdg_version": __version__}
    if method == "exact":
        for band in range(2):
            t, onsite, delta = band_mean_field(result, band)
            ds[band] = exact_stiffness(L, t, onsite, delta, T, direction=direction)
    else:
        from .stiffness_stochastic import stochastic_stiffness

        if seed is None:
            seed = int(np.random.SeedSequence().generate_state(1)[0])
        streams = np.random.SeedSequence(seed).spawn(2)
        bonds = result.bond_x if direction == "x" else result.bond_y
        infos = []
        for band in range(2):
            t, onsite, delta = band_mean_field(result, band)
            ds[band], err[band], info = stochastic_stiffness(
                L, t, onsite, delta, T, num_vectors=num_vectors, num_moments=num_moments,
                tolerance=tolerance, seed=streams[band], direction=direction,
                bond_x=bonds[band].ravel() if use_bond_averages else None, **options)
            infos.append(info)
        settings.update({
            "num_vectors": int(num_vectors), "seed": int(seed), "tolerance": float(tolerance),
            "diamagnetic": infos[0]["diamagnetic"],
            "num_moments": [i["num_moments"] for i in infos],
            "rank": [i["rank"] for i in infos],
            "spectral_scale": [i["scale"] for i in infos],
            "distribution": infos[0]["distribution"],
            "kinetic": [i["kinetic"] for i in infos],
            "correlator": [i["correlator"] for i in infos],
        })
    settings["wall_time"] = time.perf_counter() - t0
    return ds, err, settings


def attach_stiffness(path, method="exact", *, force=False, **kwargs):
    """Compute the stiffness of a result file and store it there.

    Adds (or, with ``force``, replaces) the datasets ``stiffness`` and
    ``stiffness_stderr`` (shape (2,), band 1 first) and the JSON attribute
    ``stiffness_settings`` with :func:`largebdg.io.update_result`.

    Parameters
    ----------
    path : str or os.PathLike
        Result file written by :func:`largebdg.io.save_result`.
    method : {"exact", "stochastic"}
    force : bool
        Replace a stiffness already stored in the file.
    **kwargs
        Passed to :func:`compute_stiffness`.

    Returns
    -------
    stiffness, stderr, settings
        As :func:`compute_stiffness`.

    Raises
    ------
    FileExistsError
        If the file already holds a stiffness and ``force`` is false.
    """
    from ..io import load_result, update_result

    result = load_result(path)
    if result.stiffness is not None and not force:
        raise FileExistsError(
            f"'{path}' already holds a stiffness ({result.stiffness_settings.get('method', '?')}); "
            "use --force (force=True) to replace it"
        )
    ds, err, settings = compute_stiffness(result, method, **kwargs)
    update_result(path, {"stiffness": ds, "stiffness_stderr": err},
                  {"stiffness_settings": settings})
    return ds, err, settings
