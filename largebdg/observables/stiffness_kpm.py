r"""Superfluid stiffness by colour-signed probing of the Kubo trace, linear in L² per vector.

The stiffness of paper Eqs. 32-35 (diamagnetic term Eq. 33, current-current correlator
Eqs. 34-35 at q -> 0, fixed :math:`\Delta`), with an uncertainty that meets a requested
tolerance; :func:`largebdg.workflows.stiffness.resolve_method` picks it (``"kpm"``) above
:data:`~largebdg.workflows.stiffness.EXACT_MAX_L`.  Same quantity, convention and
normalisation as
:func:`largebdg.observables.stiffness.exact_stiffness` and
:func:`largebdg.observables.stiffness_stochastic.stochastic_stiffness`
(Scalapino-White-Zhang sign, per site, one band):

.. math::

    D_s = \langle -k_x \rangle - \Lambda, \qquad
    N\Lambda = \sum_{n,m=1}^{2N} (w_n^T \tilde A w_m)^2 R(E_n, E_m)
             = \mathrm{Tr}\, \mathcal B,

    \mathcal B = \sum_k \lambda_k\, \phi_k(H)\, \tilde A\, \phi_k(H)\, \tilde A^T,
    \qquad R(E, E') = \frac{f(E) - f(E')}{E' - E}
                   \approx \sum_k \lambda_k \phi_k(E) \phi_k(E'),

with :math:`\tilde A = \mathrm{diag}(A, A)`, :math:`A_{i+x,i} = -A_{i,i+x} = t`, the
real antisymmetric Nambu current (:math:`J = i\tilde A`) and the separable
Chebyshev expansion of the kernel of
:func:`~largebdg.observables.stiffness_stochastic.kernel_expansion`.

Method: colour-signed probing
-----------------------------
:math:`\mathcal B` is a *local* operator: in the eigenbasis it is
:math:`W (R \circ M) M^T W^T`, and :math:`R` is analytic in a strip of half-width
:math:`\pi T` around the real axis, so :math:`|\mathcal B_{ij}|` decays with the
distance :math:`|r_i - r_j|` on the thermal length :math:`\hbar v_F / \pi T` (shorter
where disorder localises the states).  The decay is strongly *anisotropic* for the
clean weak band (filling 0.8, a nearly square Fermi surface): slow along the lattice
diagonals, fast perpendicular to the current (at L = 128, T = 0.1:
:math:`\mathcal B(16, 16) \approx -3\cdot10^{-2}`, :math:`\mathcal B(16, 0) \approx
5\cdot10^{-3}`, :math:`\mathcal B(0, 16) \approx 3\cdot10^{-4}`).

A *colouring* assigns the sites to C colours such that sites of equal colour differ by
a vector of a sublattice :math:`\{m (a, 0) + n (b, c)\}` of the torus (index
C = a c, :func:`largebdg.kpm.probing.sheared_colouring`; b = 0, a = c = d is the square distance-d
colouring of :func:`largebdg.kpm.probing.colouring`).  The particle and the hole
entry of a site share the site's colour.  One *draw* draws independent Rademacher
signs :math:`s_j = \pm 1` for all 2N Nambu entries and forms the C start vectors
:math:`z_c = \sum_{j \in c} s_j e_j`.  Then

.. math::

    \sum_c z_c^T \mathcal B z_c = \mathrm{Tr}\,\mathcal B
      + \sum_c \sum_{i \ne j \in c} s_i s_j \mathcal B_{ij},

which is unbiased (:math:`E[s_i s_j] = \delta_{ij}`) with variance

.. math::

    \mathrm{Var} = \sum_c \sum_{i < j \in c} (\mathcal B_{ij} + \mathcal B_{ji})^2 ,

i.e. only pairs of equal colour (separated by a sublattice vector, plus the
particle-hole pair of one site) contribute, against *all* pairs for plain Hutchinson
vectors.  The noise therefore falls exponentially with the sublattice spacing, and --
being a sum of N local terms -- its standard error per site falls like :math:`1/L`.
The square colouring puts equal colours on the slow diagonals, (d, d); a sheared
sublattice (e.g. (a, b, c) = (16, 8, 16) instead of (16, 0, 16)) avoids them and
lowers the noise of the clean band by 10-300x at equal cost (measured; docs/stiffness.md).
The
sublattice is chosen from a clean-band model of :math:`\mathcal B` (below) among the
"well-shaped" ones (every lattice vector >= 0.7 sqrt(C)), which keeps the plan robust
for the disordered band, whose :math:`\mathcal B` is short-ranged but not anisotropic
(thin lattices had 12-150x the modelled variance there).

There is no deterministic probing bias (pure probing, all :math:`s_j = 1`, would
leave the sum of the same-colour elements as a bias, measured 2-30 times larger
than the standard deviation of one signed draw).  Putting the particle and hole entry of a site
into the same vector with independent signs costs half as much as separate vectors
and adds only the particle-hole term :math:`\mathcal B_{i, i+N}`, which is small
(measured: the standard deviation of one draw is at most 25 % larger for the
disordered band, unchanged for the clean band, so at equal cost never worse).

Each :math:`z_c^T \mathcal B z_c = \sum_k \lambda_k (\tilde A^T y_k)\cdot u_k`,
:math:`y_k = \phi_k(H) z_c`, :math:`u_k = \phi_k(H) \tilde A^T z_c`, needs one
Chebyshev recursion on two columns (:math:`z_c`, :math:`\tilde A^T z_c`), run as a block
over colours by :func:`largebdg.observables.stiffness_stochastic.trace_samples` (the
consumer of the one recursion, :func:`largebdg.kpm.recursion.chebyshev_vectors`, shared
with ``stochastic_stiffness``); the K + 1 functions accumulate from the same moments.
The start blocks are :func:`largebdg.kpm.vectors.signed_colour_block` (colour-signed) and
:func:`largebdg.kpm.vectors.unit_block` (exact trace); the colourings
:func:`largebdg.kpm.probing.sheared_colouring` and :func:`largebdg.kpm.probing.colouring`.

**Diamagnetic term.**  Given by the caller (``kinetic``: :func:`kpm_kinetic` below,
which :func:`largebdg.workflows.stiffness.compute_stiffness` uses by default, or
the solver's bond averages), else estimated with the same start vectors,
:math:`\sum_i \tau_{i+x,i} \approx \sum_c \sum_i (z_c)_i (\tau z_c)_{i+x}`,
:math:`\tau = \tanh(H/2T)`, which is the same colour-signed estimator for the trace
of the (also local) operator :math:`S_x \tau`.  Kinetic and correlator parts of one
colour are combined before the variance is taken.  :func:`kpm_kinetic` is the same
estimator on its own, with its own plan: the tanh series alone, one column per start
vector and a square colouring whose distance follows the measured noise of :math:`\tau`.

**Small lattices.**  When the cheapest plan would need at least N start vectors
(half of 2N, a margin for the model), the 2N unit vectors are used instead: the
trace is then exact up to the truncation (no statistical error).  This is the
default at L <= 24 for most temperatures.

Error model
-----------
``uncertainty = k * stderr + truncation_bound``.

* **Statistical.**  Colours are independent within a draw (disjoint signs) and
  draws are independent, so with ``n`` draws and :math:`q_{c,r}` the contribution of
  colour c in draw r, :math:`\mathrm{Var}(\hat D_s) = \sum_c \mathrm{Var}(q_c) / (n N^2)`,
  estimated by the per-colour sample variances :math:`s_c^2` (``n - 1`` degrees of
  freedom each): ``stderr`` :math:`= \sqrt{\sum_c s_c^2 / n} / N`.  This pools
  ~C(n - 1) degrees of freedom (Welch-Satterthwaite ``dof`` in ``info``), so two draws
  already give a reliable error bar; ``k`` is the two-sided 99 % quantile of
  Student's t with that ``dof`` (≈ 2.58).
* **Deterministic.**  The kernel expansion (degree M, rank K) replaces R by
  :math:`\tilde R`; since :math:`(1/N)\sum_{nm} (w_n^T \tilde A w_m)^2 = 4t^2`,
  :math:`|\delta\Lambda| \le 4t^2 \sup|R - \tilde R|`.  The sup is *measured* on a
  grid of ~2M points per axis between the interpolation nodes (not a heuristic:
  M is raised until it meets the budget), times a safety factor 2;
  likewise :math:`|\delta\langle -k_x\rangle| \le 2t \sup|\delta\tanh|` when the kinetic
  term is estimated.  Probing adds no bias (random signs).

With a certified spectral gap g (``gap``; by default certified here by exact inertia counts,
:func:`certified_gap`) the spectrum lies in :math:`g \le |E| \le a`, so the bound needs the
sup there only, and the kernel and tanh are expanded there only
(:func:`~largebdg.observables.stiffness_stochastic.kernel_expansion` with ``gap``; the gapped
tanh series of :mod:`largebdg.kpm.coefficients`): their coefficients decay with
:math:`\sqrt{g^2 + (\pi T)^2}` instead of :math:`\pi T`, so a gap of a few T cuts the moments
severalfold (band 1 at L = 16, T = 0.05: 978 -> 338).

The budget: ``truncation_bound`` <= 0.15 ``tolerance``, the statistical part
``k * stderr`` <= the rest.  The sublattice and the number of draws are chosen to
minimise the number of start vectors under a *clean-band model* of the noise: for
a clean band (chemical potential ``-mean(onsite)``, gap ``rms(delta)``, same T
and lattice) :math:`\mathcal B` is translation invariant and diagonal in Nambu
space, :math:`\mathcal B_k = 4t^2 \sin^2 k_x \,(-f'(E_k))` (the current is
:math:`2t\sin k_x` times the Nambu identity), so :math:`\mathcal B(r)` follows by FFT
and the variance of one draw is :math:`4N\sum_{R \ne 0} \mathcal B(R)^2` over the
sublattice vectors R (times 1.5² safety when planning).  Measured against the exact
variance at L = 32 the model is within 10 % for the clean band; for the disordered
band it is only a rough guide (1-40x too pessimistic on well-shaped lattices, and far too
optimistic where a gap makes the clean band's noise vanish).  The plan is therefore made
again from the measured noise (below); else draws are added while the *measured*
``k * stderr`` exceeds its budget (up to ``max_draws``), and if the measured noise shows
that the 2N unit vectors (exact trace) are cheaper than the remaining draws, the trace is
computed exactly instead.  The reported error is always the measured one.

Control variate and pilot (``control_variate=True``, default).  The homogeneous band
:math:`\mathcal B_0` of the noise model gives :math:`z_c^T \mathcal B_0 z_c` by FFT
(:func:`_clean_quadratic`, O(N log N) per vector) and its trace exactly, so
:math:`\sum_c z_c^T (\mathcal B - \mathcal B_0) z_c + \mathrm{Tr}\,\mathcal B_0` is unbiased
for any :math:`\mathcal B_0`, with the variance of the same-colour pairs of
:math:`\mathcal B - \mathcal B_0`: far smaller for a band without disorder of its own, larger
for a strongly disordered one.  Both come from the same draws; the first draws keep the
smaller (``info["control_variate"]``).  With an automatic plan the first two draws are made
on a coarse *pilot* sublattice (two draws within :data:`_PILOT_SHARE` of the planned
vectors).  Whenever the draws so far miss the budget, the measured noise over the modelled
one rescales the model and the plan is made again (a finer sublattice of at most
:data:`_GROWTH` times the colours, or the exact trace, where that costs less than the draws
still needed here; at most :data:`_MAX_REPLANS` times).  :func:`kpm_kinetic` has the
same control variate (the homogeneous band's bond sums, :func:`_clean_bond_k`).

Cost
----
``num_vectors = C * num_draws`` (plus an abandoned pilot's) recursions of M steps on two
columns plus an :math:`O(M K N)` BLAS accumulation per vector, as one vector of
``stochastic_stiffness``, and two FFTs of N per vector for the control variate; memory
bounded by ``memory_limit``.

Twisted boundary conditions (Peierls phase)
-------------------------------------------
:math:`N D_s = \partial^2\Omega/\partial A^2 = \partial_A \langle J(A)\rangle` at fixed
:math:`\Delta`.  Probing the bond current :math:`z^T f(H_A) \partial_A H_A z` of a
twisted Hamiltonian with the same real probe vectors z and differentiating in A
gives, per probe, :math:`z^T[f(H)\partial^2_A H + \mathcal D f[\partial_A H]\,\partial_A H] z`
whose paramagnetic part *is* :math:`-z^T \mathcal B z` (with exact f; with a Chebyshev
polynomial p for f the kernel becomes the divided difference of p).  Checked per probe
with dense matrices (L = 8: agreement to 1.5e-8, the finite-difference
error).  The twist route therefore has exactly the same probing variance.  It could
only save the accumulation of the K kernel functions (about 40 % of the cost per vector
at L = 128, measured), but needs complex arithmetic (no complex stencil exists in
largebdg) or a tangent (forward-mode) recursion, plus a finite-difference step, so it
is not used here (measured; docs/stiffness.md).
"""

