r"""The two-band model and the sparse BdG operator of one band.

Notes
-----
Per band :math:`\nu` the mean-field Hamiltonian (paper Eqs. 8, 10-12) in the
Nambu basis :math:`(c_{i\uparrow}, c^\dagger_{i\downarrow})` is the real
symmetric :math:`2L^2 \times 2L^2` matrix

.. math::

    H_\nu = \begin{pmatrix} \tilde h_\nu & \Delta_\nu \\ \Delta_\nu & -\tilde h_\nu
    \end{pmatrix}, \qquad
    \tilde h_{\nu ij} = -t_\nu \delta_{\langle ij \rangle}
    + (V_{\nu i} - g_\nu n_{\nu i}/2 - \mu_\nu)\,\delta_{ij},

with nearest-neighbour hopping matrix element :math:`-t_\nu`, the disorder
potential counted once, the Hartree shift :math:`-g_\nu n_{\nu i}/2` of the
total density, and :math:`\Delta_\nu = \mathrm{diag}(\Delta_{\nu i})` real
(CONVENTIONS.md).  The diagonal of the particle block is called ``onsite``
in the code: ``onsite = V - g n / 2 - mu``.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from . import _validate as v
from .errors import ParameterError
from .lattice import hopping_pattern

__all__ = ["TwoBandModel", "BdGPattern"]


@dataclass(frozen=True)
class TwoBandModel:
    """Parameters of the disordered two-band model on an L x L lattice.

    Parameters
    ----------
    L : int
        Linear lattice size (>= 3).
    t, g : tuple of float
        Hopping and intra-band coupling of band 1 and band 2.
    g12 : float
        Inter-band pair-transfer coupling, paper Eq. (4).
    filling : tuple of float
        Target filling of each band (lattice average of n_nu i, both spins).
    potential : ndarray, shape (2, L, L)
        Disorder potential V_nu i of each band, indexed ``[band, y, x]``.
    common_mu : bool
        One chemical potential for both bands holding ``sum(filling)``, with the
        clean-limit band offsets (:func:`largebdg.scf.clean_chemical_potentials`).
    """

    L: int
    t: tuple = (1.0, 1.0)
    g: tuple = (2.0, 1.0)
    g12: float = 0.25
    filling: tuple = (0.5, 0.8)
    potential: np.ndarray = None
    common_mu: bool = False

    def __post_init__(self):
        v.positive_int("L", self.L, minimum=3)
        pot = self.potential
        if pot is None:
            pot = np.zeros((2, self.L, self.L))
        pot = np.asarray(pot, dtype=float)
        if pot.shape != (2, self.L, self.L):
            raise ParameterError(
                f"'potential' must have shape (2, {self.L}, {self.L}), got {pot.shape}"
            )
        if not np.all(np.isfinite(pot)):
            raise ParameterError("'potential' must be finite (no NaN or inf)")
        object.__setattr__(self, "potential", pot)

    @property
    def n_sites(self):
        """Number of lattice sites L*L."""
        return self.L * self.L


class BdGPattern:
    """Fixed CSR sparsity pattern of one band's BdG matrix, with cheap value updates.

    The pattern is built once from NumPy index arrays; :meth:`values` maps
    (t, onsite, delta) to the CSR data array, so every self-consistency step
    rewrites values only (the same arrays feed PETSc's ``setValuesCSR``).
    Rows ``0..N-1`` are particle rows, ``N..2N-1`` hole rows.
    """

    def __init__(self, L):
        self.L = v.positive_int("L", L, minimum=3)
        N = self.n_sites = L * L
        hr, hc = hopping_pattern(L)
        sites = np.arange(N, dtype=np.int64)
        rows = np.concatenate([hr, sites, sites, hr + N, sites + N, sites + N])
        cols = np.concatenate([hc, sites, sites + N, hc + N, sites + N, sites])
        order = np.lexsort((cols, rows))
        self._order = order
        self.indices = cols[order].astype(np.int32)
        self.indptr = np.searchsorted(rows[order], np.arange(2 * N + 1)).astype(np.int32)
        self.shape = (2 * N, 2 * N)

    def values(self, t, onsite, delta):
        """CSR data of H for hopping ``t``, particle diagonal ``onsite`` and gap ``delta``."""
        N = self.n_sites
        hop = np.full(4 * N, -float(t))
        unordered = np.concatenate([hop, onsite, delta, -hop, -onsite, delta])
        return unordered[self._order]

    def matrix(self, t, onsite, delta):
        """The BdG matrix as a SciPy CSR matrix."""
        return sp.csr_matrix(
            (self.values(t, onsite, delta), self.indices, self.indptr), shape=self.shape
        )
