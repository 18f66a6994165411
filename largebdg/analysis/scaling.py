r"""Finite-size scaling of a study: point tables, :math:`T_c` per chain with errors, extrapolation.

A study (:mod:`largebdg.workflows.study`, layout in :mod:`largebdg.io.studies`)
holds one temperature sweep per chain (L, seed).  This module turns it into four
tidy tables (one header line, plain numbers, ``NaN`` where missing; written by
:func:`write_study_tables`):

``points.csv``
    one row per solved point (:data:`POINT_COLUMNS`), from
    :func:`largebdg.analysis.tables.sweep_table`;
``tc.csv``
    one row per chain (:data:`TC_COLUMNS`): :math:`T_c^\Delta` of the band-1
    mean gap (Eq. 5) and the stiffness :math:`T_c` of band 2, with the
    policy of :func:`largebdg.analysis.tables.critical_temperatures`
    (unconverged points left out, normal-state baseline subtracted), the
    stiffness :math:`T_c` with a parametric-bootstrap error
    (:func:`stiffness_tc_error`);
``tc_by_L.csv``
    one row per (L, quantity), quantity ``gap`` or ``stiffness``
    (:data:`BY_L_COLUMNS`): seed mean, standard deviation and standard error
    of :math:`T_c` and of :math:`T_c/T_c^{(0)}(L)`;
``extrapolation.csv``
    one row per (quantity, power) (:data:`EXTRAPOLATION_COLUMNS`): the fit
    :math:`T_c/T_c^{(0)} = a + b L^{-p}` of :func:`finite_size_fit` for
    :math:`p = 1` (the primary one, ``primary = 1``) and :math:`p = 2` (a check).

:math:`T_c^{(0)}(L)` is the clean critical temperature of the same lattice
(:func:`largebdg.analysis.reference.clean_reference_tc`); dividing by it removes
the (small) finite-size effects of the clean band, so that the ratio measures
what disorder does at each size.

Why :math:`1/L`
---------------
The leading finite-size correction of a disorder-averaged mean-field
:math:`T_c` is not fixed by a general argument: a self-averaging bulk quantity
of a periodic :math:`L \times L` sample has corrections :math:`\propto L^{-2}`
(one over the number of sites), but :math:`T_c` is set by the largest
superconducting puddles and the paths that connect them, whose statistics on a
finite sample (largest cluster, percolating paths across the box) bring
corrections decaying as slowly as :math:`L^{-1}` or :math:`L^{-1/\nu}`
(:math:`\nu = 4/3` for 2D percolation).  The fit in :math:`1/L` is the
conservative choice: from the same sizes its extrapolation reaches further
and carries the larger uncertainty.  The :math:`1/L^2` fit is reported beside
it; if the two intercepts differ by more than their errors, the sizes are not
yet in the scaling regime and the quoted uncertainty is too small.
"""

import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..config import RunConfig, comparable
from ..errors import AccuracyWarning, ParameterError
from ..io import write_csv_atomic
from ..io.studies import chain_name, read_study
from .critical import stiffness_critical_temperature
from .reference import clean_reference_tc
from .tables import (critical_temperatures, seed_mean, seed_spread, stiffness_baseline,
                     stiffness_inputs, sweep_table)

__all__ = [
    "POINT_COLUMNS",
    "TC_COLUMNS",
    "BY_L_COLUMNS",
    "EXTRAPOLATION_COLUMNS",
    "QUANTITIES",
    "PRIMARY_POWER",
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "StudyTables",
    "stiffness_tc_error",
    "finite_size_fit",
    "study_tables",
    "curves_by_size",
    "write_study_tables",
]

POINT_COLUMNS = (
    "L", "seed", "T", "T_over_Tc0", "mean_gap_1", "mean_gap_2", "max_gap_1", "max_gap_2",
    "delta2_hom", "delta2_eq26", "stiffness_1", "stiffness_1_err", "stiffness_2",
    "stiffness_2_err", "stiffness_2_normal", "converged", "iterations", "wall_time",
)
"""Columns of ``points.csv``: ``mean_gap_nu`` is :math:`\\bar\\Delta_\\nu` of Eq. (5),
``max_gap_nu`` :math:`\\max_i|\\Delta_{\\nu i}|`, ``delta2_hom`` the measured
:math:`\\Delta_2^{(0)}` (5th percentile of :math:`|\\Delta_{2i}|`), ``delta2_eq26`` its
Eq. (26) estimate, ``stiffness_nu`` and ``stiffness_nu_err`` :math:`D_{s,\\nu}` and its
standard error (0 for exact methods, NaN if not computed), ``stiffness_2_normal`` the
normal-state baseline of band 2, ``converged`` 1/0, ``wall_time`` seconds of the solve."""

