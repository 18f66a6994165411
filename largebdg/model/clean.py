r"""Uniform (clean-limit) mean-field solution of the two-band attractive Hubbard model.

Without disorder the self-consistent BdG problem of Neverov et al. (2025) is
translation invariant, so the gaps :math:`\Delta_\nu` and densities
:math:`n_\nu` are uniform and the BdG equations (10) are solved by plane waves,
paper Eqs. (17)-(23). This module solves the resulting momentum-space problem.
It serves as

* the reference critical temperature :math:`T_c^{(0)}` of the clean system
  (:func:`critical_temperature`),
* initial guesses for the real-space self-consistency (:func:`uniform_solution`),
* the pair susceptibility :math:`\alpha` of the paper's Eq. (26)
  (:func:`pair_susceptibility`).

Model and conventions
---------------------
Per band :math:`\nu` (docs/model.md, Conventions),

.. math::

    \xi_{\mathbf k} = -2t_\nu(\cos k_x + \cos k_y) - \tilde\mu_\nu,\qquad
    E_{\mathbf k} = \sqrt{\xi_{\mathbf k}^2 + \Delta_\nu^2},

where :math:`\tilde\mu_\nu = \mu_\nu + g_\nu n_\nu/2` is the chemical potential
after the uniform Hartree shift (the real-space BdG diagonal is
:math:`V_{\nu i} - g_\nu n_{\nu i}/2 - \mu_\nu`, Eqs. 11-12, with the disorder
counted once). Per site,

.. math::

    \alpha_\nu = \frac{1}{N_k}\sum_{\mathbf k}\frac{\tanh(E_{\mathbf k}/2T)}{2E_{\mathbf k}},\qquad
    F_\nu = \langle c_{\nu\uparrow}c_{\nu\downarrow}\rangle = \Delta_\nu\alpha_\nu,\qquad
    n_\nu = \frac{1}{N_k}\sum_{\mathbf k}\Bigl[1-\frac{\xi_{\mathbf k}}{E_{\mathbf k}}
            \tanh\frac{E_{\mathbf k}}{2T}\Bigr],

(Eqs. 13-14 and 22 with :math:`1-2f = \tanh(E/2T)`; :math:`n_\nu` counts both
spins). The gap equations are Eq. (9),
:math:`\Delta_1 = g_1F_1 + g_{12}F_2`, :math:`\Delta_2 = g_2F_2 + g_{12}F_1`, and
each band's :math:`\tilde\mu_\nu` holds its own filling :math:`n_\nu`.
Temperatures and energies are in units of :math:`t` (:math:`k_B = 1`).

Finite lattices and the thermodynamic limit
-------------------------------------------
``L`` (an integer) selects the exact sum over the :math:`L^2` momenta
:math:`\mathbf k = 2\pi\mathbf m/L` of an :math:`L\times L` periodic lattice; it
is evaluated on the irreducible wedge :math:`0\le m_y\le m_x\le\lfloor L/2\rfloor`
with multiplicities, which is exact because the summand depends on
:math:`\mathbf k` only through :math:`\cos k_x+\cos k_y`.

``L=None`` selects the thermodynamic limit. Instead of a very fine k grid (whose
spacing would have to resolve :math:`\max(T, \Delta)`, i.e. ~10^7 points at
:math:`T = 0.002`), the momentum average is written as an energy integral with
the exact square-lattice density of states

.. math::

    \rho(\varepsilon) = \frac{1}{2\pi^2 t}\,K\!\left(1-\frac{\varepsilon^2}{16t^2}\right),
    \qquad |\varepsilon| < 4t,

(:math:`K(m)` the complete elliptic integral of the first kind,
:func:`scipy.special.ellipkm1`), evaluated by composite Gauss-Legendre quadrature
on panels graded geometrically towards the two non-analytic points: the van Hove
logarithm at :math:`\varepsilon = 0` (ratio 4 down to :math:`10^{-15}t`) and
the Fermi level :math:`\varepsilon = \tilde\mu`, around which the integrand
varies on the scale :math:`w = \sqrt{\Delta^2 + (\pi T)^2}` (the distance of its
nearest complex singularity, ratio 2 from :math:`w` out to the band edges).
Every panel is then at least its own length away from any singularity, and 12
nodes per panel converge the sums to ~1e-13 for any :math:`T > 0` (and for
:math:`T = 0`, :math:`\Delta > 0`) at the cost of ~10^3 nodes. The tests check
this against the finite-lattice sums, which converge exponentially in :math:`L`.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import optimize, special

from .. import _validate
from ..errors import ConvergenceWarning, ParameterError
from .lattice import lattice_size
from .twoband import PAPER_PARAMETERS, check_parameters

__all__ = [
    "REFERENCE_T_FLOOR",
    "reference_temperature",
    "pair_susceptibility",
    "band_density",
    "band_compressibility",
    "mu_for_filling",
    "reference_fermi_level",
    "clean_chemical_potentials",
    "clean_blocks",
    "clean_tau",
    "uniform_band_stiffness",
    "normal_state_stiffness",
    "CleanSolution",
    "uniform_solution",
    "critical_temperature",
]

logger = logging.getLogger(__name__)

# Composite Gauss-Legendre rule of the thermodynamic limit (see module docstring).
_GL_ORDER = 12
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(_GL_ORDER)
# Breakpoints 4 t * 4**-j, j = 0..26, grade the panels towards the van Hove point.
_VHS_POINTS = 4.0 * 0.25 ** np.arange(27)
# Below this x = E / 2T the kernels are evaluated by their Taylor series.
_SERIES_X = 0.03
# Lowest temperature (in units of max t) searched for a transition.
_T_FLOOR = 1e-8
# Clean-band reference values for a finite lattice (chemical potentials, compressibility,
# probing error model) are taken at T >= REFERENCE_T_FLOOR; see reference_temperature.
REFERENCE_T_FLOOR = 0.02
# Tolerances of the inner chemical-potential solve.
_DENSITY_TOL = 1e-13
_MU_XTOL = 1e-15


# --------------------------------------------------------------------------- quadrature


@lru_cache(maxsize=32)
def _lattice_nodes(L):
    """Energies -2(cos kx + cos ky) (t = 1) and weights of the exact L x L k-sum.

    The sum runs over the wedge 0 <= m_y <= m_x <= L // 2 with multiplicities, so
    that the weights add up to one.
    """
    m = np.arange(L // 2 + 1)
    cos = np.cos(2.0 * np.pi * m / L)
    mult = np.full(m.size, 2.0)
    mult[0] = 1.0
    if L % 2 == 0:
        mult[-1] = 1.0
    i, j = np.triu_indices(m.size)
    energy = -2.0 * (cos[i] + cos[j])
    weight = mult[i] * mult[j] * np.where(i == j, 1.0, 2.0) / float(L * L)
    energy.setflags(write=False)
    weight.setflags(write=False)
    return energy, weight


def _dos_nodes(mu, width):
    """Nodes and weights of int rho(eps) f(eps) d eps for t = 1 (thermodynamic limit).

    ``mu`` is the Fermi level and ``width`` the scale on which the integrand varies
    around it, both in units of t. The panels are graded geometrically towards
    eps = 0 (van Hove logarithm of rho) and towards eps = mu.
    """
    points = [np.array([-4.0, 0.0, 4.0]), _VHS_POINTS, -_VHS_POINTS]
    if -4.0 < mu < 4.0:
        points.append(np.array([mu]))
    if width > 0.0:
        jmax = max(0, math.ceil(math.log2(8.0 / width)))
        offsets = width * 2.0 ** np.arange(jmax + 1)
        points += [mu + offsets, mu - offsets]
    breaks = np.unique(np.clip(np.concatenate(points), -4.0, 4.0))
    lo, hi = breaks[:-1], breaks[1:]
    half = 0.5 * (hi - lo)
    mid = 0.5 * (hi + lo)
    eps = (mid[:, None] + half[:, None] * _GL_NODES).ravel()
    weight = (half[:, None] * _GL_WEIGHTS).ravel()
    # rho(eps) = K(1 - eps^2/16) / (2 pi^2); ellipkm1(p) = K(1 - p) is accurate near p = 0.
    weight = weight * special.ellipkm1(eps * eps / 16.0) / (2.0 * np.pi**2)
    return eps, weight


def _sech2(x):
    """sech(x)**2 for x >= 0 without overflow."""
    e = np.exp(-2.0 * x)
    return 4.0 * e / (1.0 + e) ** 2


def _kernels(E, T):
    """Return phi(E) = tanh(E/2T)/(2E) and psi(E) = phi'(E)/E, regular at E = 0."""
    if T == 0.0:
        with np.errstate(divide="ignore"):
            return 0.5 / E, -0.5 / E**3
    x = E / (2.0 * T)
    small = x < _SERIES_X
    xs = np.where(small, 1.0, x)
    th = np.tanh(xs)
    g = th / xs
    gpx = (xs * _sech2(xs) - th) / xs**3
    if np.any(small):
        x2 = x * x
        # tanh(x)/x = 1 - x^2/3 + 2x^4/15 - 17x^6/315 + 62x^8/2835 - ...
        g_ser = 1.0 + x2 * (-1.0 / 3 + x2 * (2.0 / 15 + x2 * (-17.0 / 315 + x2 * 62.0 / 2835)))
        gpx_ser = -2.0 / 3 + x2 * (8.0 / 15 + x2 * (-34.0 / 105 + x2 * 496.0 / 2835))
        g = np.where(small, g_ser, g)
        gpx = np.where(small, gpx_ser, gpx)
    return g / (4.0 * T), gpx / (16.0 * T**3)


