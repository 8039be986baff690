"""float16 and bfloat16 (``ml_dtypes``) inputs: every loss computes in float32, chunk by chunk.

The contract checked here: the value is exactly the float32 call's on the widened data, the
gradient and Hessian are the float32 ones rounded once to the input's dtype (NumPy's and
ml_dtypes' own round-to-nearest-even casts are the reference), against float64 formulas written
here, with global error positions, no output written on error, and no full-size upcast (peak
memory measured in a subprocess).
"""

from __future__ import annotations

import math
import subprocess
import sys

import ml_dtypes
import numpy as np
import pytest
from bridge_inputs import SEVERAL, inputs
from conftest import isa, threads

import losscore
from losscore import errors
from losscore.losses import registry

HALF = [np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)]
HALF_IDS = ["float16", "bfloat16"]


def _narrow(a, dtype):
    return a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a


def _widen(a):
    if isinstance(a, np.ndarray) and a.dtype in HALF:
        return a.astype(np.float32)
    return a


def _case(name, dtype):
    """The loss's arguments in ``dtype`` (float arrays) and the same values widened."""
    if name in SEVERAL:
        arrays, kwargs = SEVERAL[name](np.random.default_rng(2))
    else:
        pred, target, kwargs = inputs(name, np.float64, seed=2)
        arrays = [pred, target]
    half = [_narrow(a, dtype) for a in arrays]
    half_kw = {k: _narrow(v, dtype) for k, v in kwargs.items()}
    return half, half_kw, [_widen(a) for a in half], {k: _widen(v) for k, v in half_kw.items()}


