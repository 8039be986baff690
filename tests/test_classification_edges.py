"""Classification losses: extreme inputs (checked with mpmath), documented limits, and errors."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import losscore
from losscore import errors

mpmath.mp.dps = 60
DTYPES = [np.float32, np.float64]
EPS = {np.float32: 2e-7, np.float64: 3e-16}


def mp_softplus(z):
    return mpmath.log1p(mpmath.exp(mpmath.mpf(z)))


def mp_sigmoid(z):
    return 1 / (1 + mpmath.exp(-mpmath.mpf(z)))


def close(got, want, dtype, ulps=8):
    want = float(want)
    if want == 0.0:
        return abs(got) <= 1e-300
    return abs(got - want) <= ulps * EPS[dtype] * abs(want)


# ---------------------------------------------------------------- extremes vs mpmath


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x", [-1e4, -800.0, -40.0, -20.0, -3.0, -1e-8, 0.0, 1e-8, 0.5, 17.0,
                               30.0, 40.0, 800.0, 1e4])
@pytest.mark.parametrize("t", [0.0, 1.0, 0.3])
def test_bce_with_logits_against_mpmath(dtype, x, t):
    xs = np.array([x], dtype=dtype)
    ts = np.array([t], dtype=dtype)
    v, g = losscore.value_and_grad(losscore.binary_cross_entropy_with_logits)(
        xs, ts, reduction="sum"
    )
    xm, tm = mpmath.mpf(float(xs[0])), mpmath.mpf(float(ts[0]))
    want = (1 - tm) * mp_softplus(xm) + tm * mp_softplus(-xm)
    want_g = (1 - tm) * mp_sigmoid(xm) - tm * mp_sigmoid(-xm)
    assert np.isfinite(v) and np.isfinite(g[0])
    # The value is accumulated in float64 from float32 terms: one float32 rounding per term.
    assert close(v, want, dtype, ulps=4), (v, want)
    assert close(float(g[0]), want_g, dtype, ulps=6), (g[0], want_g)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_infinite_logits_give_limits(dtype):
    x = np.array([np.inf, -np.inf, np.inf, -np.inf, np.inf, 1e4, -1e4], dtype=dtype)
    t = np.array([1.0, 0.0, 0.0, 1.0, 0.5, 1.0, 0.0], dtype=dtype)
    v, g = losscore.value_and_grad(losscore.binary_cross_entropy_with_logits)(
        x, t, reduction="none"
    )
    assert v.tolist() == [0.0, 0.0, np.inf, np.inf, np.inf, 0.0, 0.0]
    assert g.tolist() == [0.0, 0.0, 1.0, -1.0, 0.5, 0.0, 0.0]
    pw = np.array([2.0], dtype=dtype)
    v, g = losscore.value_and_grad(losscore.binary_cross_entropy_with_logits)(
        x, t, pos_weight=pw, reduction="none"
    )
    assert v.tolist() == [0.0, 0.0, np.inf, np.inf, np.inf, 0.0, 0.0]
    assert g.tolist() == [0.0, 0.0, 1.0, -2.0, 0.5, 0.0, 0.0]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("x", [-1e4, -30.0, -5.0, 0.0, 2.0, 30.0, 1e4, np.inf, -np.inf])
@pytest.mark.parametrize("t", [0.0, 1.0])
def test_sigmoid_focal_against_mpmath(dtype, x, t):
    xs, ts = np.array([x], dtype=dtype), np.array([t], dtype=dtype)
    v, g = losscore.value_and_grad(losscore.sigmoid_focal)(xs, ts, reduction="sum")
    assert np.isfinite(g[0])
    if np.isinf(x):
        return
    xm, tm = mpmath.mpf(float(xs[0])), mpmath.mpf(t)
    p = mp_sigmoid(xm)
    ce = (1 - tm) * mp_softplus(xm) + tm * mp_softplus(-xm)
    q = p * (1 - tm) + (1 - p) * tm
    at = mpmath.mpf("0.25") * tm + mpmath.mpf("0.75") * (1 - tm)
    want = at * ce * q**2
    dfun = mpmath.diff(
        lambda z: at * ((1 - tm) * mp_softplus(z) + tm * mp_softplus(-z))
        * (mp_sigmoid(z) * (1 - tm) + (1 - mp_sigmoid(z)) * tm) ** 2,
        xm,
    )
    assert close(v, want, dtype, ulps=16), (v, want)
    assert close(float(g[0]), dfun, dtype, ulps=32), (g[0], dfun)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [3, 40])
def test_cross_entropy_huge_logits_against_mpmath(dtype, c):
    rng = np.random.default_rng(c)
    x = (rng.normal(size=(6, c)) * 3).astype(dtype)
    x[0, 0] = 1e4
    x[1, :] = 1e4
    x[1, 1] = 1e4 - 1
    x[2, 2] = -1e4
    x[3, :] = 7.25  # all equal: log(C) exactly to float precision
    y = np.array([0, 1, 2, 1, 0, c - 1])
    v = losscore.cross_entropy(x, y, reduction="none")
    for n in range(6):
        row = [mpmath.mpf(float(a)) for a in x[n]]
        lse = mpmath.log(mpmath.fsum(mpmath.exp(a) for a in row))
        want = lse - row[y[n]]
        assert close(float(v[n]), want, dtype, ulps=8), (n, v[n], want)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("c", [4, 30])
def test_cross_entropy_masked_classes_and_all_masked_rows(dtype, c):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(5, c)).astype(dtype)
    x[0, 1] = -np.inf
    x[0, 3] = -np.inf
    x[2, :] = -np.inf  # every class masked: loss +inf, zero gradient (documented)
    y = np.array([0, 1, 2, 3, 0])
    v, g = losscore.value_and_grad(losscore.cross_entropy)(x, y, reduction="none")
    keep = np.isfinite(x[0])
    want = losscore.cross_entropy(x[:1, keep], np.array([0]), reduction="sum")
    assert float(v[0]) == pytest.approx(want, rel=4 * EPS[dtype])
    assert g[0, 1] == 0.0 and g[0, 3] == 0.0
    assert v[2] == np.inf
    assert np.all(g[2] == 0.0)
    assert np.all(np.isfinite(v[[0, 1, 3, 4]])) and np.all(np.isfinite(g))
    # Label smoothing puts mass on masked classes (inf, as PyTorch) unless their weight is 0.
    y0 = np.array([0])
    assert losscore.cross_entropy(x[:1], y0, label_smoothing=0.1) == np.inf
    cw = np.isfinite(x[0]).astype(dtype)
    v3 = losscore.cross_entropy(x[:1], y0, label_smoothing=0.1, class_weight=cw)
    xf = x[0][np.isfinite(x[0])].astype(np.float64)
    lse = float(np.log(np.sum(np.exp(xf))))
    want3 = 0.9 * (lse - float(x[0, 0])) + 0.1 / c * float(np.sum(lse - xf))
    assert v3 == pytest.approx(want3, rel=8 * EPS[dtype])
    # The target itself masked: infinite loss, finite gradient p - onehot.
    v2, g2 = losscore.value_and_grad(losscore.cross_entropy)(x[:1], np.array([1]), reduction="sum")
    assert v2 == np.inf and np.all(np.isfinite(g2))


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_equal_logits_gradient(dtype):
    c = 7
    x = np.full((3, c), -2.5, dtype=dtype)
    y = np.array([0, 3, 6])
    v, g = losscore.value_and_grad(losscore.cross_entropy)(x, y, reduction="none")
    np.testing.assert_allclose(v, np.log(c), rtol=2 * EPS[dtype])
    want = np.full((3, c), 1 / c)
    want[np.arange(3), y] -= 1
    np.testing.assert_allclose(g, want, rtol=4 * EPS[dtype], atol=EPS[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_soft_margin_and_bce_prob_extremes(dtype):
    x = np.array([1e4, -1e4, np.inf, -np.inf], dtype=dtype)
    t = np.array([1.0, 1.0, 1.0, 1.0], dtype=dtype)
    v, g = losscore.value_and_grad(losscore.soft_margin)(x, t, reduction="none")
    assert v.tolist() == [0.0, 1e4, 0.0, np.inf]
    assert g.tolist() == [0.0, -1.0, 0.0, -1.0]
    p = np.array([0.0, 1.0, 0.0, 1.0], dtype=dtype)
    t = np.array([1.0, 0.0, 0.0, 1.0], dtype=dtype)
    v, g = losscore.value_and_grad(losscore.binary_cross_entropy)(p, t, reduction="none")
    assert v.tolist() == [100.0, 100.0, 0.0, 0.0]
    assert np.all(np.isfinite(g))
    np.testing.assert_allclose(g[:2], [-1e12, 1e12], rtol=1e-6)


def test_bce_prob_small_values_against_mpmath():
    p = np.array([1e-300, 1e-20, 1e-8, 0.5, 1 - 1e-12])
    t = np.array([0.0, 0.25, 1.0, 0.7, 0.0])
    v = losscore.binary_cross_entropy(p, t, reduction="none")
    for i in range(5):
        pm, tm = mpmath.mpf(float(p[i])), mpmath.mpf(float(t[i]))
        want = -(tm * max(mpmath.log(pm), -100) + (1 - tm) * max(mpmath.log(1 - pm), -100))
        assert close(float(v[i]), want, np.float64, ulps=8), (i, v[i], want)


def test_kl_div_zero_targets_and_nan_propagation():
    x = np.array([[-np.inf, -1.0], [-0.5, -2.0]])
    t = np.array([[0.0, 0.5], [0.25, 0.0]])
    v = losscore.kl_div(x, t, reduction="none")
    assert v[0, 0] == 0.0 and v[1, 1] == 0.0
    lt = np.array([[-np.inf, -1.0], [-2.0, -np.inf]])
    v = losscore.kl_div(np.array([[-np.inf, -1.0], [-1.0, 0.0]]), lt, log_target=True,
                        reduction="none")
    assert v[0, 0] == 0.0 and v[1, 1] == 0.0
    x = np.array([0.0, np.nan, 1.0])
    assert np.isnan(losscore.binary_cross_entropy_with_logits(x, np.ones(3)))
    assert np.isnan(losscore.cross_entropy(np.array([[0.0, np.nan]]), np.array([0])))


def test_all_ignored_mean_is_nan_and_gradient_zero():
    x = np.ones((3, 4))
    y = np.full(3, -100)
    v, g = losscore.value_and_grad(losscore.cross_entropy)(x, y, ignore_index=-100)
    assert np.isnan(v)
    assert np.all(g == 0.0)
    assert losscore.nll_loss(x, y, ignore_index=-100, reduction="sum") == 0.0


# ---------------------------------------------------------------- errors

ROW_X = np.zeros((2, 3, 5))


def sentinel_out(shape=(2, 3, 5), dtype=np.float64):
    return np.full(shape, 7.0, dtype=dtype)


def check_error(exc_type, fn, *args, match=None, **kwargs):
    """Raises exc_type (a losscore error), modifies neither the inputs nor a sentinel out=."""
    arrays = [a for a in (*args, *kwargs.values()) if isinstance(a, np.ndarray)]
    before = [a.copy() for a in arrays]
    with pytest.raises(exc_type, match=match) as info:
        fn(*args, **kwargs)
    assert isinstance(info.value, errors.LosscoreError)
    for a, b in zip(arrays, before, strict=True):
        np.testing.assert_array_equal(a, b)
    first = args[0]
    if isinstance(first, np.ndarray) and first.dtype in (np.float32, np.float64):
        out = np.full(first.shape, 7.0, dtype=first.dtype)
        with pytest.raises(exc_type):
            losscore.value_and_grad(fn)(*args, out=out, **kwargs)
        assert np.all(out == 7.0), "out= was written before the error"


def test_class_index_out_of_range_names_first_position():
    y = np.array([[0, 1, 4], [5, 0, 7]])
    for fn in (losscore.cross_entropy, losscore.nll_loss, losscore.multi_margin):
        check_error(errors.TargetError, fn, ROW_X, y, match=r"class index 5 .*flat index 3")
    # Negative labels are out of range unless ignored.
    yn = np.array([[0, -1, 2], [1, 1, 1]])
    check_error(errors.TargetError, losscore.cross_entropy, ROW_X, yn, match="flat index 1")
    assert np.isfinite(losscore.cross_entropy(ROW_X, yn, ignore_index=-1))
    check_error(errors.TargetError, losscore.cross_entropy, ROW_X, y, ignore_index=-100,
                match="ignore_index=-100")
    big = np.array([[0, 1, 2], [2**63 + 5, 0, 0]], dtype=np.uint64)
    check_error(errors.TargetError, losscore.cross_entropy, ROW_X, big, match="flat index 3")
    assert issubclass(errors.TargetError, ValueError)


def test_target_dtype_and_shape_errors():
    yf = np.zeros((2, 3))
    check_error(errors.DTypeError, losscore.nll_loss, ROW_X, yf, match="integer")
    check_error(errors.DTypeError, losscore.multi_margin, ROW_X, yf, match="integer")
    # A float target without the class axis is neither indices nor probabilities.
    check_error(errors.ShapeError, losscore.cross_entropy, ROW_X, yf, match="integer dtype")
    check_error(errors.ShapeError, losscore.cross_entropy, ROW_X, np.zeros((2, 3, 4)))
    check_error(errors.ShapeError, losscore.cross_entropy, ROW_X, np.zeros((3, 2), np.int64))
    check_error(errors.DTypeError, losscore.cross_entropy, ROW_X, np.zeros((2, 3), bool))
    check_error(errors.ShapeError, losscore.cross_entropy, np.array(1.0), np.array(0))
    check_error(errors.DTypeError, losscore.cross_entropy, ROW_X.astype(np.complex64),
                np.zeros((2, 3), np.int64))
    check_error(errors.ParameterError, losscore.cross_entropy, ROW_X, np.zeros((2, 3, 5)),
                ignore_index=0, match="ignore_index")
    x = np.zeros((4, 3))
    check_error(errors.ShapeError, losscore.binary_cross_entropy_with_logits, x, np.zeros(4))
    check_error(errors.ShapeError, losscore.hinge, x, np.ones((3, 4)))


def test_weight_errors():
    y = np.zeros((2, 3), np.int64)
    check_error(errors.ShapeError, losscore.cross_entropy, ROW_X, y, class_weight=np.ones(4),
                match=r"class_weight must have shape \(5,\)")
    check_error(errors.ShapeError, losscore.nll_loss, ROW_X, y, class_weight=np.ones((5, 1)))
    check_error(errors.WeightError, losscore.cross_entropy, ROW_X, y,
                class_weight=np.array([1.0, 1, -1, 1, 1]), match="class_weight.*-1")
    w = np.ones((2, 3))
    w[1, 2] = -0.5
    for fn in (losscore.cross_entropy, losscore.nll_loss, losscore.multi_margin):
        check_error(errors.WeightError, fn, ROW_X, y, weight=w, match="flat index 5")
    check_error(errors.ShapeError, losscore.cross_entropy, ROW_X, y, weight=np.ones((2, 3, 5)))
    x = np.zeros((4, 3))
    t = np.ones((4, 3))
    we = np.ones((4, 3))
    we[2, 1] = -1
    for fn in (losscore.binary_cross_entropy_with_logits, losscore.sigmoid_focal,
               losscore.soft_margin, losscore.hinge, losscore.kl_div):
        check_error(errors.WeightError, fn, x, t, weight=we, match="flat index 7")
    check_error(errors.WeightError, losscore.binary_cross_entropy_with_logits, x, t,
                pos_weight=np.array([1.0, -2.0, 1.0]), match="pos_weight")
    check_error(errors.ShapeError, losscore.binary_cross_entropy_with_logits, x, t,
                pos_weight=np.ones(4), match="pos_weight")


def test_target_value_errors():
    x = np.zeros(6)
    t = np.array([1.0, -1.0, 1.0, 0.0, 2.0, 1.0])
    for fn in (losscore.hinge, losscore.squared_hinge):
        check_error(errors.TargetError, fn, x, t, match=r"-1 or \+1.*flat index 3")
    p = np.array([0.5, 0.2, 0.1, 0.9])
    check_error(errors.TargetError, losscore.binary_cross_entropy, p,
                np.array([0.0, 1.0, 1.5, 0.0]), match=r"\[0, 1\].*flat index 2")
    check_error(errors.TargetError, losscore.binary_cross_entropy,
                np.array([0.5, -0.1, 0.5, 0.5]), np.zeros(4), match=r"prob.*flat index 1")
    check_error(errors.TargetError, losscore.binary_cross_entropy,
                np.array([0.5, 0.5, 0.5, 1.0 + 1e-9]), np.ones(4), match="flat index 3")


def test_parameter_errors():
    x = np.zeros((4, 3))
    t = np.ones((4, 3))
    y = np.zeros(4, np.int64)
    cases = [
        (losscore.hinge, (x, t), {"margin": -1.0}, "margin"),
        (losscore.squared_hinge, (x, t), {"margin": np.nan}, "margin"),
        (losscore.multi_margin, (x, y), {"p": 3}, "p"),
        (losscore.multi_margin, (x, y), {"p": 0}, "p"),
        (losscore.multi_margin, (x, y), {"margin": np.inf}, "margin"),
        (losscore.sigmoid_focal, (x, t), {"alpha": 1.5}, "alpha"),
        (losscore.sigmoid_focal, (x, t), {"alpha": np.nan}, "alpha"),
        (losscore.sigmoid_focal, (x, t), {"gamma": -1.0}, "gamma"),
        (losscore.cross_entropy, (x, y), {"label_smoothing": 1.5}, "label_smoothing"),
        (losscore.cross_entropy, (x, y), {"label_smoothing": -0.1}, "label_smoothing"),
        (losscore.cross_entropy, (x, y), {"label_smoothing": np.nan}, "label_smoothing"),
        (losscore.cross_entropy, (x, y), {"reduction": "avg"}, "reduction"),
        (losscore.cross_entropy, (x, y), {"reduction": "batchmean"}, "reduction"),
        (losscore.binary_cross_entropy, (x, t * 0), {"reduction": "batchmean"}, "reduction"),
        (losscore.kl_div, (x, t), {"reduction": "avg"}, "reduction"),
        (losscore.multi_margin, (x, y), {"p": 1.5}, "p"),
        (losscore.cross_entropy, (x, y), {"ignore_index": 2**70}, "ignore_index"),
        (losscore.nll_loss, (x, y), {"ignore_index": 1.0}, "ignore_index"),
    ]
    for fn, args, kw, name in cases:
        check_error(errors.ParameterError, fn, *args, match=name, **kw)
    # NumPy integers are integers (every target is class 0: all ignored, mean is nan).
    assert np.isnan(losscore.cross_entropy(x, y, ignore_index=np.int32(0)))


def test_output_errors():
    x = np.zeros((4, 3))
    y = np.zeros(4, np.int64)
    vg = losscore.value_and_grad(losscore.cross_entropy)
    with pytest.raises(errors.OutputError):
        vg(x, y, out=x)
    with pytest.raises(errors.DTypeError):
        vg(x, y, out=np.zeros((4, 3), np.float32))
    with pytest.raises(errors.ShapeError):
        vg(x, y, out=np.zeros((3, 4)))
    with pytest.raises(errors.OutputError):
        vg(x, y, out=np.zeros((3, 4)).T)
    ro = np.zeros((4, 3))
    ro.flags.writeable = False
    with pytest.raises(errors.OutputError):
        losscore.value_and_grad(losscore.hinge)(x, np.ones((4, 3)), out=ro)
