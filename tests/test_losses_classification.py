"""Classification losses against float64 NumPy references written from the PyTorch definitions.

Every reference below is written from the documented formula (PyTorch / torchvision docs and the
DESIGN.md contract), independently of the Rust kernels; gradients are checked with central finite
differences.
"""

from __future__ import annotations

import numpy as np
import pytest

import losscore

RNG = np.random.default_rng(12345)
REDUCTIONS = ["mean", "sum", "none"]
DTYPES = [np.float32, np.float64]

# ---------------------------------------------------------------- references (float64, NumPy)


def softplus(z):
    return np.logaddexp(0.0, z)


def sigmoid(z):
    return np.exp(-softplus(-z))


def reduce(loss, w, reduction, denom=None):
    """w*l, then "none" / "sum" / "mean" (= sum / denom, denom defaults to sum(w) or count)."""
    wl = loss if w is None else w * loss
    if reduction == "none":
        return wl
    total = float(np.sum(wl))
    if reduction == "sum":
        return total
    if denom is None:
        denom = loss.size if w is None else float(np.sum(w))
    return total / denom


def ref_bce(p, t):
    with np.errstate(divide="ignore"):
        return -(t * np.maximum(np.log(p), -100) + (1 - t) * np.maximum(np.log(1 - p), -100))


def ref_bce_logits(x, t, pos_weight=None):
    pw = 1.0 if pos_weight is None else pos_weight
    # PyTorch: (1 - t) x + (1 + (pw - 1) t) (log1p(exp(-|x|)) + max(-x, 0))
    lw = 1 + (pw - 1) * t
    return (1 - t) * x + lw * softplus(-x)


def ref_focal(x, t, alpha, gamma):
    p = sigmoid(x)
    ce = ref_bce_logits(x, t)
    p_t = p * t + (1 - p) * (1 - t)
    loss = ce * (1 - p_t) ** gamma
    if alpha >= 0:
        loss = (alpha * t + (1 - alpha) * (1 - t)) * loss
    return loss


def ref_soft_margin(x, t):
    return softplus(-t * x)


def ref_hinge(x, t, margin):
    return np.maximum(0.0, margin - t * x)


def ref_squared_hinge(x, t, margin):
    return np.maximum(0.0, margin - t * x) ** 2


def ref_kl(x, t, log_target):
    if log_target:
        return np.exp(t) * (t - x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(t > 0, t * (np.log(np.where(t > 0, t, 1.0)) - x), 0.0)


def log_softmax(x):
    m = np.max(x, axis=-1, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))


def ref_cross_entropy(x, y, reduction, cw=None, ignore=None, eps=0.0, w=None):
    """torch.nn.functional.cross_entropy, class axis last (x: (N, C) float64)."""
    n, c = x.shape
    lp = log_softmax(x)
    cwv = np.ones(c) if cw is None else cw
    if y.dtype.kind in "iu":
        keep = np.ones(n, bool) if ignore is None else (y != ignore)
        ys = np.where(keep, y, 0)
        nll = -cwv[ys] * lp[np.arange(n), ys]
        smooth = -np.sum(lp * cwv, axis=-1)
        loss = np.where(keep, (1 - eps) * nll + eps / c * smooth, 0.0)
        sw = np.ones(n) if w is None else w
        denom = float(np.sum(np.where(keep, sw * cwv[ys], 0.0)))
        return reduce(loss, w, reduction, denom)
    t = (1 - eps) * y + eps / c
    loss = -np.sum(cwv * t * lp, axis=-1)
    return reduce(loss, w, reduction)


def ref_nll(x, y, reduction, cw=None, ignore=None, w=None):
    n, c = x.shape
    cwv = np.ones(c) if cw is None else cw
    keep = np.ones(n, bool) if ignore is None else (y != ignore)
    ys = np.where(keep, y, 0)
    loss = np.where(keep, -cwv[ys] * x[np.arange(n), ys], 0.0)
    sw = np.ones(n) if w is None else w
    denom = float(np.sum(np.where(keep, sw * cwv[ys], 0.0)))
    return reduce(loss, w, reduction, denom)


