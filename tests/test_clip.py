"""clip_grad_norm / clip_grad_value against NumPy norms and torch.nn.utils semantics."""

from __future__ import annotations

import math

import numpy as np
import pytest

import losscore
from losscore import errors, optim
from losscore.errors import (
    DTypeError,
    NonFiniteError,
    OutputError,
    ParameterError,
    ParameterTypeError,
)
from losscore.optim import clip_grad_norm, clip_grad_value, grad_norm


def _grads(dtype, seed=0, shapes=((3, 4), (17,), (2, 3, 5), ())):
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def _norm(grads, p):
    flat = np.concatenate([g.astype(np.float64).ravel() for g in grads])
    if p == math.inf:
        return float(np.max(np.abs(flat)))
    if p == -math.inf:
        return float(np.min(np.abs(flat)))
    if p == 0:  # torch: the 0-"norm" of the per-array norms = arrays with a non-zero element
        return float(sum(bool(np.any(g != 0)) for g in grads))
    return math.fsum(np.abs(flat) ** p) ** (1 / p)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("p", [2.0, 1.0, 3.0, 0.5, math.inf, -math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e9])
def test_norm_and_scaling(dtype, p, max_norm):
    grads = _grads(dtype, seed=1)
    orig = [g.copy() for g in grads]
    total = clip_grad_norm(grads, max_norm, norm_type=p)
    want = _norm(orig, p)
    assert isinstance(total, float)
    assert total == pytest.approx(want, rel=1e-12)
    coef = min(max_norm / (want + 1e-6), 1.0)
    for g, o in zip(grads, orig, strict=True):
        assert g.dtype == np.dtype(dtype)
        if coef == 1.0:
            np.testing.assert_array_equal(g, o)
        else:
            rtol = 1e-6 if dtype == "float32" else 1e-14
            np.testing.assert_allclose(g, o.astype(np.float64) * coef, rtol=rtol)
    if coef < 1.0 and p == 2.0:
        assert _norm(grads, 2.0) == pytest.approx(max_norm, rel=1e-5)


def test_zero_norm_counts_arrays():
    grads = [np.zeros(3), np.array([0.0, 2.0]), np.array([1.0])]
    assert clip_grad_norm(grads, 1e9, norm_type=0) == 2.0


def test_accuracy_on_large_float32():
    g = np.random.default_rng(2).standard_normal(10**6).astype(np.float32)
    total = clip_grad_norm([g], math.inf)
    exact = math.sqrt(math.fsum(g.astype(np.float64) ** 2))
    assert abs(total - exact) <= 1e-12 * exact


def test_thread_count_does_not_change_bits():
    base = np.random.default_rng(3).standard_normal(300_001).astype(np.float32)
    old = losscore.get_num_threads()
    try:
        results = []
        for threads in (1, 2, 3):
            losscore.set_num_threads(threads)
            g = base.copy()
            results.append((clip_grad_norm([g, g[:0].copy()], 10.0), g.tobytes()))
    finally:
        losscore.set_num_threads(old)
    assert all(r == results[0] for r in results)


def test_non_finite_norms():
    g = [np.array([1.0, np.nan]), np.array([2.0])]
    assert math.isnan(clip_grad_norm(g, 1.0))
    assert np.isnan(g[0]).all() and np.isnan(g[1]).all()  # torch multiplies by the NaN factor

    g = [np.array([1.0, np.inf]), np.array([2.0])]
    assert clip_grad_norm(g, 1.0) == math.inf
    assert g[1][0] == 0.0 and g[0][0] == 0.0 and np.isnan(g[0][1])  # factor 0: inf * 0 = nan

    for bad in (np.nan, np.inf):
        g = [np.array([1.0, bad])]
        before = g[0].copy()
        with pytest.raises(NonFiniteError, match="non-finite"):
            clip_grad_norm(g, 1.0, error_if_nonfinite=True)
        np.testing.assert_array_equal(g[0], before)


def test_single_array_and_empty():
    g = np.array([3.0, 4.0])
    assert clip_grad_norm(g, 1.0) == 5.0
    np.testing.assert_allclose(g, [0.6, 0.8], rtol=1e-6)
    assert clip_grad_norm([], 1.0) == 0.0
    assert clip_grad_norm([np.zeros(0)], 1.0) == 0.0


def test_mixed_dtypes():
    a = np.array([3.0], dtype=np.float32)
    b = np.array([4.0])
    assert clip_grad_norm([a, b], 10.0) == 5.0


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_clip_value(dtype):
    grads = _grads(dtype, seed=4)
    grads[1][3] = np.nan
    orig = [g.copy() for g in grads]
    assert clip_grad_value(grads, 0.5) is None
    for g, o in zip(grads, orig, strict=True):
        np.testing.assert_array_equal(g, np.clip(o, -0.5, 0.5))
    assert np.isnan(grads[1][3])
    g = np.array([-2.0, 2.0])
    clip_grad_value([g], math.inf)
    np.testing.assert_array_equal(g, [-2.0, 2.0])


