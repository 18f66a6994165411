"""Geometry of the L x L periodic square lattice.

Sites are numbered i = x + L*y (docs/model.md, Conventions); maps of shape (L, L) are
indexed ``[y, x]`` so that ``map.ravel()[i]`` is site i.
"""

import numpy as np

from .. import _validate as v

__all__ = ["MIN_L", "lattice_size", "neighbour_index", "neighbour_table", "hopping_pattern"]

MIN_L = 3
"""Smallest linear lattice size: below 3 the neighbours i + e and i - e of a periodic
lattice coincide and a bond would be counted twice."""


def lattice_size(L, name="L"):
    """Return ``L`` as ``int`` if it is a valid linear lattice size, an integer >= :data:`MIN_L`."""
    return v.positive_int(name, L, minimum=MIN_L)


def neighbour_index(L, axis):
    """Index of the neighbour i + e_axis of every site (periodic boundaries).

    Parameters
    ----------
    L : int
        Linear size.
    axis : {"x", "y"}
        Bond direction.

    Returns
    -------
    ndarray of int64, shape (L*L,)
    """
    L = lattice_size(L)
    v.choice("axis", axis, ("x", "y"))
    y, x = np.divmod(np.arange(L * L, dtype=np.int64), L)
    if axis == "x":
        return (x + 1) % L + L * y
    return x + L * ((y + 1) % L)


def hopping_pattern(L):
    """Directed nearest-neighbour pairs (i, j) of the lattice, each bond in both directions.

    Returns
    -------
    rows, cols : ndarray of int64, shape (4*L*L,)
    """
    sites = np.arange(L * L, dtype=np.int64)
    nx = neighbour_index(L, "x")
    ny = neighbour_index(L, "y")
    rows = np.concatenate([sites, nx, sites, ny])
    cols = np.concatenate([nx, sites, ny, sites])
    return rows, cols


def neighbour_table(L):
    """The four nearest neighbours of every site, the table of the matrix-free stencil.

    Returns
    -------
    ndarray of int64, shape (L*L, 4)
        Columns i + e_x, i - e_x, i + e_y, i - e_y.
    """
    nx, ny = neighbour_index(L, "x"), neighbour_index(L, "y")
    return np.stack([nx, np.argsort(nx), ny, np.argsort(ny)], axis=1)
