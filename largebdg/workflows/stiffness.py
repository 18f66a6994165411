r"""Superfluid stiffness of a solved result: method choice, both bands, storage in the file.

The observables themselves (:mod:`largebdg.observables.stiffness`,
:mod:`~largebdg.observables.stiffness_stochastic`,
:mod:`~largebdg.observables.stiffness_kpm`,
:mod:`~largebdg.observables.network`) work on one band's mean field; this
module applies them to a :class:`~largebdg.io.result.Result` and returns an
:class:`~largebdg.io.result.Observable` (value, uncertainty and settings per
band), which :func:`attach_stiffness` stores in a result file.
"""

import time

import numpy as np

from .. import _validate as v
from .._version import __version__
from ..errors import ParameterError
from ..io import Observable, load_result, update_result
from ..observables.current import kinetic_energy_x
from ..observables.stiffness import exact_stiffness
from ..observables.stiffness_kpm import certified_gap, kpm_kinetic, kpm_stiffness
from ..observables.stiffness_stochastic import stochastic_stiffness

__all__ = ["compute_stiffness", "attach_stiffness", "resolve_method",
           "EXACT_MAX_L", "METHODS", "DIAMAGNETIC", "KINETIC_SHARE"]

EXACT_MAX_L = 48
"""Largest L for which :func:`compute_stiffness` accepts ``method="exact"`` (O(L^6) time)."""

METHODS = ("exact", "stochastic", "kpm")
"""Methods of :func:`compute_stiffness` (``auto`` is resolved by :func:`resolve_method`).

Each reports an error estimate held against the exact stiffness in the tests; the network
approximation (:func:`~largebdg.observables.network.network_stiffness`) has none and is not
offered here."""


DIAMAGNETIC = ("probed", "stochastic", "bond_averages")
r"""Sources of the diamagnetic term :math:`\langle -k_x \rangle` of the random estimators:

* ``"probed"`` (default): estimated on the result's mean field by colour-signed probing of
  its own (:func:`~largebdg.observables.stiffness_kpm.kpm_kinetic`) at
  :data:`KINETIC_SHARE` of the tolerance, its uncertainty added to that of D_s;
* ``"stochastic"``: estimated with the estimator's own start vectors (unbiased, inside its
  statistical error, but 8x the cost of the whole estimate at L = 64, T = 0.098);
* ``"bond_averages"``: the result's stored bond averages, whose error (up to the solver's
  Chebyshev tolerance; they also belong to the last iteration's *input* mean field) is not in
  the uncertainty: 9.7x the uncertainty at L = 64, T = 0.27 (docs/stiffness.md)."""

KINETIC_SHARE = 0.25
"""Share of the stiffness tolerance given to the uncertainty of the probed diamagnetic term."""


def resolve_method(method, L):
    """The stiffness method for ``method`` (``"auto"`` or one of :data:`METHODS`) at size ``L``.

    ``auto`` is the exact (dense) method up to :data:`EXACT_MAX_L`, the
    colour-signed probing estimator ``"kpm"`` (with its error bound) above.
    """
    v.choice("method", method, ("auto",) + METHODS)
    if method == "auto":
        return "exact" if L <= EXACT_MAX_L else "kpm"
    return method