TC_COLUMNS = (
    "L", "seed", "n_points", "n_converged", "complete", "Tc0", "tc_gap", "tc_gap_crossing",
    "tc_stiffness", "tc_stiffness_err", "tc_stiffness_crossing", "ratio_gap",
    "ratio_stiffness", "ratio_stiffness_err",
)
"""Columns of ``tc.csv``: ``Tc0`` is :math:`T_c^{(0)}(L)`, ``tc_gap`` the
``"extrapolate"`` estimate of the band-1 mean gap and ``tc_gap_crossing`` the
``"crossing"`` one, ``tc_stiffness`` (``tc_stiffness_crossing``) the same for
:math:`D_{s,2}`, ``tc_stiffness_err`` the bootstrap error of ``tc_stiffness``,
``ratio_*`` divided by ``Tc0``; ``complete`` is 1 when every temperature is solved."""

BY_L_COLUMNS = (
    "L", "quantity", "n_seeds", "Tc0", "tc_mean", "tc_std", "tc_sem", "ratio_mean",
    "ratio_std", "ratio_sem",
)
"""Columns of ``tc_by_L.csv`` (``quantity`` is ``gap`` or ``stiffness``): over the seeds
whose chain is complete (every temperature solved) and has a finite :math:`T_c`, the mean,
the standard deviation (ddof = 1) and the standard error of the mean; for a single seed the
standard error is that seed's bootstrap error (stiffness) or NaN (gap)."""

EXTRAPOLATION_COLUMNS = (
    "quantity", "power", "primary", "n_sizes", "weighted", "intercept", "intercept_err",
    "slope", "slope_err", "chi2", "dof",
)
"""Columns of ``extrapolation.csv``: the fit of :func:`finite_size_fit` of
``ratio_mean`` against :math:`L^{-p}` (``power`` p); ``intercept`` is
:math:`T_c/T_c^{(0)}` for :math:`L \\to \\infty`."""

QUANTITIES = ("gap", "stiffness")
"""The two critical temperatures of a chain: of the band-1 mean gap and of :math:`D_{s,2}`."""

PRIMARY_POWER = 1
"""Power p of the quoted extrapolation in :math:`L^{-p}` (see the module docstring)."""

BOOTSTRAP_RESAMPLES = 200
"""Resampled stiffness curves per chain in :func:`stiffness_tc_error`."""

BOOTSTRAP_SEED = 20251113
"""Fixed seed of the bootstrap, so that a report is reproducible."""


@dataclass
class StudyTables:
    """The tables of a study (lists of row dicts keyed by the column tuples).

    Attributes
    ----------
    definition : dict
        The ``study.json`` of the (first) study directory.
    points, tc, by_L, extrapolation : list of dict
        Rows of ``points.csv``, ``tc.csv``, ``tc_by_L.csv`` and ``extrapolation.csv``.
    sources : tuple of pathlib.Path
        The study directories read.
    """

    definition: dict
    points: list
    tc: list
    by_L: list
    extrapolation: list
    sources: tuple = ()

    def fit(self, quantity, power=PRIMARY_POWER):
        """The extrapolation row of ``quantity`` at ``power``."""
        for row in self.extrapolation:
            if row["quantity"] == quantity and row["power"] == power:
                return row
        raise ParameterError(f"no extrapolation of {quantity!r} in 1/L^{power}")


# --------------------------------------------------------------------------- errors and fits


