"""``losscore bench``: runs every case family, prints a table, optionally writes JSON."""

from __future__ import annotations

import importlib
import json
import math
import os
import platform
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

import losscore
from losscore import _core

from .._progress import Progress, progress_enabled
from . import peers
from .memory import peak_extra_bytes
from .timing import Case, Result, time_case

# Families of cases; a family whose module is absent is skipped.
FAMILIES = ["regression", "deviance", "classification", "several", "optim"]


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


def _fmt_n(n: int) -> str:
    """10 -> "10", 100_000 -> "100k", 10_000_000 -> "10M"."""
    for size, suffix in ((10**9, "G"), (10**6, "M"), (10**3, "k")):
        if n >= size and n % size == 0:
            return f"{n // size}{suffix}"
    return f"{n:,}" if n < 10**6 else f"{n:.2g}"


# Below this much traffic a case measures call overhead and compute, not bandwidth.
MIN_PROBE_BYTES = 16 * 1024 * 1024


def make_probe(case: Case) -> tuple[Callable[[], object], int] | None:
    """A bandwidth probe for ``case`` and the bytes it moves, or None for a small case.

    Optimizer steps: :func:`_core.probe_update4`, four arrays read and three written back in
    place, as many bytes as the step moves. Losses: :func:`_core.probe_read2`, a read of two
    arrays the size of the loss's two inputs (the same working set), and for a value with its
    gradient :func:`_core.probe_read2_write1`, which also writes an array of that size. All run
    on losscore's pool with the thread count in force.
    """
    if case.bytes_per_element is None:
        return None
    if case.n * case.bytes_per_element < MIN_PROBE_BYTES:
        return None
    if case.group == "optim":
        k = int(case.n * case.bytes_per_element) // (7 * 4)
        p, g, m, v = (np.ones(k, dtype=np.float32) for _ in range(4))
        return (lambda: _core.probe_update4(p, g, m, v)), 7 * 4 * k
    item = np.dtype(case.dtype).itemsize
    k = case.n * item // 4
    a, b = np.ones(k, dtype=np.float32), np.ones(k, dtype=np.float32)
    if case.bytes_per_element >= 3 * item:  # a value with its gradient: one array written
        c = np.ones(k, dtype=np.float32)
        return (lambda: _core.probe_read2_write1(a, b, c)), 3 * 4 * k
    return (lambda: _core.probe_read2(a, b)), 2 * 4 * k


def bandwidth_share(r: Result) -> float | None:
    """The probe's time over losscore's: the share of the machine's streaming rate reached."""
    if r.probe_seconds is None or "losscore" not in r.seconds:
        return None
    return r.probe_seconds / r.seconds["losscore"]


def traffic_rate(r: Result, seconds: float | None) -> float | None:
    """GB/s of the operation's ``n * bytes_per_element`` bytes moved in ``seconds``."""
    if seconds is None or r.bytes_per_element is None:
        return None
    return r.n * r.bytes_per_element / seconds / 1e9


def probe_rate(r: Result) -> float | None:
    """GB/s of the probe."""
    if r.probe_seconds is None:
        return None
    return r.probe_bytes / r.probe_seconds / 1e9


def _family(r: Result) -> str:
    return r.group.split("-")[0]


def _sections(results: list[Result]) -> dict[str, list[Result]]:
    out: dict[str, list[Result]] = {}
    for r in results:
        out.setdefault(f"{_family(r)}, {r.dtype}", []).append(r)
    return out


NAME_WIDTH = 28


