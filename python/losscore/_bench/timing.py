"""The one place where losscore times things.

Every contender of a case runs on the same pre-built inputs. The contenders, the thread counts
and the bandwidth probe are interleaved (round-robin: one sample of each in turn, then the next
round), so that machine noise hits all of them alike. The minimum and the median of the samples
are kept; ratios are taken between minima measured in the same run (on a busy machine the
minimum is the sample least disturbed by other processes).
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
    # A zero-argument callable streaming the operation's working set with its access pattern and
    # no arithmetic to speak of (``probe_bytes`` bytes): the machine's bound for this case.
    probe: Callable[[], object] | None = None
    probe_bytes: int = 0


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
    median_seconds: dict[str, float] = field(default_factory=dict)
    probe_seconds: float | None = None
    probe_bytes: int = 0

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


# A call at least this long is timed on its own: the minimum over single calls is then the call
# least disturbed by other processes (a mean over back-to-back calls absorbs every disturbance).
SINGLE_CALL_SECONDS = 2e-4


def _sample(fn: Callable[[], object], calls: int, budget: float) -> list[float]:
    """Seconds per call over one sample of ``calls`` calls: one value per call when calls are
    long, else the mean of the batch."""
    if budget / calls >= SINGLE_CALL_SECONDS:
        out = []
        for _ in range(calls):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
        return out
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return [(time.perf_counter() - start) / calls]


def time_case(
    case: Case,
    repeats: int = 7,
    budget: float = 0.02,
    threads: list[int] | None = None,
    set_threads: Callable[[int], None] | None = None,
) -> list[Result]:
    """Seconds per call of every contender at every thread count, measured interleaved.

    One round runs one sample of each (thread count, contender) pair and of the probe; ``repeats``
    rounds are run. Returns one :class:`Result` per thread count (minimum in ``seconds``, median
    in ``median_seconds``).
    """
    counts = threads or [1]

    def use(k: int) -> None:
        if set_threads is not None:
            set_threads(k)

    runners = dict(case.contenders)
    if case.probe is not None:
        runners[PROBE] = case.probe
    loops: dict[tuple[int, str], int] = {}
    for k in counts:
        use(k)
        for who, fn in runners.items():
            loops[k, who] = _calls_per_sample(fn, budget)
    samples: dict[tuple[int, str], list[float]] = {key: [] for key in loops}
    for _ in range(repeats):
        for k in counts:
            use(k)
            for who, fn in runners.items():
                samples[k, who].extend(_sample(fn, loops[k, who], budget))
    results = []
    for k in counts:
        mins = {who: min(samples[k, who]) for who in case.contenders}
        medians = {who: statistics.median(samples[k, who]) for who in case.contenders}
        probe = min(samples[k, PROBE]) if case.probe is not None else None
        results.append(Result(case.group, case.name, case.dtype, case.n, mins, case.baseline,
                              case.bytes_per_element, k, medians, probe, case.probe_bytes))
    return results


# The key of the bandwidth probe among a case's samples (never a contender's name).
PROBE = "<probe>"
