"""Where do threads start to pay? Times a light (mse) and two heavy (poisson_nll: exp-bound,
log_cosh: exp + log) fused kernels on 1 thread and on all threads at sizes around the engine's
grain, interleaved (1, all, 1, all, ...), and prints min and median of each and the ratio of the
minima. The grains in rust/losscore-core/src/loss/pointwise.rs come from this script.

    python benchmarks/parallel_threshold.py
"""

from __future__ import annotations

import functools
import os
import statistics
import time

import numpy as np

import losscore


def time_per_call(fn, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def main(repeats: int = 9) -> None:
    threads = losscore.get_num_threads()
    print(f"threads available: {threads}; block = {losscore._core.block_size()} elements")
    rng = np.random.default_rng(0)
    print(f"isa: {losscore.isa()}; load average {os.getloadavg()[0]:.1f}")
    for name in ("mse", "poisson_nll", "log_cosh"):
        vg = losscore.value_and_grad(getattr(losscore, name))
        print(f"\nvalue_and_grad({name}), float32: microseconds per call, min / median")
        print(f"{'n':>9} {'1 thread':>15} {f'{threads} threads':>15} {'ratio':>7}")
        for n in (8192, 16384, 24576, 32768, 49152, 65536, 131072, 262144, 1048576):
            p = rng.standard_normal(n).astype(np.float32)
            t = rng.standard_normal(n).astype(np.float32)
            if name == "poisson_nll":
                t = np.abs(t)
            g = np.empty_like(p)
            call = functools.partial(vg, p, t, out=g)
            calls = max(5, int(2e6 / n))
            times: dict[int, list[float]] = {1: [], threads: []}
            for _ in range(repeats):
                for k in (1, threads):
                    losscore.set_num_threads(k)
                    call()
                    times[k].append(time_per_call(call, calls))
            one, many = times[1], times[threads]
            print(f"{n:>9} {min(one) * 1e6:>7.1f}/{statistics.median(one) * 1e6:<7.1f} "
                  f"{min(many) * 1e6:>7.1f}/{statistics.median(many) * 1e6:<7.1f} "
                  f"{min(one) / min(many):>7.2f}", flush=True)
        losscore.set_num_threads(threads)


if __name__ == "__main__":
    main()
