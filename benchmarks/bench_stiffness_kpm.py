"""The kpm stiffness estimator against the exact stiffness on self-consistent lattices (L = 48-64).

For every given result file (a self-consistent solution, e.g. the points of a study or a
sweep): the kpm estimate and its uncertainty (the one stored in the file if it was computed
with ``method = "kpm"``, else computed here with ``--seed``) and the exact stiffness of both
bands.  The exact path diagonalises the dense 2L² x 2L² BdG matrix, O(L⁶): ``compute_stiffness``
refuses it above ``EXACT_MAX_L`` = 48, so this benchmark calls
:func:`largebdg.observables.stiffness.exact_stiffness` directly (about 5 min and 1.5 GB per
band at L = 64 on one core).

Prints one Markdown row per (file, band): L, T, band, exact, kpm, |kpm - exact|, the reported
uncertainty, their ratio, whether it covers the error, and the seconds of both; then machine,
date and the number of covered cases.  Usage::

    python benchmarks/bench_stiffness_kpm.py runs/scaling/L64_seed1/point_*.h5
    python benchmarks/bench_stiffness_kpm.py FILES... --recompute --seed 7
"""

import argparse
import datetime
import os
import platform
import time

from largebdg import compute_stiffness, load_result
from largebdg.observables.stiffness import exact_stiffness


def kpm_of(result, recompute, seed):
    """(values, uncertainties, seconds per band) of the kpm estimator for ``result``."""
    stored = result.observables.get("stiffness")
    if stored is not None and stored.settings.get("method") == "kpm" and not recompute:
        return stored.value, stored.stderr, stored.settings.get("seconds", [float("nan")] * 2)
    obs = compute_stiffness(result, "kpm", seed=seed)
    return obs.value, obs.stderr, obs.settings["seconds"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", help="result files (.h5)")
    p.add_argument("--recompute", action="store_true",
                   help="compute the kpm estimate here even if the file holds one")
    p.add_argument("--seed", type=int, default=1, help="seed of a recomputed kpm estimate")
    p.add_argument("--bands", default="1,2", help="bands to compare (default 1,2)")
    args = p.parse_args(argv)
    bands = [int(b) - 1 for b in args.bands.split(",")]
    print(f"# bench_stiffness_kpm  {datetime.datetime.now().isoformat(timespec='minutes')}  "
          f"{platform.processor() or platform.machine()}  cpus={len(os.sched_getaffinity(0))}  "
          f"load={os.getloadavg()[0]:.1f}")
    print("| L | T | band | exact | kpm | abs. error | uncertainty | error/unc. | covered "
          "| kpm s | exact s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    covered = total = 0
    for path in args.files:
        result = load_result(path)
        value, unc, seconds = kpm_of(result, args.recompute, args.seed)
        for band in bands:
            t0 = time.perf_counter()
            exact = exact_stiffness(result.L, *result.band_mean_field(band), float(result.T))
            t_exact = time.perf_counter() - t0
            err = abs(value[band] - exact)
            ok = err <= unc[band]
            covered += ok
            total += 1
            print(f"| {result.L} | {result.T:.4g} | {band + 1} | {exact:.6f} | {value[band]:.6f} "
                  f"| {err:.1e} | {unc[band]:.1e} | {err / unc[band]:.2f} | {'yes' if ok else 'NO'} "
                  f"| {seconds[band]:.0f} | {t_exact:.0f} |", flush=True)
    print(f"\ncovered: {covered}/{total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