def table(results: list[Result]) -> str:
    """The results in at most 100 columns, one section per family and dtype."""
    header = (
        f"{'operation':<{NAME_WIDTH}}{'n':>5}{'thr':>4}  {'losscore':>8}{'median':>8}"
        f"{'careful':>8}  {'best peer':<14}{'vs np':>7}{'vs peer':>8}{'% bw':>6}"
    )
    lines = [header, "-" * len(header)]
    for section, rows in _sections(results).items():
        lines.append(f"[{section}]")
        for r in rows:
            s = r.seconds
            best = r.best_peer()
            peer_txt = f"{_fmt_ns(best[1], r.n)} {best[0]}" if best else "-"
            vs_peer = best[1] / s["losscore"] if best and "losscore" in s else None
            share = bandwidth_share(r)
            name = r.name
            if len(name) > NAME_WIDTH - 1:
                lines.append(name)
                name = ""
            lines.append(
                f"{name:<{NAME_WIDTH}}{_fmt_n(r.n):>5}{r.threads:>4}  "
                f"{_fmt_ns(s.get('losscore'), r.n):>8}"
                f"{_fmt_ns(r.median_seconds.get('losscore'), r.n):>8}"
                f"{_fmt_ns(s.get('numpy-careful'), r.n):>8}  {peer_txt:<14}"
                f"{_fmt_x(r.speedup('numpy-careful')):>7}{_fmt_x(vs_peer):>8}"
                f"{'' if share is None else f'{share:.0%}':>6}"
            )
    lines += [
        "ns per element, minimum of interleaved runs (median: losscore's median);",
        "careful = NumPy with preallocated buffers; vs np, vs peer = other time / losscore time;",
        "% bw = a streaming probe's time / losscore's (same working set and threads)",
    ]
    return "\n".join(lines)


def wide_table(results: list[Result]) -> str:
    """Every contender's minimum and median, the traffic rates: one line per result."""
    names = list(dict.fromkeys(who for r in results for who in r.seconds))
    header = f"{'operation':<48}{'dtype':<9}{'n':>11}{'thr':>4}"
    header += "".join(f"{who:>15}" for who in names)
    header += f"{'GB/s':>7}{'probe GB/s':>11}{'% bw':>6}"
    lines = [header, "-" * len(header)]
    for r in results:
        line = f"{r.group + ' ' + r.name:<48}{r.dtype:<9}{r.n:>11,}{r.threads:>4}"
        for who in names:
            cell = "-"
            if who in r.seconds:
                cell = (f"{_fmt_ns(r.seconds[who], r.n)}/"
                        f"{_fmt_ns(r.median_seconds.get(who), r.n)}")
            line += f"{cell:>15}"
        rate = traffic_rate(r, r.seconds.get("losscore"))
        probe = probe_rate(r)
        share = bandwidth_share(r)
        line += f"{'' if rate is None else f'{rate:.1f}':>7}"
        line += f"{'' if probe is None else f'{probe:.1f}':>11}"
        line += f"{'' if share is None else f'{share:.0%}':>6}"
        lines.append(line)
    lines.append("ns per element, min/median of interleaved runs; GB/s = losscore's traffic rate")
    return "\n".join(lines)


def markdown(results: list[Result], info: dict[str, Any]) -> str:
    """A Markdown table of the runs at the largest thread count (the README's table)."""
    top = max(r.threads for r in results)
    lines = [
        f"{info['cpu']}, isa {info['isa']}, {top} threads, NumPy {info['numpy']}, "
        f"Python {info['python']}; ns per element (minimum of interleaved runs), lower is "
        "better; x = other time / losscore time.",
        "",
        "| operation | dtype | n | losscore | NumPy careful | NumPy naive | best peer "
        "| vs careful | vs naive | % bw |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        if r.threads != top:
            continue
        s = r.seconds
        best = r.best_peer()
        peer_txt = f"{_fmt_ns(best[1], r.n)} ({best[0]})" if best else "-"
        share = bandwidth_share(r)
        lines.append(
            f"| `{r.name}` | {r.dtype} | {_fmt_n(r.n)} | {_fmt_ns(s.get('losscore'), r.n)} "
            f"| {_fmt_ns(s.get('numpy-careful'), r.n)} | {_fmt_ns(s.get('numpy-naive'), r.n)} "
            f"| {peer_txt} | {_fmt_x(r.speedup('numpy-careful'))} "
            f"| {_fmt_x(r.speedup('numpy-naive'))} | {'' if share is None else f'{share:.0%}'} |"
        )
    return "\n".join(lines)


def probe_summary(results: list[Result]) -> list[str]:
    """One line per thread count: the probes' best rates and the memory-bound cases' rates."""
    lines = []
    for k in sorted({r.threads for r in results}):
        rows = [r for r in results if r.threads == k and r.probe_seconds is not None]
        if not rows:
            continue
        parts = []
        def arrays(r: Result) -> float:  # arrays of the case's size the probe streams
            return r.probe_bytes / (r.n * np.dtype(r.dtype).itemsize)

        for pattern, pick in (("2 reads", lambda r: r.group != "optim" and arrays(r) < 2.5),
                              ("2 reads + 1 write",
                               lambda r: r.group != "optim" and arrays(r) >= 2.5),
                              ("4 reads + 3 writes", lambda r: r.group == "optim")):
            chosen = [r for r in rows if pick(r)]
            if chosen:
                best = max(probe_rate(r) or 0.0 for r in chosen)
                parts.append(f"{pattern} {best:.1f} GB/s")
        lines.append(f"streaming probe, {k} thread{'s' if k > 1 else ''}: " + ", ".join(parts))
    return lines


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
        "cpus": os.cpu_count() or 1,
        "peers": peers.versions(),
    }


