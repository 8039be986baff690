"""The engine: every ISA path bitwise equal to scalar, results bitwise independent of the thread
count and of block-aligned splits, exact summation against math.fsum, float32 accuracy, the
threads / ISA settings, fork safety and GIL release."""

from __future__ import annotations

import hashlib
import math
import multiprocessing
import os
import struct
import subprocess
import sys
import threading
import time
import warnings

import numpy as np
import pytest
from conftest import isa, threads
from hypothesis import given, settings
from hypothesis import strategies as st
from reference import CASES, DEFAULT_CASES

import losscore
from losscore import _core
from losscore.errors import ParameterError

BLOCK = _core.block_size()
ISAS = losscore.available_isas()
# The default case of every loss plus the variants that take other branches of the kernel.
ENGINE_CASES = DEFAULT_CASES + [
    c
    for c in CASES
    if c.params in ({"delta": 0.3}, {"beta": 0.0}, {"quantile": 0.9})
    or (c.name == "poisson_nll" and c.params.get("full") and not c.params.get("log_input", True))
]


def _bits(x) -> bytes:
    """Exact bit pattern of a float or an array (NaN payloads included)."""
    if isinstance(x, float):
        return struct.pack("<d", x)
    return np.ascontiguousarray(x).tobytes()


def _reduced_bits(x) -> bytes:
    """Bit pattern of a reduced value with every NaN made the same NaN.

    The sign of a NaN sum is that of whichever NaN the hardware saw first, which the lane order
    of each ISA path decides: test_nan_sign_of_a_sum_is_the_same_on_every_isa checks it alone.
    """
    if isinstance(x, float) and math.isnan(x):
        return b"nan"
    return _bits(x)


def _data(case, n, dtype, seed=0, special=True):
    """Loss data spread over many magnitudes, with special values at a few positions."""
    rng = np.random.default_rng(seed)
    p, t = case.data(rng, (n,))
    scale = 10.0 ** rng.uniform(-6, 1.5, n)
    if case.name != "poisson_nll":
        p = p * scale
    w = rng.uniform(0.0, 2.0, n)
    p, t, w = p.astype(dtype), t.astype(dtype), w.astype(dtype)
    if special and n >= 10:
        specials = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-30, -1e-30, 80.0, -80.0, 1e30]
        idx = rng.choice(n, size=len(specials), replace=False)
        p[idx] = np.asarray(specials, dtype=np.float64).astype(dtype)
        t[idx[:3]] = p[idx[:3]]  # residual exactly 0 or nan
    return p, t, w


def _run_main(case, p, t, w):
    """The main output modes of a loss, as bit patterns."""
    vg = losscore.value_and_grad(case.fn)
    out = [case(p, t, reduction="sum"), case(p, t, reduction="none")]
    out.extend(vg(p, t, **case.params, weight=w, reduction="mean"))
    return [_reduced_bits(x) if isinstance(x, float) else _bits(x) for x in out]


def _run_all(case, p, t, w):
    """Every output mode of a loss, as bit patterns."""
    vg = losscore.value_and_grad(case.fn)
    out = []
    out.append(case(p, t, reduction="sum"))
    out.append(case(p, t, weight=w, reduction="mean"))
    out.append(case(p, t, reduction="none"))
    out.extend(vg(p, t, **case.params, weight=w, reduction="mean"))
    out.extend(vg(p, t, **case.params, reduction="none"))
    out.extend(vg(p, t, **case.params, weight=w, reduction="sum"))
    return [_reduced_bits(x) if isinstance(x, float) else _bits(x) for x in out]


@pytest.mark.parametrize("n", [1, 10, 17, 8191, 8193, 100_003])
@pytest.mark.parametrize("case", ENGINE_CASES, ids=lambda c: c.id)
def test_every_isa_bitwise_equal_to_scalar(case, dtype, n):
    p, t, w = _data(case, n, dtype, seed=n)
    with isa("scalar"):
        want = _run_all(case, p, t, w)
    for name in ISAS:
        with isa(name):
            got = _run_all(case, p, t, w)
        for k, (a, b) in enumerate(zip(got, want, strict=True)):
            assert a == b, f"{case.id} isa={name} output #{k} differs from scalar"


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_every_isa_bitwise_equal_to_scalar_large(case, dtype):
    n = 1_000_003
    p, t, w = _data(case, n, dtype, seed=7)
    vg = losscore.value_and_grad(case.fn)
    with isa("scalar"):
        want = [_reduced_bits(x) for x in vg(p, t, weight=w)]
    for name in ISAS:
        with isa(name):
            got = [_reduced_bits(x) for x in vg(p, t, weight=w)]
        assert got == want, f"{case.id} isa={name}"


