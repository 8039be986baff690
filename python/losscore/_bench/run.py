"""``losscore bench``: runs every case family, prints a table, optionally writes JSON."""

from __future__ import annotations

import importlib
import json
import platform
import sys
import time
from typing import Any

import numpy as np

import losscore
from losscore import _core

from .._progress import Progress, progress_enabled
from . import peers
from .memory import peak_extra_bytes
from .timing import Case, Result, time_case

# Families of cases; a family whose module is absent is skipped.
FAMILIES = ["regression", "classification", "optim"]


def collect(quick: bool, only: str | None) -> list[Case]:
    cases: list[Case] = []
    for family in FAMILIES:
        try:
            module = importlib.import_module(f"losscore._bench.{family}")
        except ImportError:
            continue
        for case in module.cases(quick):
            label = f"{case.group} {case.name}"
            if only is None or only in label:
                cases.append(case)
    return cases


def _fmt_ns(seconds: float | None, n: int) -> str:
    if seconds is None:
        return "-"
    ns = seconds / max(n, 1) * 1e9
    return f"{ns:.3g}" if ns < 1000 else f"{ns:,.0f}"


def _fmt_x(x: float | None) -> str:
    return "-" if x is None else f"{x:.1f}x"


_BANDWIDTH: dict[int, float] = {}


def measure_bandwidth(n_bytes: int = 512 * 1024 * 1024) -> float:
    """Read bandwidth in GB/s of losscore's own streaming kernel (a deterministic sum) over
    ``n_bytes``, read repeatedly: past the last-level cache this is the memory bandwidth, below
    it the cache bandwidth that an operation on the same amount of data can hope for."""
    if n_bytes not in _BANDWIDTH:
        x = np.ones(max(n_bytes // 4, 1), dtype=np.float32)
        _core.stream_sum(x)
        best = float("inf")
        for _ in range(5):
            start = time.perf_counter()
            _core.stream_sum(x)
            best = min(best, time.perf_counter() - start)
        _BANDWIDTH[n_bytes] = x.nbytes / best / 1e9
    return _BANDWIDTH[n_bytes]


def bandwidth_share(r: Result, bandwidth_gbs: float | None) -> float | None:
    """losscore's traffic rate as a share of the streaming rate for the same number of bytes."""
    if not bandwidth_gbs or r.bytes_per_element is None or "losscore" not in r.seconds:
        return None
    traffic = r.n * r.bytes_per_element
    if traffic < 16 * 1024 * 1024:  # small: call overhead and compute, not bandwidth
        return None
    achieved = traffic / r.seconds["losscore"] / 1e9
    return achieved / measure_bandwidth(int(traffic))


def table(results: list[Result], bandwidth_gbs: float | None = None) -> str:
    header = (
        f"{'operation':<48}{'dtype':<8}{'n':>11}{'thr':>4}  {'losscore':>9}{'careful':>9}"
        f"{'naive':>9}{'best peer':>16}  {'vs careful':>10}{'vs naive':>9}{'vs peer':>8}"
        f"{'% bw':>6}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        s = r.seconds
        best = r.best_peer()
        peer_txt = f"{_fmt_ns(best[1], r.n)} {best[0]}" if best else "-"
        vs_peer = best[1] / s["losscore"] if best and "losscore" in s else None
        share = bandwidth_share(r, bandwidth_gbs)
        lines.append(
            f"{r.group + ' ' + r.name:<48}{r.dtype:<8}{r.n:>11,}{r.threads:>4}  "
            f"{_fmt_ns(s.get('losscore'), r.n):>9}{_fmt_ns(s.get('numpy-careful'), r.n):>9}"
            f"{_fmt_ns(s.get('numpy-naive'), r.n):>9}{peer_txt:>16}  "
            f"{_fmt_x(r.speedup('numpy-careful')):>10}{_fmt_x(r.speedup('numpy-naive')):>9}"
            f"{_fmt_x(vs_peer):>8}{'' if share is None else f'{share:.0%}':>6}"
        )
    lines.append(
        "ns per element (medians of interleaved runs); speedup = other time / losscore time; "
        "% bw = losscore's traffic rate as a share of a plain read of as many bytes"
    )
    return "\n".join(lines)


def memory_report(n: int = 10_000_000) -> dict[str, int]:
    """Peak extra bytes of value_and_grad(mse) on float32 vs the NumPy versions."""
    rng = np.random.default_rng(0)
    p = rng.standard_normal(n).astype(np.float32)
    t = rng.standard_normal(n).astype(np.float32)
    vg = losscore.value_and_grad(losscore.mse)
    return {
        "n": n,
        "gradient_bytes": p.nbytes,
        "losscore": peak_extra_bytes(lambda: vg(p, t)),
        "numpy-naive": peak_extra_bytes(lambda: (np.mean((p - t) ** 2), 2 * (p - t) / n)),
    }


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "losscore": losscore.__version__,
        "isa": losscore.isa(),
        "threads": losscore.get_num_threads(),
        "cpu": _cpu_name(),
    }


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def plot(results: list[Result], path: str) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot needs matplotlib: pip install 'losscore[plot]'", file=sys.stderr)
        return
    rows = [r for r in results if r.speedup("numpy-careful") is not None]
    sizes = sorted({r.n for r in rows})
    ops = list(dict.fromkeys(f"{r.group} {r.name} ({r.dtype}, {r.threads}t)" for r in rows))
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(ops) + 1.5))
    height = 0.8 / max(len(sizes), 1)
    for k, n in enumerate(sizes):
        values = []
        for op in ops:
            match = [r for r in rows
                     if f"{r.group} {r.name} ({r.dtype}, {r.threads}t)" == op and r.n == n]
            values.append(match[0].speedup("numpy-careful") if match else 0.0)
        ax.barh([i + k * height for i in range(len(ops))], values, height, label=f"n={n:,}")
    ax.set_yticks([i + 0.4 - height / 2 for i in range(len(ops))], ops, fontsize=7)
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("speedup over careful NumPy (log scale)")
    ax.legend(fontsize=7)
    ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"wrote {path}")


