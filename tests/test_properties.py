"""Hypothesis properties that follow from the definitions: non-negativity, zero at pred == target,
symmetry, Huber's bounds, relations between losses, and how weights and reductions compose."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import losscore

NONNEGATIVE = {
    "mse": losscore.mse,
    "mae": losscore.mae,
    "huber": losscore.huber,
    "smooth_l1": losscore.smooth_l1,
    "log_cosh": losscore.log_cosh,
    "pinball": losscore.pinball,
}
SYMMETRIC = [losscore.mse, losscore.mae, losscore.log_cosh]

dtypes = st.sampled_from([np.float32, np.float64])
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=6)


def _floats(dtype, bound=1e6):
    return st.floats(-bound, bound, allow_nan=False, width=np.dtype(dtype).itemsize * 8)


@st.composite
def pair(draw, bound=1e6, with_weight=False):
    """(pred, target[, weight]) of one float dtype and shape."""
    dtype = draw(dtypes)
    shape = draw(shapes)
    elements = _floats(dtype, bound)
    p = draw(hnp.arrays(dtype, shape, elements=elements))
    t = draw(hnp.arrays(dtype, shape, elements=elements))
    if not with_weight:
        return p, t
    # Zero or in [2^-10, 2^10]: scaling such weights by the factors below never underflows.
    width = np.dtype(dtype).itemsize * 8
    weights = st.one_of(st.just(0.0), st.floats(2.0**-10, 2.0**10, width=width))
    w = draw(hnp.arrays(dtype, shape, elements=weights))
    return p, t, w


def _params(name, draw):
    if name == "huber":
        return {"delta": draw(st.floats(1e-3, 1e3))}
    if name == "smooth_l1":
        return {"beta": draw(st.floats(0, 1e3))}
    if name == "pinball":
        return {"quantile": draw(st.floats(0, 1))}
    return {}


@given(data=pair(), name=st.sampled_from(sorted(NONNEGATIVE)), draw=st.data())
def test_nonnegative(data, name, draw):
    p, t = data
    params = _params(name, draw.draw)
    per = NONNEGATIVE[name](p, t, **params, reduction="none")
    assert np.all(per >= 0), per
    assert NONNEGATIVE[name](p, t, **params, reduction="sum") >= 0


@given(data=pair(), name=st.sampled_from(sorted(NONNEGATIVE)), draw=st.data())
def test_zero_at_target(data, name, draw):
    p, _ = data
    params = _params(name, draw.draw)
    value, g = losscore.value_and_grad(NONNEGATIVE[name])(p, p.copy(), **params, reduction="none")
    np.testing.assert_array_equal(value, np.zeros_like(p))
    np.testing.assert_array_equal(g, np.zeros_like(p))
    assert NONNEGATIVE[name](p, p, **params, reduction="sum") == 0.0


@given(data=pair(with_weight=True), fn=st.sampled_from(SYMMETRIC))
def test_symmetric_under_swap(data, fn):
    p, t, w = data
    np.testing.assert_array_equal(
        fn(p, t, weight=w, reduction="none"), fn(t, p, weight=w, reduction="none")
    )
    assert fn(p, t, weight=w, reduction="sum") == fn(t, p, weight=w, reduction="sum")
    _, g1 = losscore.value_and_grad(fn)(p, t, reduction="none")
    _, g2 = losscore.value_and_grad(fn)(t, p, reduction="none")
    np.testing.assert_array_equal(g1, -g2)


@given(data=pair(bound=1e3), delta=st.floats(1e-3, 1e3))
def test_huber_bounds(data, delta):
    # Huber is at most d^2/2, at most delta*|d|, and linear growth: at least delta*|d| - delta^2/2.
    p, t = data
    p, t = p.astype(np.float64), t.astype(np.float64)
    h = losscore.huber(p, t, delta=delta, reduction="none")
    d = np.abs(p - t)
    tol = 1e-12 * (d * d + delta * d + delta * delta)
    assert np.all(h <= 0.5 * d * d + tol)
    assert np.all(h <= delta * d + tol)
    assert np.all(h >= delta * d - 0.5 * delta * delta - tol)
    # Below delta it is exactly half the squared error.
    inside = d < delta
    np.testing.assert_allclose(
        h[inside], 0.5 * losscore.mse(p, t, reduction="none")[inside], rtol=1e-15
    )


@given(data=pair(bound=1e3), beta=st.floats(1e-3, 1e3))
def test_smooth_l1_is_huber_over_beta(data, beta):
    # PyTorch docs: smooth_l1(beta) == huber(delta=beta) / beta for beta > 0.
    p, t = data
    p, t = p.astype(np.float64), t.astype(np.float64)
    s = losscore.smooth_l1(p, t, beta=beta, reduction="none")
    h = losscore.huber(p, t, delta=beta, reduction="none")
    np.testing.assert_allclose(s, h / beta, rtol=1e-13, atol=1e-300)


@given(data=pair())
def test_pinball_median_is_half_mae(data):
    p, t = data
    np.testing.assert_array_equal(
        losscore.pinball(p, t, quantile=0.5, reduction="none"),
        0.5 * losscore.mae(p, t, reduction="none"),
    )


@given(
    data=pair(bound=1e3, with_weight=True),
    name=st.sampled_from(sorted(NONNEGATIVE)),
    c=st.one_of(st.floats(1e-3, 1e3), st.sampled_from([0.125, 2.0, 1024.0])),
)
def test_weight_scale_cancels_in_mean(data, name, c):
    p, t, w = data
    p, t, w = p.astype(np.float64), t.astype(np.float64), w.astype(np.float64)
    fn = NONNEGATIVE[name]
    wc = np.asarray(w * c)  # asarray: keep 0-d arrays arrays
    base = fn(p, t, weight=w, reduction="mean")
    scaled = fn(p, t, weight=wc, reduction="mean")
    if math.isnan(base):
        assert math.isnan(scaled)
    else:
        assert math.isclose(scaled, base, rel_tol=1e-13, abs_tol=1e-300)
    _, g1 = losscore.value_and_grad(fn)(p, t, weight=w, reduction="mean")
    _, g2 = losscore.value_and_grad(fn)(p, t, weight=wc, reduction="mean")
    np.testing.assert_allclose(g2, g1, rtol=1e-13, atol=1e-300)


@given(data=pair(), fn=st.sampled_from([*NONNEGATIVE.values(), losscore.poisson_nll]))
def test_unit_weights_change_nothing(data, fn):
    p, t = data
    if fn is losscore.poisson_nll:
        p = np.asarray(np.clip(p, -50, 50))  # asarray: keep 0-d arrays arrays
    ones = np.ones_like(p)
    for reduction in ["none", "sum", "mean"]:
        a = fn(p, t, reduction=reduction)
        b = fn(p, t, weight=ones, reduction=reduction)
        np.testing.assert_array_equal(a, b)
    _, g1 = losscore.value_and_grad(fn)(p, t)
    _, g2 = losscore.value_and_grad(fn)(p, t, weight=ones)
    np.testing.assert_array_equal(g1, g2)


@given(data=pair(with_weight=True), fn=st.sampled_from(list(NONNEGATIVE.values())))
def test_reductions_compose(data, fn):
    p, t, w = data
    n = p.size
    total = fn(p, t, reduction="sum")
    mean = fn(p, t, reduction="mean")
    if n:
        assert mean == total / n or (math.isnan(mean) and math.isnan(total / n))
    # sum equals the exactly rounded sum of the per-element values (float64 inputs: no rounding
    # in between; float32: the per-element values are the float32 ones the sum accumulates).
    per = fn(p, t, weight=w, reduction="none")
    wsum = fn(p, t, weight=w, reduction="sum")
    if p.dtype == np.float64 and np.all(np.isfinite(per)):
        want = math.fsum(per.ravel().tolist())
        assert math.isclose(wsum, want, rel_tol=1e-12, abs_tol=1e-300)
    wtotal = math.fsum(w.astype(np.float64).ravel().tolist())
    wmean = fn(p, t, weight=w, reduction="mean")
    if wtotal > 0 and math.isfinite(wsum):
        assert math.isclose(wmean, wsum / wtotal, rel_tol=1e-13, abs_tol=1e-300)


@given(data=pair(bound=50.0))
def test_log_cosh_between_quadratic_and_linear(data):
    # |d| - log 2 <= log cosh d <= min(d^2 / 2, |d|).
    p, t = data
    p, t = p.astype(np.float64), t.astype(np.float64)
    d = np.abs(p - t)
    lc = losscore.log_cosh(p, t, reduction="none")
    tol = 4e-16 * (d + 1.0)
    assert np.all(lc <= np.minimum(0.5 * d * d, d) + tol)
    assert np.all(lc >= d - math.log(2.0) - tol)


@given(dtype=dtypes, exponent=st.floats(-12, 1), sign=st.sampled_from([-1.0, 1.0]))
def test_log_cosh_nonnegative_for_small_residuals(dtype, exponent, sign):
    # log cosh d >= 0 with equality only at d = 0; small |d| is where cancellation bites.
    p = np.array([sign * 10.0**exponent], dtype=dtype)
    assert losscore.log_cosh(p, np.zeros_like(p), reduction="none")[0] >= 0


def test_log_cosh_nonnegative_on_a_grid():
    d = np.logspace(-12, 0, 20_001)
    for dtype in (np.float32, np.float64):
        x = d.astype(dtype)
        values = losscore.log_cosh(x, np.zeros_like(x), reduction="none")
        bad = np.flatnonzero(values < 0)
        assert bad.size == 0, f"{dtype.__name__}: log_cosh({x[bad[:3]]}) = {values[bad[:3]]}"
