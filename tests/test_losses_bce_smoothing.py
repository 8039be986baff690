"""``binary_cross_entropy_with_logits(label_smoothing=e)``: the target ``t (1 - e) + e/2``
(optax ``smooth_labels`` with two classes, Keras ``BinaryCrossentropy(label_smoothing=e)``),
against a float64 NumPy formula written here, finite differences, ``pos_weight`` and errors."""

from __future__ import annotations

import numpy as np
import pytest

import losscore
from losscore.errors import ParameterError, ParameterTypeError


def ref_bce_logits(x, t, eps, pos_weight=1.0):
    """Softplus form with the smoothed target; gradient and Hessian by hand."""
    s = t * (1 - eps) + eps / 2
    sp = np.logaddexp(0, x)  # softplus(x)
    sp_neg = np.logaddexp(0, -x)
    sig = 1 / (1 + np.exp(-x))
    loss = (1 - s) * sp + pos_weight * s * sp_neg
    grad = (1 - s) * sig - pos_weight * s * (1 - sig)
    hess = ((1 - s) + pos_weight * s) * sig * (1 - sig)
    return loss, grad, hess


@pytest.mark.parametrize("eps", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_matches_the_smoothed_target_formula(eps, reduction, rng):
    x = rng.normal(0, 3, 500)
    t = (rng.random(500) < 0.4).astype(np.float64)
    w = rng.uniform(0, 2, 500)
    fn = losscore.binary_cross_entropy_with_logits
    value, g, h = losscore.value_grad_hess(fn)(
        x, t, label_smoothing=eps, weight=w, reduction=reduction
    )
    loss, grad, hess = ref_bce_logits(x, t, eps)
    k = w / w.sum() if reduction == "mean" else w
    np.testing.assert_allclose(g, k * grad, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h, k * hess, rtol=1e-12, atol=1e-15)
    if reduction == "none":
        np.testing.assert_allclose(value, w * loss, rtol=1e-13)
    else:
        assert value == pytest.approx(float(np.sum(k * loss)), rel=1e-13)


def test_finite_differences_and_float32(rng):
    x = rng.normal(0, 2, 300)
    t = rng.random(300)
    fn = losscore.binary_cross_entropy_with_logits
    _, g = losscore.value_and_grad(fn)(x, t, label_smoothing=0.2, reduction="none")
    step = 1e-6

    def per_element(z):
        return fn(z, t, label_smoothing=0.2, reduction="none")

    fd = (per_element(x + step) - per_element(x - step)) / (2 * step)
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)
    v32 = fn(x.astype(np.float32), t.astype(np.float32), label_smoothing=0.2, reduction="none")
    assert v32.dtype == np.float32
    np.testing.assert_allclose(v32, ref_bce_logits(x.astype(np.float32), t.astype(np.float32),
                                                   0.2)[0], rtol=2e-6, atol=1e-7)


def test_with_pos_weight(rng):
    x = rng.normal(0, 2, (40, 3))
    t = (rng.random((40, 3)) < 0.5).astype(np.float64)
    pw = np.array([0.5, 2.0, 3.0])
    fn = losscore.binary_cross_entropy_with_logits
    value, g, h = losscore.value_grad_hess(fn)(
        x, t, pos_weight=pw, label_smoothing=0.1, reduction="sum"
    )
    loss, grad, hess = ref_bce_logits(x, t, 0.1, pos_weight=pw)
    assert value == pytest.approx(loss.sum(), rel=1e-13)
    np.testing.assert_allclose(g, grad, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(h, hess, rtol=1e-12, atol=1e-15)


def test_zero_smoothing_is_the_plain_loss_bit_for_bit(rng):
    x = rng.normal(0, 3, 10_001)
    t = rng.random(10_001)
    fn = losscore.binary_cross_entropy_with_logits
    assert fn(x, t, label_smoothing=0.0) == fn(x, t)
    assert fn(x, t, label_smoothing=1.0) == pytest.approx(fn(x, np.full_like(t, 0.5)), rel=1e-15)


def test_infinite_logits_stay_finite_where_the_limit_is():
    fn = losscore.binary_cross_entropy_with_logits
    x = np.array([np.inf, -np.inf])
    t = np.array([1.0, 0.0])
    # Smoothed targets are strictly inside (0, 1): the limit is +inf on both sides.
    assert fn(x, t, label_smoothing=0.1, reduction="none").tolist() == [np.inf, np.inf]
    _, g = losscore.value_and_grad(fn)(x, t, label_smoothing=0.1, reduction="none")
    np.testing.assert_allclose(g, [0.05, -0.05])


@pytest.mark.parametrize("eps", [-0.1, 1.5, np.nan, np.inf])
def test_label_smoothing_outside_the_unit_interval_is_a_parameter_error(eps):
    x, t = np.zeros(3), np.ones(3)
    out = np.full(3, 7.0)
    with pytest.raises(ParameterError, match="label_smoothing"):
        losscore.grad(losscore.binary_cross_entropy_with_logits)(
            x, t, label_smoothing=eps, out=out
        )
    np.testing.assert_array_equal(out, 7.0)


@pytest.mark.parametrize("eps", ["0.1", True, None])
def test_label_smoothing_must_be_a_number(eps):
    with pytest.raises(ParameterTypeError, match="label_smoothing"):
        losscore.binary_cross_entropy_with_logits(np.zeros(3), np.ones(3), label_smoothing=eps)