def stiffness_tc_error(T, Ds, stderr, *, baseline=None, resamples=BOOTSTRAP_RESAMPLES,
                       seed=BOOTSTRAP_SEED):
    r"""Standard error of the stiffness :math:`T_c` from the point errors (parametric bootstrap).

    Each resample replaces :math:`D_s(T_i)` by :math:`D_s(T_i) + \sigma_i z_i`
    with independent standard normal :math:`z_i` (:math:`\sigma_i` the stored
    standard errors) and passes it through
    :func:`~largebdg.analysis.critical.stiffness_critical_temperature` with the
    same baseline and errors; the result is the standard deviation (ddof = 1)
    of the resampled :math:`T_c`.

    Parameters
    ----------
    T, Ds, stderr : array_like, shape (n,)
        Temperatures, stiffness and its standard errors (NaN: not computed).
    baseline : array_like, shape (n,), optional
        Normal-state stiffness subtracted first.
    resamples : int, optional
    seed : int or sequence of int, optional
        Seed of ``numpy.random.default_rng`` (fixed: reports are reproducible).

    Returns
    -------
    float
        0 if every error is 0 (an exact stiffness: the error then comes from the
        temperature grid, not from the points); NaN if fewer than half of the
        resamples give a finite :math:`T_c` (the estimate itself is unstable).

    Notes
    -----
    Only the statistical error of a stochastic stiffness is propagated; the
    systematic uncertainty of locating :math:`T_c` on the grid shows in the
    difference between ``tc_stiffness`` and ``tc_stiffness_crossing``, the
    disorder average in the seed spread (``tc_by_L.csv``).
    """
    T, Ds, stderr = (np.asarray(a, dtype=float) for a in (T, Ds, stderr))
    err = np.nan_to_num(stderr)
    if not np.any(err > 0):
        return 0.0
    rng = np.random.default_rng(seed)
    draws = np.full(resamples, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccuracyWarning)
        for k in range(resamples):
            resampled = Ds + err * rng.standard_normal(Ds.shape)
            try:
                draws[k] = stiffness_critical_temperature(T, resampled, baseline=baseline,
                                                          stderr=stderr)
            except ParameterError:
                pass
    good = draws[np.isfinite(draws)]
    if good.size < max(2, resamples // 2):
        return math.nan
    return float(np.std(good, ddof=1))


def finite_size_fit(sizes, y, sigma=None, *, power=PRIMARY_POWER):
    r"""Straight-line fit :math:`y = a + b L^{-p}`; :math:`a` is the limit :math:`L \to \infty`.

    Parameters
    ----------
    sizes : array_like, shape (m,)
        Lattice sizes L (distinct).
    y : array_like, shape (m,)
        Values per size (e.g. seed means of :math:`T_c/T_c^{(0)}`); NaN sizes are dropped.
    sigma : array_like, shape (m,), optional
        Their standard errors.  If every kept size has a finite positive error,
        the fit is weighted by :math:`1/\sigma^2` and the covariance is
        :math:`(X^T W X)^{-1}` (errors taken as absolute); otherwise the fit is
        unweighted and the covariance is scaled by the residual variance
        (undetermined, NaN, with two sizes).
    power : float, optional
        p.

    Returns
    -------
    dict
        ``power``, ``n_sizes``, ``weighted`` (bool), ``intercept`` :math:`a`,
        ``intercept_err``, ``slope`` :math:`b`, ``slope_err``, ``chi2`` (weighted
        fits) and ``dof``; NaN values with fewer than two sizes.

    Examples
    --------
    >>> fit = finite_size_fit([32, 64, 128], [0.9 + 1 / 32, 0.9 + 1 / 64, 0.9 + 1 / 128],
    ...                       [0.01, 0.01, 0.01])
    >>> round(fit["intercept"], 12), round(fit["slope"], 12), fit["weighted"]
    (0.9, 1.0, True)
    """
    sizes, y = np.asarray(sizes, dtype=float), np.asarray(y, dtype=float)
    sigma = np.full(y.shape, np.nan) if sigma is None else np.asarray(sigma, dtype=float)
    if sizes.shape != y.shape or sigma.shape != y.shape or sizes.ndim != 1:
        raise ParameterError("'sizes', 'y' and 'sigma' must be 1-D arrays of the same length")
    keep = np.isfinite(y) & np.isfinite(sizes)
    sizes, y, sigma = sizes[keep], y[keep], sigma[keep]
    n = int(y.size)
    out = {"power": power, "n_sizes": n, "weighted": False, "intercept": math.nan,
           "intercept_err": math.nan, "slope": math.nan, "slope_err": math.nan,
           "chi2": math.nan, "dof": max(n - 2, 0)}
    if n < 2:
        return out
    X = np.column_stack([np.ones(n), sizes ** -float(power)])
    weighted = bool(np.all(np.isfinite(sigma) & (sigma > 0)))
    w = 1.0 / sigma ** 2 if weighted else np.ones(n)
    cov = np.linalg.inv(X.T @ (w[:, None] * X))
    beta = cov @ X.T @ (w * y)
    resid = y - X @ beta
    if weighted:
        out["chi2"] = float(np.sum(w * resid ** 2))
    else:
        cov = cov * (float(resid @ resid) / (n - 2) if n > 2 else math.nan)
    out.update(weighted=weighted, intercept=float(beta[0]), slope=float(beta[1]),
               intercept_err=float(math.sqrt(cov[0, 0])) if np.isfinite(cov[0, 0]) else math.nan,
               slope_err=float(math.sqrt(cov[1, 1])) if np.isfinite(cov[1, 1]) else math.nan)
    return out


# --------------------------------------------------------------------------- tables


def _size_reference(definition, L):
    """Clean :math:`T_c^{(0)}` of the study's model on the L x L lattice."""
    data = dict(definition["config"])
    data["lattice"] = dict(data.get("lattice", {}), L=int(L))
    return clean_reference_tc(RunConfig.from_dict(data))


def _point_rows(L, seed, table, tc0):
    """Rows of ``points.csv`` of one chain."""
    baseline = stiffness_baseline(table)
    rows = []
    for i, T in enumerate(table["T"]):
        ds, err = table["stiffness"][i], table["stiffness_stderr"][i]
        rows.append({
            "L": L, "seed": seed, "T": float(T), "T_over_Tc0": float(T) / tc0,
            "mean_gap_1": table["mean_abs_gap"][i, 0], "mean_gap_2": table["mean_abs_gap"][i, 1],
            "max_gap_1": table["max_abs_gap"][i, 0], "max_gap_2": table["max_abs_gap"][i, 1],
            "delta2_hom": table["delta0"][i], "delta2_eq26": table["eq26"][i],
            "stiffness_1": ds[0], "stiffness_1_err": err[0],
            "stiffness_2": ds[1], "stiffness_2_err": err[1], "stiffness_2_normal": baseline[i],
            "converged": bool(table["converged"][i]), "iterations": int(table["iterations"][i]),
            "wall_time": float(table["wall_time"][i]),
        })
    return rows


def _chain_tc(L, seed, table, reference, n_temperatures, resamples):
    """Row of ``tc.csv`` of one chain (``table`` None: nothing solved yet)."""
    nan = math.nan
    row = {"L": L, "seed": seed, "n_points": 0, "n_converged": 0, "complete": False,
           "Tc0": reference.lattice, "tc_gap": nan, "tc_gap_crossing": nan,
           "tc_stiffness": nan, "tc_stiffness_err": nan, "tc_stiffness_crossing": nan}
    if table is not None:
        ok = table["converged"]
        row.update(n_points=int(table["T"].size), n_converged=int(np.count_nonzero(ok)),
                   complete=bool(table["T"].size == n_temperatures))
        try:
            tc = critical_temperatures(table, reference)
        except ParameterError:  # fewer than two converged points
            tc = None
        if tc is not None:
            row.update(tc_gap=tc["Tc_gap"], tc_gap_crossing=tc["Tc_gap_crossing"],
                       tc_stiffness=tc["Tc_stiffness"])
            stiff = stiffness_inputs(table)
            if stiff is not None:
                T, Ds2, err2, base = stiff
                row["tc_stiffness_crossing"] = stiffness_critical_temperature(
                    T, Ds2, baseline=base, stderr=err2, method="crossing")
                row["tc_stiffness_err"] = stiffness_tc_error(
                    T, Ds2, err2, baseline=base, resamples=resamples,
                    seed=(BOOTSTRAP_SEED, int(L), int(seed)))
    row["ratio_gap"] = row["tc_gap"] / reference.lattice
    row["ratio_stiffness"] = row["tc_stiffness"] / reference.lattice
    row["ratio_stiffness_err"] = row["tc_stiffness_err"] / reference.lattice
    return row


def _by_size(tc_rows, sizes):
    """Rows of ``tc_by_L.csv``: seed statistics of T_c per (L, quantity)."""
    rows = []
    for L in sizes:
        chains = [r for r in tc_rows if r["L"] == L]
        for quantity in QUANTITIES:
            tc0 = chains[0]["Tc0"]
            values = np.array([r[f"tc_{quantity}"] for r in chains], dtype=float)
            errors = np.array([r.get(f"tc_{quantity}_err", math.nan) for r in chains],
                              dtype=float)
            # an unfinished chain's T_c extrapolates from below the transition: left out
            good = np.isfinite(values) & np.array([bool(r["complete"]) for r in chains])
            n = int(np.count_nonzero(good))
            mean = float(values[good].mean()) if n else math.nan
            std = float(values[good].std(ddof=1)) if n > 1 else math.nan
            if n > 1:
                sem = std / math.sqrt(n)
            elif n == 1 and errors[good][0] > 0:
                sem = float(errors[good][0])
            else:
                sem = math.nan
            rows.append({"L": L, "quantity": quantity, "n_seeds": n, "Tc0": tc0,
                         "tc_mean": mean, "tc_std": std, "tc_sem": sem,
                         "ratio_mean": mean / tc0, "ratio_std": std / tc0,
                         "ratio_sem": sem / tc0})
    return rows


def _extrapolations(by_size):
    """Rows of ``extrapolation.csv``: fits in 1/L (primary) and 1/L^2 per quantity."""
    rows = []
    for quantity in QUANTITIES:
        sel = [r for r in by_size if r["quantity"] == quantity and r["n_seeds"] > 0]
        for power in (1, 2):
            fit = finite_size_fit([r["L"] for r in sel], [r["ratio_mean"] for r in sel],
                                  [r["ratio_sem"] for r in sel], power=power)
            rows.append({"quantity": quantity, "primary": power == PRIMARY_POWER, **fit})
    return rows


def _read_definitions(outdirs):
    """``[(dir, study.json)]`` of one or several study directories of the same model."""
    dirs = ([Path(outdirs)] if isinstance(outdirs, (str, os.PathLike))
            else [Path(d) for d in outdirs])
    if not dirs:
        raise ParameterError("'dir': give at least one study directory")
    out = []
    for d in dirs:
        definition = read_study(d)
        if definition is None:
            raise ParameterError(f"'dir': '{d}' is not a study directory (no study.json)")
        if out and comparable(definition["config"]) != comparable(out[0][1]["config"]):
            raise ParameterError(f"'dir': '{d}' holds a study of another model than "
                                 f"'{out[0][0]}' (their configurations differ)")
        out.append((d, definition))
    return out


def study_tables(outdir, *, resamples=BOOTSTRAP_RESAMPLES, delta0_method="percentile"):
    r"""Analyse whatever study directories hold: their points, :math:`T_c` per chain and per L.

    Several directories of the same model (e.g. a 256² chain run as a study of its own next
    to the 32²-128² study) are analysed as one study: their chains together make the
    per-L statistics and the extrapolation.

    Parameters
    ----------
    outdir : str, os.PathLike or sequence of them
        Directory (or directories) of :func:`largebdg.workflows.study.study`; a chain
        (L, seed) may be in only one of them.
    resamples : int, optional
        Bootstrap resamples of :func:`stiffness_tc_error`.
    delta0_method : str, optional
        Definition of ``delta2_hom``
        (:func:`~largebdg.observables.homogeneous.homogeneous_gap`).

    Returns
    -------
    StudyTables
        Chains without any solved point have a ``tc.csv`` row with
        ``n_points = 0`` and NaN temperatures.

    Raises
    ------
    ParameterError
        If a directory holds no ``study.json``, the directories' models differ or a chain
        is in more than one of them.
    """
    sources = _read_definitions(outdir)
    points, tc, seen, references = [], [], set(), {}
    with warnings.catch_warnings():
        # a chain in progress or a coarse grid gives undetermined T_c: NaN in the tables
        warnings.simplefilter("ignore", AccuracyWarning)
        for d, definition in sources:
            n_T = len(definition["T"])
            for L in definition["L"]:
                if L not in references:
                    references[L] = _size_reference(definition, L)
                for seed in definition["seeds"]:
                    if (L, seed) in seen:
                        raise ParameterError(f"'dir': chain {chain_name(L, seed)} is in more "
                                             "than one of the study directories")
                    seen.add((L, seed))
                    chain_dir = d / chain_name(L, seed)
                    table = (sweep_table(chain_dir, delta0_method=delta0_method)
                             if (chain_dir / "summary.json").is_file() else None)
                    if table is not None:
                        points += _point_rows(L, seed, table, references[L].lattice)
                    tc.append(_chain_tc(L, seed, table, references[L], n_T, resamples))
    order = sorted(range(len(tc)), key=lambda i: (tc[i]["L"], tc[i]["seed"]))
    tc = [tc[i] for i in order]
    points.sort(key=lambda r: (r["L"], r["seed"], r["T"]))
    by_size = _by_size(tc, sorted(references))
    return StudyTables(definition=sources[0][1], points=points, tc=tc, by_L=by_size,
                       extrapolation=_extrapolations(by_size),
                       sources=tuple(d for d, _ in sources))


def curves_by_size(points):
    r"""Seed averages of the temperature curves per lattice size (for the figures).

    Parameters
    ----------
    points : list of dict
        Rows of ``points.csv`` (:attr:`StudyTables.points`).

    Returns
    -------
    dict
        L -> dict with ``T``, ``T_over_Tc0``, ``n_seeds`` (n,), ``gap_mean`` and
        ``gap_std`` (n, 2: seed mean and standard deviation of :math:`\bar\Delta_\nu`, 0
        for one seed), ``stiffness_2`` (seed mean of :math:`D_{s,2}`, NaN where not
        computed), ``stiffness_2_err`` (the larger of the seed standard error and
        the combined stochastic error :math:`\sqrt{\sum\sigma_i^2}/n`) and
        ``stiffness_2_normal`` (n,).
    """
    out = {}
    for L in sorted({r["L"] for r in points}):
        rows = [r for r in points if r["L"] == L]
        temps = sorted({r["T"] for r in rows})
        curve = {k: [] for k in ("T", "T_over_Tc0", "n_seeds", "gap_mean", "gap_std",
                                 "stiffness_2", "stiffness_2_err", "stiffness_2_normal")}
        for T in temps:
            at = [r for r in rows if r["T"] == T]
            gaps = np.array([[r["mean_gap_1"], r["mean_gap_2"]] for r in at], dtype=float)
            ds, err, _ = seed_mean([r["stiffness_2"] for r in at],
                                   [r["stiffness_2_err"] for r in at])
            gap_mean, gap_std = seed_spread(gaps)
            curve["T"].append(T)
            curve["T_over_Tc0"].append(at[0]["T_over_Tc0"])
            curve["n_seeds"].append(len(at))
            curve["gap_mean"].append(gap_mean)
            curve["gap_std"].append(gap_std)
            curve["stiffness_2"].append(float(ds))
            curve["stiffness_2_err"].append(float(err))
            curve["stiffness_2_normal"].append(float(np.mean([r["stiffness_2_normal"]
                                                              for r in at])))
        out[L] = {k: np.array(v, dtype=float) for k, v in curve.items()}
    return out


def write_study_tables(outdir, tables):
    """Write the four tables of :func:`study_tables` into ``outdir`` (atomically).

    Returns
    -------
    list of pathlib.Path
    """
    outdir = Path(outdir)
    written = []
    for name, columns, rows in (("points.csv", POINT_COLUMNS, tables.points),
                                ("tc.csv", TC_COLUMNS, tables.tc),
                                ("tc_by_L.csv", BY_L_COLUMNS, tables.by_L),
                                ("extrapolation.csv", EXTRAPOLATION_COLUMNS,
                                 tables.extrapolation)):
        write_csv_atomic(outdir / name, columns, rows)
        written.append(outdir / name)
    return written
