"""Second derivatives of every loss (``_core.<loss>(..., with_hess=True)``): against central
finite differences of losscore's own gradient (float64, every reduction, with and without
weights), against formulas written here from the definitions, float32 against float64, bit for
bit across ISAs and thread counts, and the checks of ``hess_out``."""

from __future__ import annotations

import numpy as np
import pytest

import losscore
from losscore import _core
from losscore.errors import (
    DTypeError,
    OutputError,
    ParameterError,
    ParameterTypeError,
    ShapeError,
    TargetError,
)

N = 120  # samples per case: small, every branch of each loss is hit
ROW_LOSSES = {
    "cross_entropy", "nll_loss", "multi_margin", "softmax_focal", "multilabel_soft_margin",
}  # fmt: skip


def _off_kinks(d: np.ndarray, kinks: list[float], gap: float = 1e-3) -> np.ndarray:
    """Moves residuals at least ``gap`` away from each kink (and its negative)."""
    d = d.copy()
    for k in kinks:
        for kk in (k, -k):
            near = np.abs(d - kk) < gap
            d[near] = kk + np.where(d[near] >= kk, gap, -gap)
    return d


def _cases(rng: np.random.Generator) -> list[tuple[str, str, np.ndarray, np.ndarray, dict]]:
    """``(id, loss, first argument, target, hyperparameters)`` away from every kink."""
    t = rng.uniform(-3, 3, N)
    d0 = _off_kinks(rng.uniform(-4, 4, N), [0.0])
    d1 = _off_kinks(rng.uniform(-4, 4, N), [0.0, 0.7])
    x = rng.uniform(-5, 5, N)
    x2 = rng.uniform(-5, 5, (N // 3, 3))
    u = rng.uniform(0, 1, N)
    u[:2] = [0.0, 1.0]
    signs = np.where(rng.uniform(-1, 1, N) < 0, -1.0, 1.0)
    xm = np.where(np.abs(signs * x - 1.0) < 1e-3, x + 0.01, x)  # margin 1: off the kink
    counts = np.floor(rng.uniform(0, 6, N))
    mu = rng.uniform(0.2, 4, N)
    pos = rng.uniform(0.2, 4, N)
    cases = [
        ("mse", "mse", t + d0, t, {}),
        ("mae", "mae", t + d0, t, {}),
        ("log_cosh", "log_cosh", t + d0, t, {}),
        ("pinball", "pinball", t + d0, t, {"quantile": 0.3}),
        ("smooth_l1-beta0", "smooth_l1", t + d0, t, {"beta": 0.0}),
        ("huber", "huber", t + d1, t, {"delta": 0.7}),
        ("smooth_l1", "smooth_l1", t + d1, t, {"beta": 0.7}),
        ("poisson-log", "poisson_nll", rng.uniform(-2, 2, N), counts, {}),
        ("poisson-log-full", "poisson_nll", rng.uniform(-2, 2, N), counts, {"full": True}),
        ("poisson-rate", "poisson_nll", rng.uniform(0.1, 4, N), counts, {"log_input": False}),
        ("bce", "binary_cross_entropy", rng.uniform(0.02, 0.98, N), u, {}),
        ("bce_logits", "binary_cross_entropy_with_logits", x, u, {}),
        (
            "bce_logits-pos_weight",
            "binary_cross_entropy_with_logits",
            x2,
            u[: x2.size].reshape(x2.shape),
            {"pos_weight": np.array([0.5, 2.0, 3.0])},
        ),
        ("bce_logits-smoothing", "binary_cross_entropy_with_logits", x, u,
         {"label_smoothing": 0.2}),
        (
            "bce_logits-pos_weight-smoothing",
            "binary_cross_entropy_with_logits",
            x2,
            u[: x2.size].reshape(x2.shape),
            {"pos_weight": np.array([0.5, 2.0, 3.0]), "label_smoothing": 0.1},
        ),
        ("poisson_deviance", "poisson_deviance", mu, counts, {}),
        ("gamma_deviance", "gamma_deviance", mu, pos, {}),
        ("tweedie-p1.5", "tweedie_deviance", mu, counts, {"power": 1.5}),
        ("tweedie-p3", "tweedie_deviance", mu, pos, {"power": 3.0}),
        ("tweedie-p-1", "tweedie_deviance", mu, t, {"power": -1.0}),
        ("focal", "sigmoid_focal", x, u, {}),
        ("focal-g1.5", "sigmoid_focal", x, u, {"alpha": -1.0, "gamma": 1.5}),
        ("focal-g3", "sigmoid_focal", x, u, {"alpha": 0.6, "gamma": 3.0}),
        ("soft_margin", "soft_margin", xm, signs, {}),
        ("hinge", "hinge", xm, signs, {}),
        ("squared_hinge", "squared_hinge", xm, signs, {}),
        ("kl_div", "kl_div", rng.uniform(-4, 0, N), rng.uniform(0, 1, N), {}),
        (
            "kl_div-log",
            "kl_div",
            rng.uniform(-4, 0, N),
            rng.uniform(-4, 0, N),
            {"log_target": True},
        ),
    ]
    rows = 30
    for c in (3, 20):
        logits = rng.uniform(-3, 3, (rows, c))
        y = rng.integers(0, c, rows)
        y[:3] = 1
        cw = rng.uniform(0.3, 2.0, c)
        probs = rng.uniform(0, 1, (rows, c))
        probs /= probs.sum(axis=1, keepdims=True)
        cases += [
            (f"ce-C{c}", "cross_entropy", logits, y, {}),
            (
                f"ce-options-C{c}",
                "cross_entropy",
                logits,
                y,
                {"class_weight": cw, "ignore_index": 1, "label_smoothing": 0.1},
            ),
            (f"ce-prob-C{c}", "cross_entropy", logits, probs, {"label_smoothing": 0.2}),
            (f"nll-C{c}", "nll_loss", logits, y, {"class_weight": cw, "ignore_index": 0}),
            (f"focal-C{c}", "softmax_focal", logits, y, {}),
            (f"focal-g0.6-C{c}", "softmax_focal", logits, y, {"gamma": 0.6, "alpha": cw}),
            (f"multilabel-C{c}", "multilabel_soft_margin", logits, probs * c / 2, {}),
            (
                f"multilabel-cw-C{c}",
                "multilabel_soft_margin",
                logits,
                (probs > 1 / c).astype(np.float64),
                {"class_weight": cw},
            ),
        ]
        # multi_margin kinks: margin - x_y + x_i = 0.
        xmm = logits.copy()
        z = 1.0 - xmm[np.arange(rows), y][:, None] + xmm
        xmm[(np.abs(z) < 1e-3) & (np.arange(c)[None, :] != y[:, None])] += 0.01
        for p in (1, 2):
            cases.append((f"multi_margin-p{p}-C{c}", "multi_margin", xmm, y, {"p": p}))
    return cases


CASES = _cases(np.random.default_rng(7))


def _call(name, x, t, **kw):
    return getattr(_core, name)(x, t, **kw)


def _fd_hess(name, x, t, **kw) -> np.ndarray:
    """Central differences of the gradient: for class losses column ``j`` of every row moves
    at once (rows are independent); for element-wise losses every element at once."""
    width = x.shape[-1] if name in ROW_LOSSES else 1
    flat = x.reshape(-1)
    out = np.empty_like(flat)
    for j in range(width):
        step = np.zeros_like(flat)
        step[j::width] = 1e-5 * np.maximum(np.abs(flat[j::width]), 1.0)
        up, down = (flat + step).reshape(x.shape), (flat - step).reshape(x.shape)
        gu = _call(name, up, t, with_grad=True, **kw)[1].reshape(-1)
        gd = _call(name, down, t, with_grad=True, **kw)[1].reshape(-1)
        span = (flat + step)[j::width] - (flat - step)[j::width]
        out[j::width] = (gu[j::width] - gd[j::width]) / span
    return out.reshape(x.shape)


def _weight(name, x, rng):
    shape = x.shape[:-1] if name in ROW_LOSSES else x.shape
    return rng.uniform(0.2, 2.0, shape)


@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_hessian_matches_finite_differences_of_the_gradient(case, weighted):
    _, name, x, t, params = case
    reductions = ["none", "sum", "mean"] + (["batchmean"] if name == "kl_div" else [])
    w = _weight(name, x, np.random.default_rng(3)) if weighted else None
    for reduction in reductions:
        kw = dict(params, weight=w, reduction=reduction)
        value, g, h = _call(name, x, t, with_hess=True, **kw)
        value0, g0 = _call(name, x, t, with_grad=True, **kw)
        # Asking for the Hessian leaves the value and gradient bits unchanged.
        np.testing.assert_array_equal(np.asarray(value), np.asarray(value0))
        np.testing.assert_array_equal(g, g0)
        assert h.shape == x.shape and h.dtype == x.dtype
        fd = _fd_hess(name, x, t, **kw)
        atol = 1e-6 * max(np.abs(fd).max(), np.abs(h).max())
        np.testing.assert_allclose(h, fd, rtol=1e-5, atol=atol, err_msg=f"{name} {reduction}")


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def test_hand_formulas_elementwise(rng):
    n = 500
    p, t = rng.normal(size=n) * 2, rng.normal(size=n) * 2
    w = rng.uniform(0.1, 2.0, n)
    # mse, mean: d^2/dp^2 of sum(w (p-t)^2) / sum(w) = 2 w / sum(w).
    _, _, h = _core.mse(p, t, weight=w, with_hess=True)
    np.testing.assert_allclose(h, 2 * w / w.sum(), rtol=1e-15)
    # huber: 1 inside |d| < delta, 0 outside (times w).
    _, _, h = _core.huber(p, t, delta=1.3, weight=w, reduction="sum", with_hess=True)
    np.testing.assert_array_equal(h, np.where(np.abs(p - t) < 1.3, w, 0.0))
    # bce with logits: s (1 - s); with pos_weight pw: ((1 - y) + pw y) s (1 - s).
    y = rng.uniform(0, 1, n)
    _, _, h = _core.binary_cross_entropy_with_logits(
        p, y, weight=w, reduction="none", with_hess=True
    )
    s = _sigmoid(p)
    np.testing.assert_allclose(h, w * s * (1 - s), rtol=1e-13)
    x2, y2 = p.reshape(-1, 5), y.reshape(-1, 5)
    pw = rng.uniform(0.5, 3.0, 5)
    _, _, h = _core.binary_cross_entropy_with_logits(
        x2, y2, pos_weight=pw, reduction="sum", with_hess=True
    )
    s2 = _sigmoid(x2)
    np.testing.assert_allclose(h, ((1 - y2) + pw * y2) * s2 * (1 - s2), rtol=1e-13)
    # poisson: exp(x) (log input), t / (x + eps)^2 (rates); the Stirling term is constant.
    counts = np.floor(rng.uniform(0, 8, n))
    _, _, h = _core.poisson_nll(p, counts, weight=w, full=True, with_hess=True)
    np.testing.assert_allclose(h, w * np.exp(p) / w.sum(), rtol=1e-14)
    rate = np.abs(p) + 0.1
    _, _, h = _core.poisson_nll(rate, counts, log_input=False, reduction="none", with_hess=True)
    np.testing.assert_allclose(h, counts / (rate + 1e-8) ** 2, rtol=1e-14)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("classes", [5, 30])
def test_hand_formula_cross_entropy(rng, classes):
    rows, eps, ignore = 200, 0.1, 2
    x = rng.normal(size=(rows, classes)) * 2
    y = rng.integers(0, classes, rows)
    cw = rng.uniform(0.5, 1.5, classes)
    w = rng.uniform(0.1, 2.0, rows)
    _, _, h = _core.cross_entropy(
        x,
        y,
        class_weight=cw,
        ignore_index=ignore,
        label_smoothing=eps,
        weight=w,
        with_hess=True,
    )
    p = _softmax(x)
    live = y != ignore
    # Target mass of a row: (1 - eps) w_y + eps / C * sum(w); "mean" divides by
    # sum(w_n cw[y_n]) over the rows that are not ignored.
    mass = (1 - eps) * cw[y] + eps / classes * cw.sum()
    den = (w * cw[y])[live].sum()
    want = np.where(live[:, None], (w * mass / den)[:, None] * p * (1 - p), 0.0)
    np.testing.assert_allclose(h, want, rtol=1e-13, atol=1e-300)
    # Probability targets: mass sum_c cw_c ((1 - eps) t_c + eps / C).
    t = rng.uniform(0, 1, (rows, classes))
    t /= t.sum(axis=1, keepdims=True)
    _, _, h = _core.cross_entropy(
        x, t, class_weight=cw, label_smoothing=eps, reduction="sum", with_hess=True
    )
    mass = (cw * ((1 - eps) * t + eps / classes)).sum(axis=1)
    np.testing.assert_allclose(h, mass[:, None] * p * (1 - p), rtol=1e-13)


def test_masked_and_ignored_rows_have_zero_hessians():
    x = np.array([[-np.inf] * 4, [-np.inf, 0.5, 1.0, 0.0], [0.1, 0.2, 0.3, 0.4]])
    value, _, h = _core.cross_entropy(
        x, np.array([0, 2, 1]), ignore_index=1, reduction="none", with_hess=True
    )
    assert value[0] == np.inf
    assert np.all(h[0] == 0) and h[1, 0] == 0 and np.all(h[1, 1:] > 0) and np.all(h[2] == 0)


@pytest.mark.parametrize("case", CASES[::3], ids=[c[0] for c in CASES[::3]])
def test_float32_agrees_with_float64(case):
    _, name, x, t, params = case
    t32 = t if t.dtype.kind == "i" else t.astype(np.float32)
    p32 = {k: (v.astype(np.float32) if isinstance(v, np.ndarray) else v) for k, v in params.items()}
    h64 = _call(name, x, t, with_hess=True, reduction="sum", **params)[2]
    h32 = _call(name, x.astype(np.float32), t32, with_hess=True, reduction="sum", **p32)[2]
    assert h32.dtype == np.float32
    # The inputs themselves round to float32 (relative 6e-8): the Hessian moves by its
    # derivative times that; 1e-4 relative to the largest entry covers every loss here.
    np.testing.assert_allclose(h32, h64, rtol=2e-4, atol=1e-4 * np.abs(h64).max())


BITWISE = [
    ("mse", {}),
    ("huber", {"delta": 0.8}),
    ("log_cosh", {}),
    ("binary_cross_entropy_with_logits", {}),
    ("sigmoid_focal", {}),
    ("sigmoid_focal", {"gamma": 1.5}),
    ("poisson_nll", {}),
    ("soft_margin", {}),
    ("cross_entropy", {"label_smoothing": 0.1}),
    ("multi_margin", {"p": 2}),
    ("softmax_focal", {}),
    ("softmax_focal", {"gamma": 0.7}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize(("name", "params"), BITWISE, ids=[f"{n}{p}" for n, p in BITWISE])
def test_every_isa_and_thread_count_gives_the_same_bits(name, params, dtype, use_isa, use_threads):
    rng = np.random.default_rng(11)
    if name in ROW_LOSSES:
        x = rng.normal(size=(2500, 12)).astype(dtype) * 3
        t = rng.integers(0, 12, 2500)
        w = rng.uniform(0, 2, 2500).astype(dtype)
    else:
        x = rng.normal(size=20_000).astype(dtype) * 3
        t = (rng.uniform(0, 1, x.size) if name != "soft_margin" else np.sign(x + 0.3)).astype(dtype)
        w = rng.uniform(0, 2, x.size).astype(dtype)

    def run():
        value, g, h = _call(name, x, t, weight=w, with_hess=True, **params)
        return value, g.tobytes(), h.tobytes()

    with use_isa("scalar"), use_threads(1):
        reference = run()
    for isa_name in losscore.available_isas():
        for n in (1, 2):
            with use_isa(isa_name), use_threads(n):
                assert run() == reference, (isa_name, n)


def test_hess_out_is_filled_and_returned():
    p, t = np.linspace(-2, 2, 7), np.zeros(7)
    g_buf, h_buf = np.empty(7), np.empty(7)
    _, g, h = _core.huber(p, t, reduction="sum", with_hess=True, out=g_buf, hess_out=h_buf)
    assert g is g_buf and h is h_buf
    np.testing.assert_array_equal(h, (np.abs(p) < 1.0).astype(float))
    # with_hess implies the gradient.
    _, g2, _ = _core.huber(p, t, reduction="sum", with_grad=False, with_hess=True)
    np.testing.assert_array_equal(g2, g_buf)


def test_hess_out_errors_name_the_argument_and_leave_buffers_alone():
    p, t = np.linspace(-2, 2, 6), np.zeros(6)
    g_buf = np.full(6, 7.0)
    cases = [
        (np.empty(6, dtype=np.float32), DTypeError),
        (np.empty(5), ShapeError),
        (np.empty(12)[::2], OutputError),
        ([0.0] * 6, DTypeError),
    ]
    for buf, error in cases:
        with pytest.raises(error, match="hess_out"):
            _core.mse(p, t, with_hess=True, out=g_buf, hess_out=buf)
    readonly = np.empty(6)
    readonly.flags.writeable = False
    with pytest.raises(OutputError, match="hess_out"):
        _core.mse(p, t, with_hess=True, hess_out=readonly)
    with pytest.raises(OutputError, match="hess_out"):
        _core.mse(p, t, with_hess=True, out=g_buf, hess_out=g_buf)
    with pytest.raises(OutputError, match="hess_out"):
        _core.mse(p, t, with_hess=True, hess_out=p)
    with pytest.raises(ParameterError, match="hess_out"):
        _core.mse(p, t, with_grad=True, hess_out=np.empty(6))
    with pytest.raises(ParameterTypeError, match="with_hess"):
        _core.mse(p, t, with_hess=1)
    with pytest.raises(ParameterTypeError, match="with_hess"):
        _core.cross_entropy(np.zeros((2, 3)), np.array([0, 1]), with_hess="yes")
    assert np.all(g_buf == 7.0)
    # An invalid target is reported before the caller's buffers are written.
    h_buf = np.full((2, 3), 5.0)
    with pytest.raises(TargetError):
        _core.cross_entropy(np.zeros((2, 3)), np.array([0, 3]), with_hess=True, hess_out=h_buf)
    assert np.all(h_buf == 5.0)
    with pytest.raises(ShapeError, match="hess_out"):
        _core.cross_entropy(
            np.zeros((2, 3)), np.array([0, 1]), with_hess=True, hess_out=np.empty((3, 2))
        )