def _band_sums(T, mu, s, t, L):
    """Momentum averages of one band at temperature T, Fermi level mu and gap**2 = s.

    Returns ``(alpha, n, alpha_s, alpha_mu, n_mu)``: the pair susceptibility, the
    density and the partial derivatives d alpha/d s, d alpha/d mu, d n/d mu
    (d n/d s equals d alpha/d mu).
    """
    if L is None:
        eps, weight = _dos_nodes(mu / t, math.sqrt(s + (math.pi * T) ** 2) / t)
    else:
        eps, weight = _lattice_nodes(L)
    xi = t * eps - mu
    E = np.sqrt(xi * xi + s)
    if T == 0.0 and s == 0.0:
        # levels at the Fermi energy: phi = inf, and tanh(0/0) := 0 in the density
        with np.errstate(divide="ignore", invalid="ignore"):
            phi, psi = _kernels(E, T)
            at_fermi = E == 0.0
            xphi = np.where(at_fermi, 0.0, 0.5 * np.sign(xi))
            xxpsi = np.where(at_fermi, 0.0, xi * xi * psi)
            xpsi = np.where(at_fermi, 0.0, xi * psi)
    else:
        phi, psi = _kernels(E, T)
        xphi = xi * phi
        xpsi = xi * psi
        xxpsi = xi * xpsi
    alpha = float(weight @ phi)
    if T == 0.0 and s == 0.0 and L is None and -4.0 * t < mu < 4.0 * t:
        alpha = math.inf  # Cooper logarithm at T = 0
    n = 1.0 - 2.0 * float(weight @ xphi)
    alpha_s = 0.5 * float(weight @ psi)
    alpha_mu = -float(weight @ xpsi)
    n_mu = 2.0 * float(weight @ (phi + xxpsi))
    return alpha, n, alpha_s, alpha_mu, n_mu


