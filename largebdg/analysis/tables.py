r"""Analysis of temperature sweeps: per-point tables and the critical-temperature policy.

The scientific results of a scenario (which points count for :math:`T_c`,
the normal-state baseline of the stiffness, the seed statistics) are decided
here, independently of any figure; :mod:`largebdg.plotting.paper` draws them
and ``tc.json`` records them (:func:`write_critical_temperatures`).
"""

import json
from pathlib import Path

import numpy as np

from ..errors import ParameterError
from ..io import load_result, load_sweep, write_text_atomic
from ..model.clean import normal_state_stiffness
from ..observables.homogeneous import eq26_estimate, gamma_fit, homogeneous_gap
from .critical import gap_critical_temperature, stiffness_critical_temperature
from .reference import clean_reference_tc

__all__ = ["sweep_table", "stiffness_baseline", "stiffness_inputs", "seed_spread", "seed_mean",
           "scenario_tables", "map_index", "critical_temperatures",
           "scenario_critical_temperatures", "write_critical_temperatures"]


def seed_spread(values):
    """Mean and standard deviation over seeds (axis 0), the latter 0 for one seed."""
    values = np.asarray(values, dtype=float)
    std = values.std(axis=0, ddof=1) if values.shape[0] > 1 else np.zeros(values.shape[1:])
    return values.mean(axis=0), std


def seed_mean(values, errors):
    """Mean over seeds (axis 0) of estimates with uncertainties (NaN: no estimate, left out).

    Returns
    -------
    mean, error, count : ndarray
        The mean of the finite values, its error -- the larger of the seeds' standard error
        of the mean and the estimators' own uncertainty of the mean,
        sqrt(sum of errors²) / count -- and the number of finite values; NaN where none.
    """
    values, errors = np.asarray(values, dtype=float), np.asarray(errors, dtype=float)
    good = np.isfinite(values)
    n = good.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(good, values, 0.0).sum(axis=0) / n
        dev2 = np.where(good, values - mean, 0.0) ** 2
        sem = np.where(n > 1, np.sqrt(dev2.sum(axis=0) / np.maximum(n - 1, 1) / n), 0.0)
        noise = np.sqrt(np.nansum(np.where(good, errors, np.nan) ** 2, axis=0)) / n
    return mean, np.where(n > 0, np.maximum(sem, noise), np.nan), n


def stiffness_inputs(table):
    """``(T, D_s2, stderr, normal-state baseline)`` of the converged points of a sweep table,
    the input of the stiffness T_c; None with fewer than two finite D_s2."""
    ok = table["converged"]
    Ds2 = table["stiffness"][ok, 1]
    if np.count_nonzero(np.isfinite(Ds2)) < 2:
        return None
    return table["T"][ok], Ds2, table["stiffness_stderr"][ok, 1], stiffness_baseline(table)[ok]


def sweep_table(outdir, *, delta0_method="percentile"):
    r"""Per-point analysis of one temperature sweep directory.

    Parameters
    ----------
    outdir : str or os.PathLike
        Directory written by :func:`largebdg.workflows.sweep.sweep` with ``parameter="solver.T"``.
    delta0_method : str, optional
        Definition of the measured :math:`\Delta_2^{(0)}`
        (:func:`~largebdg.observables.homogeneous.homogeneous_gap`).

    Returns
    -------
    dict of ndarray
        ``T`` (n,), ``mean_abs_gap``, ``max_abs_gap``, ``stiffness``,
        ``stiffness_stderr``, ``filling`` (n, 2) as in
        :class:`~largebdg.io.sweeps.SweepData`, ``delta0`` and ``eq26`` (n,),
        ``converged``, ``iterations`` and ``wall_time`` (n,) (seconds of the solve), sorted
        by T, and
        ``data``, the :class:`~largebdg.io.sweeps.SweepData`.
    """
    data = load_sweep(outdir).sorted()
    if data.parameter != "solver.T":
        raise ParameterError(
            f"'outdir': '{outdir}' sweeps {data.parameter}, not the temperature solver.T"
        )
    results = data.results()
    return {
        "T": data.values, "mean_abs_gap": data.mean_abs_gap, "max_abs_gap": data.max_abs_gap,
        "stiffness": data.stiffness, "stiffness_stderr": data.stiffness_stderr,
        "filling": data.filling, "converged": data.converged,
        "iterations": np.array([r.iterations for r in results]),
        "wall_time": np.array([r.wall_time for r in results]),
        "delta0": np.array([homogeneous_gap(r.delta[1], delta0_method) for r in results]),
        "eq26": np.array([eq26_estimate(r).delta0 for r in results]),
        "data": data,
    }


def stiffness_baseline(table):
    r"""Normal-state stiffness of band 2 at each point of an analysed sweep (:func:`sweep_table`).

    The finite-lattice Drude remainder
    (:func:`~largebdg.model.clean.normal_state_stiffness`) at the point's
    temperature and realised band-2 filling (with ``model.common_mu`` it differs
    from the configured one), subtracted from :math:`D_{s,2}` before its
    :math:`T_c` is located.

    Returns
    -------
    ndarray, shape (n,)
    """
    cfg = table["data"].config
    return np.array([
        normal_state_stiffness(x, n2, t=cfg.model.t[1], L=cfg.lattice.L)
        for x, n2 in zip(table["T"], table["filling"][:, 1], strict=True)
    ])