def main(
    quick: bool,
    only: str | None,
    json_path: str | None,
    repeats: int | None,
    plot_path: str | None = None,
    threads: list[int] | None = None,
) -> int:
    cases = collect(quick, only)
    if not cases:
        print(f"no benchmark matches {only!r}", file=sys.stderr)
        return 2
    info = machine()
    all_threads = info["threads"]
    thread_counts = threads or ([all_threads] if quick else sorted({1, all_threads}))
    print(
        f"losscore {info['losscore']} | {info['cpu']} | isa {info['isa']} | "
        f"threads {all_threads} | numpy {info['numpy']} | python {info['python']}"
    )
    absent = peers.missing()
    if absent:
        print(f"peers not installed (skipped): {', '.join(absent)}")
    bandwidth = None if quick and only else measure_bandwidth(
        128 * 1024 * 1024 if quick else 512 * 1024 * 1024
    )
    if bandwidth:
        print(
            f"memory read bandwidth: {bandwidth:.1f} GB/s ({all_threads} threads, 512 MB); "
            "'% bw' compares each large case with streaming the same number of bytes"
        )
    reps = repeats or (3 if quick else 7)
    budget = 0.005 if quick else 0.02
    results = []
    total = len(cases) * len(thread_counts)
    done = 0
    bar = Progress(total, "bench", unit="case", enabled=progress_enabled(True, sys.stderr))
    try:
        for case in cases:
            for k in thread_counts:
                losscore.set_num_threads(k)
                peers.set_threads(k)
                label = f"{case.group} {case.name} {case.dtype} n={case.n:,} t={k}"
                bar.update_to(done, lambda label=label: label)
                results.append(time_case(case, repeats=reps, budget=budget, threads=k))
                done += 1
            case.contenders = {}  # free the inputs
    finally:
        losscore.set_num_threads(all_threads)
        peers.set_threads(all_threads)
        bar.close()
    print(table(results, bandwidth))
    mem = None
    if only is None or "memory" in only:
        mem = memory_report(100_000 if quick else 10_000_000)
        print(
            f"\npeak extra memory of value_and_grad(mse), float32 n={mem['n']:,}: "
            f"losscore {mem['losscore'] / 1e6:.1f} MB (gradient alone: "
            f"{mem['gradient_bytes'] / 1e6:.1f} MB), naive NumPy {mem['numpy-naive'] / 1e6:.1f} MB"
        )
    if json_path:
        payload = {
            "machine": info,
            "bandwidth_gbs": bandwidth,
            "peers_missing": absent,
            "results": [
                {
                    "group": r.group,
                    "name": r.name,
                    "dtype": r.dtype,
                    "n": r.n,
                    "threads": r.threads,
                    "seconds": r.seconds,
                    "speedup_vs_careful": r.speedup("numpy-careful"),
                    "speedup_vs_naive": r.speedup("numpy-naive"),
                    "best_peer": r.best_peer(),
                    "bandwidth_share": bandwidth_share(r, bandwidth),
                }
                for r in results
            ],
            "memory": mem,
        }
        with open(json_path, "w") as fh:
            json.dump(payload, fh, indent=2)
        print(f"wrote {json_path}")
    if plot_path:
        plot(results, plot_path)
    return 0