def ref_multi_margin(x, y, reduction, p=1, margin=1.0, cw=None, w=None):
    n, c = x.shape
    loss = np.zeros(n)
    for i in range(n):
        for j in range(c):
            if j != y[i]:
                z = max(0.0, margin - x[i, y[i]] + x[i, j])
                loss[i] += z**p * (1.0 if cw is None else cw[y[i]])
    return reduce(loss / c, w, reduction)


# ---------------------------------------------------------------- element-wise cases


def elementwise_case(name, shape=(7, 5), rng=RNG):
    """(fn, first, target, kwargs-options list, reference(x, t, **opts))."""
    x = rng.normal(size=shape) * 2
    if name == "binary_cross_entropy":
        p = rng.uniform(0.02, 0.98, size=shape)
        t = rng.uniform(0, 1, size=shape)
        return p, t, [{}], lambda x, t: ref_bce(x, t)
    if name == "binary_cross_entropy_with_logits":
        t = rng.uniform(0, 1, size=shape)
        t[0] = 1.0
        t[1] = 0.0
        pw = rng.uniform(0.5, 3, size=shape[-1])
        return x, t, [{}, {"pos_weight": pw}], lambda x, t, pos_weight=None: ref_bce_logits(
            x, t, pos_weight
        )
    if name == "sigmoid_focal":
        t = (rng.uniform(size=shape) > 0.5).astype(float)
        t[0] = 0.3
        opts = [{}, {"alpha": -1.0, "gamma": 0.0}, {"alpha": 0.6, "gamma": 1.5}]
        return x, t, opts, lambda x, t, alpha=0.25, gamma=2.0: ref_focal(x, t, alpha, gamma)
    if name == "soft_margin":
        t = np.where(rng.uniform(size=shape) > 0.5, 1.0, -1.0)
        return x, t, [{}], ref_soft_margin
    if name in ("hinge", "squared_hinge"):
        t = np.where(rng.uniform(size=shape) > 0.5, 1.0, -1.0)
        # Stay away from the kink for finite differences.
        for m in (1.0, 0.5):
            z = m - t * x
            x = np.where(np.abs(z) < 1e-3, x + 0.01, x)
        ref = ref_hinge if name == "hinge" else ref_squared_hinge
        return x, t, [{}, {"margin": 0.5}], lambda x, t, margin=1.0: ref(x, t, margin)
    if name == "kl_div":
        q = rng.uniform(0, 1, size=shape)
        q[0, 0] = 0.0
        logp = np.log(rng.uniform(0.05, 1, size=shape))
        return (
            logp,
            q,
            [{}, {"log_target": True}],
            lambda x, t, log_target=False: ref_kl(x, t, log_target),
        )
    raise AssertionError(name)


ELEMENTWISE = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "sigmoid_focal",
    "soft_margin",
    "hinge",
    "squared_hinge",
    "kl_div",
]


def target_for(name, t, opts):
    if name == "kl_div" and opts.get("log_target"):
        return np.log(np.maximum(t, 1e-3)) - 0.2
    return t


NAME_REDUCTION = [(n, r) for n in ELEMENTWISE for r in REDUCTIONS] + [("kl_div", "batchmean")]


