"""Losses of several inputs: ``gaussian_nll``, ``margin_ranking``, ``cosine_embedding``,
``triplet_margin``.

Checked against float64 NumPy references written here from PyTorch's documented definitions,
against ``torch.nn.functional`` itself (values and autograd gradients of every input), by
central finite differences of the value for every gradient and Hessian, and for bitwise
invariance across threads, ISAs and chunking. Errors are checked for type, message and that no
input is modified.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import isa, threads

import losscore
from losscore import errors

# -- references from the documented definitions (float64) ----------------------------------


def ref_gaussian_nll(p, t, v, full=False, eps=1e-6):
    v = np.maximum(v, eps)
    out = 0.5 * (np.log(v) + (p - t) ** 2 / v)
    return out + (0.5 * math.log(2 * math.pi) if full else 0.0)


def ref_margin_ranking(x1, x2, y, margin=0.0):
    return np.maximum(0.0, -y * (x1 - x2) + margin)


def ref_cosine_embedding(x1, x2, y, margin=0.0):
    e = 1e-12
    cos = (x1 * x2).sum(-1) / np.sqrt(((x1 * x1).sum(-1) + e) * ((x2 * x2).sum(-1) + e))
    return np.where(y == 1, 1.0 - cos, np.maximum(0.0, cos - margin))


def ref_pairwise(u, v, p, eps):
    return (np.abs(u - v + eps) ** p).sum(-1) ** (1.0 / p)


def ref_triplet(a, pos, neg, margin=1.0, p=2.0, eps=1e-6, swap=False):
    d_neg = ref_pairwise(a, neg, p, eps)
    if swap:
        d_neg = np.minimum(d_neg, ref_pairwise(pos, neg, p, eps))
    return np.maximum(0.0, ref_pairwise(a, pos, p, eps) - d_neg + margin)


def reduce(per_unit, w, reduction):
    wl = per_unit if w is None else w * per_unit
    if reduction == "none":
        return wl
    if reduction == "sum":
        return math.fsum(wl.ravel())
    return math.fsum(wl.ravel()) / (wl.size if w is None else math.fsum(w.ravel()))


# -- the cases: inputs, label, parameters ----------------------------------------------------


def make(name, rng, shape=(6, 5), dtype=np.float64):
    def normal():
        return rng.standard_normal(shape).astype(dtype)

    if name == "gaussian_nll":
        var = rng.uniform(0.05, 3.0, shape).astype(dtype)
        return [normal(), normal(), var], None
    if name == "margin_ranking":
        return [normal(), normal()], rng.choice([-1.0, 1.0], shape).astype(dtype)
    if name == "cosine_embedding":
        return [normal(), normal()], rng.choice([-1.0, 1.0], shape[:-1]).astype(dtype)
    return [normal(), normal(), normal()], None


REFS = {
    "gaussian_nll": (ref_gaussian_nll, [{}, {"full": True}, {"eps": 0.5}]),
    "margin_ranking": (ref_margin_ranking, [{}, {"margin": 0.3}]),
    "cosine_embedding": (ref_cosine_embedding, [{}, {"margin": 0.2}, {"margin": -0.5}]),
    "triplet_margin": (
        ref_triplet,
        [{}, {"swap": True}, {"p": 1.0}, {"p": 3.0, "margin": 0.5}, {"p": 1.5, "eps": 0.0}],
    ),
}
NAMES = list(REFS)
CASES = [(n, params) for n in NAMES for params in REFS[n][1]]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in p.items()) or 'default'}" for n, p in CASES]


def call_args(arrays, label):
    return [*arrays[:2], label, *arrays[2:]] if label is not None else arrays


def fn_of(name):
    return getattr(losscore, name)


def test_the_registry_knows_the_inputs():
    reg = losscore.losses.registry
    assert reg["gaussian_nll"].inputs == ("pred", "target", "var")
    assert reg["margin_ranking"].arrays == ("x1", "x2", "target")
    assert reg["margin_ranking"].inputs == ("x1", "x2")
    assert reg["triplet_margin"].inputs == ("anchor", "positive", "negative")
    assert not reg["cosine_embedding"].hess and reg["gaussian_nll"].hess


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_values_match_the_documented_formula(rng, name, params, reduction, weighted):
    arrays, label = make(name, rng)
    ref, _ = REFS[name]
    per_unit = ref(*call_args(arrays, label), **params)
    w = rng.uniform(0.0, 2.0, per_unit.shape) if weighted else None
    got = fn_of(name)(*call_args(arrays, label), weight=w, reduction=reduction, **params)
    want = reduce(per_unit, w, reduction)
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


def torch_loss(name, tensors, label, params, reduction):
    if name == "gaussian_nll":
        return F.gaussian_nll_loss(*tensors[:2], tensors[2], reduction=reduction, **params)
    if name == "margin_ranking":
        y = torch.from_numpy(label)
        return F.margin_ranking_loss(*tensors, y, reduction=reduction, **params)
    if name == "cosine_embedding":
        return F.cosine_embedding_loss(
            *tensors, torch.from_numpy(label), reduction=reduction, **params
        )
    return F.triplet_margin_loss(*tensors, reduction=reduction, **params)


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_values_and_every_gradient_match_torch(rng, name, params, reduction):
    arrays, label = make(name, rng)
    tensors = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
    expected = torch_loss(name, tensors, label, params, reduction)
    expected.backward(torch.ones_like(expected))
    argnums = tuple(range(len(arrays)))
    fused = losscore.value_and_grad(fn_of(name), argnums=argnums)
    value, grads = fused(*call_args(arrays, label), reduction=reduction, **params)
    np.testing.assert_allclose(value, expected.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert len(grads) == len(arrays)
    for g, t in zip(grads, tensors, strict=True):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-13)


def numeric_gradient(f, arrays, k, h=1e-6):
    g = np.zeros_like(arrays[k])
    for idx in np.ndindex(arrays[k].shape):
        up = [a.copy() for a in arrays]
        down = [a.copy() for a in arrays]
        up[k][idx] += h
        down[k][idx] -= h
        g[idx] = (f(up) - f(down)) / (2 * h)
    return g


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
@pytest.mark.parametrize("argnums", [0, 1, 2, (1, 0), (0, 1, 2)])
def test_each_gradient_is_the_finite_difference_of_the_value(rng, name, params, argnums):
    arrays, label = make(name, rng, shape=(4, 3))
    clamped = name == "gaussian_nll" and "eps" in params
    if clamped:
        arrays[2] = np.maximum(arrays[2], 2 * params["eps"])
        arrays[2][0, 0] = 0.1  # below eps: the clamp is not differentiated (torch semantics)
    n = len(arrays)
    positions = argnums if isinstance(argnums, tuple) else (argnums,)
    if max(positions) >= n:
        with pytest.raises(errors.ParameterError, match="argnums"):
            losscore.value_and_grad(fn_of(name), argnums=argnums)
        return
    w = rng.uniform(0.5, 1.5, arrays[0].shape if n == 3 and name == "gaussian_nll"
                    else (label.shape if label is not None else arrays[0].shape[:-1]))

    def value(xs):
        return fn_of(name)(*call_args(xs, label), weight=w, **params)

    _, grads = losscore.value_and_grad(fn_of(name), argnums=argnums)(
        *call_args(arrays, label), weight=w, **params
    )
    grads = grads if isinstance(argnums, tuple) else (grads,)
    for k, g in zip(positions, grads, strict=True):
        fd = numeric_gradient(value, arrays, k)
        if clamped and k == 2:
            # The value is flat in var below eps; the gradient is the one at v = eps.
            e, d = params["eps"], arrays[0][0, 0] - arrays[1][0, 0]
            fd[0, 0] = w[0, 0] / w.sum() * 0.5 * (1 / e - d * d / e**2)
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("name", ["gaussian_nll", "margin_ranking"])
def test_hessian_diagonal_is_the_finite_difference_of_the_gradient(rng, name):
    arrays, label = make(name, rng, shape=(7,))
    hessian = losscore.value_grad_hess(fn_of(name))
    _, _, h = hessian(*call_args(arrays, label), reduction="sum")
    step = 1e-6
    up, down = [a.copy() for a in arrays], [a.copy() for a in arrays]
    up[0] += step
    down[0] -= step
    grad = losscore.grad(fn_of(name))
    fd = (grad(*call_args(up, label), reduction="sum")
          - grad(*call_args(down, label), reduction="sum")) / (2 * step)
    np.testing.assert_allclose(h, fd, rtol=1e-6, atol=1e-8)
    if name == "gaussian_nll":
        np.testing.assert_allclose(h, 1.0 / np.maximum(arrays[2], 1e-6), rtol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32_and_is_close(rng, name):
    arrays, label = make(name, rng, shape=(50, 8), dtype=np.float32)
    value, grads = losscore.value_and_grad(fn_of(name), argnums=(0, 1))(
        *call_args(arrays, label), reduction="none"
    )
    wide = [a.astype(np.float64) for a in arrays]
    wide_label = None if label is None else label.astype(np.float64)
    v64, g64 = losscore.value_and_grad(fn_of(name), argnums=(0, 1))(
        *call_args(wide, wide_label), reduction="none"
    )
    assert value.dtype == np.float32 and all(g.dtype == np.float32 for g in grads)
    np.testing.assert_allclose(value, v64, rtol=2e-5, atol=2e-6)
    for g, g_wide in zip(grads, g64, strict=True):
        np.testing.assert_allclose(g, g_wide, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name", NAMES)
def test_bitwise_across_threads_isas_and_chunks(rng, name):
    arrays, label = make(name, rng, shape=(40_000, 3))
    fused = losscore.value_and_grad(fn_of(name), argnums=(0, 1))
    args = call_args(arrays, label)
    results = []
    for isa_name in losscore.available_isas():
        for n in (1, 2, 3):
            with isa(isa_name), threads(n):
                value, (g0, g1) = fused(*args)
                results.append((value, g0.tobytes(), g1.tobytes()))
    assert all(r == results[0] for r in results[1:])
    # Chunks cut anywhere along the leading axis finish like the whole.
    acc = losscore.Accumulator(name)
    rows = arrays[0].shape[0]
    for lo, hi in [(0, 1), (1, 777), (777, 30_001), (30_001, rows)]:
        acc.update(*call_args([a[lo:hi] for a in arrays],
                              None if label is None else label[lo:hi]))
    assert acc.result() == results[0][0]
    assert acc.result("sum") == fn_of(name)(*args, reduction="sum")


def test_out_buffers_receive_the_gradients_in_argnums_order(rng):
    arrays, _ = make("gaussian_nll", rng)
    bufs = (np.empty_like(arrays[2]), np.empty_like(arrays[0]))
    fused = losscore.value_and_grad(losscore.gaussian_nll, argnums=(2, 0))
    _value, (g_var, g_pred) = fused(*arrays, out=bufs)
    assert g_var is bufs[0] and g_pred is bufs[1]
    _, (ref_var, ref_pred) = fused(*arrays)
    np.testing.assert_array_equal(g_var, ref_var)
    np.testing.assert_array_equal(g_pred, ref_pred)
    single = np.empty_like(arrays[0])
    _, g = losscore.value_and_grad(losscore.gaussian_nll, argnums=1)(*arrays, out=single)
    assert g is single
    np.testing.assert_array_equal(g, -ref_pred)


def test_zero_vectors_and_large_values_stay_finite():
    x1 = np.zeros((2, 3))
    x2 = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    value, (g1, g2) = losscore.value_and_grad(losscore.cosine_embedding, argnums=(0, 1))(
        x1, x2, np.array([1, -1]), reduction="none"
    )
    assert np.isfinite(value).all() and np.isfinite(g1).all() and np.isfinite(g2).all()
    np.testing.assert_allclose(value, [1.0, 0.0])
    # Squares beyond float64 (torch returns nan here): cos is scale-invariant.
    big = np.array([[1e200, 2e200, -1e200], [3e300, 0.0, 1e-300]])
    small = np.array([[2e200, 4e200, -2e200], [1.0, 0.0, 0.0]])
    value, (g1, g2) = losscore.value_and_grad(losscore.cosine_embedding, argnums=(0, 1))(
        big, small, np.array([1, 1]), reduction="none"
    )
    np.testing.assert_allclose(value, [0.0, 5e-13], atol=1e-15)  # e / 2 of |small|^2 = 1
    assert np.isfinite(g1).all() and np.isfinite(g2).all()
    # gaussian_nll: a zero variance is clamped at eps.
    np.testing.assert_allclose(
        losscore.gaussian_nll(np.array([1.0]), np.array([0.0]), np.array([0.0]), eps=1e-3),
        0.5 * (math.log(1e-3) + 1 / 1e-3),
    )


def test_empty_inputs(rng):
    e = np.zeros((0, 4))
    assert losscore.triplet_margin(e, e, e, reduction="sum") == 0.0
    assert math.isnan(losscore.cosine_embedding(e, e, np.zeros(0)))
    none = losscore.margin_ranking(np.zeros(0), np.zeros(0), np.zeros(0), reduction="none")
    assert none.shape == (0,)
    one = np.ones(3)  # a single vector: one row, a 0-d target
    # 1 - 3 / (3 + e) with torch's e = 1e-12 added to each squared norm.
    assert losscore.cosine_embedding(one, one, np.array(1.0)) == pytest.approx(1e-12 / 3, rel=1e-3)


# -- errors ----------------------------------------------------------------------------------


def assert_untouched(arrays, before):
    for a, b in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda a: losscore.margin_ranking(a[0], a[1], a[0]), errors.TargetError, "-1 or \\+1"),
        (lambda a: losscore.margin_ranking(a[0], a[1][:3], a[2]), errors.ShapeError, "x2 shape"),
        (lambda a: losscore.margin_ranking(a[0], a[1], a[2][:2]), errors.ShapeError, "target"),
        (lambda a: losscore.gaussian_nll(a[0], a[1], -np.abs(a[1])), errors.TargetError, "var"),
        (lambda a: losscore.gaussian_nll(a[0], a[1], a[2], eps=0.0), errors.ParameterError, "eps"),
        (lambda a: losscore.gaussian_nll(a[0], a[1], a[2], full=1), errors.ParameterTypeError,
         "full"),
        (lambda a: losscore.triplet_margin(a[0], a[1], a[0], p=0.0), errors.ParameterError, "p:"),
        (lambda a: losscore.triplet_margin(a[0], a[1], a[0], p="2"), errors.ParameterTypeError,
         "p must"),
        (lambda a: losscore.triplet_margin(a[0], a[1], a[0], margin=True),
         errors.ParameterTypeError, "margin"),
        (lambda a: losscore.triplet_margin(np.zeros((3, 0)), np.zeros((3, 0)), np.zeros((3, 0))),
         errors.ShapeError, "empty last axis"),
        (lambda a: losscore.cosine_embedding(np.float64(1.0), 1.0, 1.0), errors.ShapeError,
         "at least one dimension"),
        (lambda a: losscore.cosine_embedding(a[0], a[1], np.ones(4)), errors.ShapeError, "target"),
        (lambda a: losscore.cosine_embedding(a[0], a[1], np.full(6, 2.0)), errors.TargetError,
         "-1 or \\+1"),
        (lambda a: losscore.margin_ranking(a[0], a[1], a[2], reduction="batchmean"),
         errors.ParameterError, "batchmean"),
        (lambda a: losscore.margin_ranking(a[0], a[1], a[2], weight=-np.ones_like(a[0])),
         errors.WeightError, "weight"),
        (lambda a: losscore.margin_ranking(a[0], np.array(["a"] * 30).reshape(6, 5), a[2]),
         errors.DTypeError, "x2"),
    ],
)
def test_bad_input_raises_a_losscore_error_and_modifies_nothing(rng, call, error, match):
    arrays = [rng.standard_normal((6, 5)), rng.standard_normal((6, 5)),
              rng.choice([-1.0, 1.0], (6, 5))]
    before = [a.copy() for a in arrays]
    with pytest.raises(error, match=match):
        call(arrays)
    assert_untouched(arrays, before)


@pytest.mark.parametrize(
    ("argnums", "out", "error", "match"),
    [
        ((0, 0), None, errors.ParameterError, "twice"),
        ((), None, errors.ParameterError, "empty"),
        (3, None, errors.ParameterError, "position"),
        (-1, None, errors.ParameterError, "position"),
        (True, None, errors.ParameterTypeError, "bool"),
        ("0", None, errors.ParameterTypeError, "argnums"),
        ((0, 1), "one-buffer", errors.ParameterTypeError, "tuple of arrays"),
        ((0, 1), "three-buffers", errors.ParameterError, "3 buffers for 2"),
        ((0, 1), "aliased", errors.OutputError, "shares memory"),
        ((0, 1), "same-twice", errors.OutputError, "shares memory"),
    ],
)
def test_bad_argnums_and_out(rng, argnums, out, error, match):
    arrays, _ = make("gaussian_nll", rng)
    before = [a.copy() for a in arrays]
    buf = np.zeros_like(arrays[0])
    outs = {
        None: None,
        "one-buffer": buf,
        "three-buffers": (buf, np.zeros_like(buf), np.zeros_like(buf)),
        "aliased": (buf, arrays[2]),
        "same-twice": (buf, buf),
    }[out]
    with pytest.raises(error, match=match):
        fused = losscore.value_and_grad(losscore.gaussian_nll, argnums=argnums)
        fused(*arrays, out=outs)
    assert_untouched(arrays, before)
    # The kernel checks argnums itself too.
    if out is None:
        with pytest.raises(error, match=match):
            losscore._core.gaussian_nll(*arrays, with_grad=True, argnums=argnums)


def test_hessians_only_where_defined(rng):
    arrays, _label = make("triplet_margin", rng)
    with pytest.raises(TypeError, match="no Hessian"):
        losscore.value_grad_hess(losscore.triplet_margin)
    with pytest.raises(errors.ParameterError, match="Hessian"):
        losscore._core.triplet_margin(*arrays, with_hess=True)
    g_arrays, _ = make("gaussian_nll", rng)
    with pytest.raises(errors.ParameterError, match="argnums=0"):
        losscore._core.gaussian_nll(*g_arrays, with_hess=True, argnums=(0, 2))


def test_classic_losses_take_argnums_zero_only(rng):
    p, t = rng.standard_normal(4), rng.standard_normal(4)
    _value, (g,) = losscore.value_and_grad(losscore.mse, argnums=(0,))(p, t)
    np.testing.assert_array_equal(g, losscore.grad(losscore.mse)(p, t))
    with pytest.raises(errors.ParameterError, match="0: pred"):
        losscore.value_and_grad(losscore.mse, argnums=1)