def _solve_mu(T, s, target, t, L, guess=None):
    """Fermi level mu~ at which the band holds density ``target``.

    Safeguarded Newton iteration (dn/dmu is analytic) inside an expanding bracket.
    Returns ``(mu, sums)`` with ``sums`` of :func:`_band_sums` at that ``mu``.
    """
    mu = -4.0 * t + 4.0 * t * target if guess is None else float(guess)
    lo, hi = -math.inf, math.inf
    jump = t + math.sqrt(s) + 10.0 * T
    for _ in range(300):
        sums = _band_sums(T, mu, s, t, L)
        f = sums[1] - target
        if f > 0.0:
            hi = mu
        else:
            lo = mu
        if abs(f) <= _DENSITY_TOL or hi - lo <= _MU_XTOL * (1.0 + abs(mu)):
            return mu, sums
        dn = sums[4]
        new = mu - f / dn if dn > 0.0 else math.nan
        if not (math.isfinite(new) and lo < new < hi and abs(new - mu) <= 2.0 * jump):
            if math.isfinite(lo) and math.isfinite(hi):
                new = 0.5 * (lo + hi)
            else:
                new = mu - math.copysign(jump, f)
                jump *= 2.0
        mu = new
    raise RuntimeError("chemical potential search did not converge")  # pragma: no cover


def _band_at_gap(T, delta, target, t, L, mu_guess):
    """Slave mu~ to the filling at gap ``delta``; return mu, alpha, d alpha/d(delta^2)."""
    s = delta * delta
    mu, (alpha, _n, alpha_s, alpha_mu, n_mu) = _solve_mu(T, s, target, t, L, mu_guess)
    # total derivative at fixed filling: d mu/d s = -(d n/d s)/(d n/d mu), d n/d s = alpha_mu
    dalpha = alpha_s - alpha_mu * alpha_mu / n_mu if n_mu > 0.0 else alpha_s
    return mu, alpha, dalpha


# --------------------------------------------------------------------------- validation


def _check_T(T):
    return _validate.real("T", T, low=0.0)


def _check_L(L):
    return None if L is None else _validate.positive_int("L", L)


def _pair(name, value, **bounds):
    """Validate a per-band pair (a scalar applies to both bands) as an array."""
    return np.array(_validate.pair(name, value, **bounds))


def _check_filling(name, value):
    return _validate.real(name, value, low=0.0, high=2.0, low_open=True, high_open=True)


def _check_hopping(name, value):
    return _validate.real(name, value, low=0.0, low_open=True)


# --------------------------------------------------------------------------- single band


def _checked_band_sums(T, mu_tilde, t, delta, L):
    """:func:`_band_sums` after validating the public arguments."""
    return _band_sums(_check_T(T), _validate.real("mu_tilde", mu_tilde),
                      _validate.real("delta", delta) ** 2, _check_hopping("t", t), _check_L(L))


def pair_susceptibility(T, mu_tilde, *, t=1.0, delta=0.0, L=None):
    r"""Pair susceptibility (per site) of one clean band, the sum in paper Eq. (26).

    .. math::

        \alpha = \frac{1}{N_k}\sum_{\mathbf k}\frac{\tanh(E_{\mathbf k}/2T)}{2E_{\mathbf k}},
        \qquad E_{\mathbf k} = \sqrt{\xi_{\mathbf k}^2 + \Delta^2},

    with :math:`\xi_{\mathbf k} = -2t(\cos k_x + \cos k_y) - \tilde\mu`. At
    ``delta = 0`` this is the Cooper susceptibility :math:`\chi`, whose linearised
    gap equation gives :math:`T_c`; a level with :math:`E_{\mathbf k} = 0` contributes
    its limit :math:`1/(4T)`. The anomalous average is :math:`F = \Delta\alpha`.

    Parameters
    ----------
    T : float
        Temperature, ``T >= 0``.
    mu_tilde : float
        Fermi level :math:`\tilde\mu = \mu + g n/2` (after the Hartree shift).
    t : float, optional
        Hopping, ``t > 0``.
    delta : float, optional
        Uniform gap :math:`\Delta`.
    L : int or None, optional
        Linear size of the periodic lattice; ``None`` for the thermodynamic limit.

    Returns
    -------
    float
        :math:`\alpha`; ``inf`` at ``T = 0`` and ``delta = 0`` when the Fermi level
        lies inside the band (``L=None``) or on a level of the finite lattice.

    Examples
    --------
    >>> from largebdg.model.clean import pair_susceptibility
    >>> abs(pair_susceptibility(0.1, -1.0) - pair_susceptibility(0.1, -1.0, L=512)) < 1e-10
    True
    """
    return _checked_band_sums(T, mu_tilde, t, delta, L)[0]