import math
import time

import numpy as np
import scipy.stats

from .. import _validate as v
from ..errors import ParameterError
from ..kpm.coefficients import check_tolerance, moments_for_tolerance, tanh_coefficients
from ..kpm.probing import (
    colour_count,
    colouring,
    probing_distances,
    sheared_colouring,
    shortest_vector,
    square_lattice_vectors,
    sublattice_vectors,
    sublattices,
)
from ..kpm.recursion import chebyshev_series
from ..kpm.vectors import colour_blocks, colour_classes, signed_colour_block, unit_block
from ..model.clean import clean_blocks
from ..model.lattice import lattice_size, neighbour_index, neighbour_table
from ..model.thermal import fermi_ratio
from ..operators.stencil import BdGStencil
from ..operators.petsc import PetscBdGOperator
from ..operators.window import BOUND_SAFETY, band_gap, band_window
from .current import CurrentOperator, site_array
from .stiffness_stochastic import (default_block_size, gapped_energies, kernel_expansion,
                                   trace_samples)

__all__ = ["kpm_stiffness", "kpm_kinetic", "certified_gap", "GAP_FLOOR"]

_TRUNC_SHARE = 0.15  # share of the tolerance for the truncation bound
_CONFIDENCE = 0.99  # two-sided level of the statistical part
_SAFETY = 2.0  # on the measured sup of the kernel error
_MODEL_SAFETY = 1.5  # on the modelled standard error when planning
_PILOT_SHARE = 0.125  # the pilot's two draws cost at most this share of the modelled plan
_MAX_REPLANS = 4  # plans made again from measured noise, at most, per estimate
_GROWTH = 16  # a plan made again has at most this many times the colours measured so far
# Only "well-shaped" sublattices: every lattice vector >= 0.7 sqrt(C) long (square: 1.0,
# triangular: 1.07).  Thin lattices with short vectors along the directions in which the
# clean band's B decays fast are optimal for the clean model but fail for the disordered
# band, whose B is nearly isotropic (measured at L = 128: 12-150x the modelled variance).
_MIN_SHAPE = 0.7