def critical_temperatures(table, reference):
    """Critical temperatures of one analysed sweep (:func:`sweep_table`).

    Points that did not converge are left out: near :math:`T_c` the
    self-consistency slows down critically, and a point stopped at
    ``max_iter`` may still carry a decaying, unphysical gap.

    Returns
    -------
    dict
        ``Tc_gap`` (band 1 mean gap, default estimate of
        :func:`~largebdg.analysis.critical.gap_critical_temperature`),
        ``Tc_gap_crossing`` (the ``"crossing"`` estimate), ``Tc_stiffness``
        (band 2, normal-state baseline of the realised filling subtracted, points
        within two standard errors of zero counted as zero; NaN without stiffness),
        ``ratio`` = ``Tc_gap`` / :math:`T_c^{(0)}` of the same lattice, and
        ``unconverged``, the temperatures left out.
    """
    ok = table["converged"]
    T = table["T"][ok]
    gap = table["mean_abs_gap"][ok, 0]
    out = {
        "Tc_gap": gap_critical_temperature(T, gap),
        "Tc_gap_crossing": gap_critical_temperature(T, gap, method="crossing"),
    }
    stiff = stiffness_inputs(table)
    out["Tc_stiffness"] = (float("nan") if stiff is None else stiffness_critical_temperature(
        stiff[0], stiff[1], baseline=stiff[3], stderr=stiff[2]))
    out["ratio"] = out["Tc_gap"] / reference.lattice
    out["unconverged"] = [float(x) for x in table["T"][~ok]]
    return out


def scenario_tables(dirs, *, delta0_method="percentile"):
    """:func:`sweep_table` of each sweep of one scenario (one per seed), checked to share T.

    Parameters
    ----------
    dirs : sequence of str or os.PathLike
        Temperature sweep directories over the same temperatures.
    delta0_method : str, optional

    Returns
    -------
    list of dict
    """
    if not dirs:
        raise ParameterError("'dirs' must name at least one sweep directory")
    tables = [sweep_table(d, delta0_method=delta0_method) for d in dirs]
    T = tables[0]["T"]
    for d, tab in zip(dirs, tables, strict=True):
        if tab["T"].shape != T.shape or not np.allclose(tab["T"], T):
            raise ParameterError(f"'dirs': '{d}' holds other temperatures than '{dirs[0]}'")
    return tables


def map_index(T, tc0, map_T=None):
    r"""Index of the sweep point nearest to ``map_T`` (default :math:`0.9T_c^{(0)}`)."""
    target = 0.9 * tc0 if map_T is None else map_T
    return int(np.argmin(np.abs(np.asarray(T) - target)))


def scenario_critical_temperatures(dirs, *, map_T=None, delta0_method="percentile"):
    r"""Critical temperatures of one scenario: per seed, their mean and spread, :math:`T_c^{(0)}`.

    Parameters
    ----------
    dirs : sequence of str or os.PathLike
        Temperature sweeps of the disordered system, one per seed.
    map_T : float, optional
        Temperature of the per-seed snapshot (default the point nearest to
        :math:`0.9T_c^{(0)}`).
    delta0_method : str, optional

    Returns
    -------
    dict
        JSON-ready: ``Tc0_thermodynamic``, ``Tc0_lattice``, ``L``, ``sweeps`` (per
        directory :func:`critical_temperatures` plus ``at_map_T``, the gaps,
        :math:`\Delta_2^{(0)}`, Eq. (26) and the gamma fit at the snapshot),
        ``ratio_mean``, ``ratio_std``, ``map_T`` and ``all_converged``.
    """
    tables = scenario_tables(dirs, delta0_method=delta0_method)
    T = tables[0]["T"]
    ref = clean_reference_tc(tables[0]["data"].config)
    k = map_index(T, ref.lattice, map_T)
    per = {}
    for d, t in zip(dirs, tables, strict=True):
        per[str(d)] = critical_temperatures(t, ref)
        result = load_result(t["data"].files[k])
        fit = gamma_fit(result.delta[0], result.delta[1])
        per[str(d)]["at_map_T"] = {
            "mean_abs_gap": result.mean_abs_gap.tolist(),
            "max_abs_gap": result.max_abs_gap.tolist(),
            "delta0": float(t["delta0"][k]), "eq26": float(t["eq26"][k]),
            "gamma_fit": {"delta0": fit.delta0, "gamma": fit.gamma, "r2": fit.r2},
        }
    ratios = np.array([p["ratio"] for p in per.values()])
    return {
        "Tc0_thermodynamic": ref.thermodynamic, "Tc0_lattice": ref.lattice, "L": ref.L,
        "sweeps": per,
        "ratio_mean": float(np.mean(ratios)),
        "ratio_std": float(np.std(ratios, ddof=1)) if ratios.size > 1 else 0.0,
        "map_T": float(T[k]),
        "all_converged": bool(all(t["converged"].all() for t in tables)),
    }


def write_critical_temperatures(dirs, tc_file, **kwargs):
    """Write :func:`scenario_critical_temperatures` of ``dirs`` as JSON to ``tc_file``."""
    doc = scenario_critical_temperatures(dirs, **kwargs)
    write_text_atomic(Path(tc_file), json.dumps(doc, indent=1) + "\n")
    return Path(tc_file)