def band_density(T, mu_tilde, *, t=1.0, delta=0.0, L=None):
    r"""Density (both spins, per site) of one clean band, paper Eqs. (14) and (22).

    .. math::

        n = \frac{1}{N_k}\sum_{\mathbf k}\Bigl[1 - \frac{\xi_{\mathbf k}}{E_{\mathbf k}}
            \tanh\frac{E_{\mathbf k}}{2T}\Bigr].

    Parameters are those of :func:`pair_susceptibility`.

    Returns
    -------
    float
        :math:`n \in (0, 2)`.

    Examples
    --------
    >>> from largebdg.model.clean import band_density
    >>> round(band_density(0.05, 0.0), 10)  # half filling by particle-hole symmetry
    1.0
    """
    return _checked_band_sums(T, mu_tilde, t, delta, L)[1]


def band_compressibility(T, mu_tilde, *, t=1.0, delta=0.0, L=None):
    r"""Compressibility :math:`\partial n/\partial\tilde\mu` of one clean band (analytic).

    Parameters are those of :func:`pair_susceptibility`.

    Returns
    -------
    float
        :math:`\partial n / \partial\tilde\mu` at fixed gap, from the same momentum
        sums as :func:`band_density`.

    Examples
    --------
    >>> from largebdg.model.clean import band_compressibility, band_density
    >>> h = 1e-5
    >>> fd = (band_density(0.1, -1 + h) - band_density(0.1, -1 - h)) / (2 * h)
    >>> abs(band_compressibility(0.1, -1.0) - fd) < 1e-8
    True
    """
    return _checked_band_sums(T, mu_tilde, t, delta, L)[4]


def reference_temperature(T):
    """Temperature at which clean-band reference values are taken: ``max(T, REFERENCE_T_FLOOR)``.

    Clean-band values serve the real-space solver as guesses and error models
    (initial chemical potentials, the Newton slope of the filling, the probing
    error model).  Below :data:`REFERENCE_T_FLOOR` the finite-lattice density
    is step-like, so they are taken at the floor instead.
    """
    return max(float(T), REFERENCE_T_FLOOR)


def mu_for_filling(T, filling, *, t=1.0, delta=0.0, L=None):
    r"""Fermi level :math:`\tilde\mu` at which one clean band holds ``filling``.

    Inverts :func:`band_density` (which increases monotonically with
    :math:`\tilde\mu`) by a safeguarded Newton iteration inside an expanding
    bracket around :math:`[-4t, 4t]`, to :math:`|n - n_{\rm target}| \le 10^{-13}`.

    Parameters
    ----------
    T : float
        Temperature, ``T >= 0``.
    filling : float
        Target density (both spins), ``0 < filling < 2``.
    t, delta, L
        As in :func:`pair_susceptibility`.

    Returns
    -------
    float
        :math:`\tilde\mu = \mu + g n/2`. On a finite lattice at ``T = 0`` and
        ``delta = 0`` the density is a step function; the step nearest to the
        target is returned.

    Examples
    --------
    >>> from largebdg.model.clean import mu_for_filling
    >>> abs(mu_for_filling(0.1, 1.0)) < 1e-12
    True
    """
    T = _check_T(T)
    filling = _check_filling("filling", filling)
    t = _check_hopping("t", t)
    delta = _validate.real("delta", delta)
    L = _check_L(L)
    return _solve_mu(T, delta * delta, filling, t, L)[0]


# --------------------------------------------------------------------------- two bands


@dataclass(frozen=True, eq=False)
class CleanSolution:
    r"""Uniform self-consistent solution of the clean two-band model.

    Attributes
    ----------
    delta : ndarray, shape (2,)
        Gaps :math:`\Delta_\nu` (Eq. 9); zero above :math:`T_c`. With ``g12 < 0``
        the gaps have opposite signs.
    F : ndarray, shape (2,)
        Anomalous averages :math:`F_\nu = \langle c_{\nu\uparrow}c_{\nu\downarrow}\rangle`.
    mu_tilde : ndarray, shape (2,)
        Fermi levels after the Hartree shift, :math:`\tilde\mu_\nu = \mu_\nu + g_\nu n_\nu/2`.
    mu : ndarray, shape (2,)
        Chemical potentials :math:`\mu_\nu = \tilde\mu_\nu - g_\nu n_\nu/2` entering the
        real-space diagonal :math:`V_{\nu i} - g_\nu n_{\nu i}/2 - \mu_\nu`.
    filling : ndarray, shape (2,)
        Band densities :math:`n_\nu` (both spins).
    T : float
        Temperature.
    L : int or None
        Lattice size; ``None`` for the thermodynamic limit.
    converged : bool
        Whether the gap equations met the requested tolerance.
    t : ndarray, shape (2,)
        Hoppings :math:`t_\nu`.
    g : ndarray, shape (2,)
        Intra-band couplings :math:`g_\nu`.
    g12 : float
        Inter-band coupling :math:`g_{12}`.
    iterations : int
        Newton iterations used (0 for the normal state).

    Notes
    -----
    Instances are immutable (read-only arrays) and compare by identity.
    """

    delta: np.ndarray
    F: np.ndarray
    mu_tilde: np.ndarray
    mu: np.ndarray
    filling: np.ndarray
    T: float
    L: int | None
    converged: bool
    t: np.ndarray = field(default_factory=lambda: np.array(PAPER_PARAMETERS["t"]))
    g: np.ndarray = field(default_factory=lambda: np.array(PAPER_PARAMETERS["g"]))
    g12: float = PAPER_PARAMETERS["g12"]
    iterations: int = 0

    def __post_init__(self):
        for name in ("delta", "F", "mu_tilde", "mu", "filling", "t", "g"):
            arr = np.array(getattr(self, name), dtype=float)
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)

    @property
    def fermi_energy(self):
        r"""Fermi energies :math:`\varepsilon_{F\nu} = \tilde\mu_\nu + 4t_\nu` (docs/model.md)."""
        return self.mu_tilde + 4.0 * self.t


