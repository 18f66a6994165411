r"""Superfluid stiffness of one band from the dense BdG eigensystem (paper Eqs. 32-35).

Notes
-----
Scalapino-White-Zhang convention, per site and per band (docs/model.md,
Conventions, "Superfluid stiffness"):

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

import numpy as np
import scipy.linalg

from .. import _validate as v
from ..errors import ParameterError
from ..model.lattice import lattice_size, neighbour_index
from ..model.thermal import fermi_ratio, thermal_factor
from ..operators.pattern import BdGPattern
from .current import current_matrix, kinetic_energy_x, site_array

__all__ = ["exact_stiffness"]

# a level within this fraction of the spectral scale counts as E = 0 at T = 0
_ZERO_LEVEL = 1e-10


def exact_stiffness(L, t, onsite, delta, T, *, direction="x"):
    r"""Superfluid stiffness per site of one band, :math:`D_s = \langle -k_x\rangle - \Lambda_{xx}`.

    Exact for the given mean field, from the full eigensystem of the dense
    :math:`2N \times 2N` BdG matrix (cost :math:`O(N^3)`; practical up to
    L ~ 32-48).

    Parameters
    ----------
    L : int
        Linear lattice size (>= :data:`~largebdg.model.lattice.MIN_L` = 3), N = L*L sites.
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
    The normal-state remainder quoted in docs/model.md (clean, mu_tilde = -1):

    >>> import numpy as np
    >>> round(exact_stiffness(8, 1.0, np.ones(64), np.zeros(64), 0.1), 3)
    0.617
    """
    L = lattice_size(L)
    t = v.real("t", t)
    onsite = site_array("onsite", onsite, L)
    delta = site_array("delta", delta, L)
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

    A = current_matrix(L, t, direction)
    M = W.T @ (A @ W)
    correlator = float(np.sum(M * M * fermi_ratio(E, T))) / N
    return kinetic - correlator
