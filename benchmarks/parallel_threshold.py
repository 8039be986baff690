"""Where do threads start to pay? Times a light (mse) and a heavy (log_cosh) fused kernel on
1 thread and on all threads at sizes around the engine's grain, interleaved, and prints the
crossover. The grains in rust/losscore-core/src/loss/pointwise.rs come from this script.

    python benchmarks/parallel_threshold.py
"""

from __future__ import annotations

import functools
import statistics
import time

import numpy as np

import losscore


def median_time(fn, repeats: int = 9, calls: int = 200) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        samples.append((time.perf_counter() - start) / calls)
    return statistics.median(samples)


def main() -> None:
    threads = losscore.get_num_threads()
    print(f"threads available: {threads}; block = {losscore._core.block_size()} elements")
    rng = np.random.default_rng(0)
    for name in ("mse", "log_cosh"):
        vg = losscore.value_and_grad(getattr(losscore, name))
        print(f"\nvalue_and_grad({name}), float32: microseconds per call")
        print(f"{'n':>9} {'1 thread':>10} {f'{threads} threads':>11} {'ratio':>7}")
        for n in (8192, 16384, 32768, 65536, 131072, 262144, 1048576):
            p = rng.standard_normal(n).astype(np.float32)
            t = rng.standard_normal(n).astype(np.float32)
            g = np.empty_like(p)
            times = {}
            for k in (1, threads, 1, threads):
                losscore.set_num_threads(k)
                call = functools.partial(vg, p, t, out=g)
                times.setdefault(k, []).append(median_time(call))
            one, many = min(times[1]), min(times[threads])
            print(f"{n:>9} {one * 1e6:>10.1f} {many * 1e6:>11.1f} {one / many:>7.2f}")
        losscore.set_num_threads(threads)


if __name__ == "__main__":
    main()
