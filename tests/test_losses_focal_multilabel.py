"""softmax_focal and multilabel_soft_margin: float64 NumPy references written here from the
documented definitions, torch (autograd focal loss written here; torch's own
``multilabel_soft_margin_loss``), finite differences for gradients and Hessian diagonals, every
reduction, weights, class weights, float32, ISA/thread invariance, errors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import isa, threads

import losscore
from losscore import errors

torch = pytest.importorskip("torch")
F = torch.nn.functional


# ---- references (float64, from the definitions) ----------------------------------------------

def log_softmax(x):
    z = x - x.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def ref_focal_rows(x, y, gamma, alpha=None):
    """Per-row ``-alpha_y (1 - p_y)**gamma log p_y``."""
    x = np.asarray(x, np.float64)
    lp = np.take_along_axis(log_softmax(x), y[..., None], axis=-1)[..., 0]
    a = 1.0 if alpha is None else np.asarray(alpha, np.float64)[y]
    return -a * (-np.expm1(lp)) ** gamma * lp


def ref_multilabel_rows(x, t, cw=None):
    """Per-row ``-1/C sum_c w_c (t log sigmoid(x) + (1 - t) log sigmoid(-x))``."""
    x = np.asarray(x, np.float64)
    t = np.asarray(t, np.float64)
    log_sig = -np.logaddexp(0.0, -x)
    log_sig_neg = -np.logaddexp(0.0, x)
    w = 1.0 if cw is None else np.asarray(cw, np.float64)
    return -(w * (t * log_sig + (1 - t) * log_sig_neg)).sum(axis=-1) / x.shape[-1]


def reduce_rows(rows, weight, reduction):
    w = np.ones_like(rows) if weight is None else np.asarray(weight, np.float64)
    if reduction == "none":
        return w * rows
    if reduction == "sum":
        return float((w * rows).sum())
    return float((w * rows).sum() / w.sum())


def tol(dtype):
    return 2e-5 if dtype == np.float32 else 1e-12


def data(rng, shape=(7, 5), scale=2.0):
    x = rng.standard_normal(shape) * scale
    y = rng.integers(0, shape[-1], size=shape[:-1])
    return x, y


# ---- softmax_focal ---------------------------------------------------------------------------

@pytest.mark.parametrize("gamma", [0.0, 0.5, 1.0, 2.0, 3.7])
@pytest.mark.parametrize("use_alpha", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_focal_value_against_reference(rng, dtype, reduction, gamma, use_alpha, weighted):
    for shape in [(7, 5), (3, 4, 20), (40, 16), (2, 1)]:
        x, y = data(rng, shape)
        c = shape[-1]
        alpha = rng.uniform(0.1, 1.5, c) if use_alpha else None
        w = rng.uniform(0, 2, shape[:-1]) if weighted else None
        kw = {"alpha": alpha, "weight": w}
        got = losscore.softmax_focal(x.astype(dtype), y, gamma=gamma, reduction=reduction, **kw)
        xr = x.astype(dtype).astype(np.float64)
        want = reduce_rows(ref_focal_rows(xr, y, gamma, alpha), w, reduction)
        if reduction == "none":
            assert got.dtype == dtype and got.shape == shape[:-1]
        np.testing.assert_allclose(got, want, rtol=tol(dtype), atol=tol(dtype) * 1e-3)


@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 3.0])
@pytest.mark.parametrize("c", [4, 16, 17, 33])
def test_focal_value_and_grad_against_torch_autograd(rng, gamma, c):
    x, y = data(rng, (50, c))
    alpha = rng.uniform(0.2, 1.0, c)
    xt = torch.tensor(x, requires_grad=True)
    lp = torch.log_softmax(xt, dim=-1).gather(1, torch.tensor(y)[:, None])[:, 0]
    loss = (-torch.tensor(alpha)[torch.tensor(y)] * (-torch.expm1(lp)) ** gamma * lp).mean()
    loss.backward()
    v, g = losscore.value_and_grad(losscore.softmax_focal)(x, y, gamma=gamma, alpha=alpha)
    np.testing.assert_allclose(v, loss.item(), rtol=1e-12)
    np.testing.assert_allclose(g, xt.grad.numpy(), rtol=1e-9, atol=1e-14)


def fd_grad_hess(fn, x, h=1e-5):
    """Central differences of ``fn`` (value) and of its gradient (Hessian diagonal)."""
    g = np.empty_like(x)
    hd = np.empty_like(x)
    value_and_grad = fn
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += h
        xm[i] -= h
        vp, gp = value_and_grad(xp)
        vm, gm = value_and_grad(xm)
        g[i] = (vp - vm) / (2 * h)
        hd[i] = (gp[i] - gm[i]) / (2 * h)
    return g, hd


@pytest.mark.parametrize("gamma", [0.0, 0.3, 1.0, 2.0, 4.5])
@pytest.mark.parametrize("c", [3, 16, 18])
def test_focal_gradient_and_hessian_by_finite_differences(rng, gamma, c):
    x, y = data(rng, (4, c))
    x[0, y[0]] += 4.0  # a confident row
    alpha = rng.uniform(0.2, 1.0, c)
    w = rng.uniform(0.5, 2, 4)
    kw = {"gamma": gamma, "alpha": alpha, "weight": w}
    fused = losscore.value_and_grad(losscore.softmax_focal)
    _, g, h = losscore.value_grad_hess(losscore.softmax_focal)(x, y, **kw)
    fd_g, fd_h = fd_grad_hess(lambda z: fused(z, y, **kw), x)
    np.testing.assert_allclose(g, fd_g, atol=1e-8)
    np.testing.assert_allclose(h, fd_h, atol=1e-6)


def test_focal_gamma_zero_is_cross_entropy_exactly(rng, dtype):
    for shape in [(100, 3), (64, 16), (50, 40), (5, 2, 7)]:
        x, y = data(rng, shape, scale=4.0)
        x = x.astype(dtype)
        for reduction in ["mean", "sum"]:
            a = losscore.softmax_focal(x, y, gamma=0.0, reduction=reduction)
            b = losscore.cross_entropy(x, y, reduction=reduction)
            assert a == b
        a = losscore.softmax_focal(x, y, gamma=0.0, reduction="none")
        b = losscore.cross_entropy(x, y, reduction="none")
        np.testing.assert_array_equal(a, b)
        # With alpha as class weights, the sums agree (the means are defined differently).
        cw = np.linspace(0.5, 1.5, shape[-1]).astype(dtype)
        a = losscore.softmax_focal(x, y, gamma=0.0, alpha=cw, reduction="sum")
        b = losscore.cross_entropy(x, y, class_weight=cw, reduction="sum")
        assert a == b


def test_focal_mean_divides_by_the_number_of_rows(rng):
    x, y = data(rng, (30, 6))
    alpha = rng.uniform(0.1, 1.0, 6)
    total = losscore.softmax_focal(x, y, alpha=alpha, reduction="sum")
    assert losscore.softmax_focal(x, y, alpha=alpha) == pytest.approx(total / 30, rel=1e-14)


def test_focal_confident_rows_are_accurate():
    # p_y -> 1: loss ~ q**(gamma + 1) with q = 1 - p_y, far below the float64 spacing at 1.
    for d in [20.0, 40.0, 300.0]:
        x = np.array([[d, 0.0, 0.0]])
        q = 2 * np.exp(-d) / (1 + 2 * np.exp(-d))
        want = q**2 * np.log1p(2 * np.exp(-d))
        v, g = losscore.value_and_grad(losscore.softmax_focal)(x, np.array([0]), reduction="sum")
        assert v == pytest.approx(want, rel=1e-13)
        # d l / d x_1 = F p_1 with F = q^2 (1 + 2 p_y ell / q), p_1 = q / 2.
        ell = np.log1p(2 * np.exp(-d))
        f = q**2 * (1 + 2 * (1 - q) * ell / q)
        assert g[0, 1] == pytest.approx(f * q / 2, rel=1e-12)


def test_focal_infinite_and_masked_logits():
    inf = np.inf
    x = np.array([[inf, 0.0, -inf], [0.0, inf, inf], [-inf, -inf, -inf], [1.0, -inf, 0.0]])
    y = np.array([0, 1, 0, 0])
    v, g, h = losscore.value_grad_hess(losscore.softmax_focal)(x, y, reduction="none")
    # Row 1: p = (0, 1/2, 1/2): loss (1/2)^2 ln 2.
    want = [0.0, 0.25 * np.log(2.0), inf, ref_focal_rows(x[3:4], y[3:4], 2.0)[0]]
    np.testing.assert_allclose(v, want, rtol=1e-14)
    assert np.all(np.isfinite(g)) and np.all(np.isfinite(h))
    assert np.all(g[[0, 2]] == 0)
    nan_row = losscore.softmax_focal(np.array([[np.nan, 0.0, 1.0]]), np.array([1]))
    assert np.isnan(nan_row)


def test_focal_float32_keeps_its_dtype(rng):
    x, y = data(rng, (20, 5))
    x32 = x.astype(np.float32)
    v, g, h = losscore.value_grad_hess(losscore.softmax_focal)(x32, y)
    assert g.dtype == np.float32 and h.dtype == np.float32
    v64, g64, h64 = losscore.value_grad_hess(losscore.softmax_focal)(x32.astype(np.float64), y)
    assert isinstance(v, float) and v == pytest.approx(v64, rel=1e-5)
    np.testing.assert_allclose(g, g64, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(h, h64, rtol=1e-4, atol=1e-7)


# ---- multilabel_soft_margin ------------------------------------------------------------------

@pytest.mark.parametrize("soft", [False, True])
@pytest.mark.parametrize("use_cw", [False, True])
@pytest.mark.parametrize("weighted", [False, True])
def test_multilabel_value_against_reference(rng, dtype, reduction, soft, use_cw, weighted):
    for shape in [(7, 5), (3, 4, 20), (40, 16), (2, 1)]:
        x = rng.standard_normal(shape) * 3
        t = rng.uniform(size=shape) if soft else (rng.uniform(size=shape) < 0.4) * 1.0
        cw = rng.uniform(0.1, 2.0, shape[-1]) if use_cw else None
        w = rng.uniform(0, 2, shape[:-1]) if weighted else None
        got = losscore.multilabel_soft_margin(
            x.astype(dtype), t, class_weight=cw, weight=w, reduction=reduction
        )
        xr = x.astype(dtype).astype(np.float64)
        tr = t.astype(dtype).astype(np.float64)
        cwr = None if cw is None else cw.astype(dtype).astype(np.float64)
        want = reduce_rows(ref_multilabel_rows(xr, tr, cwr), w, reduction)
        if reduction == "none":
            assert got.dtype == dtype and got.shape == shape[:-1]
        np.testing.assert_allclose(got, want, rtol=tol(dtype), atol=tol(dtype) * 1e-3)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("use_cw", [False, True])
@pytest.mark.parametrize("soft", [False, True])
def test_multilabel_against_torch(rng, reduction, use_cw, soft):
    x = rng.standard_normal((33, 7)) * 4
    t = rng.uniform(size=x.shape) if soft else (rng.uniform(size=x.shape) < 0.5) * 1.0
    cw = rng.uniform(0.1, 2.0, 7) if use_cw else None
    xt = torch.tensor(x, requires_grad=True)
    tw = None if cw is None else torch.tensor(cw)
    want = F.multilabel_soft_margin_loss(xt, torch.tensor(t), weight=tw, reduction=reduction)
    want.backward(torch.ones_like(want))
    fused = losscore.value_and_grad(losscore.multilabel_soft_margin)
    v, g = fused(x, t, class_weight=cw, reduction=reduction)
    np.testing.assert_allclose(v, want.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(g, xt.grad.numpy(), rtol=1e-10, atol=1e-16)


def test_multilabel_integer_labels_equal_float_labels(rng):
    x = rng.standard_normal((9, 4))
    t = (rng.uniform(size=x.shape) < 0.5).astype(np.int32)
    a = losscore.value_and_grad(losscore.multilabel_soft_margin)(x, t)
    b = losscore.value_and_grad(losscore.multilabel_soft_margin)(x, t.astype(np.float64))
    assert a[0] == b[0]
    np.testing.assert_array_equal(a[1], b[1])


@pytest.mark.parametrize("c", [1, 5, 16, 21])
def test_multilabel_gradient_and_hessian_by_finite_differences(rng, c):
    x = rng.standard_normal((3, c)) * 3
    t = rng.uniform(size=x.shape)
    kw = {"class_weight": rng.uniform(0.2, 2, c), "weight": rng.uniform(0.5, 2, 3)}
    fused = losscore.value_and_grad(losscore.multilabel_soft_margin)
    _, g, h = losscore.value_grad_hess(losscore.multilabel_soft_margin)(x, t, **kw)
    fd_g, fd_h = fd_grad_hess(lambda z: fused(z, t, **kw), x)
    np.testing.assert_allclose(g, fd_g, atol=1e-9)
    np.testing.assert_allclose(h, fd_h, atol=1e-7)
    # The documented closed form: w_c s (1 - s) / C, scaled like the gradient ("mean").
    s = 1 / (1 + np.exp(-x))
    want = kw["weight"][:, None] * kw["class_weight"] * s * (1 - s) / c / kw["weight"].sum()
    np.testing.assert_allclose(h, want, rtol=1e-12)


def test_multilabel_infinite_logits_give_limits():
    inf = np.inf
    x = np.array([[inf, -inf, 2.0], [inf, 0.0, 0.0]])
    t = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 0.5]])
    v, g = losscore.value_and_grad(losscore.multilabel_soft_margin)(x, t, reduction="none")
    assert v[0] == pytest.approx(np.log1p(np.exp(-2.0)) / 3, rel=1e-14)
    assert v[1] == inf
    assert np.all(np.isfinite(g))


# ---- both: ISA, threads, chunked evaluation --------------------------------------------------

def _cases(rng):
    x = rng.standard_normal((5003, 10)).astype(np.float32) * 3
    y = rng.integers(0, 10, 5003)
    t = (rng.uniform(size=x.shape) < 0.3).astype(np.float32)
    cw = np.linspace(0.5, 1.5, 10).astype(np.float32)
    w = rng.uniform(0, 2, 5003).astype(np.float32)
    return [
        (losscore.softmax_focal, x, y, {"gamma": 1.5, "alpha": cw, "weight": w}),
        (losscore.softmax_focal, np.repeat(x, 4, axis=1)[:700], y[:700], {"gamma": 2.0}),
        (losscore.multilabel_soft_margin, x, t, {"class_weight": cw, "weight": w}),
    ]


def test_isa_paths_and_thread_counts_are_bitwise_equal(rng):
    for fn, x, target, kw in _cases(rng):
        fused = losscore.value_grad_hess(fn)
        with isa("scalar"), threads(1):
            ref = fused(x, target, **kw)
        for name in losscore.available_isas():
            for n in (1, 2, 3):
                with isa(name), threads(n):
                    got = fused(x, target, **kw)
                assert got[0] == ref[0], (fn.__name__, name, n)
                np.testing.assert_array_equal(got[1], ref[1])
                np.testing.assert_array_equal(got[2], ref[2])


def test_chunked_partials_and_accumulator_equal_in_memory(rng):
    for fn, x, target, kw in _cases(rng):
        whole = fn(x, target, **kw)
        acc = losscore.Accumulator(fn, **{k: v for k, v in kw.items() if k != "weight"})
        w = kw.get("weight")
        for lo in range(0, len(x), 1200):
            hi = min(lo + 1200, len(x))
            part = {} if w is None else {"weight": w[lo:hi]}
            acc.update(x[lo:hi], target[lo:hi], **part)
        assert acc.result() == whole, fn.__name__


# ---- errors ----------------------------------------------------------------------------------

def check_error(exc_type, fn, *args, match=None, **kwargs):
    """Raises ``exc_type`` (plain call and fused call) and leaves every array untouched."""
    copies = [np.array(a, copy=True) for a in args if isinstance(a, np.ndarray)]
    with pytest.raises(exc_type, match=match):
        fn(*args, **kwargs)
    first = np.asarray(args[0])
    if first.dtype.kind == "f" and first.ndim > 0:
        out = np.full(first.shape, 7.0, dtype=first.dtype)
        with pytest.raises(exc_type, match=match):
            losscore.value_and_grad(fn)(*args, out=out, **kwargs)
        assert np.all(out == 7.0), "out= was written before the error"
    after = [a for a in args if isinstance(a, np.ndarray)]
    for a, b in zip(copies, after, strict=True):
        np.testing.assert_array_equal(a, b)


def test_focal_errors():
    x = np.zeros((4, 3))
    y = np.array([0, 1, 2, 1])
    sf = losscore.softmax_focal
    check_error(errors.ParameterError, sf, x, y, gamma=-0.5, match="gamma.*-0.5")
    check_error(errors.ParameterError, sf, x, y, gamma=np.nan, match="gamma")
    check_error(errors.ParameterTypeError, sf, x, y, gamma="2", match="gamma")
    check_error(TypeError, sf, x, y, gamma=True, match="gamma")
    check_error(errors.TargetError, sf, x, np.array([0, 1, 3, 1]), match="class index 3")
    check_error(errors.TargetError, sf, x, np.array([0, -1, 0, 1]), match="flat index 1")
    check_error(errors.DTypeError, sf, x, np.zeros((4, 3)), match="integer")
    check_error(errors.ShapeError, sf, x, np.array([0, 1]), match=r"\(4,\)")
    check_error(errors.ShapeError, sf, x, y, alpha=np.ones(2), match=r"alpha.*\(3,\).*\(2,\)")
    check_error(ValueError, sf, x, y, alpha=np.array([1.0, -1.0, 1.0]), match="alpha")
    check_error(errors.WeightError, sf, x, y, weight=np.array([1.0, -1.0, 1.0, 1.0]))
    check_error(errors.ShapeError, sf, x, y, weight=np.ones(3), match="weight")
    check_error(ValueError, sf, x, y, reduction="batchmean")
    check_error(errors.DTypeError, sf, x.astype(np.complex64), y, match="complex")
    for e in (errors.ParameterError, errors.ShapeError, errors.TargetError, errors.DTypeError):
        assert issubclass(e, (ValueError, TypeError))


def test_multilabel_errors():
    x = np.zeros((4, 3))
    t = np.zeros((4, 3))
    ml = losscore.multilabel_soft_margin
    check_error(errors.ShapeError, ml, x, np.array([0, 1, 2, 1]), match=r"shape \(4, 3\)")
    check_error(errors.ShapeError, ml, x, np.zeros((4, 2)), match=r"\(4, 2\)")
    labels = np.zeros((4, 3), np.int64)
    labels[2, 1] = 2
    check_error(errors.TargetError, ml, x, labels, match="0 or 1.*got 2 at flat index 7")
    check_error(errors.DTypeError, ml, x, np.zeros((4, 3), bool))
    check_error(errors.DTypeError, ml, x, np.full((4, 3), "a"))
    check_error(errors.ShapeError, ml, x, t, class_weight=np.ones(4), match="class_weight")
    check_error(errors.WeightError, ml, x, t, class_weight=np.array([1.0, -1.0, 1.0]))
    check_error(errors.WeightError, ml, x, t, weight=np.array([1.0, 1.0, -1.0, 1.0]))
    check_error(ValueError, ml, x, t, reduction="avg", match="reduction")
    check_error(errors.ShapeError, ml, np.zeros((4, 0)), np.zeros((4, 0)))