def compute_stiffness(result, method="exact", *, direction="x", num_vectors=64,
                      num_moments=None, tolerance=1e-4, seed=None, diamagnetic="probed",
                      **options):
    r"""Superfluid stiffness of both bands of a solved result.

    Parameters
    ----------
    result : Result
        Self-consistent solution (the mean field enters at fixed
        :math:`\Delta`, as in paper Eqs. 32-35).
    method : {"exact", "stochastic", "kpm", "auto"}
        ``"exact"``: :func:`~largebdg.observables.stiffness.exact_stiffness`
        (dense, refused for L > :data:`EXACT_MAX_L`).  ``"stochastic"``:
        :func:`~largebdg.observables.stiffness_stochastic.stochastic_stiffness`,
        linear in L² per random vector.  ``"kpm"``:
        :func:`~largebdg.observables.stiffness_kpm.kpm_stiffness`, colour-signed
        probing with an uncertainty (99 % Student-t half-width of the measured
        probing noise plus a truncation bound) that meets ``tolerance``.
    direction : {"x", "y"}
    num_vectors, num_moments, tolerance, seed
        Settings of the stochastic estimator (ignored otherwise; ``"kpm"``
        uses ``tolerance``, the target of its uncertainty, and ``seed``);
        ``seed`` feeds ``numpy.random.default_rng``, the bands get independent
        streams spawned from it.
    diamagnetic : {"probed", "stochastic", "bond_averages"}
        Stochastic and kpm only: where :math:`\langle -k_x \rangle` comes from
        (:data:`DIAMAGNETIC`).  With ``"probed"`` the probed term's uncertainty is added
        to the estimator's, and ``"kpm"`` gets ``1 - KINETIC_SHARE`` of ``tolerance`` for
        its own (the stochastic estimator's error is set by ``num_vectors``; its
        ``tolerance`` bounds the truncation only).
    **options
        Further keywords of ``stochastic_stiffness`` (``block_size``,
        ``memory_limit``, ``distribution``, ``scale``, ``bound_safety``) or of
        ``kpm_stiffness`` (``probing_distance``, ``num_draws``, ``max_draws``,
        ``lattice``, ``memory_limit``, ``scale``, ``bound_safety``).

    Returns
    -------
    Observable
        ``value`` :math:`D_s` per band (band 1 first, per site, SWZ convention),
        ``stderr`` its error (0 for ``"exact"``; for ``"stochastic"`` the standard
        error; for ``"kpm"`` the full uncertainty, 99 % statistical half-width plus the
        truncation bound; with ``diamagnetic="probed"`` plus the probed term's
        uncertainty),
        ``settings`` what was done (method, direction, vectors, moments,
        spectral scales, seed, wall time, package version), JSON-ready.
        Unpacks as ``ds, err, settings``.

    Raises
    ------
    ParameterError
        On a bad method or setting, or ``method="exact"`` with L > EXACT_MAX_L.
    """
    L = result.L
    method = resolve_method(method, L)
    v.choice("direction", direction, ("x", "y"))
    seed = v.seed("seed", seed)
    v.choice("diamagnetic", diamagnetic, DIAMAGNETIC)
    if method == "exact" and L > EXACT_MAX_L:
        raise ParameterError(
            f"'method' = 'exact' diagonalises dense {2 * L * L} x {2 * L * L} matrices and is "
            f"limited to L <= {EXACT_MAX_L} (got L = {L}); use method 'kpm'"
        )
    T = float(result.T)
    t0 = time.perf_counter()
    ds, err = np.zeros(2), np.zeros(2)
    settings = {"method": method, "direction": direction, "largebdg_version": __version__}
    if method == "exact":
        for band in range(2):
            ds[band] = exact_stiffness(L, *result.band_mean_field(band), T, direction=direction)
        settings["wall_time"] = time.perf_counter() - t0
        return Observable(ds, err, settings)
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0])
    kinetic, bound, target, gaps = None, np.zeros(2), tolerance, None
    if method == "kpm" or diamagnetic == "probed":  # one certification per band for both
        gaps = [certified_gap(L, *result.band_mean_field(b), T) for b in range(2)]
        settings["gap"] = gaps
    if diamagnetic == "bond_averages":
        bonds = result.bond_x if direction == "x" else result.bond_y
        kinetic = [kinetic_energy_x(L, result.band_mean_field(b)[0], bonds[b].ravel())
                   for b in range(2)]
    elif diamagnetic == "probed":
        kinetic, bound, kin_infos = [], np.zeros(2), []
        for band, stream in enumerate(np.random.SeedSequence(seed).spawn(4)[2:]):
            kin, bound[band], info = kpm_kinetic(L, *result.band_mean_field(band), T,
                                                 tolerance=KINETIC_SHARE * tolerance,
                                                 seed=stream, direction=direction,
                                                 gap=gaps[band])
            kinetic.append(kin)
            kin_infos.append(info)
        target = (1 - KINETIC_SHARE) * tolerance
        settings["diamagnetic_bound"] = bound.tolist()
        settings["diamagnetic_plan"] = [
            {k: i[k] for k in ("mode", "probing_distance", "num_draws", "num_vectors",
                               "num_moments", "stderr", "truncation_bound", "target_met",
                               "control_variate")}
            for i in kin_infos]
        settings["diamagnetic_seconds"] = time.perf_counter() - t0
    if method == "kpm":
        infos = _per_band(kpm_stiffness, result, seed, ds, err, tolerance=target,
                          direction=direction, kinetic=kinetic, gap=gaps, **options)

        def colouring(info):
            lat = info["lattice"]
            return "exact-trace" if lat is None else list(lat)

        settings.update({
            "seed": int(seed), "tolerance": float(tolerance),
            "uncertainty": "99% Student-t x stderr + truncation bound"
                           + (" + diamagnetic bound" if diamagnetic == "probed" else ""),
            "mode": [i["mode"] for i in infos],
            "num_vectors": [i["num_vectors"] for i in infos],
            "draws": [i["num_draws"] for i in infos],
            "colouring": [colouring(i) for i in infos],
            "num_colours": [i["num_colours"] for i in infos],
            "control_variate": [i["control_variate"] for i in infos],
            "probing_stderr": [i["stderr"] for i in infos],
            "truncation_bound": [i["truncation_bound"] for i in infos],
            # the whole uncertainty, the probed diamagnetic term's included
            "target_met": [bool(e <= tolerance) for e in err + bound],
            "num_moments": [i["num_moments"] for i in infos],
            "rank": [i["rank"] for i in infos],
            "spectral_scale": [i["scale"] for i in infos],
            "kinetic": [i["kinetic"] for i in infos],
            "correlator": [i["correlator"] for i in infos],
            "seconds": [i["seconds"] for i in infos],
        })
    else:
        infos = _per_band(stochastic_stiffness, result, seed, ds, err,
                          num_vectors=num_vectors, num_moments=num_moments,
                          tolerance=tolerance, direction=direction, kinetic=kinetic, **options)
        settings.update({
            "num_vectors": int(num_vectors), "seed": int(seed), "tolerance": float(tolerance),
            "num_moments": [i["num_moments"] for i in infos],
            "rank": [i["rank"] for i in infos],
            "spectral_scale": [i["scale"] for i in infos],
            "distribution": infos[0]["distribution"],
            "kinetic": [i["kinetic"] for i in infos],
            "correlator": [i["correlator"] for i in infos],
        })
    settings["diamagnetic"] = diamagnetic
    settings["wall_time"] = time.perf_counter() - t0
    return Observable(ds, err + bound, settings)


