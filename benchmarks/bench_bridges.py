"""The framework bridges against the frameworks' own losses and optimizers (plain script).

1. A torch CPU training step of a 64-128-10 MLP (batch 256, float32):
   ``F.cross_entropy`` + ``torch.optim.AdamW(fused=True)`` vs ``losscore.torch.cross_entropy`` +
   ``losscore.torch.optim.AdamW``; also the loss (forward + backward) and the optimizer step alone.
2. ``losscore.jax.cross_entropy`` in a jitted ``value_and_grad`` vs optax's
   ``softmax_cross_entropy_with_integer_labels`` (when optax is installed) at (10^5, 100).
3. The host-callback boundary: a jitted losscore.jax loss on 8 elements minus the same loss
   written in jax.numpy, per call.

Variants are timed in interleaved rounds; the table shows medians per call.

Run: python benchmarks/bench_bridges.py [--quick]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable

import numpy as np


def interleaved(variants: dict[str, Callable[[], object]], calls: int, rounds: int) -> dict:
    """Median seconds per call of each variant, the variants alternating round by round."""
    times: dict[str, list[float]] = {name: [] for name in variants}
    for fn in variants.values():  # warm up (compilation, allocator)
        for _ in range(max(3, calls // 10)):
            fn()
    for _ in range(rounds):
        for name, fn in variants.items():
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            times[name].append((time.perf_counter() - start) / calls)
    return {name: statistics.median(t) for name, t in times.items()}


def torch_rows(calls: int, rounds: int) -> list[tuple[str, str, float]]:
    import torch
    import torch.nn.functional as F

    import losscore.torch as lct

    torch.manual_seed(0)
    x = torch.randn(256, 64)
    y = torch.randint(0, 10, (256,))

    def mlp() -> torch.nn.Module:
        torch.manual_seed(1)
        return torch.nn.Sequential(
            torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
        )

    m_torch, m_ours = mlp(), mlp()
    opt_torch = torch.optim.AdamW(m_torch.parameters(), lr=1e-3, fused=True)
    opt_ours = lct.optim.AdamW(m_ours.parameters(), lr=1e-3)

    def step(model, opt, loss_fn):
        def run() -> None:
            opt.zero_grad()
            loss_fn(model(x), y).backward()
            opt.step()

        return run

    rows = []
    full = interleaved(
        {
            "torch": step(m_torch, opt_torch, F.cross_entropy),
            "losscore": step(m_ours, opt_ours, lct.cross_entropy),
        },
        calls,
        rounds,
    )
    rows += [("MLP step 64-128-10, batch 256", k, v) for k, v in full.items()]

    logits = torch.randn(256, 10, requires_grad=True)

    def loss_only(fn):
        def run() -> None:
            logits.grad = None
            fn(logits, y).backward()

        return run

    part = interleaved(
        {"torch": loss_only(F.cross_entropy), "losscore": loss_only(lct.cross_entropy)},
        calls,
        rounds,
    )
    rows += [("cross_entropy fwd+bwd (256, 10)", k, v) for k, v in part.items()]

    for model in (m_torch, m_ours):
        for p in model.parameters():
            p.grad = torch.randn_like(p)
    part = interleaved({"torch": opt_torch.step, "losscore": opt_ours.step}, calls, rounds)
    rows += [("AdamW step (4 tensors, 9610 values)", k, v) for k, v in part.items()]
    return rows


def jax_rows(calls: int, rounds: int) -> list[tuple[str, str, float]]:
    import jax
    import jax.numpy as jnp

    import losscore.jax as lcj

    rng = np.random.default_rng(0)
    logits = jnp.asarray(rng.normal(size=(100_000, 100)), dtype=jnp.float32)
    labels = jnp.asarray(rng.integers(0, 100, size=100_000))
    variants: dict[str, Callable[[], object]] = {}

    ours = jax.jit(jax.value_and_grad(lambda x: lcj.cross_entropy(x, labels)))
    variants["losscore.jax"] = lambda: jax.block_until_ready(ours(logits))
    try:
        import optax

        theirs = jax.jit(
            jax.value_and_grad(
                lambda x: optax.softmax_cross_entropy_with_integer_labels(x, labels).mean()
            )
        )
        variants["optax"] = lambda: jax.block_until_ready(theirs(logits))
    except ImportError:
        print("optax is not installed: the optax row is left out")
    rows = []
    big = interleaved(variants, max(1, calls // 20), rounds)
    rows += [("jit value_and_grad cross_entropy (1e5, 100)", k, v) for k, v in big.items()]

    small_p = jnp.asarray(rng.normal(size=8), dtype=jnp.float32)
    small_t = jnp.asarray(rng.normal(size=8), dtype=jnp.float32)
    via_callback = jax.jit(lcj.mse)
    in_jax = jax.jit(lambda p, t: jnp.mean((p - t) ** 2))
    small = interleaved(
        {
            "losscore.jax (callback)": lambda: jax.block_until_ready(
                via_callback(small_p, small_t)
            ),
            "jax.numpy": lambda: jax.block_until_ready(in_jax(small_p, small_t)),
        },
        calls,
        rounds,
    )
    rows += [("jit mse on 8 elements", k, v) for k, v in small.items()]
    rows.append(
        (
            "callback boundary (difference)",
            "per call",
            small["losscore.jax (callback)"] - small["jax.numpy"],
        )
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer calls and rounds")
    parser.add_argument(
        "--threads", type=int, default=None, help="threads for torch and losscore (default: theirs)"
    )
    args = parser.parse_args()
    calls, rounds = (50, 5) if args.quick else (400, 15)
    import torch

    import losscore

    if args.threads:
        torch.set_num_threads(args.threads)
        losscore.set_num_threads(args.threads)
    print(
        f"{platform.machine()}, losscore ISA {losscore.isa()}, losscore threads "
        f"{losscore.get_num_threads()}, torch threads {torch.get_num_threads()}"
    )
    rows = torch_rows(calls, rounds) + jax_rows(calls, rounds)
    width = max(len(r[0]) for r in rows)
    print(f"{'case':<{width}}  {'variant':<24}  {'median':>12}")
    for case, variant, seconds in rows:
        print(f"{case:<{width}}  {variant:<24}  {seconds * 1e6:>9.1f} us")


if __name__ == "__main__":
    main()