@pytest.mark.parametrize("dtype", HALF, ids=HALF_IDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", sorted(registry))
def test_every_loss_is_the_float32_call_rounded_once(name, reduction, dtype):
    spec = registry[name]
    half, half_kw, wide, wide_kw = _case(name, dtype)
    value = spec.function(*half, **half_kw, reduction=reduction)
    want = spec.function(*wide, **wide_kw, reduction=reduction)
    if reduction == "none":
        assert value.dtype == dtype
        np.testing.assert_array_equal(value, want.astype(dtype))
    else:
        assert isinstance(value, float) and value == want
    if spec.multi_input:
        every = tuple(range(len(spec.inputs)))
        _, grads = losscore.value_and_grad(spec.function, argnums=every)(
            *half, **half_kw, reduction=reduction)
        _, want_grads = losscore.value_and_grad(spec.function, argnums=every)(
            *wide, **wide_kw, reduction=reduction)
    else:
        _, g = losscore.value_and_grad(spec.function)(*half, **half_kw, reduction=reduction)
        _, g32 = losscore.value_and_grad(spec.function)(*wide, **wide_kw, reduction=reduction)
        grads, want_grads = [g], [g32]
    for g, g32 in zip(grads, want_grads, strict=True):
        assert g.dtype == dtype and g.shape == g32.shape
        np.testing.assert_array_equal(g, g32.astype(dtype))
    if spec.hess:
        _, g, h = losscore.value_grad_hess(spec.function)(*half, **half_kw, reduction=reduction)
        _, _, h32 = losscore.value_grad_hess(spec.function)(*wide, **wide_kw,
                                                            reduction=reduction)
        assert h.dtype == dtype
        np.testing.assert_array_equal(h, h32.astype(dtype))


@pytest.mark.parametrize("dtype", HALF, ids=HALF_IDS)
def test_long_inputs_cross_chunks_and_match_float64_formulas(rng, dtype):
    n = 300_001  # several chunks of the half-precision path, and a ragged end
    pred = rng.standard_normal(n).astype(dtype)
    target = rng.standard_normal(n).astype(dtype)
    weight = rng.uniform(0, 2, n).astype(dtype)
    p64, t64, w64 = (a.astype(np.float64) for a in (pred, target, weight))
    d = p64 - t64
    value, g = losscore.value_and_grad(losscore.mse)(pred, target, weight=weight)
    assert value == pytest.approx(math.fsum(w64 * d * d) / math.fsum(w64), rel=1e-6)
    want = 2 * w64 * d / math.fsum(w64)
    # Rounded once from float32: within half a unit in the last place of the half type (10 and
    # 7 fraction bits) plus float32's own error.
    rtol = 2.0**-10 if dtype == np.float16 else 2.0**-7
    np.testing.assert_allclose(g.astype(np.float64), want, rtol=rtol, atol=1e-7)
    # A class loss over many rows against the float64 log-softmax.
    logits = (rng.standard_normal((70_000, 5)) * 2).astype(dtype)
    labels = rng.integers(0, 5, 70_000)
    x = logits.astype(np.float64)
    lse = np.log(np.exp(x - x.max(1, keepdims=True)).sum(1)) + x.max(1)
    assert losscore.cross_entropy(logits, labels) == pytest.approx(
        math.fsum(lse - x[np.arange(70_000), labels]) / 70_000, rel=1e-6)


@pytest.mark.parametrize("dtype", HALF, ids=HALF_IDS)
def test_results_do_not_depend_on_threads_isas_or_batches(rng, dtype):
    pred = rng.standard_normal(200_000).astype(dtype)
    target = rng.standard_normal(200_000).astype(dtype)
    seen = set()
    for name in losscore.available_isas():
        for n in (1, 2):
            with isa(name), threads(n):
                value, g = losscore.value_and_grad(losscore.log_cosh)(pred, target)
                seen.add((value, g.tobytes()))
    assert len(seen) == 1
    acc = losscore.Accumulator("log_cosh")
    for lo, hi in [(0, 5), (5, 70_000), (70_000, 200_000)]:
        acc.update(pred[lo:hi], target[lo:hi])
    assert acc.result() == next(iter(seen))[0]


def test_errors_name_the_global_position_and_write_nothing():
    n = 200_000
    pred = np.zeros(n, np.float16)
    target = np.ones(n, np.float16)
    target[150_007] = 0.5
    out = np.full(n, 7.0, np.float16)
    with pytest.raises(errors.TargetError, match="at flat index 150007"):
        losscore.grad(losscore.hinge)(pred, target, out=out)
    assert np.all(out == 7.0)
    logits = np.zeros((100_000, 3), ml_dtypes.bfloat16)
    labels = np.zeros(100_000, np.int64)
    labels[99_999] = 3
    with pytest.raises(errors.TargetError, match="99999"):
        losscore.cross_entropy(logits, labels)
    with pytest.raises(errors.DTypeError, match="out must be a numpy array of dtype float16"):
        losscore.grad(losscore.mse)(pred, pred, out=np.zeros(n, np.float32))


def test_other_kernels_refuse_half_precision_clearly():
    with pytest.raises(errors.DTypeError, match="float16"):
        losscore.optim.SGD([np.zeros(3, np.float16)], lr=0.1)
    with pytest.raises(errors.DTypeError, match="float16"):
        losscore._core.activation_forward("relu", np.zeros(3, np.float16))


_PEAK = r"""
import resource, sys
import numpy as np, ml_dtypes, losscore
dtype = np.float16 if sys.argv[1] == "float16" else ml_dtypes.bfloat16
n = 1 << 25
pred = np.ones(n, dtype)
target = np.zeros(n, dtype)
out = np.zeros(n, dtype)  # touched now: the call's writes fault in no new pages
hess = np.zeros(n, dtype)
out.fill(1)
hess.fill(1)
losscore.value_grad_hess(losscore.huber)(pred[:10], target[:10])  # warm up the library
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
losscore.value_grad_hess(losscore.huber)(pred, target, out=out, hess_out=hess)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) * 1024)
"""


@pytest.mark.parametrize("dtype", HALF_IDS)
def test_no_full_size_upcast(dtype):
    # 2**25 elements: one float32 copy of an input would add 128 MiB to the peak.
    done = subprocess.run([sys.executable, "-c", _PEAK, dtype], capture_output=True, text=True,
                          check=True)
    grown = int(done.stdout.strip())
    assert grown < 32 * 2**20, f"peak memory grew by {grown / 2**20:.1f} MiB"