def reference_fermi_level(T, filling, *, t=1.0):
    """Fermi level of the clean band holding ``filling`` at the reference temperature
    (:func:`mu_for_filling` at :func:`reference_temperature` of T): the solver's initial
    chemical potential, Newton slope and expansion reference."""
    return mu_for_filling(reference_temperature(T), filling, t=t)


def _coupling_matrix(g, g12):
    return np.array([[g[0], abs(g12)], [abs(g12), g[1]]])


def _lambda_max(G, chi):
    """Largest eigenvalue of G @ diag(chi) (Perron root for non-negative G)."""
    if not np.all(np.isfinite(chi)):
        return math.inf
    a, b = G[0, 0] * chi[0], G[0, 1] * chi[1]
    c, d = G[1, 0] * chi[0], G[1, 1] * chi[1]
    half_tr = 0.5 * (a + d)
    return half_tr + math.sqrt(max(0.25 * (a - d) ** 2 + b * c, 0.0))


def _normal_state(T, t, filling, L, mu_guess=(None, None)):
    """Fermi levels and Cooper susceptibilities of both bands at Delta = 0."""
    mu = np.empty(2)
    chi = np.empty(2)
    for nu in range(2):
        mu[nu], sums = _solve_mu(T, 0.0, filling[nu], t[nu], L, mu_guess[nu])
        chi[nu] = sums[0]
    return mu, chi


def _solve_single(T, g, target, t, L, mu_guess):
    """Gap of an uncoupled band: root of 1 = g alpha(Delta) in log(Delta)."""
    cache = {"mu": mu_guess}

    def resid(v):
        mu, alpha, _ = _band_at_gap(T, math.exp(v), target, t, L, cache["mu"])
        cache["mu"] = mu
        return 1.0 - g * alpha

    # alpha <= 1/(2 Delta), so 1 - g alpha > 0 for Delta > g/2.
    v_hi = math.log(0.5 * g * 1.01 + 1e-300)
    v_lo = math.log(1e-14 * t)
    if resid(v_lo) >= 0.0:  # T within ~1e-28 of Tc
        return 0.0, 0
    v, info = optimize.brentq(resid, v_lo, v_hi, xtol=1e-15, full_output=True)
    return math.exp(v), info.iterations


def _solve_coupled(T, G, filling, t, L, guess, tol, maxiter):
    r"""Damped Newton iteration for the nontrivial solution of Eq. (9), |g12| > 0.

    Unknowns v_nu = ln Delta_nu (gaps of equal sign); residuals are the gap
    equations divided by Delta_nu,
    e_1 = 1 - g_1 a_1 - g_12 a_2 e^w,  e_2 = 1 - g_2 a_2 - g_12 a_1 e^{-w},
    w = v_2 - v_1, a_nu = alpha_nu(Delta_nu) at the band's filling. Dividing out
    Delta removes the trivial root Delta = 0, so the iteration stays well posed
    arbitrarily close to T_c.
    """
    g1, g2, g12 = G[0, 0], G[1, 1], G[0, 1]
    mu_cache = [None, None]

    def evaluate(v):
        a, da = np.empty(2), np.empty(2)
        for nu in range(2):
            delta = math.exp(v[nu])
            mu_cache[nu], a[nu], dads = _band_at_gap(T, delta, filling[nu], t[nu], L, mu_cache[nu])
            da[nu] = dads * 2.0 * delta * delta  # d alpha / d v
        ew = math.exp(v[1] - v[0])
        e = np.array([1.0 - g1 * a[0] - g12 * a[1] * ew, 1.0 - g2 * a[1] - g12 * a[0] / ew])
        J = np.array(
            [
                [-g1 * da[0] + g12 * a[1] * ew, -g12 * (da[1] + a[1]) * ew],
                [-g12 * (da[0] + a[0]) / ew, -g2 * da[1] + g12 * a[0] / ew],
            ]
        )
        return e, J

    v = np.log(np.asarray(guess, dtype=float))
    e, J = evaluate(v)
    norm = np.max(np.abs(e))
    for it in range(1, maxiter + 1):
        try:
            step = -np.linalg.solve(J, e)
        except np.linalg.LinAlgError:
            step = -e * np.sign(np.diag(J))
        big = np.max(np.abs(step))
        if big > 2.0:
            step *= 2.0 / big
        lam = 1.0
        while True:
            v_new = v + lam * step
            e_new, J_new = evaluate(v_new)
            norm_new = np.max(np.abs(e_new))
            if norm_new < (1.0 - 1e-4 * lam) * norm or lam < 1e-6:
                break
            lam *= 0.5
        v, e, J, norm = v_new, e_new, J_new, norm_new
        logger.debug("clean Newton it %d: Delta=%s, |e|=%.3e", it, np.exp(v), norm)
        if norm <= tol:
            return np.exp(v), it, True
    return np.exp(v), maxiter, False


