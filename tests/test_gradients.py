"""``value_and_grad`` / ``grad``: central finite differences in float64 for every loss, reduction
and weighting; analytic float64 references for float32; the fused value equals the plain call;
``out=``; the returned callables' signatures; non-losscore functions rejected."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
from reference import CASES, DEFAULT_CASES, assert_close, reduce_reference, rtol_for

import losscore


def _away_from_kinks(case, p, t):
    """Shifts pred so that no residual sits within 1e-3 of a kink (no derivative there)."""
    p = p.copy()
    for _ in range(20):
        d = p - t
        near = np.zeros(d.shape, bool)
        for k in case.kinks:
            near |= np.abs(d - k) < 1e-3
        if not near.any():
            return p
        p[near] += 0.0137
    raise AssertionError("could not move the data away from the kinks")


def _fd_inputs(case, rng, n):
    p, t = case.data(rng, (n,))
    return _away_from_kinks(case, p, t), t


def _step(p):
    return 1e-6 * np.maximum(1.0, np.abs(p))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_reduced_gradient_matches_finite_differences(case, reduction, weighted, rng):
    n = 12
    p, t = _fd_inputs(case, rng, n)
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    _, g = losscore.value_and_grad(case.fn)(p, t, **case.params, weight=w, reduction=reduction)
    h = _step(p)
    fd = np.empty(n)
    for i in range(n):
        up, down = p.copy(), p.copy()
        up[i] += h[i]
        down[i] -= h[i]
        f_up = case(up, t, weight=w, reduction=reduction)
        f_down = case(down, t, weight=w, reduction=reduction)
        fd[i] = (f_up - f_down) / (2.0 * h[i])
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7 * max(1.0, np.abs(fd).max()))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_per_element_gradient_matches_finite_differences(case, weighted, rng):
    # With reduction="none" each element's gradient is that of its own (weighted) loss, so one
    # perturbation of every element at once gives every central difference.
    n = 200
    p, t = _fd_inputs(case, rng, n)
    w = rng.uniform(0.2, 3.0, n) if weighted else None
    _, g = losscore.value_and_grad(case.fn)(p, t, **case.params, weight=w, reduction="none")
    h = _step(p)
    up = case(p + h, t, weight=w, reduction="none")
    down = case(p - h, t, weight=w, reduction="none")
    fd = (up - down) / (2.0 * h)
    np.testing.assert_allclose(g, fd, rtol=1e-5, atol=1e-7 * max(1.0, np.abs(fd).max()))


def test_mean_gradient_is_scaled_by_the_weight_total():
    p = np.array([1.0, 2.0, 4.0])
    t = np.zeros(3)
    w = np.array([0.5, 0.0, 2.0])
    # mean = sum(w * d^2) / sum(w); d/dp_i = 2 w_i d_i / sum(w) = [1, 0, 16] / 2.5
    _, g = losscore.value_and_grad(losscore.mse)(p, t, weight=w, reduction="mean")
    np.testing.assert_allclose(g, [0.4, 0.0, 6.4], rtol=1e-15)
    _, g = losscore.value_and_grad(losscore.mse)(p, t, reduction="mean")
    np.testing.assert_allclose(g, [2.0 / 3.0, 4.0 / 3.0, 8.0 / 3.0], rtol=1e-15)
    _, g = losscore.value_and_grad(losscore.mse)(p, t, weight=w, reduction="sum")
    np.testing.assert_array_equal(g, [1.0, 0.0, 16.0])


def test_mean_gradient_with_huge_weights_does_not_overflow(dtype):
    # With d = 1 the mean is sum(w) / sum(w) = 1 and the gradient 2 w_i / sum(w) is at most 2,
    # even though w_i * 2 alone exceeds the dtype's range.
    w = [3e38, 2e37] if dtype == np.float32 else [1.2e308, 1e307]
    w = np.array(w, dtype)
    value, g = losscore.value_and_grad(losscore.mse)(
        np.ones(2, dtype), np.zeros(2, dtype), weight=w
    )
    assert value == pytest.approx(1.0, rel=1e-15)
    w64 = w.astype(np.float64)
    np.testing.assert_allclose(g, 2.0 * (w64 / w64.sum()), rtol=rtol_for(dtype))


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_gradient_matches_analytic_reference(case, dtype, reduction, weighted, rng):
    """float32 and float64 gradients against the float64 closed form on the rounded inputs."""
    p, t = case.data(rng, (300,))
    p, t = p.astype(dtype), t.astype(dtype)
    w = rng.uniform(0.0, 3.0, 300).astype(dtype) if weighted else None
    value, g = losscore.value_and_grad(case.fn)(p, t, **case.params, weight=w, reduction=reduction)
    assert isinstance(g, np.ndarray) and g.dtype == dtype and g.shape == p.shape
    ref_v, ref_g, v_scale, g_scale = reduce_reference(*case.reference(p, t), w, reduction)
    assert_close(g, ref_g, g_scale, rtol_for(dtype), what=f"{case.id} grad")
    assert_close(value, ref_v, v_scale, rtol_for(dtype), what=f"{case.id} value")


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_fused_value_equals_plain_call_bitwise(case, dtype, reduction, weighted, rng):
    p, t = case.data(rng, (10_007,))
    p, t = p.astype(dtype), t.astype(dtype)
    w = rng.uniform(0.0, 3.0, p.shape).astype(dtype) if weighted else None
    plain = case(p, t, weight=w, reduction=reduction)
    value, g = losscore.value_and_grad(case.fn)(p, t, **case.params, weight=w, reduction=reduction)
    assert type(value) is type(plain)
    assert np.asarray(value).tobytes() == np.asarray(plain).tobytes()
    only = losscore.grad(case.fn)(p, t, **case.params, weight=w, reduction=reduction)
    assert only.dtype == g.dtype
    assert only.tobytes() == g.tobytes()


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_out_is_filled_in_place_and_returned(case, dtype, rng):
    p, t = case.data(rng, (6, 7))
    p, t = p.astype(dtype), t.astype(dtype)
    _, want = losscore.value_and_grad(case.fn)(p, t, **case.params, reduction="sum")
    out = np.full(p.shape, 7.0, dtype=dtype)
    _, g = losscore.value_and_grad(case.fn)(p, t, **case.params, reduction="sum", out=out)
    assert g is out
    np.testing.assert_array_equal(out, want)
    out2 = np.full(p.shape, -1.0, dtype=dtype)
    g2 = losscore.grad(case.fn)(p, t, **case.params, reduction="mean", out=out2)
    assert g2 is out2
    np.testing.assert_array_equal(out2, losscore.grad(case.fn)(p, t, **case.params))


def test_out_may_be_a_view_that_is_c_contiguous():
    buf = np.full(20, 9.0)
    out = buf[5:15]
    p, t = np.arange(10.0), np.zeros(10)
    g = losscore.grad(losscore.mse)(p, t, reduction="sum", out=out)
    assert g is out
    np.testing.assert_array_equal(buf[5:15], 2 * p)
    np.testing.assert_array_equal(buf[:5], 9.0)
    np.testing.assert_array_equal(buf[15:], 9.0)


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_gradient_shape_and_dtype_follow_pred(case, rng):
    p, t = case.data(rng, (3, 4, 5))
    _, g = losscore.value_and_grad(case.fn)(p.T, t.T)  # non-contiguous input
    assert g.shape == (5, 4, 3) and g.dtype == np.float64 and g.flags.c_contiguous
    _, g = losscore.value_and_grad(case.fn)(p.tolist(), t.tolist())
    assert g.shape == (3, 4, 5) and g.dtype == np.float64
    _, g = losscore.value_and_grad(case.fn)(p.astype(np.float32), t)
    assert g.dtype == np.float32
    value, g = losscore.value_and_grad(case.fn)(np.zeros(0), np.zeros(0), reduction="sum")
    assert value == 0.0 and g.shape == (0,)
    value, g = losscore.value_and_grad(case.fn)(np.zeros((2, 0)), np.zeros((2, 0)))
    assert np.isnan(value) and g.shape == (2, 0)


@pytest.mark.parametrize("fn", [lambda a, b: 0.0, np.sum, print, "mse", None, 3])
def test_non_losscore_functions_are_rejected(fn):
    with pytest.raises(TypeError):
        losscore.value_and_grad(fn)
    with pytest.raises(TypeError):
        losscore.grad(fn)


def test_fused_function_itself_has_no_gradient():
    with pytest.raises(TypeError):
        losscore.value_and_grad(losscore.value_and_grad(losscore.mse))


@pytest.mark.parametrize("case", DEFAULT_CASES, ids=lambda c: c.id)
def test_signature_includes_out(case):
    base = inspect.signature(case.fn)
    for wrapper in (losscore.value_and_grad, losscore.grad):
        sig = inspect.signature(wrapper(case.fn))
        assert "out" in sig.parameters
        out = sig.parameters["out"]
        assert out.kind is inspect.Parameter.KEYWORD_ONLY and out.default is None
        # Every parameter of the loss, in order, with its kind and default.
        params = [q for name, q in sig.parameters.items() if name != "out"]
        assert params == list(base.parameters.values())


def test_fused_callables_reject_what_the_signature_rejects():
    """``weight`` and ``reduction`` are keyword-only in ``fn`` and in the advertised signature of
    ``value_and_grad(fn)``; a third positional argument must not be taken as the weight."""
    p, t, w = np.arange(3.0), np.zeros(3), np.array([1.0, 0.0, 0.0])
    for case in DEFAULT_CASES:
        with pytest.raises(TypeError):
            case.fn(p, t, w)
        for wrapper in (losscore.value_and_grad, losscore.grad):
            fused = wrapper(case.fn)
            with pytest.raises(TypeError):
                inspect.signature(fused).bind(p, t, w)
            for extra in [(w,), (w, "sum")]:
                with pytest.raises(TypeError):
                    fused(p, t, *extra)
                    pytest.fail(f"{fused.__name__} accepted positional {len(extra)} extra")