def test_nan_sign_of_a_sum_is_the_same_on_every_isa():
    # Per-element losses [+nan (nan - nan), -nan (inf - inf: the default x86 NaN)].
    p = np.array([np.nan, np.inf])
    t = np.array([np.nan, np.inf])
    with isa("scalar"):
        want = _bits(losscore.mse(p, t, reduction="sum"))
    for name in ISAS:
        with isa(name):
            got = _bits(losscore.mse(p, t, reduction="sum"))
        assert got == want, f"isa={name}: {got.hex()} != scalar {want.hex()}"


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_thread_count_does_not_change_bits(case, dtype):
    n = 1_000_003
    p, t, w = _data(case, n, dtype, seed=3)
    with threads(1):
        one = _run_main(case, p, t, w)
    with threads(2):
        two = _run_main(case, p, t, w)
    with threads(5):
        five = _run_main(case, p, t, w)
    assert one == two
    assert one == five


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_sum_is_fsum_of_block_sums(case, dtype):
    """Split invariance: a single-block call returns that block's partial; the full sum must be
    the correctly rounded sum of the partials, whatever the thread count."""
    n = 7 * BLOCK + 1234
    p, t, w = _data(case, n, dtype, seed=11, special=False)
    for weight in (None, w):
        parts = [
            case(
                p[i : i + BLOCK],
                t[i : i + BLOCK],
                weight=None if weight is None else weight[i : i + BLOCK],
                reduction="sum",
            )
            for i in range(0, n, BLOCK)
        ]
        want = math.fsum(parts)
        for k in (1, 2, 3):
            with threads(k):
                got = case(p, t, weight=weight, reduction="sum")
            assert _bits(got) == _bits(want), f"threads={k}: {got!r} != fsum {want!r}"
            if weight is None:
                assert _bits(case(p, t, reduction="mean")) == _bits(want / n)


ADVERSARIAL = [
    [],
    [1.0],
    [1e100, 1.0, -1e100],
    [1e100, 1.0, -1e100, 1e-100],
    [0.1] * 10,
    [1.0, 2.0**-53, 2.0**-105],  # rounds up only because of the last term
    [1.0, 2.0**-53, -(2.0**-105)],
    [1.0, 2.0**-53],  # exact tie: round half to even
    [1.0 + 2.0**-52, 2.0**-53],
    [2.0**53, 1.0, 1.0],
    [1e308, -1e308, 5e-324],
    [5e-324] * 1000,
    [1.7976931348623157e308, -1.7976931348623157e308, 1e292, 1.0],
    [1e16, 1.0, -1e16, -1.0, 3.0],
    [-0.0, 1.0, -1.0],
]