@pytest.mark.parametrize(("name", "reduction"), NAME_REDUCTION)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("weighted", [False, True])
def test_elementwise_matches_reference(name, dtype, reduction, weighted):
    fn = getattr(losscore, name)
    x, t0, options, ref = elementwise_case(name)
    w = RNG.uniform(0, 2, size=x.shape) if weighted else None
    for opts in options:
        t = target_for(name, t0, opts)
        kw = {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v) for k, v in opts.items()}
        args = (x.astype(dtype), t.astype(dtype))
        wk = {} if w is None else {"weight": w.astype(dtype)}
        got = fn(*args, reduction=reduction, **kw, **wk)
        xr, tr = args[0].astype(np.float64), args[1].astype(np.float64)
        ropts = {k: (v.astype(dtype).astype(np.float64) if isinstance(v, np.ndarray) else v)
                 for k, v in opts.items()}
        loss = ref(xr, tr, **ropts)
        wr = None if w is None else w.astype(dtype).astype(np.float64)
        if reduction == "batchmean":
            want = float(np.sum(loss if wr is None else wr * loss)) / x.shape[0]
        else:
            want = reduce(loss, wr, reduction)
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        if reduction == "none":
            assert got.dtype == dtype and got.shape == x.shape
            np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol)
        else:
            assert isinstance(got, float)
            assert got == pytest.approx(want, rel=rtol, abs=rtol)
        # The fused value equals the plain call.
        v, g = losscore.value_and_grad(fn)(*args, reduction=reduction, **kw, **wk)
        if reduction == "none":
            np.testing.assert_array_equal(v, got)
        else:
            assert v == got
        assert g.dtype == dtype and g.shape == x.shape


def central_diff(f, x, h=1e-6):
    g = np.zeros_like(x)
    flat, gf = x.reshape(-1), g.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + h
        up = f(x)
        flat[i] = old - h
        down = f(x)
        flat[i] = old
        gf[i] = (up - down) / (2 * h)
    return g


def scalar(fn, reduction, **kw):
    def f(x):
        v = fn(x, reduction=reduction, **kw)
        return float(np.sum(v)) if reduction == "none" else v

    return f


@pytest.mark.parametrize(("name", "reduction"), NAME_REDUCTION)
@pytest.mark.parametrize("weighted", [False, True])
def test_elementwise_gradients_finite_differences(name, reduction, weighted):
    fn = getattr(losscore, name)
    x, t0, options, _ = elementwise_case(name, shape=(3, 4))
    w = RNG.uniform(0.1, 2, size=x.shape) if weighted else None
    for opts in options:
        t = target_for(name, t0, opts)
        kw = dict(opts, target=t, weight=w)
        _, g = losscore.value_and_grad(fn)(x.copy(), t, reduction=reduction, **opts, weight=w)
        fd = central_diff(lambda z, kw=kw: scalar(fn, reduction, **kw)(z), x.copy())
        np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7, err_msg=f"{name} {opts}")
        # grad() returns the same array as value_and_grad.
        g2 = losscore.grad(fn)(x, t, reduction=reduction, **opts, weight=w)
        np.testing.assert_array_equal(g, g2)


# ---------------------------------------------------------------- class (row) losses

CE_OPTIONS = [
    {},
    {"class_weight": "cw"},
    {"ignore_index": 2},
    {"label_smoothing": 0.2},
    {"class_weight": "cw", "ignore_index": 2, "label_smoothing": 0.15},
    {"ignore_index": -100, "label_smoothing": 0.1},
]


def row_data(n, c, rng=RNG, leading=None):
    x = rng.normal(size=(n, c)) * 3
    y = rng.integers(0, c, size=n)
    cw = rng.uniform(0.2, 2.0, size=c)
    w = rng.uniform(0, 2, size=n)
    return x, y, cw, w


def resolve(opts, cw):
    return {k: (cw if v == "cw" else v) for k, v in opts.items()}


