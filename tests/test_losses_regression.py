"""Regression losses against independent float64 NumPy references (PyTorch / scikit-learn
definitions): every loss x dtype x reduction x weighting, parameters, return types, dtype rules,
layouts, empty / NaN / 0-d / N-d inputs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from reference import (
    CASES,
    DEFAULT_CASES,
    assert_close,
    reduce_reference,
    ref_huber,
    ref_mae,
    ref_poisson_nll,
    ref_smooth_l1,
    rtol_for,
)

import losscore

SHAPE = (1000,)


def _inputs(case, rng, dtype, shape=SHAPE, weighted=False):
    p, t = case.data(rng, shape)
    p, t = p.astype(dtype), t.astype(dtype)
    w = rng.uniform(0.0, 3.0, shape).astype(dtype) if weighted else None
    return p, t, w


def _check(case, p, t, w, reduction, dtype):
    """Compares the loss with the reference computed in float64 on the (rounded) inputs."""
    got = case(p, t, weight=w, reduction=reduction)
    ref, _, scale, _ = reduce_reference(*case.reference(p, t), w, reduction)
    if reduction == "none":
        assert isinstance(got, np.ndarray)
        assert got.dtype == dtype
        assert got.shape == np.shape(p)
    else:
        assert type(got) is float
    assert_close(got, ref, scale, rtol_for(dtype), what=f"{case.id} {reduction}")
    return got


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_matches_reference(case, dtype, reduction, weighted, rng):
    p, t, w = _inputs(case, rng, dtype, weighted=weighted)
    _check(case, p, t, w, reduction, dtype)


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_n_dimensional_shapes(case, dtype, reduction, rng):
    for shape in [(7, 13), (2, 3, 4, 5), (1, 1, 9)]:
        p, t, w = _inputs(case, rng, dtype, shape=shape, weighted=True)
        _check(case, p, t, w, reduction, dtype)
        _check(case, p, t, None, reduction, dtype)


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_zero_dimensional_arrays(case, dtype, reduction, rng):
    p, t, _ = _inputs(case, rng, dtype, shape=())
    got = _check(case, p, t, None, reduction, dtype)
    if reduction == "none":
        assert got.shape == ()


def test_python_scalars_are_zero_dimensional():
    """``np.asarray(2.0)`` has shape (); losscore must not turn it into shape (1,)."""
    for case in DEFAULT_CASES:
        for p, t in [(2.0, 1.0), (np.float64(2.0), 1), (np.float32(2.0), np.float32(1.0))]:
            got = case(p, t, reduction="none")
            assert got.shape == (), f"{case.id}({type(p).__name__}): shape {got.shape}"
            ref = case.reference(p, t)[0]
            assert_close(got, ref, np.abs(ref) + 1.0, rtol_for(got.dtype), what=case.id)


def test_zero_dimensional_pred_with_scalar_target():
    # A 0-d array and a Python float have the same shape, ().
    assert losscore.mse(np.array(3.0), 1.0) == 4.0
    assert losscore.mse(np.array(3.0), np.float64(1.0), weight=2.0, reduction="sum") == 8.0


def test_huber_delta(rng):
    p, t = rng.normal(0, 3, 500), rng.normal(0, 3, 500)
    for delta in [1e-3, 0.5, 1.0, 4.0, 1e6]:
        got = losscore.huber(p, t, delta=delta, reduction="none")
        ref, _, scale, _ = ref_huber(p, t, delta)
        assert_close(got, ref, scale, 1e-12, what=f"delta={delta}")
    # A huge delta is pure d^2/2, a tiny one is delta*|d| (up to delta^2/2).
    np.testing.assert_allclose(
        losscore.huber(p, t, delta=1e6, reduction="none"), 0.5 * (p - t) ** 2, rtol=1e-12
    )


def test_smooth_l1_beta_zero_is_l1(rng, dtype):
    p, t = rng.normal(0, 2, 300).astype(dtype), rng.normal(0, 2, 300).astype(dtype)
    for reduction in ["none", "sum", "mean"]:
        a = losscore.smooth_l1(p, t, beta=0.0, reduction=reduction)
        b = losscore.mae(p, t, reduction=reduction)
        np.testing.assert_array_equal(a, b)
    ref, _, scale, _ = ref_mae(p, t)
    assert_close(losscore.smooth_l1(p, t, beta=0.0, reduction="none"), ref, scale, rtol_for(dtype))


def test_smooth_l1_beta(rng):
    p, t = rng.normal(0, 2, 500), rng.normal(0, 2, 500)
    for beta in [1e-4, 0.25, 1.0, 3.0]:
        got = losscore.smooth_l1(p, t, beta=beta, reduction="none")
        ref, _, scale, _ = ref_smooth_l1(p, t, beta)
        assert_close(got, ref, scale, 1e-12, what=f"beta={beta}")


def test_smooth_l1_tiny_beta(dtype):
    # A positive beta whose reciprocal overflows the dtype (1/1e-39 > float32 max, 1/1e-309 >
    # float64 max). The loss is d^2/(2 beta) for |d| < beta and |d| - beta/2 otherwise:
    # at d = 0 it is 0 (gradient 0), never NaN.
    beta = 1e-39 if dtype == np.float32 else 1e-309
    p = np.zeros(3, dtype)
    t = np.array([0.0, 1.0, -2.0], dtype)
    value, g = losscore.value_and_grad(losscore.smooth_l1)(p, t, beta=beta, reduction="none")
    np.testing.assert_array_equal(value, [0.0, 1.0, 2.0])
    # d = pred - target = [0, -1, 2]: the L1 branch's gradient is sign(d).
    np.testing.assert_array_equal(g, [0.0, -1.0, 1.0])


def test_pinball_matches_sklearn_definition():
    # sklearn: mean(alpha * max(y - p, 0) + (1 - alpha) * max(p - y, 0)), worked by hand.
    y = np.array([1.0, 2.0, 3.0, 4.0])
    p = np.array([2.0, 2.0, 1.0, 4.5])
    # residuals y - p = [-1, 0, 2, -0.5]; alpha = 0.2:
    # [0.8*1, 0, 0.2*2, 0.8*0.5] = [0.8, 0, 0.4, 0.4] -> mean 0.4
    assert losscore.pinball(p, y, quantile=0.2) == pytest.approx(0.4, rel=1e-15)
    np.testing.assert_allclose(
        losscore.pinball(p, y, quantile=0.2, reduction="none"), [0.8, 0.0, 0.4, 0.4], rtol=1e-15
    )


def test_poisson_nll_hand_values():
    # PyTorch docs: log_input: exp(input) - target*input; else input - target*log(input + eps).
    assert losscore.poisson_nll(np.array([0.0]), np.array([3.0])) == 1.0
    got = losscore.poisson_nll(np.array([2.0]), np.array([3.0]), log_input=False, eps=0.0)
    assert got == pytest.approx(2.0 - 3.0 * math.log(2.0), rel=1e-14)
    # full=True adds Stirling's t*log(t) - t + log(2*pi*t)/2 only where target > 1.
    full = losscore.poisson_nll(
        np.array([0.5, 0.5, 0.5]), np.array([0.0, 1.0, 5.0]), full=True, reduction="none"
    )
    plain = losscore.poisson_nll(
        np.array([0.5, 0.5, 0.5]), np.array([0.0, 1.0, 5.0]), full=False, reduction="none"
    )
    assert full[0] == plain[0] and full[1] == plain[1]
    stirling = 5 * math.log(5) - 5 + 0.5 * math.log(2 * math.pi * 5)
    assert full[2] - plain[2] == pytest.approx(stirling, rel=1e-13)


def test_poisson_nll_eps(dtype):
    p = np.array([0.0, 0.0, 1e-3, 2.0], dtype=dtype)
    t = np.array([0.0, 2.0, 1.0, 3.0], dtype=dtype)
    for eps in [1e-8, 1e-3, 0.5]:
        got = losscore.poisson_nll(p, t, log_input=False, eps=eps, reduction="none")
        ref, _, scale, _ = ref_poisson_nll(p, t, log_input=False, eps=eps)
        assert_close(got, ref, scale, rtol_for(dtype), what=f"eps={eps}")
    # eps = 0 with pred = 0: t*log(0) is -inf (t > 0) and the loss is +inf, as the formula says.
    got = losscore.poisson_nll(p, t, log_input=False, eps=0.0, reduction="none")
    assert got[1] == np.inf


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_lists_and_integers_become_float64(case):
    p, t = [3, 1, 2, 5], [1, 1, 0, 2]
    got = case(p, t, reduction="none")
    assert got.dtype == np.float64
    ref, _, scale, _ = case.reference(np.array(p, float), np.array(t, float))
    assert_close(got, ref, scale, 1e-12, what=case.id)
    for dt in [np.int8, np.int32, np.int64, np.uint16, np.bool_]:
        got = case(np.array(p).astype(dt), np.array(t).astype(dt), reduction="none")
        assert got.dtype == np.float64
        ref = case.reference(np.array(p).astype(dt), np.array(t).astype(dt))[0]
        np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-15)
    assert type(case(p, t)) is float


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_target_is_cast_to_pred_dtype(case, rng):
    p, t = case.data(rng, (50,))
    p32 = p.astype(np.float32)
    # float64 target with float32 pred: the loss is computed in float32 on float32(target).
    got = case(p32, t, reduction="none")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, case(p32, t.astype(np.float32), reduction="none"))
    # float32 target with float64 pred: float64 throughout.
    got = case(p, t.astype(np.float32), reduction="none")
    assert got.dtype == np.float64
    # Weights are cast as well.
    w = rng.uniform(0, 2, 50)
    np.testing.assert_array_equal(
        case(p32, t, weight=w, reduction="none"),
        case(p32, t.astype(np.float32), weight=w.astype(np.float32), reduction="none"),
    )


def test_big_endian_float32_stays_float32():
    p = np.array([1.0, 2.0, 3.0], dtype=">f4")
    t = np.zeros(3, dtype=">f4")
    got = losscore.mse(p, t, reduction="none")
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, [1.0, 4.0, 9.0])


def test_big_endian_float64():
    p = np.array([1.0, 2.0, 3.0], dtype=">f8")
    got = losscore.mse(p, np.zeros(3, dtype=">f8"), reduction="none")
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, [1.0, 4.0, 9.0])


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_non_contiguous_inputs(case, dtype, reduction, rng):
    p, t = case.data(rng, (20, 30))
    p, t = p.astype(dtype), t.astype(dtype)
    w = rng.uniform(0, 2, (30, 20)).astype(dtype)
    views = [
        (p[:, ::3], t[:, ::3], None),  # strided
        (p.T, t.T, w),  # transposed (Fortran order), weight C-order
        (p[::-1, 1:], t[::-1, 1:], w.T[::-1, 1:]),  # negative strides
        (np.asfortranarray(p), t, w.T),  # mixed layouts
    ]
    for pv, tv, wv in views:
        got = case(pv, tv, weight=wv, reduction=reduction)
        want = case(
            np.ascontiguousarray(pv),
            np.ascontiguousarray(tv),
            weight=None if wv is None else np.ascontiguousarray(wv),
            reduction=reduction,
        )
        np.testing.assert_array_equal(got, want)
        _check(case, pv, tv, wv, reduction, dtype)


def _misaligned(a):
    """A C-contiguous copy of ``a`` whose data pointer is not a multiple of its itemsize."""
    buf = np.zeros(a.nbytes + 1, np.uint8)
    out = buf[1:].view(a.dtype).reshape(a.shape)
    out[...] = a
    assert out.flags.c_contiguous and not out.flags.aligned
    return out


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_misaligned_inputs(case, dtype, reduction, rng):
    p, t, w = _inputs(case, rng, dtype, shape=(33,), weighted=True)
    got = case(_misaligned(p), _misaligned(t), weight=_misaligned(w), reduction=reduction)
    np.testing.assert_array_equal(got, case(p, t, weight=w, reduction=reduction))
    value, g = losscore.value_and_grad(case.fn)(_misaligned(p), t, **case.params)
    want_value, want_g = losscore.value_and_grad(case.fn)(p, t, **case.params)
    assert value == want_value
    np.testing.assert_array_equal(g, want_g)


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_empty_inputs(case, dtype):
    for shape in [(0,), (3, 0), (0, 4, 2)]:
        p, t = np.zeros(shape, dtype), np.zeros(shape, dtype)
        s = case(p, t, reduction="sum")
        assert type(s) is float and s == 0.0
        m = case(p, t, reduction="mean")
        assert type(m) is float and math.isnan(m)
        n = case(p, t, reduction="none")
        assert n.shape == shape and n.dtype == dtype
        w = np.zeros(shape, dtype)
        assert case(p, t, weight=w, reduction="sum") == 0.0
        assert math.isnan(case(p, t, weight=w, reduction="mean"))
    assert case([], [], reduction="sum") == 0.0


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_nan_propagates(case, dtype, rng):
    p, t = case.data(rng, (40,))
    p, t = p.astype(dtype), t.astype(dtype)
    for arr, where in [(p, 3), (t, 17), (p, 39)]:
        a = arr.copy()
        a[where] = np.nan
        pp, tt = (a, t) if arr is p else (p, a)
        per = case(pp, tt, reduction="none")
        assert np.isnan(per[where])
        assert np.count_nonzero(np.isnan(per)) == 1
        assert math.isnan(case(pp, tt, reduction="sum"))
        assert math.isnan(case(pp, tt, reduction="mean"))
    w = np.ones(40, dtype)
    w[5] = np.nan
    assert math.isnan(case(p, t, weight=w, reduction="sum"))
    assert np.isnan(case(p, t, weight=w, reduction="none")[5])


def test_infinite_residuals_give_the_limit():
    inf = np.inf
    p = np.array([inf, -inf, 1e300])
    t = np.zeros(3)
    np.testing.assert_array_equal(losscore.mae(p, t, reduction="none"), [inf, inf, 1e300])
    np.testing.assert_array_equal(losscore.huber(p, t, reduction="none"), [inf, inf, 1e300 - 0.5])
    np.testing.assert_array_equal(losscore.log_cosh(p, t, reduction="none"), [inf, inf, 1e300])
    np.testing.assert_allclose(
        losscore.pinball(p, t, quantile=0.25, reduction="none"), [inf, inf, 0.75e300], rtol=1e-15
    )
    np.testing.assert_array_equal(losscore.mse(p, t, reduction="none"), [inf, inf, inf])


def test_log_cosh_large_residuals_do_not_overflow(dtype):
    d = np.array([20.0, 100.0, 1e4, -1e4, 3e38], dtype=dtype)
    got = losscore.log_cosh(d, np.zeros_like(d), reduction="none")
    want = np.abs(d.astype(np.float64)) - math.log(2.0)
    np.testing.assert_allclose(got, want, rtol=rtol_for(dtype))


def test_weight_semantics_by_hand():
    p = np.array([1.0, 2.0, 4.0])
    t = np.zeros(3)
    w = np.array([0.5, 0.0, 2.0])
    # l = [1, 4, 16]; w*l = [0.5, 0, 32]
    np.testing.assert_array_equal(losscore.mse(p, t, weight=w, reduction="none"), [0.5, 0.0, 32.0])
    assert losscore.mse(p, t, weight=w, reduction="sum") == 32.5
    assert losscore.mse(p, t, weight=w, reduction="mean") == 32.5 / 2.5
    # Weights may be lists / ints as well.
    assert losscore.mse(p, t, weight=[1, 0, 1], reduction="mean") == 8.5


def test_default_reduction_is_mean(rng):
    p, t = rng.normal(size=100), rng.normal(size=100)
    for case in DEFAULT_CASES:
        assert case(p, t) == case(p, t, reduction="mean")
