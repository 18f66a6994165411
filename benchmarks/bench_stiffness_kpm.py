"""The kpm stiffness estimator against the exact stiffness on self-consistent lattices (L = 48-64).

For every given result file (a self-consistent solution, e.g. the points of a study or a
sweep): the exact stiffness of both bands, and the kpm estimate with its uncertainty, computed
here with the default settings (diamagnetic term estimated with the same vectors) and, if the
file holds one, the kpm estimate stored in it (e.g. with the diamagnetic term from the bond
averages, as ``compute_stiffness`` did before 2026-11-30).  The exact path diagonalises the
dense 2L² x 2L² BdG matrix, O(L⁶): ``compute_stiffness`` refuses it above ``EXACT_MAX_L`` = 48,
so this benchmark calls :func:`largebdg.observables.stiffness.exact_stiffness` directly (about
2-4 min and 1.5 GB per band at L = 64 on one core).

Prints one Markdown row per (file, band, estimate): L, T, band, which estimate (``computed``
or ``stored``) and its diamagnetic term, exact, kpm, |kpm - exact|, the reported uncertainty,
their ratio, whether it covers the error, and the seconds of both; then machine, date and the
number of covered cases per estimate.  Usage::

    python benchmarks/bench_stiffness_kpm.py runs/scaling/L64_seed1/point_*.h5 [--seed 7]
"""

import argparse
import datetime
import os
import platform
import time

from largebdg import compute_stiffness, load_result
from largebdg.observables.stiffness import exact_stiffness


def estimates(result, seed):
    """[(label, Observable)]: kpm computed here, and the one stored in the file if any."""
    out = [("computed", compute_stiffness(result, "kpm", seed=seed))]
    stored = result.observables.get("stiffness")
    if stored is not None and stored.settings.get("method") == "kpm":
        out.append(("stored", stored))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", help="result files (.h5)")
    p.add_argument("--seed", type=int, default=1, help="seed of the computed kpm estimate")
    p.add_argument("--bands", default="1,2", help="bands to compare (default 1,2)")
    args = p.parse_args(argv)
    bands = [int(b) - 1 for b in args.bands.split(",")]
    print(f"# bench_stiffness_kpm  {datetime.datetime.now().isoformat(timespec='minutes')}  "
          f"{platform.processor() or platform.machine()}  cpus={len(os.sched_getaffinity(0))}  "
          f"load={os.getloadavg()[0]:.1f}")
    print("| L | T | band | estimate | diamagnetic | exact | kpm | abs. error | uncertainty "
          "| error/unc. | covered | kpm s | exact s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    covered = {}
    for path in args.files:
        result = load_result(path)
        found = estimates(result, args.seed)
        for band in bands:
            t0 = time.perf_counter()
            exact = exact_stiffness(result.L, *result.band_mean_field(band), float(result.T))
            t_exact = time.perf_counter() - t0
            for label, obs in found:
                err, unc = abs(obs.value[band] - exact), obs.stderr[band]
                seconds = obs.settings.get("seconds", [float("nan")] * 2)[band]
                hits = covered.setdefault(label, [0, 0])
                hits[0] += err <= unc
                hits[1] += 1
                print(f"| {result.L} | {result.T:.4g} | {band + 1} | {label} "
                      f"| {obs.settings.get('diamagnetic')} | {exact:.6f} | {obs.value[band]:.6f} "
                      f"| {err:.1e} | {unc:.1e} | {err / unc:.2f} "
                      f"| {'yes' if err <= unc else 'NO'} | {seconds:.0f} | {t_exact:.0f} |",
                      flush=True)
    for label, (hit, total) in covered.items():
        print(f"\ncovered ({label}): {hit}/{total}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