@pytest.mark.parametrize("c", [3, 16, 17, 40])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_index_targets(c, dtype, reduction, weighted):
    n = 45
    x, y, cw, w = row_data(n, c)
    y[::7] = 2  # some samples of the ignored class
    for opts in CE_OPTIONS:
        o = resolve(opts, cw)
        if "ignore_index" in o and o["ignore_index"] == -100:
            y = y.copy()
            y[::5] = -100
        kw = {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v) for k, v in o.items()}
        wk = {"weight": w.astype(dtype)} if weighted else {}
        got = losscore.cross_entropy(x.astype(dtype), y, reduction=reduction, **kw, **wk)
        ro = {k: (v.astype(dtype).astype(float) if isinstance(v, np.ndarray) else v)
              for k, v in o.items()}
        want = ref_cross_entropy(
            x.astype(dtype).astype(float), y, reduction,
            cw=ro.get("class_weight"), ignore=ro.get("ignore_index"),
            eps=ro.get("label_smoothing", 0.0),
            w=w.astype(dtype).astype(float) if weighted else None,
        )
        rtol = 2e-5 if dtype == np.float32 else 1e-12
        if reduction == "none":
            assert got.dtype == dtype and got.shape == (n,)
            np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, err_msg=str(opts))
            if "ignore_index" in o:
                assert np.all(got[y == o["ignore_index"]] == 0)
        else:
            assert got == pytest.approx(want, rel=rtol), opts


@pytest.mark.parametrize("c", [4, 20])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_probability_targets(c, dtype, reduction, weighted):
    n = 30
    x, _, cw, w = row_data(n, c)
    t = RNG.dirichlet(np.ones(c), size=n)
    t[0] = 0.0
    t[0, 1] = 1.0
    for opts in [{}, {"class_weight": "cw"}, {"label_smoothing": 0.3},
                 {"class_weight": "cw", "label_smoothing": 0.1}]:
        o = resolve(opts, cw)
        kw = {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v) for k, v in o.items()}
        wk = {"weight": w.astype(dtype)} if weighted else {}
        got = losscore.cross_entropy(x.astype(dtype), t.astype(dtype), reduction=reduction,
                                     **kw, **wk)
        want = ref_cross_entropy(
            x.astype(dtype).astype(float), t.astype(dtype).astype(float), reduction,
            cw=None if "class_weight" not in o else o["class_weight"].astype(dtype).astype(float),
            eps=o.get("label_smoothing", 0.0),
            w=w.astype(dtype).astype(float) if weighted else None,
        )
        rtol = 2e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, err_msg=str(opts))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss(dtype, reduction, weighted):
    n, c = 40, 6
    x, y, cw, w = row_data(n, c)
    lp = log_softmax(x)
    y[::6] = 4
    for opts in [{}, {"class_weight": "cw"}, {"ignore_index": 4},
                 {"class_weight": "cw", "ignore_index": 4}]:
        o = resolve(opts, cw)
        kw = {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v) for k, v in o.items()}
        wk = {"weight": w.astype(dtype)} if weighted else {}
        got = losscore.nll_loss(lp.astype(dtype), y, reduction=reduction, **kw, **wk)
        want = ref_nll(lp.astype(dtype).astype(float), y, reduction,
                       cw=None if "class_weight" not in o else kw["class_weight"].astype(float),
                       ignore=o.get("ignore_index"),
                       w=w.astype(dtype).astype(float) if weighted else None)
        rtol = 2e-6 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, err_msg=str(opts))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_multi_margin(dtype, reduction, weighted):
    n, c = 25, 5
    x, y, cw, w = row_data(n, c)
    x = x / 3
    for opts in [{}, {"p": 2}, {"margin": 0.5, "class_weight": "cw"},
                 {"p": 2, "margin": 2.0, "class_weight": "cw"}]:
        o = resolve(opts, cw)
        kw = {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v) for k, v in o.items()}
        wk = {"weight": w.astype(dtype)} if weighted else {}
        got = losscore.multi_margin(x.astype(dtype), y, reduction=reduction, **kw, **wk)
        want = ref_multi_margin(
            x.astype(dtype).astype(float), y, reduction, p=o.get("p", 1),
            margin=o.get("margin", 1.0),
            cw=None if "class_weight" not in o else kw["class_weight"].astype(float),
            w=w.astype(dtype).astype(float) if weighted else None)
        rtol = 2e-6 if dtype == np.float32 else 1e-13
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, err_msg=str(opts))