def _initial_guess(T, G, chi, lam0):
    """Rough positive gaps: principal eigenvector of G diag(chi) times a BCS-like size."""
    if not math.isfinite(lam0):
        vec = np.array([G[0, 0] + G[0, 1], G[1, 1] + G[0, 1]])
        scale = 0.5
    else:
        M = G * chi[None, :]
        w, vecs = np.linalg.eig(M)
        vec = np.abs(np.real(vecs[:, np.argmax(np.real(w))]))
        # weak coupling: Delta(T) ~ 3 T_c sqrt(1 - T/T_c) and lambda0 - 1 ~ ln(T_c/T)
        scale = min(0.5, 3.0 * T * math.sqrt(math.expm1(min(lam0 - 1.0, 50.0))) + 1e-3)
    vec = vec / np.max(vec)
    return scale * np.maximum(vec, 1e-3)


def uniform_solution(
    T,
    *,
    t=PAPER_PARAMETERS["t"],
    g=PAPER_PARAMETERS["g"],
    g12=PAPER_PARAMETERS["g12"],
    filling=PAPER_PARAMETERS["filling"],
    L=None,
    tol=1e-10,
    guess=None,
    maxiter=100,
):
    r"""Self-consistent uniform gaps of the clean two-band model (paper Eqs. 9, 22-23).

    Solves :math:`\Delta_1 = g_1F_1 + g_{12}F_2`, :math:`\Delta_2 = g_2F_2 + g_{12}F_1`
    with :math:`F_\nu = \Delta_\nu\alpha_\nu(\Delta_\nu, \tilde\mu_\nu)` (see
    :func:`pair_susceptibility`) while each :math:`\tilde\mu_\nu` holds the band's
    filling :math:`n_\nu` (Eq. 14).

    Parameters
    ----------
    T : float
        Temperature, ``T >= 0``.
    t : pair of float, optional
        Hoppings :math:`t_\nu > 0` (a scalar applies to both bands).
    g : pair of float, optional
        Intra-band couplings :math:`g_\nu \ge 0` (attractive).
    g12 : float, optional
        Inter-band pair coupling :math:`g_{12}`; for ``g12 < 0`` the solution is that
        of :math:`|g_{12}|` with :math:`\Delta_2, F_2` of opposite sign.
    filling : pair of float, optional
        Band densities :math:`0 < n_\nu < 2` (both spins).
    L : int or None, optional
        Linear size of the periodic lattice; ``None`` for the thermodynamic limit.
    tol : float, optional
        Stop when the relative gap-equation residuals
        :math:`|\Delta_\nu - (g_\nu F_\nu + g_{12}F_{\bar\nu})| / |\Delta_\nu|` are below
        ``tol``. The fillings are held to ``1e-13`` at every step.
    guess : pair of float, optional
        Starting gaps (e.g. the solution at a nearby temperature).
    maxiter : int, optional
        Maximum number of Newton iterations.

    Returns
    -------
    CleanSolution
        ``converged`` is ``False`` (and a :class:`~largebdg.errors.ConvergenceWarning`
        is issued) if the tolerance was not met.

    Notes
    -----
    The normal state is first tested with the linearised gap equation: if the
    largest eigenvalue of
    :math:`\begin{pmatrix} g_1\chi_1 & g_{12}\chi_2\\ g_{12}\chi_1 & g_2\chi_2\end{pmatrix}`
    (Cooper susceptibilities :math:`\chi_\nu` at :math:`\Delta = 0`) does not exceed 1,
    :math:`T \ge T_c` and the gaps are zero. Otherwise the gap equations divided by
    :math:`\Delta_\nu` are solved by a damped Newton iteration in
    :math:`\ln\Delta_\nu` with the analytic Jacobian (the chemical potentials are
    eliminated by an inner Newton solve at each step, their response entering the
    Jacobian); since the trivial root :math:`\Delta = 0` is divided out, the
    iteration converges quadratically also just below :math:`T_c`. With
    ``g12 = 0`` each band is solved separately.

    Examples
    --------
    >>> from largebdg.model.clean import uniform_solution
    >>> sol = uniform_solution(0.05)
    >>> [round(float(d), 5) for d in sol.delta]
    [0.2049, 0.08054]
    """
    T = _check_T(T)
    t, g, g12, filling = check_parameters(t, g, g12, filling)
    t, g, filling = np.array(t), np.array(g), np.array(filling)
    L = _check_L(L)
    tol = _validate.real("tol", tol, low=0.0, low_open=True)
    maxiter = _validate.positive_int("maxiter", maxiter)
    if guess is not None:
        guess = np.abs(_pair("guess", guess))
        if np.any(guess == 0.0):
            raise ParameterError(f"'guess' must be non-zero gaps, got {guess!r}")

    G = _coupling_matrix(g, g12)
    mu_n, chi = _normal_state(T, t, filling, L)
    lam0 = _lambda_max(G, chi)
    delta = np.zeros(2)
    mu_tilde = mu_n.copy()
    iterations = 0
    converged = True
    if lam0 > 1.0:
        if g12 == 0.0:
            for nu in range(2):
                if g[nu] > 0.0 and g[nu] * chi[nu] > 1.0:
                    delta[nu], its = _solve_single(T, g[nu], filling[nu], t[nu], L, mu_n[nu])
                    iterations += its
        else:
            start = guess if guess is not None else _initial_guess(T, G, chi, lam0)
            delta, iterations, converged = _solve_coupled(
                T, G, filling, t, L, start, tol, maxiter
            )
    alpha = np.zeros(2)
    for nu in range(2):
        mu_tilde[nu], sums = _solve_mu(T, delta[nu] ** 2, filling[nu], t[nu], L, mu_tilde[nu])
        alpha[nu] = sums[0]
    F = np.where(delta != 0.0, delta * np.where(delta != 0.0, alpha, 0.0), 0.0)
    if g12 < 0.0:
        delta[1] = -delta[1]
        F[1] = -F[1]
    if not converged:
        warnings.warn(
            f"uniform_solution did not converge at T={T} within {maxiter} iterations",
            ConvergenceWarning,
            stacklevel=2,
        )
    return CleanSolution(
        delta=delta,
        F=F,
        mu_tilde=mu_tilde,
        mu=mu_tilde - 0.5 * g * filling,
        filling=filling,
        T=T,
        L=L,
        converged=bool(converged),
        t=t,
        g=g,
        g12=g12,
        iterations=int(iterations),
    )