def machine_line(info: dict[str, Any], thread_counts: list[int]) -> str:
    peer_txt = ", ".join(f"{k} {v}" for k, v in info["peers"].items()) or "none"
    return (
        f"losscore {info['losscore']} | {info['cpu']} | isa {info['isa']} | threads "
        f"{'/'.join(map(str, thread_counts))} of {info['cpus']} CPUs\n"
        f"numpy {info['numpy']} | python {info['python']} | peers: {peer_txt}"
    )


def busy_warning(cpus: int) -> str | None:
    """A warning when the 1-minute load average says other processes compete for the CPUs."""
    try:
        load = os.getloadavg()[0]
    except OSError:  # pragma: no cover - not available on this platform
        return None
    if load <= max(0.5, 0.25 * cpus):
        return None
    return (
        f"warning: load average {load:.1f} on {cpus} CPUs: other processes are running,\n"
        "so timings are noisy (the minima below are the least disturbed samples)"
    )


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def plot(
    results: list[Result], path: str, info: dict[str, Any] | None = None
) -> list[tuple[float, float]] | None:
    """Speedup of losscore over each other contender (log axis centred on 1x), per operation.

    Returns the ``(left, right)`` x-extent of every bar drawn (None when nothing was written).
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import FuncFormatter
    except ImportError:
        print("--plot needs matplotlib: pip install 'losscore[plot]'", file=sys.stderr)
        return None
    top = max(r.threads for r in results)
    rows = [r for r in results if r.threads == top and "losscore" in r.seconds
            and len(r.seconds) > 1]
    if not rows:
        print("--plot: nothing to plot", file=sys.stderr)
        return None
    others = list(dict.fromkeys(w for r in rows for w in r.seconds if w != "losscore"))
    labels = [f"{r.name} ({r.dtype}, n={_fmt_n(r.n)})" for r in rows]
    fig, ax = plt.subplots(figsize=(10, 0.45 * len(rows) * max(1, len(others) / 2.5) + 2))
    height = 0.8 / len(others)
    extent = 0.3
    spans: list[tuple[float, float]] = []
    for k, who in enumerate(others):
        ys, xs = [], []
        for i, r in enumerate(rows):
            x = r.speedup(who)
            if x is not None:
                ys.append(i - 0.4 + (k + 0.5) * height)
                xs.append(x)
        # Bars start at 1x: right of the line losscore is faster, left of it slower.
        bars = ax.barh(ys, [x - 1.0 for x in xs], height, left=1.0, label=f"vs {who}")
        spans += [(min(1.0, x), max(1.0, x)) for x in xs]
        ax.bar_label(bars, labels=[f"{x:.2g}x" if x < 10 else f"{x:,.0f}x" for x in xs],
                     fontsize=6, padding=2)
        extent = max([extent, *(abs(math.log10(x)) for x in xs if x > 0)])
    ax.set_xscale("log")
    # Symmetric about 1x, so a 0.5x slowdown looks as large as a 2x gain.
    ax.set_xlim(10 ** -(extent * 1.15), 10 ** (extent * 1.15))
    ax.axvline(1.0, color="k", lw=1.0)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}x"))
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.set_xlabel("speedup of losscore: other time / losscore time (log scale; > 1x = faster)")
    where = f"{info['cpu']}, isa {info['isa']}, " if info else ""
    ax.set_title(f"losscore vs NumPy and peers ({where}{top} threads)", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    ax.invert_yaxis()
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    print(f"wrote {path}")
    return spans


def main(
    quick: bool,
    only: str | None,
    json_path: str | None,
    repeats: int | None,
    plot_path: str | None = None,
    threads: list[int] | None = None,
    wide: bool = False,
    markdown_table: bool = False,
) -> int:
    cases = collect(quick, only)
    if not cases:
        print(f"no benchmark matches {only!r}", file=sys.stderr)
        return 2
    info = machine()
    all_threads = info["threads"]
    thread_counts = threads or ([all_threads] if quick else sorted({1, all_threads}))
    warning = busy_warning(info["cpus"])
    print(machine_line(info, thread_counts))
    if warning:
        print(warning)
    absent = peers.missing()
    if absent:
        print(f"peers not installed (skipped): {', '.join(absent)}")
    reps = repeats or (3 if quick else 7)
    budget = 0.005 if quick else 0.02

    def set_threads(k: int) -> None:
        losscore.set_num_threads(k)
        peers.set_threads(k)

    results: list[Result] = []
    bar = Progress(len(cases), "bench", unit="case", enabled=progress_enabled(True, sys.stderr))
    try:
        for done, case in enumerate(cases):
            label = f"{case.group} {case.name} {case.dtype} n={case.n:,}"
            bar.update_to(done, lambda label=label: label)
            probe = make_probe(case)
            case.probe, case.probe_bytes = probe if probe else (None, 0)
            results.extend(time_case(case, repeats=reps, budget=budget, threads=thread_counts,
                                     set_threads=set_threads))
            case.contenders, case.probe = {}, None  # free the inputs
    finally:
        set_threads(all_threads)
        bar.close()
    if markdown_table:
        print(markdown(results, info))
    else:
        print(wide_table(results) if wide else table(results))
    for line in probe_summary(results):
        print(line)
    mem = None
    if only is None or "memory" in only:
        mem = memory_report(100_000 if quick else 10_000_000)
        print(
            f"peak extra memory of value_and_grad(mse), float32 n={mem['n']:,}: "
            f"losscore {mem['losscore'] / 1e6:.1f} MB (gradient alone: "
            f"{mem['gradient_bytes'] / 1e6:.1f} MB), naive NumPy {mem['numpy-naive'] / 1e6:.1f} MB"
        )
    if json_path:
        payload = {
            "machine": info,
            "busy_warning": warning,
            "peers_missing": absent,
            "results": [
                {
                    "group": r.group,
                    "name": r.name,
                    "dtype": r.dtype,
                    "n": r.n,
                    "threads": r.threads,
                    "seconds": r.seconds,
                    "median_seconds": r.median_seconds,
                    "probe_seconds": r.probe_seconds,
                    "speedup_vs_careful": r.speedup("numpy-careful"),
                    "speedup_vs_naive": r.speedup("numpy-naive"),
                    "best_peer": r.best_peer(),
                    "traffic_gbs": traffic_rate(r, r.seconds.get("losscore")),
                    "probe_gbs": probe_rate(r),
                    "bandwidth_share": bandwidth_share(r),
                }
                for r in results
            ],
            "memory": mem,
        }
        with open(json_path, "w") as fh:
            json.dump(payload, fh, indent=2)
        print(f"wrote {json_path}")
    if plot_path:
        plot(results, plot_path, info)
    return 0
