"""``losscore bench``: runs every case family, prints a table, optionally writes JSON."""

from __future__ import annotations

import importlib
import json
import platform
import sys
from typing import Any

import numpy as np

import losscore

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


def table(results: list[Result]) -> str:
    header = (
        f"{'operation':<34}{'dtype':<9}{'n':>10}  {'losscore':>10}{'careful':>10}{'naive':>10}"
        f"{'vs careful':>12}{'vs naive':>10}{'call us':>9}"
    )
    lines = [header, "-" * len(header)]
    for r in results:
        s = r.seconds
        lines.append(
            f"{r.group + ' ' + r.name:<34}{r.dtype:<9}{r.n:>10,}  "
            f"{_fmt_ns(s.get('losscore'), r.n):>10}{_fmt_ns(s.get('numpy-careful'), r.n):>10}"
            f"{_fmt_ns(s.get('numpy-naive'), r.n):>10}"
            f"{_fmt_x(r.speedup('numpy-careful')):>12}{_fmt_x(r.speedup('numpy-naive')):>10}"
            f"{s.get('losscore', 0) * 1e6:>9.2f}"
        )
    lines.append("(ns per element; speedup = NumPy time / losscore time; interleaved medians)")
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
        "cpu": platform.processor() or platform.machine(),
    }


def main(quick: bool, only: str | None, json_path: str | None, repeats: int | None) -> int:
    cases = collect(quick, only)
    if not cases:
        print(f"no benchmark matches {only!r}", file=sys.stderr)
        return 2
    info = machine()
    print(
        f"losscore {info['losscore']} | isa {info['isa']} | threads {info['threads']} | "
        f"numpy {info['numpy']} | python {info['python']}"
    )
    reps = repeats or (3 if quick else 7)
    budget = 0.005 if quick else 0.02
    results = []
    for i, case in enumerate(cases, 1):
        print(f"\r[{i}/{len(cases)}] {case.group} {case.name} {case.dtype} n={case.n:,}".ljust(79),
              end="", file=sys.stderr, flush=True)
        results.append(time_case(case, repeats=reps, budget=budget))
        del case.contenders
    print("\r" + " " * 79 + "\r", end="", file=sys.stderr)
    print(table(results))
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
            "results": [
                {
                    "group": r.group,
                    "name": r.name,
                    "dtype": r.dtype,
                    "n": r.n,
                    "seconds": r.seconds,
                    "speedup_vs_careful": r.speedup("numpy-careful"),
                    "speedup_vs_naive": r.speedup("numpy-naive"),
                }
                for r in results
            ],
            "memory": mem,
        }
        with open(json_path, "w") as fh:
            json.dump(payload, fh, indent=2)
        print(f"wrote {json_path}")
    return 0