GAP_FLOOR = 0.5
"""Gaps below this many pi T are not certified: they would cut the moments by less than about
10 % (the series decay with sqrt(g² + (pi T)²) instead of pi T)."""


def certified_gap(L, t, onsite, delta, T):
    """Certified spectral gap of one band's BdG matrix: no eigenvalue in (-g, g), by exact
    inertia counts (:func:`~largebdg.operators.window.band_gap`, MUMPS; a few factorisations,
    0.2 s each at 128²); 0.0 below :data:`GAP_FLOOR` pi T or without MUMPS."""
    op = PetscBdGOperator(L)
    op.update(t, onsite, delta)
    floor = GAP_FLOOR * math.pi * T
    return float(band_gap(op, 2 * floor, floor))


def _resolve_gap(gap, L, t, onsite, delta, T, scale):
    """The gap the expansions are made for: certified here when None, else as given."""
    if gap is None:
        gap = certified_gap(L, t, onsite, delta, T)
    return v.real("gap", gap, 0.0, scale, high_open=True)


# ----------------------------------------------------------------- expansions


def _check_grid(G, scale, gap):
    """Energies where an expansion's error is measured, off its interpolation nodes: G points
    cos(pi (j + 0.37) / G) of [-scale, scale], or with a ``gap`` about G points on
    g <= |E| <= scale, as the gapped nodes (:func:`gapped_energies`)."""
    if gap:
        return gapped_energies(G // 2 + 1, 0.37, scale, gap)
    return scale * np.cos(np.pi * (np.arange(G) + 0.37) / G)


def _kernel_sup_error(coeffs, lam, T, scale, gap=0.0):
    """Max |R - sum_k lam_k phi_k phi_k| on a grid of ~2M points per axis (not the nodes),
    over the spectrum outside the ``gap``."""
    M = coeffs.shape[0]
    E = _check_grid(int(min(2 * M + 1, 3001)), scale, gap)
    G = E.size
    P = np.polynomial.chebyshev.chebvander(E / scale, M - 1)  # (G, M)
    Phi = P @ coeffs  # phi_k(E)
    err = 0.0
    for g0 in range(0, G, 500):
        rows = slice(g0, min(G, g0 + 500))
        approx = (Phi[rows] * lam) @ Phi.T
        err = max(err, float(np.abs(approx - fermi_ratio(E[rows], T, E)).max()))
    return err


def _kernel(T, scale, kernel_tol, gap=0.0):
    """Kernel expansion whose measured sup error (times _SAFETY) is <= kernel_tol (outside
    the spectral ``gap``)."""
    # start from the tanh tail criterion (R has the same analytic strip) and grow M
    # until the measured sup error meets the budget
    M = int(max(moments_for_tolerance(T, scale, kernel_tol, gap=gap), 16))
    for _ in range(40):
        coeffs, lam, _ = kernel_expansion(T, scale, M, kernel_tol / _SAFETY, gap=gap)
        err = _kernel_sup_error(coeffs, lam, T, scale, gap)
        if _SAFETY * err <= kernel_tol:
            return M, coeffs, lam, err
        M = int(M * 1.1) + 4
    return M, coeffs, lam, err  # pragma: no cover - budget not met; bound still reported


def _tanh_sup_error(c, scale, T, gap=0.0):
    """Max |tanh(E/2T) - its series| on a grid of ~4M points outside the spectral ``gap``."""
    E = _check_grid(4 * c.size + 1, scale, gap)
    return float(np.abs(np.polynomial.chebyshev.chebval(E / scale, c)
                        - np.tanh(E / (2 * T))).max())


# ----------------------------------------------------------------- noise model and plan


def _clean_band(onsite, delta):
    """(Fermi level, gap) of the homogeneous band that models a mean field: the mean onsite
    energy and the rms gap (the noise model and the control variates of this module)."""
    return -float(np.mean(onsite)), float(np.sqrt(np.mean(np.square(delta))))


def _clean_k(L, t, mu_tilde, gap, func, direction):
    """The clean band's particle block of func(H) on the L x L momenta ([ky, kx]), from
    :func:`~largebdg.model.clean.clean_blocks`, and the momentum along ``direction``."""
    k = 2 * np.pi * np.fft.fftfreq(L)
    along = k[None, :] if direction == "x" else k[:, None]
    return np.fft.fft2(clean_blocks(L, t, mu_tilde, gap, func)[0]).real, along


def _clean_bond_k(L, t, mu_tilde, gap, T, direction):
    r"""The clean band's :math:`\tau_{i+e,i}` kernel in k-space: the particle element
    :math:`(\xi_k/E_k)\tanh(E_k/2T)` of :math:`\tanh(H_k/2T)` times :math:`\cos k_e`, so
    that :math:`\sum_i z_i (\tau_0 z)_{i+e} = \sum_k |\hat z_k|^2\,` (this) :math:`/N`
    and its mean over k is :math:`\tau_0(e)`."""
    tau, along = _clean_k(L, t, mu_tilde, gap, lambda E: np.tanh(E / (2 * T)), direction)
    return tau * np.cos(along)


def _clean_model_B(L, t, mu_tilde, gap, T, direction):
    r"""Real-space :math:`\mathcal B(r)` (one Nambu block) of the clean band, exact on the torus."""
    def minus_df(E):  # -f'(E) = 1/(4T cosh^2(E/2T))
        z = np.exp(-np.abs(E) / T)
        return z / (T * (1.0 + z) ** 2)

    mfp, along = _clean_k(L, t, mu_tilde, gap, minus_df, direction)
    return np.fft.ifft2(4 * t * t * np.sin(along) ** 2 * mfp).real


def _std_from_offsets(Bclean, L, R):
    """Modelled per-site std of one draw: 2 sqrt(sum_R B(R)^2 / N) over offsets R != 0."""
    S = float(np.sum(Bclean[R[:, 0], R[:, 1]] ** 2)) if R.size else 0.0
    return 2.0 * math.sqrt(S / (L * L))


def _modelled(L, Bclean, a, b, c):
    """(modelled std of one draw, shortest lattice vector) of the sublattice (a, b, c), or
    None if it is badly shaped (and not the finest, a * c = N): such a lattice relies on the
    clean model's anisotropy."""
    R = sublattice_vectors(L, a, b, c)
    shortest = shortest_vector(L, R)
    if shortest < _MIN_SHAPE * math.sqrt(a * c) and a * c < L * L:
        return None
    return _std_from_offsets(Bclean, L, R), shortest


def _plan(L, Bclean, target, min_draws, max_draws, allow_exact=True, cmax=None):
    """Sublattice and draws minimising (colours x draws) under the clean-band noise model.

    Returns ``((a, b, c), draws, modelled std of one draw, shortest lattice vector)``;
    ``None`` for the lattice when the 2N unit vectors are cheaper (exact trace), or when no
    sublattice of at most ``cmax`` colours meets ``target``.
    """
    N = L * L
    best = None
    for a, b, c in sublattices(L, 4, N if cmax is None else min(cmax, N)):
        C = a * c
        if best is not None and C * min_draws > best[0]:
            continue
        modelled = _modelled(L, Bclean, a, b, c)
        if modelled is None:
            continue
        sd, shortest = modelled
        draws = max(min_draws, math.ceil((_MODEL_SAFETY * sd / target) ** 2)) \
            if target > 0 else max_draws
        if draws > max_draws:
            continue
        key = (C * draws, sd)
        if best is None or key < best[:2]:
            best = (C * draws, sd, (a, b, c), draws, shortest)
    # the 2N unit vectors give the exact trace: prefer them unless the plan is clearly
    # cheaper (a factor 2 of margin for a model that underestimates the noise)
    if best is None or (allow_exact and 2 * best[0] >= 2 * N):
        return None, 0, 0.0, float(L)
    return best[2], best[3], best[1], best[4]


def _pilot_lattice(L, Bclean, cmax):
    """The well-shaped sublattice of at most ``cmax`` colours with the least modelled noise:
    ``((a, b, c), modelled std of one draw, shortest lattice vector)``, or None."""
    best = None
    for a, b, c in sublattices(L, 4, cmax):
        modelled = _modelled(L, Bclean, a, b, c)
        if modelled is not None and (best is None or modelled[0] < best[1]):
            best = ((a, b, c), *modelled)
    return best


def _clean_quadratic(X0, clean_k, L):
    r""":math:`\sum_k |\hat z_k|^2 K_k / N` for every column z of ``X0`` (2N rows, particle
    rows first, each block transformed on its own): :math:`z^T K z` of a translation-invariant
    operator K, the same on the particle and the hole block, given by its values ``clean_k``
    on the L x L momenta ([ky, kx]; :math:`\mathcal B_0` of :func:`_clean_model_B` in k-space,
    or :func:`_clean_bond_k`), by FFT: O(N log N) per column."""
    f = np.fft.fft2(X0.reshape(2, L, L, -1), axes=(1, 2))
    return np.einsum("pyxc,yx->c", f.real**2 + f.imag**2, clean_k) / (L * L)


def _pooled(Q, N):
    """Standard error, degrees of freedom and 99 % Student-t factor of ``Q.sum(1).mean() / N``.

    ``Q`` (draws, colours) holds the contribution of every colour in every draw; colours
    are independent within a draw (disjoint signs), so the per-colour sample variances
    pool (Welch-Satterthwaite degrees of freedom).
    """
    n = Q.shape[0]
    s2 = Q.var(axis=0, ddof=1)  # per-colour variance
    stderr = math.sqrt(max(float(s2.sum()) / n, 0.0)) / N
    denom = float(np.sum(s2**2)) / (n - 1)
    dof = float(s2.sum() ** 2 / denom) if denom > 0 else math.inf
    return stderr, dof, float(scipy.stats.t.ppf(0.5 + _CONFIDENCE / 2, max(dof, 1.0)))


# ------------------------------------------------------------------ traces


def _run_vectors(make_block, ncols, block, stencil, current, coeffs, lam, with_tanh,
                 memory_limit):
    """:func:`~largebdg.observables.stiffness_stochastic.trace_samples` over blocks of columns."""
    hop = np.empty(ncols)
    trace = np.empty(ncols)
    for start in range(0, ncols, block):
        stop = min(ncols, start + block)
        h, tr = trace_samples(stencil, current, coeffs, lam, make_block(start, stop),
                              with_tanh=with_tanh, memory_limit=memory_limit)
        hop[start:stop], trace[start:stop] = h, tr
    return hop, trace


def _common_inputs(L, t, onsite, delta, T, tolerance, direction, probing_distance, num_draws):
    """Validated inputs shared by :func:`kpm_stiffness` and :func:`kpm_kinetic`."""
    L = lattice_size(L)
    t = v.real("t", t)
    if t == 0:
        raise ParameterError("'t' must be a finite non-zero real number")
    onsite = site_array("onsite", onsite, L)
    delta = site_array("delta", delta, L)
    T = v.real("T", T, 0.0, low_open=True)  # tanh and the kernel are not smooth at T = 0
    tolerance = check_tolerance("tolerance", tolerance)
    v.choice("direction", direction, ("x", "y"))
    if probing_distance is not None:
        probing_distance = v.positive_int("probing_distance", probing_distance, minimum=2)
    if num_draws is not None:
        num_draws = v.positive_int("num_draws", num_draws, minimum=2)
    return L, t, onsite, delta, T, tolerance, probing_distance, num_draws


# ------------------------------------------------------------------ public


def kpm_stiffness(L, t, onsite, delta, T, *, tolerance=1e-4, seed=None, kinetic=None,
                  direction="x", probing_distance=None, num_draws=None, scale=None,
                  bound_safety=BOUND_SAFETY, memory_limit=2 * 1024**3, max_draws=None,
                  lattice=None, control_variate=True, gap=None):
    r"""Superfluid stiffness per site of one band by colour-signed probing, with an error bound.

    Parameters
    ----------
    L : int
        Linear lattice size (>= 3), N = L*L sites, site index x + L*y.
    t : float
        Hopping of the band (matrix element -t).
    onsite, delta : array_like, shape (L*L,)
        Particle-block diagonal :math:`V_i - g n_i/2 - \mu` and real gap :math:`\Delta_i`.
    T : float
        Temperature (> 0).
    tolerance : float
        Requested ``uncertainty`` (absolute, per site).  About 15 % goes to the
        truncation bound, the rest to the 99 % statistical half-width; the
        probing distance and the number of draws are chosen for it.
    seed : int, SeedSequence or Generator, optional
        For ``numpy.random.default_rng`` (the signs of the draws).
    kinetic : float, optional
        The diamagnetic term :math:`\langle -k\rangle` along ``direction`` when known
        (:func:`kpm_kinetic`, whose uncertainty the caller adds, or
        :func:`~largebdg.observables.current.kinetic_energy_x` of a solver's bond
        averages, exact up to the solver's tolerance); otherwise estimated with the
        same start vectors.
    direction : {"x", "y"}
    probing_distance : int, optional
        Use the square distance-d colouring of :func:`largebdg.kpm.probing.colouring`
        (d >= 2) instead of the planned sublattice.  Default: the sublattice (and
        with it the distance between equal colours) is chosen by the clean-band
        noise model; ``info["probing_distance"]`` reports its shortest vector.
    num_draws : int, optional
        Number of sign draws (>= 2); default: from the model, then raised while
        the measured statistical error exceeds its budget (up to ``max_draws``).
        When given, exactly this many draws are made.
    scale : float, optional
        Half-width of the Chebyshev window (must bound the spectrum); default
        :func:`~largebdg.operators.window.band_window` with ``bound_safety``.
    bound_safety : float
    memory_limit : int
        Bytes for the moments and accumulators of one block (default 2 GiB).
    max_draws : int, optional
        Upper limit of the adaptive draws (default max(8, 4 x planned)).
    lattice : tuple (a, b, c), optional
        Use the colouring of the sublattice {m (a, 0) + n (b, c)} (see
        :func:`largebdg.kpm.probing.sheared_colouring`) instead of the planned one (overrides
        ``probing_distance``).
    control_variate : bool
        Also measure every colour's contribution with that of the homogeneous band
        subtracted (:math:`z^T \mathcal B_0 z` by FFT, its exact trace added back, see the
        module docstring) and keep whichever of the two estimators the first draws measure
        less noisy; with an automatic plan, first try both on a coarse sublattice (the
        pilot) and plan the colouring from the noise measured there.
    gap : float, optional
        A spectral gap of the band's BdG matrix (no eigenvalue in (-gap, gap)): the kernel
        and tanh are expanded for g <= |E| only, with fewer moments where the gap is more
        than about T (:func:`~largebdg.observables.stiffness_stochastic.kernel_expansion`).
        Default: certified here (:func:`certified_gap`); 0: the whole window.

    Returns
    -------
    stiffness : float
        :math:`D_s = \langle -k_x\rangle - \Lambda` (SWZ), as ``exact_stiffness``.
    uncertainty : float
        ``k * stderr + truncation_bound``: the half-width of a two-sided 99 %
        confidence interval of the probing noise (k from Student's t with the
        pooled degrees of freedom) plus a bound on the expansion error.
    info : dict
        ``stderr``, ``k``, ``dof``, ``truncation_bound``, ``kernel_sup_error``,
        ``num_moments``, ``rank``, ``scale``, ``lattice`` ((a, b, c), ("square", d)
        or None), ``probing_distance`` (shortest distance between equal colours),
        ``num_colours``, ``num_draws``, ``num_vectors`` (start vectors, each one
        recursion on two columns, abandoned draws included), ``mode``
        ("colour-signed", "exact-trace" or "exact-trace (after colour-signed draws)"),
        ``model_stderr`` (clean-band prediction for the chosen plan),
        ``kinetic``, ``correlator``, ``diamagnetic``, ``target_met``,
        ``draw_estimates`` (D_s per draw), ``control_variate`` (whether the kept estimator
        subtracts the homogeneous band), ``pilot`` (the pilot's lattice, vectors and
        measured standard errors without and with the control variate, or None),
        ``gap`` (the spectral gap the expansions were made for), ``seconds``.

    Raises
    ------
    ParameterError
        On invalid input (T <= 0 included).

    Notes
    -----
    Method, derivation and error model: see the module docstring.  The draws use
    the same colouring; each draw is an independent unbiased estimate.

    Examples
    --------
    >>> import numpy as np
    >>> from largebdg.observables.stiffness import exact_stiffness
    >>> rng = np.random.default_rng(0)
    >>> onsite = 4.0 * (rng.random(144) < 0.5) - 1.0
    >>> delta = np.full(144, 0.3)
    >>> ds, err, info = kpm_stiffness(12, 1.0, onsite, delta, 0.15, seed=1)
    >>> abs(ds - exact_stiffness(12, 1.0, onsite, delta, 0.15)) <= err
    True
    """
    t_start = time.perf_counter()
    L, t, onsite, delta, T, tolerance, probing_distance, num_draws = _common_inputs(
        L, t, onsite, delta, T, tolerance, direction, probing_distance, num_draws)
    if max_draws is not None:
        max_draws = v.positive_int("max_draws", max_draws, minimum=2)
    bound_safety = v.real("bound_safety", bound_safety, 0.0)
    memory_limit = v.positive_int("memory_limit", memory_limit)
    if kinetic is not None:
        kinetic = v.real("kinetic", kinetic)
    N = L * L
    if scale is None:
        scale = band_window(L, t, onsite, delta, bound_safety=bound_safety)
    scale = v.real("scale", scale, 0.0, low_open=True)
    gap = _resolve_gap(gap, L, t, onsite, delta, T, scale)

    # ---- deterministic part: kernel (and tanh) expansion within its budget
    given, with_tanh = kinetic, kinetic is None
    trunc_budget = _TRUNC_SHARE * tolerance
    kin_share = 0.5 if with_tanh else 0.0
    kernel_tol = (1 - kin_share) * trunc_budget / (4 * t * t)
    M, kcoeffs, lam, ksup = _kernel(T, scale, kernel_tol, gap)
    truncation = _SAFETY * 4 * t * t * ksup
    coeffs = kcoeffs
    if with_tanh:
        tanh_tol = kin_share * trunc_budget / (2 * abs(t)) / _SAFETY
        M = max(M, moments_for_tolerance(T, scale, tanh_tol, gap=gap))
        tanh_c = tanh_coefficients(T, scale, M, gap)
        if coeffs.shape[0] < M:
            coeffs = np.vstack([coeffs, np.zeros((M - coeffs.shape[0], coeffs.shape[1]))])
        coeffs = np.column_stack([tanh_c, coeffs])
        truncation += _SAFETY * 2 * abs(t) * _tanh_sup_error(tanh_c, scale, T, gap)
    M = coeffs.shape[0]

    # ---- plan: probing distance and draws from the clean-band model
    k_nominal = scipy.stats.norm.ppf(0.5 + _CONFIDENCE / 2)
    stat_budget = max(tolerance - truncation, 0.0)
    target = stat_budget / k_nominal
    Bclean = _clean_model_B(L, t, *_clean_band(onsite, delta), T, direction)
    min_draws = 2 if num_draws is None else int(num_draws)
    cap = 64 if num_draws is None else int(num_draws)
    user_lattice = lattice is not None
    if user_lattice:
        a_, b_, c_ = (int(x) for x in lattice)
        if a_ < 1 or c_ < 1 or L % a_ or L % c_ or ((L // c_) * b_) % a_:
            raise ParameterError(
                f"'lattice' {lattice} is not a sublattice of the {L} x {L} torus")
        lattice = (a_, b_, c_)
        R = sublattice_vectors(L, *lattice)
        d, model_sd = shortest_vector(L, R), _std_from_offsets(Bclean, L, R)
        col = sheared_colouring(L, *lattice)
        draws = min_draws if num_draws is not None else max(
            min_draws, min(cap, math.ceil((_MODEL_SAFETY * model_sd / max(target, 1e-300)) ** 2)))
    elif probing_distance is None:
        lattice, draws, model_sd, d = _plan(L, Bclean, target, min_draws, cap,
                                            allow_exact=num_draws is None)
        if lattice is None and num_draws is not None:  # exact trace refused: finest lattice
            lattice, d = (L, 0, L), float(L)
            model_sd = 0.0
        if lattice is not None:
            col = sheared_colouring(L, *lattice)
    else:
        d = int(probing_distance)
        col = colouring(L, min(d, L))
        lattice = ("square", d)
        model_sd = _std_from_offsets(Bclean, L, square_lattice_vectors(L, d))
        draws = min_draws if num_draws is not None else max(
            min_draws, min(cap, math.ceil((_MODEL_SAFETY * model_sd / max(target, 1e-300)) ** 2)))
    exact_mode = lattice is None
    C = int(col.max() + 1) if not exact_mode else 2 * N
    if max_draws is None:
        max_draws = max(8, 4 * draws) if num_draws is None else draws

    stencil = BdGStencil(neighbour_table(L), t, onsite, delta, scale)
    current = CurrentOperator(L, t, direction)
    block = default_block_size(N)

    def combine(hop, trace):
        # contribution of each start vector to N * D_s (kinetic part only if probed)
        kin = -2.0 * t * hop if with_tanh else 0.0
        return kin - trace, (kin if with_tanh else np.zeros_like(trace)), trace

    def exact_trace():
        def units(a, b):
            return unit_block(2 * N, np.arange(a, b))

        hop, trace = _run_vectors(units, 2 * N, block, stencil, current, coeffs, lam,
                                  with_tanh, memory_limit)
        q, kin_q, corr_q = combine(hop, trace)
        ds = float(q.sum() / N + (given or 0.0))
        kin = float(kin_q.sum() / N) if with_tanh else given
        return ds, kin, float(corr_q.sum() / N)

    spent = 0  # start vectors of abandoned colour-signed draws
    may_switch = num_draws is None and probing_distance is None and not user_lattice
    cv, pilot = None, None  # the kept estimator (None: not yet chosen), the pilot's record
    clean_trace = 2 * N * float(Bclean[0, 0])  # Tr B_0 over both Nambu blocks
    rng = np.random.default_rng(seed)
    clean_k = np.fft.fft2(Bclean).real if control_variate else None

    def draw_once(classes):
        """One draw over every colour: (contribution, kinetic, correlator, z^T B_0 z)."""
        s = 2.0 * rng.integers(0, 2, 2 * N) - 1.0
        quad = np.zeros(len(classes))

        def colour_block(a, b):
            X0 = signed_colour_block(s, classes, range(a, b))
            if clean_k is not None:
                quad[a:b] = _clean_quadratic(X0, clean_k, L)
            return X0

        hop, trace = _run_vectors(colour_block, len(classes), block, stencil, current,
                                  coeffs, lam, with_tanh, memory_limit)
        return (*combine(hop, trace), quad)

    def contributions(rows, use_cv):  # (draws, C); the control variate adds z^T B_0 z
        return np.array([r[0] + r[3] if use_cv else r[0] for r in rows])

    def choose(rows):  # the estimator the first draws measure less noisy
        plain = _pooled(contributions(rows, False), N)[0]
        corrected = _pooled(contributions(rows, True), N)[0] if control_variate else math.inf
        return corrected < plain, plain, corrected

    rows, replans = [], 0
    if control_variate and may_switch:  # start on a coarse pilot and plan from its noise
        planned = 2 * N if exact_mode else C * draws
        found = _pilot_lattice(L, Bclean, int(_PILOT_SHARE * planned / 2))
        if found is not None:
            lattice, model_sd, d = found
            col, exact_mode = sheared_colouring(L, *lattice), False
            C, draws = lattice[0] * lattice[2], 2
            pilot = {"lattice": lattice, "num_vectors": 2 * C}

    while not exact_mode:
        classes = colour_classes(col)
        while len(rows) < draws:
            rows.append(draw_once(classes))
        if cv is None:
            cv, plain, corrected = choose(rows)
            if pilot is not None:
                pilot["stderr"] = [plain, corrected]
        Qa = contributions(rows, cv)  # (draws, C)
        n = Qa.shape[0]
        stderr, dof, kfac = _pooled(Qa, N)
        if num_draws is not None or kfac * stderr <= stat_budget:
            break
        need = math.ceil(n * (kfac * stderr / max(stat_budget, 1e-300)) ** 2 * 1.1)
        if may_switch and replans < _MAX_REPLANS:
            # the model's noise rescaled to what these draws measured: a finer lattice (or
            # the exact trace) where that costs less than the draws still needed here
            # (at most _GROWTH times the colours: the model's shape is rough, so the noise is
            # measured again on the way; 128², T = 0.025, band 1: 4 colours -> 1024 in one
            # step left its error 1e5 times below the budget)
            ratio = stderr * math.sqrt(n) / max(model_sd, 1e-300)
            cmax = _GROWTH * C if _GROWTH * C < N else None
            lattice2, draws2, sd2, d2 = _plan(L, Bclean, target / max(ratio, 1e-300), 2, cap,
                                              cmax=cmax)
            if lattice2 is None and cmax is not None:  # none within reach: the least noisy
                found = _pilot_lattice(L, Bclean, cmax)
                if found is not None:
                    (lattice2, sd2, d2), draws2 = found, 2
            C2 = 2 * N if lattice2 is None else lattice2[0] * lattice2[2]
            if C2 > C and (C2 if lattice2 is None else C2 * draws2) < C * (need - n):
                spent, rows, replans = spent + C * n, [], replans + 1
                if lattice2 is None:
                    exact_mode = True
                    break
                lattice, col, d, model_sd = lattice2, sheared_colouring(L, *lattice2), d2, sd2
                C, draws, max_draws = C2, draws2, max(8, 4 * draws2)
                continue
        if may_switch and C * (need - n) >= 2 * N:
            # the noise is so large that the exact trace is cheaper
            exact_mode, spent = True, spent + C * n
            break
        if n >= max_draws:
            break
        draws = int(min(max_draws, max(need, n + 1)))

    if exact_mode:
        cv = False
        ds, kinetic, correlator = exact_trace()
        stderr, dof, kfac, draws_done = 0.0, math.inf, 0.0, 0
        draw_estimates = np.array([ds])
        num_vectors, d_used, C_used = 2 * N + spent, L, 2 * N
        mode = "exact-trace" if not spent else "exact-trace (after colour-signed draws)"
        lattice = None
    else:
        draws_done = n
        offset = clean_trace if cv else 0.0  # Tr B_0, whose probes the control variate removed
        draw_estimates = (Qa.sum(axis=1) - offset) / N + (given or 0.0)
        ds = float(draw_estimates.mean())
        kinetic = (float(np.array([r[1] for r in rows]).sum(axis=1).mean() / N) if with_tanh
                   else given)
        removed = [r[3].sum() - clean_trace if cv else 0.0 for r in rows]
        correlator = float(np.mean([r[2].sum() - x for r, x in zip(rows, removed)]) / N)
        num_vectors, d_used, C_used = C * n + spent, d, C
        mode = "colour-signed"

    uncertainty = kfac * stderr + truncation
    info = {
        "mode": mode, "stderr": stderr, "k": kfac, "dof": dof,
        "truncation_bound": truncation, "kernel_sup_error": ksup,
        "num_moments": int(M), "rank": int(lam.size), "scale": scale,
        "probing_distance": float(d_used), "num_colours": int(C_used), "lattice": lattice,
        "num_draws": int(draws_done), "num_vectors": int(num_vectors),
        "model_stderr": (model_sd / math.sqrt(draws_done)) if draws_done else 0.0,
        "kinetic": kinetic, "correlator": correlator,
        "diamagnetic": "stochastic" if with_tanh else "given",
        "target_met": bool(uncertainty <= tolerance),
        "draw_estimates": draw_estimates, "tolerance": tolerance,
        "control_variate": bool(cv), "pilot": pilot,
        "gap": gap, "seconds": time.perf_counter() - t_start,
    }
    return float(ds), float(uncertainty), info


_KIN_MIN_COLOURS = 256  # first colouring tried: enough colours for a pooled variance


def _kinetic_ladder(L, probing_distance):
    """Colourings to try: ``(d, C)`` by increasing d; d = L is the exact trace."""
    if probing_distance is not None:
        d = min(int(probing_distance), L)
        return [(d, L * L if d >= L else colour_count(L, d))]
    ladder = [(d, colour_count(L, d)) for d in probing_distances(L) if d < L]
    ladder = [x for x in ladder if x[1] >= _KIN_MIN_COLOURS and 2 * x[1] < L * L]
    return ladder + [(L, L * L)]


def kpm_kinetic(L, t, onsite, delta, T, *, tolerance=2.5e-5, seed=None, direction="x",
                probing_distance=None, num_draws=None, max_draws=16, scale=None,
                bound_safety=BOUND_SAFETY, block_size=16, control_variate=True, gap=None):
    r"""Diamagnetic term :math:`\langle -k_x\rangle` of one band by colour-signed probing.

    :math:`\langle -k_x\rangle = (2t/N)\sum_i b^x_i` (paper Eq. 33,
    :func:`~largebdg.observables.current.kinetic_energy_x`) with
    :math:`b^x_i = -\tau_{i+x,i}`, :math:`\tau = \tanh(H/2T)` (particle block, as
    :meth:`largebdg.engines.base.LocalAverages.from_tau`).  Only the lattice *mean* of
    the bond averages enters the stiffness, so it is estimated as a trace: one draw
    takes Rademacher signs :math:`s_i` and the C start vectors
    :math:`z_c = \sum_{i\in c} s_i e_i` of the distance-d colouring
    (:func:`largebdg.kpm.probing.colouring`); :math:`s_i (\tau z_c)_{i+x}` estimates
    :math:`\tau_{i+x,i}` without bias, the sites of equal colour adding zero-mean
    noise.  Unlike deterministic probing (all :math:`s_i = 1`, whose error at every
    site is a bias of the same sign for the clean weak band, where :math:`\tau` decays
    slowly), this noise averages out over the N sites: its standard error falls like
    1/L, so a short distance suffices at large L.

    Error model: ``uncertainty = k * stderr + truncation``, with ``stderr`` pooled
    over the per-colour variances of the draws and ``k`` the 99 % Student-t factor,
    exactly as :func:`kpm_stiffness`, and ``truncation`` = 2 x 2|t| times the measured
    sup of the tanh expansion error (a bound for every matrix element of
    :math:`\tau`).  About 15 % of ``tolerance`` goes to the truncation.

    Plan: the first colouring with at least 256 colours (and fewer than N/2) is tried
    with two draws; while the measured ``k * stderr`` exceeds its budget, the draws
    that would be needed at this distance are estimated, and the largest distance
    whose two draws cost no more (or the N unit vectors: the exact trace) is taken
    instead when there is one, else more draws are added (up to ``max_draws``).
    The reported error is always the measured one.

    Control variate: the same start vectors also give the bond sum of the homogeneous band
    (mean onsite energy, rms gap), :math:`\sum_{i} z_i (\tau_0 z)_{i+x}` by FFT
    (:func:`_clean_bond_k`), whose mean :math:`N\tau_0(x)` is known exactly; subtracting it
    and adding the mean back leaves the estimate unbiased and, for a band close to
    homogeneous (the clean band 2), removes most of the noise.  The first draws decide
    whether it is kept (the smaller measured noise).

    Parameters
    ----------
    L : int
        Linear lattice size, N = L*L sites.
    t : float
        Hopping of the band (matrix element -t).
    onsite, delta : array_like, shape (L*L,)
        Particle-block diagonal :math:`V_i - g n_i/2 - \mu` and real gap.
    T : float
        Temperature (> 0).
    tolerance : float
        Requested ``uncertainty`` of :math:`\langle -k\rangle` (absolute, per site).
    seed : int, SeedSequence or Generator, optional
        For ``numpy.random.default_rng`` (the signs).
    direction : {"x", "y"}
    probing_distance : int, optional
        Use only the distance-d colouring (d >= L: the exact trace).
    num_draws : int, optional
        Exactly this many draws (>= 2) instead of the adaptive number.
    max_draws : int
        Upper limit of the adaptive draws at one distance.
    scale : float, optional
        Half-width of the Chebyshev window; default
        :func:`~largebdg.operators.window.band_window` with ``bound_safety``.
    bound_safety : float
    block_size : int
        Start vectors per recursion block.
    control_variate : bool
        Allow the control variate (above).
    gap : float, optional
        A spectral gap of the band (as for :func:`kpm_stiffness`; default: certified here,
        0: the whole window): the gapped tanh series of :mod:`largebdg.kpm.coefficients`.

    Returns
    -------
    kinetic : float
    uncertainty : float
    info : dict
        ``stderr``, ``k``, ``dof``, ``truncation_bound``, ``num_moments``, ``scale``,
        ``probing_distance`` (L for the exact trace), ``num_colours``, ``num_draws``,
        ``num_vectors`` (all start vectors, abandoned distances included), ``mode``
        ("colour-signed" or "exact-trace"), ``control_variate`` (kept), ``gap``, ``target_met``,
        ``seconds``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> onsite = 4.0 * (rng.random(1024) < 0.5) - 1.0
    >>> delta = np.full(1024, 0.3)
    >>> kin, err, info = kpm_kinetic(32, 1.0, onsite, delta, 0.15, seed=1)
    >>> info["mode"], info["num_colours"]
    ('colour-signed', 256)
    """
    t_start = time.perf_counter()
    L, t, onsite, delta, T, tolerance, probing_distance, num_draws = _common_inputs(
        L, t, onsite, delta, T, tolerance, direction, probing_distance, num_draws)
    max_draws = v.positive_int("max_draws", max_draws, minimum=2)
    block_size = v.positive_int("block_size", block_size)
    N = L * L
    if scale is None:
        scale = band_window(L, t, onsite, delta, bound_safety=bound_safety)
    scale = v.real("scale", scale, 0.0, low_open=True)

    gap = _resolve_gap(gap, L, t, onsite, delta, T, scale)
    M = moments_for_tolerance(T, scale, _TRUNC_SHARE * tolerance / (2 * abs(t)) / _SAFETY,
                              gap=gap)
    coeffs = tanh_coefficients(T, scale, M, gap)
    truncation = _SAFETY * 2 * abs(t) * _tanh_sup_error(coeffs, scale, T, gap)
    stat_budget = max(tolerance - truncation, 0.0)
    stencil = BdGStencil(neighbour_table(L), t, onsite, delta, scale)
    across = neighbour_index(L, direction)
    rng = np.random.default_rng(seed)

    bond_k = (2 * t * _clean_bond_k(L, t, *_clean_band(onsite, delta), T, direction)
              if control_variate else None)
    cv = None  # the kept estimator, chosen on the first draws

    def contributions(colour, signs):
        """Per colour: 2t x the sum over its sites of the estimated bond averages, and with
        ``bond_k`` the same minus that of the homogeneous band (whose mean is added back)."""
        C = int(colour.max()) + 1
        q, clean = np.zeros(C), np.zeros(C)
        for first, (X0, sites, col) in zip(range(0, C, block_size), colour_blocks(
                colour, 2 * N, np.arange(C), block_size, signs)):
            tau = chebyshev_series(stencil, coeffs, X0, across[sites], col)
            bonds = -tau if signs is None else -signs[sites] * tau
            np.add.at(q, colour[sites], 2 * t * bonds)
            if bond_k is not None and signs is not None:
                clean[first:first + X0.shape[1]] = -_clean_quadratic(X0, bond_k, L)
        return q, q - clean

    def estimates(rows, use_cv):  # (draws, C): plain, or minus the homogeneous band's
        return np.array([r[1] if use_cv else r[0] for r in rows])

    ladder = _kinetic_ladder(L, probing_distance)
    spent, k, stderr, dof, kfac = 0, 0, 0.0, math.inf, 0.0
    while True:
        d, C = ladder[k]
        if d >= L:
            kinetic, n = float(contributions(colouring(L, L), None)[0].sum() / N), 0
            stderr, dof, kfac, cv = 0.0, math.inf, 0.0, False
            spent += N
            break
        Q, colour = [], colouring(L, d)
        draws = num_draws or 2
        while True:
            while len(Q) < draws:
                Q.append(contributions(colour, 2.0 * rng.integers(0, 2, N) - 1.0))
            if cv is None:
                cv = bond_k is not None and (_pooled(estimates(Q, True), N)[0]
                                             < _pooled(estimates(Q, False), N)[0])
            n = len(Q)
            stderr, dof, kfac = _pooled(estimates(Q, cv), N)
            if num_draws is not None or kfac * stderr <= stat_budget:
                break
            need = math.ceil(n * (kfac * stderr / max(stat_budget, 1e-300)) ** 2 * 1.1)
            # the largest colouring whose two draws (or the exact trace) cost no more
            cheaper = [j for j in range(k + 1, len(ladder))
                       if (ladder[j][1] if ladder[j][0] >= L else 2 * ladder[j][1]) <= C * need]
            if cheaper or n >= max_draws:
                break
            draws = min(max_draws, max(need, n + 1))
        spent += C * n
        if num_draws is not None or kfac * stderr <= stat_budget or not cheaper:
            clean_mean = -N * float(bond_k.mean()) if cv else 0.0  # of the subtracted sums
            kinetic = float((estimates(Q, cv).sum(axis=1).mean() + clean_mean) / N)
            break
        k = cheaper[-1]
    uncertainty = kfac * stderr + truncation
    info = {
        "mode": "exact-trace" if d >= L else "colour-signed", "stderr": stderr, "k": kfac,
        "dof": dof, "truncation_bound": truncation, "num_moments": int(M), "scale": scale,
        "probing_distance": int(d), "num_colours": int(min(C, N)), "num_draws": int(n),
        "num_vectors": int(spent), "target_met": bool(uncertainty <= tolerance),
        "control_variate": bool(cv), "tolerance": tolerance,
        "gap": gap, "seconds": time.perf_counter() - t_start,
    }
    return kinetic, float(uncertainty), info