@pytest.mark.parametrize("values", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_exact_sum_matches_fsum(values):
    got = _core.exact_sum(values)
    want = math.fsum(values)
    assert got == want and _bits(got + 0.0) == _bits(want + 0.0), (got, want)


def test_exact_sum_random_cancellation():
    rng = np.random.default_rng(5)
    for trial in range(50):
        n = int(rng.integers(1, 3000))
        mags = 10.0 ** rng.integers(-300, 300, n)
        x = rng.normal(size=n) * mags
        x = np.concatenate([x, -x[: n // 2], rng.normal(size=n) * 1e-5])
        rng.shuffle(x)
        values = x.tolist()
        assert _bits(_core.exact_sum(values) + 0.0) == _bits(math.fsum(values) + 0.0), trial


@settings(deadline=None, max_examples=300)
@given(st.lists(st.floats(-1e300, 1e300, allow_nan=False), max_size=60))
def test_exact_sum_hypothesis(values):
    assert _bits(_core.exact_sum(values) + 0.0) == _bits(math.fsum(values) + 0.0)


def test_exact_sum_special_values():
    inf = math.inf
    assert _core.exact_sum([1.0, inf, 2.0]) == inf
    assert _core.exact_sum([-inf, 1e308]) == -inf
    assert math.isnan(_core.exact_sum([inf, -inf]))
    assert math.isnan(_core.exact_sum([1.0, math.nan]))
    # The true sum is beyond float64: the rounded result is infinite.
    assert _core.exact_sum([1.7976931348623157e308, 1.7976931348623157e308]) == inf


def test_exact_sum_intermediate_overflow_is_not_nan():
    # Finite inputs whose exact sum (1e308) is representable; a running sum overflows on the way.
    # math.fsum raises OverflowError here; NaN (a value that is not a sum at all) is wrong.
    got = _core.exact_sum([1e308, 1e308, -1e308])
    assert not math.isnan(got)
    assert got in (1e308, math.inf)


def test_float32_sum_is_float64_accurate():
    n = 10**7
    rng = np.random.default_rng(17)
    p = rng.standard_normal(n, dtype=np.float32)
    t = rng.standard_normal(n, dtype=np.float32)
    got = losscore.mse(p, t, reduction="sum")
    d = p.astype(np.float64) - t.astype(np.float64)
    d *= d
    want = math.fsum(d)
    assert abs(got - want) <= 1e-7 * want, (got, want, abs(got - want) / want)


def test_num_threads_round_trip():
    before = losscore.get_num_threads()
    assert isinstance(before, int) and before >= 1
    try:
        for n in (1024, 1, 3, 2):
            losscore.set_num_threads(n)
            assert losscore.get_num_threads() == n
        for n in (1, 3, 2):
            losscore.set_num_threads(n)
            assert losscore.mse(np.arange(100_000.0), np.zeros(100_000)) > 0
    finally:
        losscore.set_num_threads(before)


@pytest.mark.parametrize("n", [0, -1, -(2**40), 1025, 10**9])
def test_num_threads_out_of_range(n):
    before = losscore.get_num_threads()
    with pytest.raises(ParameterError) as info:
        losscore.set_num_threads(n)
    assert isinstance(info.value, ValueError)
    assert str(n) in str(info.value)  # the message names the offending value
    assert losscore.get_num_threads() == before


@pytest.mark.parametrize("n", [2.0, "2", None, True, [2]])
def test_num_threads_wrong_type(n):
    with pytest.raises(TypeError):
        losscore.set_num_threads(n)


def test_num_threads_huge_int_is_a_clear_error():
    with pytest.raises((ParameterError, TypeError)):
        losscore.set_num_threads(2**70)


def _python(code: str, **env: str) -> str:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LOSSCORE_")}
    full_env.update(env)
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_environment_sets_threads_and_isa():
    code = (
        "import losscore, numpy as np\n"
        "v = losscore.mse(np.arange(200_000.0), np.zeros(200_000))\n"
        "print(losscore.get_num_threads(), losscore.isa(), v)\n"
    )
    want = losscore.mse(np.arange(200_000.0), np.zeros(200_000))
    for name in ISAS:
        out = _python(code, LOSSCORE_NUM_THREADS="3", LOSSCORE_ISA=name)
        count, chosen, value = out.split()
        assert (int(count), chosen) == (3, name)
        assert float(value) == want
    # Unusable values fall back to the defaults instead of failing at import.
    out = _python(code, LOSSCORE_NUM_THREADS="lots", LOSSCORE_ISA="no-such-isa")
    count, chosen, value = out.split()
    assert int(count) >= 1 and chosen == ISAS[-1] and float(value) == want


def test_set_isa_rejects_unknown_names():
    before = losscore.isa()
    with pytest.raises(ParameterError, match="bogus"):
        _core.set_isa("bogus")
    assert losscore.isa() == before
    assert losscore.available_isas()[0] == "scalar"
    assert before in losscore.available_isas()


def _fork_child(conn):
    p, t = _fork_data()
    value, g = losscore.value_and_grad(losscore.log_cosh)(p, t)
    conn.send((losscore.get_num_threads(), value, hashlib.sha256(g.tobytes()).hexdigest()))
    conn.close()


def _fork_data():
    rng = np.random.default_rng(99)
    return rng.normal(size=1_000_000), rng.normal(size=1_000_000)


def test_fork_child_does_not_hang():
    p, t = _fork_data()
    with threads(2):
        # Build and use the pool in the parent first.
        value, g = losscore.value_and_grad(losscore.log_cosh)(p, t)
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe(duplex=False)
        with warnings.catch_warnings():
            # Python >= 3.12 warns about fork() in a process with threads: that is the point.
            warnings.simplefilter("ignore", DeprecationWarning)
            proc = ctx.Process(target=_fork_child, args=(child,))
            proc.start()
        child.close()
        try:
            assert parent.poll(60), "forked child hung (no answer within 60 s)"
            threads_in_child, child_value, child_hash = parent.recv()
        finally:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join()
    assert proc.exitcode == 0
    assert threads_in_child == 2
    assert child_value == value
    assert child_hash == hashlib.sha256(g.tobytes()).hexdigest()


def _main_thread_ticks_during(call) -> tuple[int, float]:
    """Runs ``call`` in a thread while this thread counts loop iterations; returns how many fell
    in the middle half of the call, and the call's duration."""
    span: list[float] = []

    def worker():
        span.append(time.perf_counter())
        call()
        span.append(time.perf_counter())

    ticks: list[float] = []
    thread = threading.Thread(target=worker)
    thread.start()
    while thread.is_alive():
        ticks.append(time.perf_counter())
    thread.join()
    start, end = span
    # With the GIL held the main thread could only run before the kernel starts or after it
    # ends (a switch interval, 5 ms, at most): ticks in the middle show it ran alongside.
    lo, hi = start + 0.25 * (end - start), start + 0.75 * (end - start)
    return sum(lo < x < hi for x in ticks), end - start


def test_gil_is_released_during_the_kernel():
    n = 10**7
    rng = np.random.default_rng(1)
    p = rng.standard_normal(n, dtype=np.float32)
    t = rng.standard_normal(n, dtype=np.float32)
    vg = losscore.value_and_grad(losscore.log_cosh)
    results = []
    with threads(1):
        # A few attempts so that the OS descheduling the main thread cannot fail the test;
        # with the GIL held every attempt sees no progress.
        for _ in range(3):
            middle, duration = _main_thread_ticks_during(lambda: results.append(vg(p, t)[0]))
            if middle > 0:
                break
    assert all(math.isfinite(v) for v in results)
    assert middle > 0, f"main thread made no progress during the {duration:.3f} s call"
