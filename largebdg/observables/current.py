r"""The paramagnetic current and the kinetic energy of one band, shared by the stiffness methods.

The current at :math:`q = 0` along :math:`e` is :math:`J = i\,\tilde A` in the Nambu
basis, :math:`\tilde A = \mathrm{diag}(A, A)` real antisymmetric with
:math:`A_{i+e,i} = -A_{i,i+e} = t` (both Nambu blocks carry the same sign; see
the notes of :mod:`largebdg.observables.stiffness`).
"""

import numpy as np
import scipy.sparse as sp

from .. import _validate as v
from ..errors import ParameterError
from ..model.lattice import neighbour_index

__all__ = ["kinetic_energy_x", "current_matrix", "CurrentOperator", "site_array"]


def site_array(name, value, L):
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
        real, as in :class:`largebdg.engines.base.LocalAverages`.  Passing
        ``bond_y`` gives :math:`\langle -k_y \rangle`.

    Returns
    -------
    float
        :math:`(t/N) \sum_{i\sigma} \langle c^\dagger_{i+x,\sigma} c_{i\sigma}
        + \mathrm{h.c.}\rangle = (2t/N) \sum_i b^x_i` with N = L*L.
    """
    L = v.positive_int("L", L)
    t = v.real("t", t)
    bond_x = site_array("bond_x", bond_x, L)
    return 2.0 * t * float(np.mean(bond_x))


def current_matrix(L, t, direction="x"):
    r"""The real antisymmetric :math:`\tilde A = \mathrm{diag}(A, A)` as a SciPy CSR matrix."""
    N = L * L
    nb = neighbour_index(L, direction)
    sites = np.arange(N)
    # A_{i+e, i} = t, A_{i, i+e} = -t, in both Nambu blocks (J = i diag(A, A))
    rows = np.concatenate([nb, sites, nb + N, sites + N])
    cols = np.concatenate([sites, nb, sites + N, nb + N])
    vals = np.tile(np.concatenate([np.full(N, t), np.full(N, -t)]), 2)
    return sp.csr_matrix((vals, (rows, cols)), shape=(2 * N, 2 * N))


class CurrentOperator:
    r"""Matrix-free :math:`\tilde A`: :math:`(\tilde A v)_i = t (v_{i-e} - v_{i+e})`.

    Parameters
    ----------
    L : int
    t : float
    direction : {"x", "y"}
    """

    def __init__(self, L, t, direction):
        N = L * L
        plus = neighbour_index(L, direction)
        minus = np.argsort(plus)
        self.plus = np.concatenate([plus, plus + N])
        self.minus = np.concatenate([minus, minus + N])
        self.t = t

    def __call__(self, X):
        """Apply the operator to the columns of ``X``."""
        return self.t * (X[self.minus] - X[self.plus])
