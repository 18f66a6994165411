r"""Start vectors of the Chebyshev recursion: unit, probing (colour sums) and random.

A consumer of :func:`largebdg.kpm.recursion.chebyshev_vectors` chooses its
start block here:

* :func:`unit_block` -- one unit vector :math:`e_i` per site (exact columns);
* :func:`colour_blocks` -- the probing vectors :math:`\sum_{j \in c} e_j` of a
  lattice colouring (:func:`largebdg.kpm.probing.colouring`), in blocks;
  with one site per colour they are unit vectors;
* :func:`random_block` -- Rademacher or Gaussian vectors for stochastic traces;
* :func:`signed_colour_block` -- colour-signed vectors
  :math:`\sum_{j \in c} s_j e_j` (random signs inside the classes of a colouring,
  particle and hole rows of a site in the same vector) for probed stochastic traces.
"""

import numpy as np

__all__ = ["DISTRIBUTIONS", "unit_block", "colour_blocks", "random_block", "colour_classes",
           "signed_colour_block"]

DISTRIBUTIONS = ("rademacher", "gaussian")
"""Distributions of :func:`random_block`."""


def unit_block(n_rows, sites):
    """Unit vectors e_i (particle row i) of ``sites`` as the columns of an (n_rows, K) block."""
    sites = np.asarray(sites, dtype=np.int64)
    X0 = np.zeros((n_rows, sites.size))
    X0[sites, np.arange(sites.size)] = 1.0
    return X0


def colour_blocks(colour, n_rows, colours, block_size, signs=None):
    """Probing start vectors, one per colour, in blocks of at most ``block_size`` columns.

    Parameters
    ----------
    colour : ndarray of int, shape (N,)
        Colour of every site.
    n_rows : int
        Length of a vector (2N for a BdG band: particle rows first).
    colours : ndarray of int
        The colours to make vectors of (e.g. this MPI rank's share).
    block_size : int
    signs : ndarray, shape (N,), optional
        Colour-signed probing: the entry of site i is ``signs[i]`` instead of 1, so that
        ``signs[i] * (f(H) X0)[r(i), k]`` estimates :math:`f(H)_{r(i), i}` without bias
        (equal-colour sites add zero-mean noise instead of a bias).

    Yields
    ------
    X0 : ndarray, shape (n_rows, K)
        Column k is the sum of the unit vectors (particle rows) of the sites of colour
        ``colours[start + k]`` (times their ``signs``).
    sites : ndarray of int
        The sites of the block, grouped by column.
    col : ndarray of int
        The column of each entry of ``sites``.
    """
    C = int(colour.max()) + 1
    order = np.argsort(colour, kind="stable")
    first = np.searchsorted(colour[order], np.arange(C + 1))
    for start in range(0, colours.size, block_size):
        cols = colours[start: start + block_size]
        X0 = np.zeros((n_rows, cols.size))
        sites = np.concatenate([order[first[c]: first[c + 1]] for c in cols])
        col = np.repeat(np.arange(cols.size), first[cols + 1] - first[cols])
        X0[sites, col] = 1.0 if signs is None else signs[sites]
        yield X0, sites, col


def random_block(rng, n_rows, B, distribution="rademacher"):
    """B random columns, drawn one after the other (so blocking does not change the stream)."""
    X = np.empty((n_rows, B))
    for j in range(B):
        if distribution == "rademacher":
            X[:, j] = 2.0 * rng.integers(0, 2, n_rows) - 1.0
        else:
            X[:, j] = rng.standard_normal(n_rows)
    return X


def colour_classes(colour):
    """The sites of every colour 0..C-1 (stable order), as a list of index arrays."""
    colour = np.asarray(colour)
    C = int(colour.max()) + 1
    order = np.argsort(colour, kind="stable")
    starts = np.concatenate([[0], np.cumsum(np.bincount(colour, minlength=C))])
    return [order[starts[c]: starts[c + 1]] for c in range(C)]


def signed_colour_block(signs, classes, colours):
    r"""Colour-signed start vectors :math:`z_c = \sum_{j \in c} s_j e_j`, one column per colour.

    Parameters
    ----------
    signs : ndarray, shape (2N,)
        One sign (e.g. Rademacher) per Nambu entry, particle rows first.
    classes : list of ndarray of int
        Sites of every colour (:func:`colour_classes`).
    colours : iterable of int
        The colours of the columns.

    Returns
    -------
    ndarray, shape (2N, len(colours))
        Column k holds ``signs`` on the particle row i and the hole row i + N of every
        site i of colour ``colours[k]``, zeros elsewhere.
    """
    N2 = signs.shape[0]
    N = N2 // 2
    colours = list(colours)
    X0 = np.zeros((N2, len(colours)))
    for jj, c in enumerate(colours):
        idx = classes[c]
        X0[idx, jj] = signs[idx]
        X0[idx + N, jj] = signs[idx + N]
    return X0
