"""Kernel-level speed of the element-wise losses on every ISA path and thread count, with peers.

Every contender (losscore on each ISA path x thread count, JAX, PyTorch on 1 and all threads, and
a streaming read of the same number of bytes) runs on the same inputs, interleaved round-robin so
machine noise hits all alike. Prints ns per element, min and median over the repeats.

    PYTHONPATH=python python benchmarks/bench_kernels.py [--n 10000000] [--only mse,mae]
"""

from __future__ import annotations

import argparse
import importlib
import math
import os
import statistics
import time
from collections.abc import Callable

import numpy as np

import losscore
from losscore import _core

LN2 = math.log(2.0)


def _peer(name: str):
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def _losscore_rows(name: str, p: np.ndarray, t: np.ndarray) -> Callable[[], object]:
    g = np.empty_like(p)
    if name.startswith("vg:"):
        vg = losscore.value_and_grad(getattr(losscore, name[3:]))
        return lambda: vg(p, t, out=g)
    fn = getattr(losscore, name)
    return lambda: fn(p, t)


def _jax_rows(name: str, p: np.ndarray, t: np.ndarray) -> Callable[[], object] | None:
    jax = _peer("jax")
    if jax is None:
        return None
    jnp = jax.numpy
    formulas = {
        "mse": lambda x, y: jnp.mean((x - y) ** 2),
        "mae": lambda x, y: jnp.mean(jnp.abs(x - y)),
        "log_cosh": lambda x, y: jnp.mean(jnp.logaddexp(x - y, y - x) - LN2),
        "poisson_nll": lambda x, y: jnp.mean(jnp.exp(x) - y * x),
        "bce_with_logits": lambda x, y: jnp.mean(
            jnp.maximum(x, 0) - x * y + jnp.log1p(jnp.exp(-jnp.abs(x)))
        ),
    }
    base = name[3:] if name.startswith("vg:") else name
    if base not in formulas:
        return None
    pj, tj = jnp.asarray(p), jnp.asarray(t)
    f = jax.jit(jax.value_and_grad(formulas[base]) if name.startswith("vg:") else formulas[base])
    f(pj, tj)
    return lambda: jax.block_until_ready(f(pj, tj))


def _torch_rows(name: str, p: np.ndarray, t: np.ndarray) -> Callable[[], object] | None:
    torch = _peer("torch")
    if torch is None:
        return None
    f = torch.nn.functional

    def log_cosh(x, y):
        a = (x - y).abs()
        return (a + torch.log1p(torch.exp(-2 * a)) - LN2).mean()

    formulas = {
        "mse": f.mse_loss,
        "mae": f.l1_loss,
        "log_cosh": log_cosh,
        "poisson_nll": f.poisson_nll_loss,
        "bce_with_logits": f.binary_cross_entropy_with_logits,
    }
    base = name[3:] if name.startswith("vg:") else name
    if base not in formulas:
        return None
    formula = formulas[base]
    pt, tt = torch.from_numpy(p), torch.from_numpy(t)
    leaf = pt.clone().requires_grad_(True)
    if not name.startswith("vg:"):
        def value():
            with torch.no_grad():
                return formula(pt, tt).item()
        return value

    def value_and_grad():
        leaf.grad = None
        loss = formula(leaf, tt)
        loss.backward()
        return loss.item(), leaf.grad

    return value_and_grad


def _with(isa: str, threads: int, fn: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        _core.set_isa(isa)
        losscore.set_num_threads(threads)
        return fn()
    return run


def _torch_threads(threads: int, fn: Callable[[], object]) -> Callable[[], object]:
    torch = _peer("torch")

    def run() -> object:
        torch.set_num_threads(threads)
        return fn()
    return run


def measure(contenders: dict[str, Callable[[], object]], repeats: int, n: int,
            budget: float = 0.05) -> dict[str, tuple[float, float]]:
    """(min, median) ns per element of each contender, interleaved round-robin."""
    calls = {}
    for who, fn in contenders.items():
        fn()
        start = time.perf_counter()
        fn()
        calls[who] = max(1, int(budget / max(time.perf_counter() - start, 1e-9)))
    samples: dict[str, list[float]] = {who: [] for who in contenders}
    for _ in range(repeats):
        for who, fn in contenders.items():
            k = calls[who]
            fn()  # re-establish the setting (ISA, threads) and warm the caches alike
            start = time.perf_counter()
            for _ in range(k):
                fn()
            samples[who].append((time.perf_counter() - start) / k / n * 1e9)
    return {who: (min(s), statistics.median(s)) for who, s in samples.items()}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--only", default="")
    ap.add_argument("--isas", default=",".join(losscore.available_isas()))
    ap.add_argument("--no-peers", action="store_true")
    args = ap.parse_args()
    rows = ["mse", "mae", "vg:mse", "poisson_nll", "log_cosh", "vg:log_cosh",
            "vg:poisson_nll"]
    if args.only:
        rows = args.only.split(",")
    all_threads = os.cpu_count() or 1
    thread_counts = sorted({1, all_threads})
    isas = args.isas.split(",")
    rng = np.random.default_rng(0)
    n = args.n
    p = rng.standard_normal(n).astype(np.float32)
    t = rng.standard_normal(n).astype(np.float32)
    t_pos = np.abs(t)
    t_bin = (t > 0).astype(np.float32)
    print(f"cpu: {os.cpu_count()} cores; isa default {losscore.isa()}; load average "
          f"{os.getloadavg()[0]:.1f}; n = {n} float32; ns/element, min / median of "
          f"{args.repeats} interleaved repeats")
    for row in rows:
        base = row[3:] if row.startswith("vg:") else row
        tt = t_pos if base == "poisson_nll" else t_bin if base == "bce_with_logits" else t
        pp = p
        contenders: dict[str, Callable[[], object]] = {}
        fn = _losscore_rows(row, pp, tt)
        for isa in isas:
            for k in thread_counts:
                contenders[f"{isa}/{k}t"] = _with(isa, k, fn)
        if not args.no_peers:
            j = _jax_rows(row, pp, tt)
            if j is not None:
                contenders["jax"] = j
            tr = _torch_rows(row, pp, tt)
            if tr is not None:
                for k in thread_counts:
                    contenders[f"torch/{k}t"] = _torch_threads(k, tr)
        if base in ("mse", "mae") and not row.startswith("vg:"):
            both = np.concatenate([pp, tt])
            for k in thread_counts:
                contenders[f"stream2/{k}t"] = _with(isas[-1], k, lambda b=both: _core.stream_sum(b))
        res = measure(contenders, args.repeats, n)
        name = f"value_and_grad({base})" if row.startswith("vg:") else base
        cells = "  ".join(f"{who} {lo:.3f}/{med:.3f}" for who, (lo, med) in res.items())
        print(f"{name:<28} {cells}", flush=True)
    _core.set_isa(losscore.available_isas()[-1])
    losscore.set_num_threads(all_threads)


if __name__ == "__main__":
    main()
