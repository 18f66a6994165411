r"""Clean-system reference values of a configuration: :math:`T_c^{(0)}`, gaps and stiffness.

The clean model is translation invariant, so its real-space solution is the
uniform momentum-space one (:mod:`largebdg.model.clean`), here evaluated with
a configuration's model parameters: the open circles and the :math:`T_c^{(0)}`
of paper Figs. 1 and 2.
"""

from dataclasses import dataclass

import numpy as np

from .. import _validate as v
from ..model.clean import (
    critical_temperature,
    uniform_band_stiffness,
    uniform_solution,
)

__all__ = ["ReferenceTc", "clean_reference_tc", "clean_reference_gaps",
           "clean_reference_stiffness"]


@dataclass(frozen=True)
class ReferenceTc:
    r"""Critical temperature :math:`T_c^{(0)}` of the clean model.

    Attributes
    ----------
    thermodynamic : float
        :math:`T_c^{(0)}` for :math:`L \to \infty`.
    lattice : float
        :math:`T_c^{(0)}` of the finite :math:`L \times L` lattice of the configuration.
    L : int
        That lattice size.
    """

    thermodynamic: float
    lattice: float
    L: int


def clean_reference_tc(config):
    r"""Clean-system :math:`T_c^{(0)}` of a configuration's model (disorder removed).

    Solves the linearised gap equations (9) of the uniform clean model in
    momentum space (:func:`largebdg.model.clean.critical_temperature`) with the
    configuration's hoppings, couplings and per-band fillings, both in the
    thermodynamic limit and on the configuration's lattice.

    Parameters
    ----------
    config : RunConfig

    Returns
    -------
    ReferenceTc

    Examples
    --------
    >>> from largebdg.config import RunConfig
    >>> ref = clean_reference_tc(RunConfig())
    >>> round(ref.thermodynamic, 5), round(ref.lattice, 5)
    (0.10889, 0.10891)
    """
    m = config.model
    kwargs = dict(t=m.t, g=m.g, g12=m.g12, filling=m.filling)
    L = config.lattice.L
    return ReferenceTc(thermodynamic=critical_temperature(**kwargs),
                       lattice=critical_temperature(L=L, **kwargs), L=L)


def clean_reference_gaps(config, T, *, L="lattice"):
    r"""Gaps :math:`\Delta_\nu(T)` of the clean model, the open circles of paper Fig. 1a.

    The clean model is translation invariant, so its real-space solution is the
    uniform momentum-space one (:func:`largebdg.model.clean.uniform_solution`), here
    evaluated with the configuration's model parameters.

    Parameters
    ----------
    config : RunConfig
    T : array_like, shape (n,)
        Temperatures (solved in increasing order, each warm-started from the last).
    L : int, None or "lattice", optional
        Momentum sum over an ``L x L`` lattice, the thermodynamic limit (``None``),
        or the configuration's lattice (default).

    Returns
    -------
    ndarray, shape (n, 2)
        :math:`|\Delta_1|, |\Delta_2|` (zero above :math:`T_c^{(0)}`).
    """
    return np.array([np.abs(sol.delta) for sol in _clean_solutions(config, T, L)])


def _clean_solutions(config, T, L):
    """Uniform solutions of the configuration's clean model at the temperatures ``T``.

    Solved in increasing T, each warm-started from the last; returned in the order of ``T``.
    """
    m = config.model
    L = config.lattice.L if L == "lattice" else L
    T = np.asarray(T, dtype=float).ravel()
    out = [None] * T.size
    guess = None
    for k in np.argsort(T):
        out[k] = uniform_solution(T[k], t=m.t, g=m.g, g12=m.g12, filling=m.filling, L=L,
                                  guess=guess)
        gaps = np.abs(out[k].delta)
        guess = tuple(gaps) if np.all(gaps > 0) else None
    return out


def clean_reference_stiffness(config, T, *, L="lattice"):
    r"""Stiffness :math:`D_{s,\nu}(T)` of the clean model, the open circles of paper Fig. 1g.

    The uniform solution of :func:`clean_reference_gaps` (momentum space, same
    lattice) inserted in :func:`uniform_band_stiffness`; includes the
    finite-lattice normal-state remainder above :math:`T_c^{(0)}`.

    Parameters
    ----------
    config : RunConfig
    T : array_like, shape (n,)
        Temperatures, ``T > 0``.
    L : int or "lattice", optional
        Lattice size of the momentum sum (default the configuration's).

    Returns
    -------
    ndarray, shape (n, 2)
    """
    t = config.model.t
    T = v.positive_array("T", T).ravel()
    return np.array([
        [uniform_band_stiffness(sol.T, sol.mu_tilde[b], sol.delta[b], t=t[b], L=sol.L)
         for b in range(2)]
        for sol in _clean_solutions(config, T, L)
    ])
