"""The one place where losscore times things.

Every contender of a case runs on the same pre-built inputs; the contenders are interleaved
(round-robin) so that machine noise hits all of them alike, and the median of the repeats is kept.
Ratios are taken between medians measured in the same run.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["Case", "Result", "time_case"]


@dataclass
class Case:
    """One operation at one size and dtype, with the implementations to compare.

    ``n`` is the element (or parameter) count used for ns/element; each contender is a
    zero-argument callable running the operation once on pre-built inputs.
    """

    group: str
    name: str
    dtype: str
    n: int
    contenders: dict[str, Callable[[], object]]
    baseline: str = "numpy-careful"
    # Bytes the operation must move per element (reads + writes): memory-bound cases report
    # their speed as a share of the measured bandwidth.
    bytes_per_element: float | None = None


@dataclass
class Result:
    group: str
    name: str
    dtype: str
    n: int
    seconds: dict[str, float] = field(default_factory=dict)
    baseline: str = "numpy-careful"
    bytes_per_element: float | None = None
    threads: int = 1

    def best_peer(self) -> tuple[str, float] | None:
        """The fastest contender that is neither losscore nor NumPy."""
        peers = [(s, who) for who, s in self.seconds.items()
                 if who != "losscore" and not who.startswith("numpy")]
        if not peers:
            return None
        s, who = min(peers)
        return who, s

    def ns_per_element(self, who: str) -> float:
        return self.seconds[who] / max(self.n, 1) * 1e9

    def speedup(self, over: str, who: str = "losscore") -> float | None:
        if over not in self.seconds or who not in self.seconds:
            return None
        return self.seconds[over] / self.seconds[who]


def _calls_per_sample(fn: Callable[[], object], budget: float) -> int:
    """Enough back-to-back calls that one sample lasts about ``budget`` seconds."""
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= budget or calls >= 1 << 20:
            return calls
        calls = max(calls * 2, int(calls * budget / max(elapsed, 1e-9)))


def time_case(case: Case, repeats: int = 7, budget: float = 0.02, threads: int = 1) -> Result:
    """Median seconds per call of every contender, measured interleaved."""
    loops = {who: _calls_per_sample(fn, budget) for who, fn in case.contenders.items()}
    samples: dict[str, list[float]] = {who: [] for who in case.contenders}
    for _ in range(repeats):
        for who, fn in case.contenders.items():
            n = loops[who]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            samples[who].append((time.perf_counter() - start) / n)
    return Result(
        case.group,
        case.name,
        case.dtype,
        case.n,
        {who: statistics.median(s) for who, s in samples.items()},
        case.baseline,
        case.bytes_per_element,
        threads,
    )