def test_bad_input():
    g = np.ones(3)
    with pytest.raises(ParameterError, match="max_norm"):
        clip_grad_norm([g], -1.0)
    with pytest.raises(ParameterError, match="max_norm"):
        clip_grad_norm([g], float("nan"))
    with pytest.raises(ParameterError, match="norm_type"):
        clip_grad_norm([g], 1.0, norm_type=-1.0)
    with pytest.raises(ParameterTypeError, match="norm_type"):
        clip_grad_norm([g], 1.0, norm_type="two")
    with pytest.raises(ParameterTypeError, match="max_norm"):
        clip_grad_norm([g], True)
    with pytest.raises(ParameterTypeError, match="clip_value"):
        clip_grad_value([g], "1")
    with pytest.raises(ParameterError, match="clip_value"):
        clip_grad_value([g], -0.1)
    with pytest.raises(OutputError, match=r"grads\[1\]"):
        clip_grad_norm([g, g], 0.1)
    with pytest.raises(OutputError, match=r"grads\[1\]"):
        clip_grad_value([g, g[1:]], 0.1)
    ro = np.ones(3)
    ro.flags.writeable = False
    with pytest.raises(OutputError, match="read-only"):
        clip_grad_norm([ro], 0.1)
    with pytest.raises(DTypeError, match="float32 or float64"):
        clip_grad_value([np.ones(3, dtype=np.int32)], 0.1)
    with pytest.raises(OutputError, match="C-contiguous"):
        clip_grad_norm([np.ones((3, 3))[:, 1]], 0.1)
    np.testing.assert_array_equal(g, np.ones(3))


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf, -math.inf, 0.0])
def test_grad_norm_matches_numpy_and_changes_nothing(norm_type):
    rng = np.random.default_rng(3)
    grads = [
        rng.standard_normal((40, 7)),
        rng.standard_normal(13).astype(np.float32),
        rng.standard_normal((3, 4))[:, ::2],
    ]  # non-contiguous: read through a copy
    before = [g.copy() for g in grads]
    flat = np.concatenate([g.astype(np.float64).ravel() for g in grads])
    if norm_type == math.inf:
        want = np.abs(flat).max()
    elif norm_type == -math.inf:
        want = np.abs(flat).min()
    elif norm_type == 0.0:
        # torch's total 0-"norm": the 0-norm of the per-array 0-norms (arrays with a nonzero).
        want = float(sum(np.count_nonzero(g) > 0 for g in grads))
    else:
        want = (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    assert grad_norm(grads, norm_type) == pytest.approx(want, rel=1e-12)
    # The same value clip_grad_norm reports.
    copies = [np.ascontiguousarray(g) for g in grads]
    assert clip_grad_norm(copies, 1e9, norm_type) == pytest.approx(want, rel=1e-15)
    for g, b in zip(grads, before, strict=True):
        np.testing.assert_array_equal(g, b)


def test_grad_norm_bad_input():
    with pytest.raises(DTypeError, match=r"grads\[1\]"):
        grad_norm([np.ones(2), [1.0]])
    with pytest.raises(DTypeError, match=r"grads\[0\]"):
        grad_norm([np.ones(2, dtype=np.int64)])
    with pytest.raises(ParameterTypeError, match="norm_type"):
        grad_norm([np.ones(2)], norm_type="l2")
    with pytest.raises(ParameterError, match="norm_type"):
        grad_norm([np.ones(2)], norm_type=-2.0)
    assert grad_norm([]) == 0.0


@pytest.mark.parametrize(
    "make",
    [
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
        lambda ps: optim.AdamW(ps, lr=1e-2),
        lambda ps: optim.RMSprop(ps, lr=1e-2, centered=True),
        lambda ps: optim.NAdam(ps, lr=1e-2),
        lambda ps: optim.Lion(ps, lr=1e-3),
    ],
)
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_step_with_max_grad_norm_equals_clip_then_step(make, max_norm):
    """The fused clip-and-step: bitwise the same as clip_grad_norm followed by step, and the
    gradients are left as they are."""
    rng = np.random.default_rng(4)
    shapes = [(7, 5), (33,), (2, 3, 4)]
    start = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    a, b = [p.copy() for p in start], [p.copy() for p in start]
    opt_a, opt_b = make(a), make(b)
    for _ in range(3):
        grads = [rng.standard_normal(s).astype(np.float32) * 3 for s in shapes]
        kept = [g.copy() for g in grads]
        clipped = [g.copy() for g in grads]
        want_norm = optim.clip_grad_norm(clipped, max_norm)
        opt_a.step(clipped)
        norm = opt_b.step(grads, max_grad_norm=max_norm)
        assert norm == want_norm
        for g, k in zip(grads, kept, strict=True):
            np.testing.assert_array_equal(g, k)
        for x, y in zip(a, b, strict=True):
            assert x.tobytes() == y.tobytes()


def test_step_max_grad_norm_errors():
    w = np.zeros(3)
    opt = optim.SGD([w], lr=0.1)
    with pytest.raises(errors.ParameterTypeError, match="max_grad_norm"):
        opt.step([np.ones(3)], max_grad_norm="1")
    with pytest.raises(errors.ParameterError, match="max_grad_norm"):
        opt.step([np.ones(3)], max_grad_norm=-1.0)
    np.testing.assert_array_equal(w, 0.0)
    assert opt.step([np.ones(3)]) is None
