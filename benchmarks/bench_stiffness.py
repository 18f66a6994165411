"""Cost and error of the stochastic stiffness estimator against R and L.

For a random-impurity band of paper size (V = 4 on half the sites, gaps 0..0.5,
T = 0.1, default tolerance 1e-4):

* L = 16, 32: exact D_s (dense) and the estimator with R = 16, 64, 256 vectors:
  error, standard error, their ratio, seconds per vector;
* L = 64, 128: cost only (R = 16), plus the per-vector spread, which falls
  like 1/L (self-averaging), so the R needed for a fixed error falls like 1/L².

Prints a Markdown table, the fitted exponent of the time per vector against
N = L², machine and date.  Usage::

    python benchmarks/bench_stiffness.py [--sizes 16 32 64 128] [--exact-max 32]
"""

import argparse
import datetime
import os
import platform
import time

import numpy as np

from largebdg.observables.stiffness import exact_stiffness
from largebdg.observables.stiffness_stochastic import stochastic_stiffness
from largebdg.operators.window import band_window as spectral_scale


def band(L, seed=1):
    rng = np.random.default_rng(seed)
    N = L * L
    return 4.0 * (rng.random(N) < 0.5) - 1.0 - 0.3 * rng.random(N), rng.uniform(0.0, 0.5, N)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[16, 32, 64, 128])
    p.add_argument("--exact-max", type=int, default=32)
    p.add_argument("--vectors", type=int, nargs="+", default=[16, 64, 256])
    p.add_argument("--T", type=float, default=0.1)
    p.add_argument("--repeats", type=int, default=2, help="timing repeats (fastest kept)")
    args = p.parse_args(argv)
    T = args.T
    print(f"# bench_stiffness  {datetime.datetime.now().isoformat(timespec='minutes')}  "
          f"{platform.processor() or platform.machine()}  cpus={os.cpu_count()}  "
          f"load={os.getloadavg()[0]:.1f}  numba threads="
          f"{os.environ.get('NUMBA_NUM_THREADS', 'default')}")
    # warm up the compiled kernel
    stochastic_stiffness(8, 1.0, *band(8), T, num_vectors=2, seed=0, scale=9.0)
    print("| L | R | M | K | exact D_s | estimate | error | stderr | error/stderr | "
          "per-vector std | s/vector | exact s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    per_vector = {}
    for L in args.sizes:
        onsite, delta = band(L)
        scale = spectral_scale(L, 1.0, onsite, delta)
        exact, t_exact = None, None
        if L <= args.exact_max:
            t0 = time.perf_counter()
            exact = exact_stiffness(L, 1.0, onsite, delta, T)
            t_exact = time.perf_counter() - t0
        for R in (args.vectors if exact is not None else [16]):
            sec = np.inf
            for _ in range(args.repeats):  # shared machines: keep the fastest repeat
                t0 = time.perf_counter()
                ds, err, info = stochastic_stiffness(L, 1.0, onsite, delta, T, num_vectors=R,
                                                     seed=L + R, scale=scale)
                sec = min(sec, (time.perf_counter() - t0) / R)
            per_vector.setdefault(L, []).append(sec)
            spread = info["samples"].std(ddof=1)
            cells = [L, R, info["num_moments"], info["rank"],
                     f"{exact:.5f}" if exact is not None else "-", f"{ds:.5f}",
                     f"{abs(ds - exact):.1e}" if exact is not None else "-", f"{err:.1e}",
                     f"{abs(ds - exact) / err:.2f}" if exact is not None else "-",
                     f"{spread:.3f}", f"{sec:.4f}",
                     f"{t_exact:.1f}" if t_exact is not None else "-"]
            print("| " + " | ".join(str(c) for c in cells) + " |", flush=True)
    Ls = np.array(sorted(per_vector))
    cost = np.array([min(per_vector[L]) for L in Ls])
    if Ls.size >= 2:
        big = Ls >= min(64, Ls.max())
        sel = big if big.sum() >= 2 else slice(None)
        slope = np.polyfit(np.log(Ls[sel] ** 2), np.log(cost[sel]), 1)[0]
        each = ", ".join(f"L={L}: {c * 1e3:.1f} ms" for L, c in zip(Ls, cost, strict=True))
        print(f"\ntime per vector ~ N^{slope:.2f} (fit over L = {list(Ls[sel])}); all L: {each}")


if __name__ == "__main__":
    main()
