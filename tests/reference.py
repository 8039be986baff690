"""Independent float64 NumPy references for the regression losses.

Written from the documented definitions (PyTorch ``mse_loss``, ``l1_loss``, ``huber_loss``,
``smooth_l1_loss``, ``poisson_nll_loss``; scikit-learn ``mean_pinball_loss``; keras/optax
``log_cosh``), never from losscore's code or output.

Each reference returns ``(loss, grad, loss_scale, grad_scale)`` per element, all float64:
``grad`` is ``d loss / d pred`` and the two scales are the magnitudes of the terms the formula
adds up (a rounding error bound is ``rtol * scale``; where terms cancel, the result can be far
smaller than the terms, so a purely relative tolerance on the result would be wrong).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import losscore

LN2 = math.log(2.0)
HALF_LN_2PI = 0.5 * math.log(2.0 * math.pi)


def _f64(*arrays: np.ndarray) -> list[np.ndarray]:
    return [np.asarray(a, dtype=np.float64) for a in arrays]


def ref_mse(p, t):
    p, t = _f64(p, t)
    d = p - t
    return d * d, 2.0 * d, d * d, np.abs(2.0 * d)


def ref_mae(p, t):
    p, t = _f64(p, t)
    d = p - t
    return np.abs(d), np.sign(d), np.abs(d), np.abs(np.sign(d))


def ref_huber(p, t, delta=1.0):
    p, t = _f64(p, t)
    d = p - t
    a = np.abs(d)
    inside = a < delta
    loss = np.where(inside, 0.5 * d * d, delta * (a - 0.5 * delta))
    grad = np.where(inside, d, delta * np.sign(d))
    return loss, grad, np.abs(loss), np.abs(grad)


def ref_smooth_l1(p, t, beta=1.0):
    p, t = _f64(p, t)
    d = p - t
    a = np.abs(d)
    if beta == 0.0:
        return a, np.sign(d), a, np.abs(np.sign(d))
    inside = a < beta
    loss = np.where(inside, 0.5 * d * d / beta, a - 0.5 * beta)
    grad = np.where(inside, d / beta, np.sign(d))
    return loss, grad, np.abs(loss), np.abs(grad)


def ref_log_cosh(p, t):
    p, t = _f64(p, t)
    d = p - t
    a = np.abs(d)
    with np.errstate(over="ignore", invalid="ignore"):
        # log(cosh a) = log1p(cosh a - 1) = log1p(2 sinh(a/2)^2): accurate for small a;
        # a + log1p(exp(-2a)) - log 2 for large a, where nothing cancels and cosh overflows.
        small = np.log1p(2.0 * np.sinh(np.minimum(a, 1.0) / 2.0) ** 2)
        large = a + np.log1p(np.exp(-2.0 * a)) - LN2
    loss = np.where(a < 1.0, small, large)
    # The loss is a sum of O(|d|) and O(log 2) terms, the gradient tanh a ratio of O(1) terms.
    return loss, np.tanh(d), a + LN2, np.ones_like(d)


def ref_pinball(p, t, quantile=0.5):
    p, t = _f64(p, t)
    q = quantile
    loss = q * np.maximum(t - p, 0.0) + (1.0 - q) * np.maximum(p - t, 0.0)
    grad = np.where(p < t, -q, np.where(p > t, 1.0 - q, 0.0))
    grad = np.where(np.isnan(p - t), np.nan, grad)
    return loss, grad, np.abs(loss), np.abs(grad)


def _stirling(t):
    with np.errstate(divide="ignore", invalid="ignore"):
        s = t * np.log(t) - t + 0.5 * np.log(2.0 * np.pi * t)
        scale = np.abs(t * np.log(t)) + np.abs(t) + np.abs(0.5 * np.log(t)) + HALF_LN_2PI
    return np.where(t > 1.0, s, 0.0), np.where(t > 1.0, scale, 0.0)


def ref_poisson_nll(p, t, log_input=True, full=False, eps=1e-8):
    p, t = _f64(p, t)
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        if log_input:
            e = np.exp(p)
            loss = e - t * p
            grad = e - t
            lscale = e + np.abs(t * p)
            gscale = e + np.abs(t)
        else:
            q = p + eps
            loss = p - t * np.log(q)
            grad = 1.0 - t / q
            lscale = np.abs(p) + np.abs(t * np.log(q)) + np.abs(t) * eps
            gscale = 1.0 + np.abs(t / q)
    if full:
        s, sscale = _stirling(t)
        loss = loss + s
        lscale = lscale + sscale
    return loss, grad, lscale, gscale


def data_symmetric(rng: np.random.Generator, shape: tuple[int, ...]):
    """pred, target ~ N(0, 1.5^2): residuals cover both branches of every piecewise loss."""
    return rng.normal(0.0, 1.5, shape), rng.normal(0.0, 1.5, shape)


def data_log_rate(rng: np.random.Generator, shape: tuple[int, ...]):
    """pred = log rate in [-2, 2.5], target = counts (many > 1, some 0 and 1)."""
    return rng.uniform(-2.0, 2.5, shape), rng.poisson(2.5, shape).astype(np.float64)


def data_rate(rng: np.random.Generator, shape: tuple[int, ...]):
    """pred = rate in [0.05, 6], target = counts."""
    return rng.uniform(0.05, 6.0, shape), rng.poisson(2.5, shape).astype(np.float64)


@dataclass(frozen=True)
class Case:
    """One loss with fixed hyperparameters, its reference and the data it is defined on."""

    name: str
    fn: Callable[..., Any]
    ref: Callable[..., Any]
    params: dict[str, Any] = field(default_factory=dict)
    data: Callable[..., Any] = data_symmetric
    # Points where the derivative does not exist: |pred - target| in kinks is avoided by FD tests.
    kinks: tuple[float, ...] = ()

    @property
    def id(self) -> str:
        if not self.params:
            return self.name
        args = ",".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}({args})"

    def __call__(self, pred, target, **kwargs):
        return self.fn(pred, target, **self.params, **kwargs)

    def reference(self, pred, target):
        return self.ref(pred, target, **self.params)


CASES: list[Case] = [
    Case("mse", losscore.mse, ref_mse),
    Case("mae", losscore.mae, ref_mae, kinks=(0.0,)),
    Case("huber", losscore.huber, ref_huber, kinks=(-1.0, 1.0)),
    Case("huber", losscore.huber, ref_huber, {"delta": 0.3}, kinks=(-0.3, 0.3)),
    Case("huber", losscore.huber, ref_huber, {"delta": 2.5}, kinks=(-2.5, 2.5)),
    Case("smooth_l1", losscore.smooth_l1, ref_smooth_l1, kinks=(-1.0, 1.0)),
    Case("smooth_l1", losscore.smooth_l1, ref_smooth_l1, {"beta": 0.5}, kinks=(-0.5, 0.5)),
    Case("smooth_l1", losscore.smooth_l1, ref_smooth_l1, {"beta": 0.0}, kinks=(0.0,)),
    Case("log_cosh", losscore.log_cosh, ref_log_cosh),
    Case("pinball", losscore.pinball, ref_pinball, kinks=(0.0,)),
    Case("pinball", losscore.pinball, ref_pinball, {"quantile": 0.1}, kinks=(0.0,)),
    Case("pinball", losscore.pinball, ref_pinball, {"quantile": 0.9}, kinks=(0.0,)),
    Case("pinball", losscore.pinball, ref_pinball, {"quantile": 0.0}, kinks=(0.0,)),
    Case("pinball", losscore.pinball, ref_pinball, {"quantile": 1.0}, kinks=(0.0,)),
    Case("poisson_nll", losscore.poisson_nll, ref_poisson_nll, data=data_log_rate),
    Case(
        "poisson_nll",
        losscore.poisson_nll,
        ref_poisson_nll,
        {"full": True},
        data=data_log_rate,
    ),
    Case(
        "poisson_nll",
        losscore.poisson_nll,
        ref_poisson_nll,
        {"log_input": False},
        data=data_rate,
    ),
    Case(
        "poisson_nll",
        losscore.poisson_nll,
        ref_poisson_nll,
        {"log_input": False, "full": True},
        data=data_rate,
    ),
    Case(
        "poisson_nll",
        losscore.poisson_nll,
        ref_poisson_nll,
        {"log_input": False, "eps": 0.25},
        data=data_rate,
    ),
]

# One case per loss function, default parameters: for the engine and error tests.
DEFAULT_CASES: list[Case] = []
for _case in CASES:
    if _case.name not in {c.name for c in DEFAULT_CASES}:
        DEFAULT_CASES.append(_case)

LOSSES = [case.fn for case in DEFAULT_CASES]


def reduce_reference(loss, grad, lscale, gscale, weight, reduction):
    """Applies the documented reduction (DESIGN.md §3-4) to per-element float64 references.

    Returns ``(value, grad, value_tol_scale, grad_tol_scale)``.
    """
    w = np.ones_like(loss) if weight is None else np.asarray(weight, dtype=np.float64)
    wl = w * loss
    wg = w * grad
    if reduction == "none":
        return wl, wg, w * lscale, w * gscale
    total = math.fsum(wl.ravel())
    scale = math.fsum((w * lscale).ravel())
    if reduction == "sum":
        return total, wg, scale, w * gscale
    denominator = math.fsum(w.ravel())
    return total / denominator, wg / denominator, scale / denominator, w * gscale / denominator


def assert_close(got, ref, scale, rtol, what=""):
    """``|got - ref| <= rtol * scale`` elementwise; NaN only where the reference is NaN."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    assert got.shape == ref.shape, f"{what}: shape {got.shape} != {ref.shape}"
    nan_ref = np.isnan(ref)
    np.testing.assert_array_equal(np.isnan(got), nan_ref, err_msg=f"{what}: NaN positions")
    ok = nan_ref | (got == ref) | (np.abs(got - ref) <= rtol * scale)
    if not np.all(ok):
        bad = np.flatnonzero(~ok.ravel())[:5]
        g, r, s = got.ravel(), ref.ravel(), scale.ravel()
        details = [f"[{i}] got {g[i]!r} want {r[i]!r} (tol {rtol * s[i]:.3g})" for i in bad]
        raise AssertionError(f"{what}: {np.count_nonzero(~ok)} mismatches: " + "; ".join(details))


def rtol_for(dtype) -> float:
    return 1e-6 if np.dtype(dtype) == np.float32 else 1e-12