ROW_GRAD_CASES = (
    [("cross_entropy", o) for o in CE_OPTIONS]
    + [("cross_entropy_prob", {}), ("cross_entropy_prob", {"class_weight": "cw",
                                                             "label_smoothing": 0.2})]
    + [("nll_loss", {}), ("nll_loss", {"class_weight": "cw", "ignore_index": 1})]
    + [("multi_margin", {}), ("multi_margin", {"p": 2, "margin": 0.7, "class_weight": "cw"})]
)


@pytest.mark.parametrize(("name", "opts"), ROW_GRAD_CASES)
@pytest.mark.parametrize("c", [3, 18])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_row_gradients_finite_differences(name, opts, c, reduction, weighted):
    n = 5
    x, y, cw, w = row_data(n, c, rng=np.random.default_rng(c * 7 + len(opts)))
    o = resolve(opts, cw)
    if o.get("ignore_index") == -100:
        y[1] = -100
    elif "ignore_index" in o:
        y[0] = o["ignore_index"]
    if name == "multi_margin":
        x = x / 10  # margins inside (0, 1): kinks are unlikely; nudge if close
    target = y
    fn = getattr(losscore, name.removesuffix("_prob"))
    if name == "cross_entropy_prob":
        target = np.random.default_rng(1).dirichlet(np.ones(c), size=n)
    kw = dict(o, weight=w if weighted else None)
    _, g = losscore.value_and_grad(fn)(x.copy(), target, reduction=reduction, **kw)
    fd = central_diff(lambda z: scalar(fn, reduction, target=target, **kw)(z), x.copy())
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-7)
    if "ignore_index" in o:
        assert np.all(g[y == o["ignore_index"]] == 0)


def test_multi_margin_reference_gradient():
    """p=1 gradient written from the definition (sub-gradient away from kinks)."""
    x = np.array([[0.1, 0.9, 0.3], [0.5, -0.2, 0.0]])
    y = np.array([1, 0])
    _, g = losscore.value_and_grad(losscore.multi_margin)(x, y, reduction="sum")
    want = np.zeros_like(x)
    for i in range(2):
        for j in range(3):
            if j != y[i] and 1 - x[i, y[i]] + x[i, j] > 0:
                want[i, j] += 1 / 3
                want[i, y[i]] -= 1 / 3
    np.testing.assert_allclose(g, want, rtol=1e-15)


def test_leading_axes_and_integer_dtypes():
    x = RNG.normal(size=(2, 3, 5))
    y = RNG.integers(0, 5, size=(2, 3))
    flat = losscore.cross_entropy(x.reshape(6, 5), y.reshape(6), reduction="none")
    for dt in [np.int8, np.uint8, np.int16, np.int32, np.uint32, np.int64, np.uint64]:
        got = losscore.cross_entropy(x, y.astype(dt), reduction="none")
        assert got.shape == (2, 3)
        np.testing.assert_array_equal(got.reshape(6), flat)
    got = losscore.cross_entropy(x, y.tolist())
    assert got == pytest.approx(float(np.mean(flat)), rel=1e-15)
    _, g = losscore.value_and_grad(losscore.cross_entropy)(x, y)
    assert g.shape == x.shape
    # Non-contiguous inputs are copied.
    xt = np.ascontiguousarray(x.transpose(1, 0, 2)).transpose(1, 0, 2)
    assert losscore.cross_entropy(xt[:, :, :], y) == losscore.cross_entropy(x, y)
    # A 1-d logits vector is one sample with a 0-d target.
    v = losscore.cross_entropy(x[0, 0], np.int64(y[0, 0]))
    assert v == pytest.approx(flat[0], rel=1e-15)


