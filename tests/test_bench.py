"""``losscore bench``'s machinery: interleaving, min and median, the busy warning, the probes."""

from __future__ import annotations

import numpy as np
import pytest

from losscore import _core
from losscore._bench import run
from losscore._bench.timing import Case, time_case


def test_thread_counts_and_contenders_are_interleaved():
    events: list[tuple[str, int]] = []
    current = [1]

    def contender(name):
        return lambda: events.append((name, current[0]))

    def set_threads(k):
        current[0] = k

    case = Case("g", "op", "float32", 10, {"a": contender("a"), "b": contender("b")})
    results = time_case(case, repeats=3, budget=0.0, threads=[1, 2], set_threads=set_threads)
    assert [r.threads for r in results] == [1, 2]
    # after calibration (one call each), every round runs a1 b1 a2 b2
    timed = events[4:]
    assert timed == [("a", 1), ("b", 1), ("a", 2), ("b", 2)] * 3
    for r in results:
        assert set(r.seconds) == set(r.median_seconds) == {"a", "b"}
        assert all(r.seconds[w] <= r.median_seconds[w] for w in r.seconds)


def test_busy_warning_reads_the_load_average(monkeypatch):
    monkeypatch.setattr(run.os, "getloadavg", lambda: (6.0, 5.0, 4.0))
    assert "load average 6.0 on 2 CPUs" in run.busy_warning(2)
    monkeypatch.setattr(run.os, "getloadavg", lambda: (0.1, 0.1, 0.1))
    assert run.busy_warning(2) is None


def test_probe_read2_reads_both_arrays():
    rng = np.random.default_rng(0)
    a = rng.random(300_001).astype(np.float32)
    b = rng.random(300_001).astype(np.float32)
    expected = float(a.astype(np.float64).sum() + b.astype(np.float64).sum())
    assert _core.probe_read2(a, b) == pytest.approx(expected, rel=1e-4)


def test_probe_update4_is_an_in_place_step():
    rng = np.random.default_rng(1)
    p, g, m, v = (rng.standard_normal(200_003).astype(np.float32) for _ in range(4))
    m2 = (np.float32(0.5) * m + g).astype(np.float32)
    v2 = (np.float32(0.5) * v + g).astype(np.float32)
    p2 = p - np.float32(1e-3) * (m2 - v2)
    _core.probe_update4(p, g, m, v)
    np.testing.assert_allclose(m, m2, rtol=1e-6)
    np.testing.assert_allclose(v, v2, rtol=1e-6)
    np.testing.assert_allclose(p, p2, rtol=1e-5, atol=1e-6)


def test_probes_reject_bad_input():
    a = np.ones(10, dtype=np.float32)
    with pytest.raises(ValueError, match="b"):
        _core.probe_read2(a, a[:5])
    with pytest.raises(TypeError):
        _core.probe_read2(a.astype(np.float64), a)
    with pytest.raises(ValueError, match="v"):
        _core.probe_update4(a.copy(), a, a.copy(), np.ones(3, dtype=np.float32))
    with pytest.raises(ValueError, match="c"):
        _core.probe_read2_write1(a, a, np.ones(3, dtype=np.float32))


def test_read2_write1_probe_writes_the_difference():
    a = np.arange(300_001, dtype=np.float32)
    b = np.full(300_001, 0.5, dtype=np.float32)
    c = np.zeros_like(a)
    _core.probe_read2_write1(a, b, c)
    np.testing.assert_array_equal(c, a - b)


def test_probe_moves_the_cases_bytes():
    case = Case("regression", "value_and_grad(mse)", "float64", 4_000_000, {},
                bytes_per_element=24)
    probe = run.make_probe(case)
    assert probe is not None and probe[1] == 3 * 8 * 4_000_000  # both inputs, the gradient
    value = Case("regression", "mse", "float64", 4_000_000, {}, bytes_per_element=16)
    assert run.make_probe(value)[1] == 2 * 8 * 4_000_000  # reads both inputs
    step = Case("optim", "adam", "float32", 1_000_000, {}, bytes_per_element=28)
    assert run.make_probe(step)[1] == 28 * 1_000_000
    assert run.make_probe(Case("regression", "mse", "float32", 10, {}, bytes_per_element=8)) is None


def test_plot_bars_start_at_1x(tmp_path):
    from losscore._bench.timing import Result

    results = [
        Result("regression", "mse", "float32", 10**7,
               {"losscore": 1.0, "numpy-careful": 2.0, "jax": 0.6}, threads=2),
        Result("optim", "adam", "float32", 10**7, {"losscore": 1.0, "torch": 1.3}, threads=2),
    ]
    path = tmp_path / "bench.png"
    spans = run.plot(results, str(path), {"cpu": "test CPU", "isa": "scalar"})
    assert path.stat().st_size > 0
    # a slowdown (0.6x) is drawn from 0.6 to 1, a gain from 1 to the speedup
    expected = [(0.6, 1.0), (1.0, 1.3), (1.0, 2.0)]
    assert [pytest.approx(s) for s in sorted(spans)] == expected
