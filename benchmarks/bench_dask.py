"""Streaming and Dask: losscore.dask.evaluate_many vs the in-memory call vs dask.array ops, and
Accumulator.update vs calling the loss on the batch.

    PYTHONPATH=python python benchmarks/bench_dask.py [--n 200000000] [--chunk 16777216]

1. ``losscore.dask.evaluate_many`` of mse, mae and huber over ``n`` float32 on a
   ``LocalCluster`` (2 worker processes, 1 thread each), data persisted on the workers; against
   the three in-memory losscore calls (client process, 2 threads) and the same losses written
   with ``dask.array`` ops on the same cluster. Peak memory per worker is the rise of the
   worker's peak RSS (``VmHWM``, reset before each run) above its resident data.
2. ``Accumulator("cross_entropy").update`` on batches of 64 x 100 classes against
   ``losscore.cross_entropy`` (and its bare kernel) on the same batch.
"""

from __future__ import annotations

import argparse
import time
import timeit

import dask
import dask.array as da
import distributed
import numpy as np

import losscore
import losscore.dask as lcd
from losscore import _core

LOSSES = {"mse": {}, "mae": {}, "huber": {"delta": 1.0}}


def _reset_peak() -> int:
    """Reset this process's peak RSS; return the current RSS in bytes."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return _status("VmRSS")


def _status(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(field)


def _peak() -> int:
    return _status("VmHWM")


def _timed_on_cluster(client: distributed.Client, fn) -> tuple[float, object, int]:
    """Best of 3 wall times of ``fn()``, its result, the largest per-worker peak rise."""
    best, result, rise = float("inf"), None, 0
    for _ in range(3):
        before = client.run(_reset_peak)
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
        after = client.run(_peak)
        rise = max(rise, max(after[w] - before[w] for w in after))
    return best, result, rise


def _dask_array_losses(p: da.Array, t: da.Array) -> dict[str, da.Array]:
    d = p - t
    a = abs(d)
    huber = da.where(a < 1.0, 0.5 * d * d, a - 0.5)
    return {
        "mse": (d * d).astype(np.float64).mean(),
        "mae": a.astype(np.float64).mean(),
        "huber": huber.astype(np.float64).mean(),
    }


def bench_cluster(n: int, chunk: int) -> None:
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        with distributed.Client(cluster) as client:
            rng = da.random.default_rng(0)
            p = rng.standard_normal(n, dtype=np.float32, chunks=chunk)
            t = rng.standard_normal(n, dtype=np.float32, chunks=chunk)
            p, t = client.persist([p, t])
            distributed.wait([p, t])

            t_lcd, got, mem_lcd = _timed_on_cluster(
                client, lambda: client.compute(lcd.evaluate_many(LOSSES, p, t), sync=True)
            )
            t_da, got_da, mem_da = _timed_on_cluster(
                client, lambda: client.compute(_dask_array_losses(p, t), sync=True)
            )
            p_np, t_np = client.compute([p, t], sync=True)
        losscore.set_num_threads(2)
        kernels = {name: getattr(_core, name) for name in LOSSES}

        def in_memory() -> dict[str, float]:
            return {k: kernels[k](p_np, t_np, **v) for k, v in LOSSES.items()}

        t_mem = min(timeit.repeat(in_memory, number=1, repeat=3))
        expected = in_memory()
    finally:
        cluster.close()
    print(f"\n1. evaluate_many(mse, mae, huber) over {n:.2e} float32, chunks of {chunk:.2e}")
    print(f"   {'':<28}{'seconds':>9}{'vs in-memory':>14}{'peak rise/worker':>18}")
    print(f"   {'in-memory losscore (2 thr)':<28}{t_mem:>9.3f}{1.0:>13.2f}x{'-':>18}")
    print(
        f"   {'losscore.dask (2 workers)':<28}{t_lcd:>9.3f}{t_lcd / t_mem:>13.2f}x"
        f"{mem_lcd / 2**20:>15.0f} MB"
    )
    print(
        f"   {'dask.array ops (2 workers)':<28}{t_da:>9.3f}{t_da / t_mem:>13.2f}x"
        f"{mem_da / 2**20:>15.0f} MB"
    )
    bitwise = all(float(got[k]) == expected[k] for k in LOSSES)
    print(f"   losscore.dask == in-memory bit for bit: {bitwise}")
    close = all(abs(float(got_da[k]) - expected[k]) <= 1e-6 * abs(expected[k]) for k in LOSSES)
    print(f"   dask.array within 1e-6 of in-memory: {close}")


def bench_accumulator(rows: int = 64, classes: int = 100, batches: int = 2000) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((rows * batches, classes)).astype(np.float32)
    y = rng.integers(0, classes, rows * batches)
    kernel = _core.cross_entropy
    losscore.set_num_threads(1)

    def direct() -> None:
        for b in range(batches):
            losscore.cross_entropy(x[b * rows : (b + 1) * rows], y[b * rows : (b + 1) * rows])

    def kernel_only() -> None:
        for b in range(batches):
            kernel(x[b * rows : (b + 1) * rows], y[b * rows : (b + 1) * rows])

    def streamed() -> None:
        acc = losscore.Accumulator("cross_entropy")
        for b in range(batches):
            acc.update(x[b * rows : (b + 1) * rows], y[b * rows : (b + 1) * rows])
        acc.result()

    # Interleaved, best of 15 each: all three see the same machine load.
    t_direct = t_kernel = t_stream = float("inf")
    for _ in range(15):
        t_direct = min(t_direct, timeit.timeit(direct, number=1) / batches)
        t_kernel = min(t_kernel, timeit.timeit(kernel_only, number=1) / batches)
        t_stream = min(t_stream, timeit.timeit(streamed, number=1) / batches)
    print(f"\n2. cross_entropy on batches of {rows} x {classes} float32 (1 thread)")
    print(f"   losscore.cross_entropy(batch)   {t_direct * 1e6:8.2f} us")
    print(f"   _core kernel call on the batch  {t_kernel * 1e6:8.2f} us")
    print(
        f"   Accumulator.update              {t_stream * 1e6:8.2f} us  "
        f"({t_stream / t_direct:.2f}x the loss call, {t_stream / t_kernel:.2f}x the kernel)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=float, default=2e8, help="elements per array")
    ap.add_argument("--chunk", type=float, default=2**24, help="elements per dask chunk")
    ap.add_argument("--skip-cluster", action="store_true")
    args = ap.parse_args()
    print(f"losscore {losscore.__version__}, isa {losscore.isa()}, dask {dask.__version__}")
    if not args.skip_cluster:
        bench_cluster(int(args.n), int(args.chunk))
    bench_accumulator()


if __name__ == "__main__":
    main()