def test_out_buffer_receives_gradient():
    x = RNG.normal(size=(10, 4)).astype(np.float32)
    y = RNG.integers(0, 4, size=10)
    out = np.empty_like(x)
    _, g = losscore.value_and_grad(losscore.cross_entropy)(x, y, out=out)
    assert g is out
    _, g2 = losscore.value_and_grad(losscore.cross_entropy)(x, y)
    np.testing.assert_array_equal(out, g2)
    out2 = np.empty_like(x)
    g3 = losscore.grad(losscore.binary_cross_entropy_with_logits)(x, (x > 0) * 1.0, out=out2)
    assert g3 is out2


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_empty_inputs(reduction):
    x = np.zeros((0, 3))
    y = np.zeros(0, dtype=np.int64)
    for fn, args in [
        (losscore.cross_entropy, (x, y)),
        (losscore.nll_loss, (x, y)),
        (losscore.multi_margin, (x, y)),
        (losscore.binary_cross_entropy_with_logits, (x, x)),
        (losscore.hinge, (x, x)),
    ]:
        v = fn(*args, reduction=reduction)
        if reduction == "sum":
            assert v == 0.0
        elif reduction == "mean":
            assert np.isnan(v)
        else:
            assert v.size == 0


# ---------------------------------------------------------------- determinism


