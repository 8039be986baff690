"""Accuracy of kernels against mpmath at 60 digits (the exact value of the loss at the given
floating-point inputs), in ulp of the result, and the sign of exact zeros."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import losscore

mpmath.mp.dps = 60


def ulp_error(got, exact: mpmath.mpf, dtype) -> float:
    """``|got - exact|`` in units of the last place of ``exact`` rounded to ``dtype``."""
    spacing = float(np.spacing(np.abs(np.asarray(float(exact), dtype=dtype))))
    return float(abs(mpmath.mpf(float(got)) - exact)) / spacing


def exact_cross_entropy(row: np.ndarray, label: int) -> mpmath.mpf:
    xs = [mpmath.mpf(float(v)) for v in row]
    return mpmath.log(mpmath.fsum(mpmath.exp(v) for v in xs)) - xs[label]


def _logits(rng, rows: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.normal(0.0, 3.0, (rows, classes))
    y = rng.integers(0, classes, rows)
    # Confident, correct rows: small losses (the case log(1 + s) loses bits in).
    confident = rng.random(rows) < 0.5
    x[confident, y[confident]] += rng.uniform(3, 12, confident.sum())
    return x, y


@pytest.mark.parametrize("classes", [3, 10, 16, 40])
def test_cross_entropy_is_within_2_ulp_on_every_row(classes):
    rng = np.random.default_rng(classes)
    x, y = _logits(rng, 400, classes)
    got = losscore.cross_entropy(x, y, reduction="none")
    errors = [ulp_error(got[i], exact_cross_entropy(x[i], y[i]), np.float64) for i in range(400)]
    assert max(errors) <= 2.0, (max(errors), int(np.argmax(errors)))


@pytest.mark.parametrize("classes", [5, 40])
def test_cross_entropy_with_one_hot_probability_targets_is_within_2_ulp(classes):
    rng = np.random.default_rng(100 + classes)
    x, y = _logits(rng, 300, classes)
    got = losscore.cross_entropy(x, np.eye(classes)[y], reduction="none")
    errors = [ulp_error(got[i], exact_cross_entropy(x[i], y[i]), np.float64) for i in range(300)]
    assert max(errors) <= 2.0, max(errors)


def _log_cosh_points(dtype) -> np.ndarray:
    rng = np.random.default_rng(1)
    switch = [np.nextafter(dtype(v), dtype(np.inf)) for v in (0.5, 0.75)]
    pts = np.concatenate([
        np.linspace(0.4, 1.2, 801),          # around the switches, dense
        np.array([*switch, 0.5, 0.75, 0.7499999, 0.6931471805599453]),
        10.0 ** rng.uniform(-8, 2.5, 1500),  # every magnitude
        rng.uniform(0.7, 3.0, 500),
    ])  # fmt: skip
    pts = pts.astype(dtype)
    return np.concatenate([pts, -pts[::7]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_log_cosh_is_within_2_ulp_everywhere(dtype):
    d = _log_cosh_points(dtype)
    got = losscore.log_cosh(d, np.zeros_like(d), reduction="none")
    assert got.dtype == dtype
    worst, at = 0.0, None
    for v, g in zip(d, got, strict=True):
        exact = mpmath.log(mpmath.cosh(mpmath.mpf(float(v))))
        e = ulp_error(g, exact, dtype)
        if e > worst:
            worst, at = e, float(v)
    assert worst <= 2.0, (worst, at)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_log_cosh_gradient_is_tanh(dtype):
    d = _log_cosh_points(dtype)
    _, g = losscore.value_and_grad(losscore.log_cosh)(d, np.zeros_like(d), reduction="none")
    worst = max(
        ulp_error(gi, mpmath.tanh(mpmath.mpf(float(v))), dtype) for v, gi in zip(d, g, strict=True)
    )
    assert worst <= 4.0, worst


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_pinball_with_quantile_0_or_1_gives_plus_zero(dtype):
    pred = np.array([1.0, -2.0, 0.5, 3.0], dtype)
    target = np.array([0.0, 1.0, 0.5, -1.0], dtype)
    for q in (0.0, 1.0):
        out = losscore.pinball(pred, target, quantile=q, reduction="none")
        zero = out == 0
        assert zero.any()
        assert not np.signbit(out[zero]).any(), (q, out)
        assert not np.signbit(losscore.pinball(pred, target, quantile=q, reduction="sum"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_binary_cross_entropy_at_certain_correct_predictions_is_plus_zero(dtype):
    p = np.array([0.0, 1.0, 0.0, 1.0], dtype)
    t = np.array([0.0, 1.0, 0.0, 1.0], dtype)
    out = losscore.binary_cross_entropy(p, t, reduction="none")
    assert out.tolist() == [0.0] * 4
    assert not np.signbit(out).any()


@pytest.mark.parametrize("classes", [3, 10, 40])
def test_float32_cross_entropy_is_within_2_ulp_on_every_row(classes):
    rng = np.random.default_rng(200 + classes)
    x, y = _logits(rng, 400, classes)
    x = x.astype(np.float32)
    got = losscore.cross_entropy(x, y, reduction="none")
    assert got.dtype == np.float32
    errors = [ulp_error(got[i], exact_cross_entropy(x[i], y[i]), np.float32) for i in range(400)]
    assert max(errors) <= 2.0, (max(errors), int(np.argmax(errors)))


def exact_softmax_focal(row: np.ndarray, label: int, gamma: float) -> tuple[mpmath.mpf, ...]:
    """``-(1 - p_y)**gamma log p_y`` and ``1 - p_y`` at 60 digits."""
    xs = [mpmath.mpf(float(v)) for v in row]
    log_p = xs[label] - mpmath.log(mpmath.fsum(mpmath.exp(v) for v in xs))
    q = 1 - mpmath.exp(log_p)
    return -(q**gamma) * log_p, q


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("classes", [3, 10, 40])
@pytest.mark.parametrize("gamma", [0.5, 2.0, 3.7])
def test_softmax_focal_error_is_bounded_by_the_pow_condition_number(dtype, classes, gamma):
    """``(1 - p_y)**gamma = exp(gamma log q)``: a relative error of ``e`` ulp in ``log q``
    becomes ``e |gamma log q|`` ulp in the power, and one of ``e_q`` ulp in ``q`` becomes
    ``gamma e_q`` ulp. With ``e <= 2`` (a log's rounding, counted in the result's spacing),
    ``e_q <= 3`` (two sums and a division) and 4 ulp for ``-log p_y`` and the products, the
    bound is ``4 + gamma (2 |log q| + 3)`` ulp: far below what ``1 - p_y`` taken by subtraction
    gives (it loses every digit as ``p_y -> 1``)."""
    rng = np.random.default_rng(300 + classes)
    x, y = _logits(rng, 300, classes)
    x = x.astype(dtype)
    got = losscore.softmax_focal(x, y, gamma=gamma, reduction="none")
    for i in range(300):
        exact, q = exact_softmax_focal(x[i], y[i], gamma)
        if exact == 0:
            continue
        bound = 4.0 + gamma * (2.0 * abs(float(mpmath.log(q))) + 3.0)
        assert ulp_error(got[i], exact, dtype) <= bound, (i, float(q))