def _per_band(estimator, result, seed, ds, err, *, kinetic, gap=None, **kwargs):
    """Run a random estimator on both bands with independent streams spawned from ``seed``.

    The first two streams of ``SeedSequence(seed).spawn(4)`` (the other two are those of
    the probed diamagnetic term); ``kinetic`` holds the diamagnetic term per band or is
    None, ``gap`` the certified gap per band (kpm) or is None.  Fills ``ds`` and ``err``;
    returns the estimators' infos.
    """
    streams = np.random.SeedSequence(seed).spawn(4)
    infos = []
    for band in range(2):
        ds[band], err[band], info = estimator(
            result.L, *result.band_mean_field(band), float(result.T), seed=streams[band],
            kinetic=None if kinetic is None else kinetic[band],
            **({} if gap is None else {"gap": gap[band]}), **kwargs)
        infos.append(info)
    return infos


def attach_stiffness(path, method="exact", *, force=False, **kwargs):
    """Compute the stiffness of a result file and store it there.

    Adds (or, with ``force``, replaces) the datasets ``stiffness`` and
    ``stiffness_stderr`` (shape (2,), band 1 first) and the JSON attribute
    ``stiffness_settings`` with :func:`largebdg.io.update_result`.

    Parameters
    ----------
    path : str or os.PathLike
        Result file written by :func:`largebdg.io.save_result`.
    method : {"exact", "stochastic", "kpm", "auto"}
    force : bool
        Replace a stiffness already stored in the file.
    **kwargs
        Passed to :func:`compute_stiffness`.

    Returns
    -------
    Observable
        As :func:`compute_stiffness`.

    Raises
    ------
    FileExistsError
        If the file already holds a stiffness and ``force`` is false.
    """
    result = load_result(path)
    if result.stiffness is not None and not force:
        raise FileExistsError(
            f"'{path}' already holds a stiffness ({result.stiffness_settings.get('method', '?')}); "
            "use --force (force=True) to replace it"
        )
    obs = compute_stiffness(result, method, **kwargs)
    update_result(path, {"stiffness": obs.value, "stiffness_stderr": obs.stderr},
                  {"stiffness_settings": obs.settings})
    return obs