def critical_temperature(
    *, t=PAPER_PARAMETERS["t"], g=PAPER_PARAMETERS["g"], g12=PAPER_PARAMETERS["g12"],
    filling=PAPER_PARAMETERS["filling"], L=None, xtol=1e-9
):
    r"""Mean-field :math:`T_c` of the clean two-band model from the linearised Eq. (9).

    :math:`T_c` is where the largest eigenvalue of
    :math:`\begin{pmatrix} g_1\chi_1 & g_{12}\chi_2\\ g_{12}\chi_1 & g_2\chi_2\end{pmatrix}`
    equals 1, with :math:`\chi_\nu(T) =` :func:`pair_susceptibility` at
    ``delta = 0`` and :math:`\tilde\mu_\nu(T)` holding the normal-state filling at
    :math:`T`. With ``g12 = 0`` this is the larger of the single-band values; a band
    alone is selected by setting the other ``g`` to zero.

    Parameters
    ----------
    t, g, g12, filling, L
        As in :func:`uniform_solution`.
    xtol : float, optional
        Absolute tolerance of the root search in :math:`T` (Brent's method).

    Returns
    -------
    float
        :math:`T_c`; ``0.0`` if there is no transition above :math:`10^{-8}\max t_\nu`.

    Examples
    --------
    >>> from largebdg.model.clean import critical_temperature
    >>> round(critical_temperature(), 5)
    0.10889
    """
    t, g, g12, filling = check_parameters(t, g, g12, filling)
    t, g, filling = np.array(t), np.array(g), np.array(filling)
    L = _check_L(L)
    xtol = _validate.real("xtol", xtol, low=0.0, low_open=True)

    G = _coupling_matrix(g, g12)
    # chi < 1/(4T), hence lambda < rho(G)/(4T): no transition above rho(G)/4.
    rho = float(np.max(np.abs(np.linalg.eigvalsh(G))))
    if rho == 0.0:
        return 0.0
    mu_cache = [None, None]

    def excess(T):
        mu, chi = _normal_state(T, t, filling, L, mu_cache)
        mu_cache[:] = list(mu)
        return _lambda_max(G, chi) - 1.0

    T_hi = 0.25 * rho
    T_lo = 0.5 * T_hi
    T_floor = _T_FLOOR * float(np.max(t))
    while excess(T_lo) <= 0.0:
        T_hi = T_lo
        T_lo *= 0.5
        if T_lo < T_floor:
            return 0.0
    return float(optimize.brentq(excess, T_lo, T_hi, xtol=xtol, rtol=4 * np.finfo(float).eps))


# --------------------------------------------------------------------------- references


def clean_chemical_potentials(model, T):
    """Chemical potentials mu_nu of the clean model (V = 0) on the same lattice at ``T``.

    They hold the configured band fillings in the clean limit; their
    difference is the band offset kept fixed in the ``common_mu`` mode
    (paper Eq. 12).

    Parameters
    ----------
    model : TwoBandModel
    T : float

    Returns
    -------
    ndarray, shape (2,)
    """
    clean = uniform_solution(T, t=model.t, g=model.g, g12=model.g12, filling=model.filling,
                             L=model.L)
    return np.array(clean.mu, dtype=float)


def clean_blocks(L, t, mu_tilde, delta, func):
    r"""Real-space blocks of :math:`f(H)` of a clean band with a uniform gap.

    :math:`H_{\mathbf k} = \xi_{\mathbf k}\sigma_z + \Delta\sigma_x` with
    :math:`\xi_{\mathbf k} = -2t(\cos k_x + \cos k_y) - \tilde\mu` (paper Eqs. 11-12 for a
    uniform band) has eigenvalues :math:`\pm E_{\mathbf k}`, so
    :math:`f(H_{\mathbf k}) = \tfrac12[f(E) + f(-E)] + \tfrac{1}{2E}[f(E) - f(-E)] H_{\mathbf k}`;
    an inverse FFT gives the blocks at every separation on the L x L torus.

    Parameters
    ----------
    L : int
    t, mu_tilde, delta : float
        Hopping, Fermi level after the Hartree shift (minus the uniform onsite energy) and gap.
    func : callable
        Vectorised real function of the energy.

    Returns
    -------
    pp, ph : ndarray, shape (L, L)
        Particle-particle and particle-hole blocks as functions of the separation ``[y, x]``.
    """
    k = 2 * np.pi * np.fft.fftfreq(L)
    xi = -2 * t * (np.cos(k)[None, :] + np.cos(k)[:, None]) - mu_tilde
    E = np.sqrt(xi**2 + delta**2)
    up, down = func(E), func(-E)
    odd = np.divide(up - down, 2 * E, out=np.zeros_like(E), where=E > 0)  # E = 0: xi = delta = 0
    pp = np.fft.ifft2((up + down) / 2 + odd * xi).real
    ph = np.fft.ifft2(odd * delta).real
    return pp, ph