def big_inputs(dtype):
    rng = np.random.default_rng(7)
    out = {}
    x = (rng.normal(size=300_001) * 4).astype(dtype)
    t = (rng.uniform(size=300_001) > 0.5).astype(dtype)
    out["bce_logits"] = (losscore.binary_cross_entropy_with_logits, (x, t), {})
    out["focal"] = (losscore.sigmoid_focal, (x, t), {})
    out["hinge"] = (losscore.hinge, (x, 2 * t - 1), {})
    pw = rng.uniform(0.5, 2, size=7).astype(dtype)
    x7 = x[:299_999].reshape(-1, 7)
    out["bce_pos_weight"] = (
        losscore.binary_cross_entropy_with_logits,
        (x7, (x7 > 0).astype(dtype)),
        {"pos_weight": pw},
    )
    for c in (10, 100):
        xs = (rng.normal(size=(200_000 // c * 3, c)) * 3).astype(dtype)
        ys = rng.integers(0, c, size=xs.shape[0])
        cw = rng.uniform(0.5, 1.5, size=c).astype(dtype)
        w = rng.uniform(0, 1, size=xs.shape[0]).astype(dtype)
        out[f"ce{c}"] = (losscore.cross_entropy, (xs, ys), {})
        out[f"ce{c}_all"] = (
            losscore.cross_entropy,
            (xs, ys),
            {"class_weight": cw, "ignore_index": 3, "label_smoothing": 0.1, "weight": w},
        )
        tp = rng.dirichlet(np.ones(c), size=xs.shape[0] // 4).astype(dtype)
        out[f"ce{c}_prob"] = (losscore.cross_entropy, (xs[: tp.shape[0]], tp), {})
        out[f"nll{c}"] = (losscore.nll_loss, (xs, ys), {"class_weight": cw})
        out[f"mm{c}"] = (losscore.multi_margin, (xs[:20000], ys[:20000]), {"p": 2})
    return out


def run_all(cases):
    res = {}
    for key, (fn, args, kw) in cases.items():
        for reduction in ("mean", "none"):
            v, g = losscore.value_and_grad(fn)(*args, reduction=reduction, **kw)
            res[key, reduction] = (np.asarray(v).tobytes(), g.tobytes())
    return res


@pytest.mark.parametrize("dtype", DTYPES)
def test_thread_count_does_not_change_bits(dtype):
    cases = big_inputs(dtype)
    old = losscore.get_num_threads()
    try:
        losscore.set_num_threads(1)
        one = run_all(cases)
        losscore.set_num_threads(2)
        two = run_all(cases)
        losscore.set_num_threads(3)
        three = run_all(cases)
    finally:
        losscore.set_num_threads(old)
    for key in one:
        assert one[key] == two[key], key
        assert one[key] == three[key], key


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_isa_matches_scalar_bitwise(dtype):
    cases = big_inputs(dtype)
    old = losscore.isa()
    try:
        losscore._core.set_isa("scalar")
        ref = run_all(cases)
        for name in losscore.available_isas():
            losscore._core.set_isa(name)
            got = run_all(cases)
            for key in ref:
                assert got[key] == ref[key], (name, key)
    finally:
        losscore._core.set_isa(old)


def test_pos_weight_shapes_broadcast_like_torch():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 3, 4))
    t = rng.uniform(size=(2, 3, 4))
    for pw in [np.array([2.5]), np.array(2.5), rng.uniform(0.5, 2, size=4),
               rng.uniform(0.5, 2, size=(3, 4)), rng.uniform(0.5, 2, size=(1, 4))]:
        want = ref_bce_logits(x, t, np.broadcast_to(pw, x.shape))
        got = losscore.binary_cross_entropy_with_logits(x, t, pos_weight=pw, reduction="none")
        np.testing.assert_allclose(got, want, rtol=1e-13, err_msg=str(pw.shape))
        _, g = losscore.value_and_grad(losscore.binary_cross_entropy_with_logits)(
            x, t, pos_weight=pw, reduction="sum"
        )
        s = sigmoid(x)
        pwb = np.broadcast_to(pw, x.shape)
        np.testing.assert_allclose(g, (1 - t) * s - pwb * t * (1 - s), rtol=1e-12, atol=1e-15)


def test_design_gradient_example_with_buffer():
    rng = np.random.default_rng(9)
    logits = rng.normal(size=(8, 5)).astype(np.float32)
    labels = rng.integers(0, 5, size=8)
    buffer = np.empty_like(logits)
    g = losscore.grad(losscore.cross_entropy)(logits, labels, label_smoothing=0.1, out=buffer)
    assert g is buffer
    p = np.exp(log_softmax(logits.astype(np.float64)))
    want = p - 0.9 * np.eye(5)[labels] - 0.1 / 5
    np.testing.assert_allclose(g, want / 8, rtol=1e-5, atol=1e-7)


def test_none_with_sample_weight_is_weighted_per_sample():
    x, y, _, w = row_data(12, 6)
    per = losscore.cross_entropy(x, y, reduction="none")
    got = losscore.cross_entropy(x, y, weight=w, reduction="none")
    np.testing.assert_allclose(got, w * per, rtol=1e-15)
    _, g = losscore.value_and_grad(losscore.cross_entropy)(x, y, weight=w, reduction="none")
    _, g1 = losscore.value_and_grad(losscore.cross_entropy)(x, y, reduction="none")
    np.testing.assert_allclose(g, w[:, None] * g1, rtol=1e-15)


# ---------------------------------------------------------------- properties (hypothesis)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from hypothesis.extra import numpy as hnp  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(1, 20)),
                 elements=st.floats(-50, 50)),
    shift=st.floats(-100, 100),
    seed=st.integers(0, 2**16),
)
def test_cross_entropy_properties(x, shift, seed):
    """Shift invariance of softmax; one-hot probability targets equal class indices."""
    n, c = x.shape
    y = np.random.default_rng(seed).integers(0, c, size=n)
    v = losscore.cross_entropy(x, y, reduction="none")
    assert np.all(v >= 0)
    np.testing.assert_allclose(losscore.cross_entropy(x + shift, y, reduction="none"), v,
                               rtol=1e-12, atol=1e-11)
    onehot = np.eye(c)[y]
    np.testing.assert_allclose(losscore.cross_entropy(x, onehot, reduction="none"), v,
                               rtol=1e-12, atol=1e-13)
    _, g = losscore.value_and_grad(losscore.cross_entropy)(x, y, reduction="sum")
    np.testing.assert_allclose(g.sum(axis=1), 0.0, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    x=hnp.arrays(np.float64, st.integers(1, 50), elements=st.floats(-15, 15)),
    t=st.floats(0, 1),
)
def test_bce_logits_equals_bce_of_sigmoid(x, t):
    target = np.full(x.shape, t)
    a = losscore.binary_cross_entropy_with_logits(x, target, reduction="none")
    b = losscore.binary_cross_entropy(sigmoid(x), target, reduction="none")
    # sigmoid(x) rounds to 1e-16 absolute: log(1 - p) then carries ~1e-16 / 3e-7 relative.
    np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-9)