def clean_tau(L, t, mu_tilde, delta, T):
    r"""Real-space blocks of :math:`\tanh(H/2T)` of a clean band with a uniform gap.

    :func:`clean_blocks` of :math:`\tanh(E/2T)`: the momentum averages of
    :math:`\xi\tanh(E/2T)/E` and :math:`\Delta\tanh(E/2T)/E`.

    Returns
    -------
    pp, ph : ndarray, shape (L, L)
        Particle-particle and particle-hole blocks as functions of the
        separation ``[y, x]`` on the L x L torus.
    """
    return clean_blocks(L, t, mu_tilde, delta, lambda E: np.tanh(E / (2 * T)))


def uniform_band_stiffness(T, mu_tilde, delta, *, t=1.0, L):
    r"""SWZ stiffness (paper Eq. 32) of one clean band with a uniform s-wave gap.

    In momentum space on the :math:`L \times L` lattice, with
    :math:`E_{\mathbf k} = \sqrt{\xi_{\mathbf k}^2 + \Delta^2}`,

    .. math::

        D_s = \frac{1}{L^2}\sum_{\mathbf k}\Bigl[2t\cos k_x\Bigl(1 - \frac{\xi_{\mathbf k}}
        {E_{\mathbf k}}\tanh\frac{E_{\mathbf k}}{2T}\Bigr)
        - 2(2t\sin k_x)^2\bigl(-\partial f/\partial E_{\mathbf k}\bigr)\Bigr]:

    the kinetic energy (Eq. 33) minus the correlator (Eqs. 34-35), of which
    only the intra-level terms survive at :math:`q = 0` in a uniform state.
    ``delta = 0`` gives the normal-state remainder of :func:`normal_state_stiffness`.

    Parameters
    ----------
    T : float
        Temperature, ``T > 0``.
    mu_tilde : float
        Fermi level after the Hartree shift.
    delta : float
        Uniform gap.
    t : float, optional
        Hopping.
    L : int
        Lattice size.

    Returns
    -------
    float
    """
    T = float(_validate.positive_array("T", T))
    L = lattice_size(L)
    k = 2 * np.pi * np.arange(L) / L
    cx, cy = np.meshgrid(np.cos(k), np.cos(k), indexing="ij")
    xi = -2 * t * (cx + cy) - mu_tilde
    E = np.hypot(xi, delta)
    ratio = np.divide(xi, E, out=np.zeros_like(E), where=E > 0)
    occupation = 1.0 - ratio * np.tanh(E / (2 * T))
    minus_df = 1.0 / (4 * T * np.cosh(E / (2 * T)) ** 2)
    terms = 2 * t * cx * occupation - 2 * (2 * t) ** 2 * (1.0 - cx ** 2) * minus_df
    return float(terms.sum() / L ** 2)


def normal_state_stiffness(T, filling, *, t=1.0, L):
    r"""Stiffness of a clean band in the normal state on an :math:`L \times L` lattice.

    On a finite lattice the SWZ stiffness of the normal state does not vanish
    (docs/model.md, Conventions, "Superfluid stiffness"): it is the finite-size
    Drude remainder

    .. math::

        D_s^{\rm n} = \frac{2}{L^2}\sum_{\mathbf k}\Bigl[2t\cos k_x\, f(\xi_{\mathbf k})
        - (2t\sin k_x)^2\,\bigl(-\partial f/\partial\xi_{\mathbf k}\bigr)\Bigr],

    :math:`\xi_{\mathbf k} = -2t(\cos k_x + \cos k_y) - \tilde\mu`, with
    :math:`\tilde\mu` holding the band's filling.  It is the natural ``baseline``
    of :func:`largebdg.analysis.critical.stiffness_critical_temperature` for the
    clean weak band.

    Parameters
    ----------
    T : array_like
        Temperatures, ``T > 0``.
    filling : float
        Band filling (both spins), ``0 < filling < 2``.
    t : float, optional
        Hopping.
    L : int
        Lattice size.

    Returns
    -------
    ndarray
        :math:`D_s^{\rm n}(T)`, the shape of `T`.

    Examples
    --------
    >>> float(normal_state_stiffness(0.1, 0.8, L=32)) < -0.01  # sizeable at L = 32
    True
    >>> abs(float(normal_state_stiffness(0.1, 0.8, L=1024))) < 1e-6  # gone for large L
    True
    """
    L = lattice_size(L)
    t = _validate.real("t", t, 0.0, low_open=True)
    T = _validate.positive_array("T", T)
    out = np.empty(T.shape)
    for idx, temp in np.ndenumerate(T):
        out[idx] = uniform_band_stiffness(temp, mu_for_filling(float(temp), filling, t=t, L=L),
                                          0.0, t=t, L=L)
    return out
