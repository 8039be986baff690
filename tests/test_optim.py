"""Optimizers against step-by-step float64 NumPy references of the documented torch.optim rules.

Each reference below is written from the algorithm boxes of the ``torch.optim`` documentation
(and the Lion paper / optax ``lion`` for Lion), independently of losscore's code.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import losscore
from losscore import _core, optim
from losscore.errors import (
    DTypeError,
    LosscoreError,
    OutputError,
    ParameterError,
    ParameterTypeError,
    ShapeError,
)

SHAPES = [(3, 4), (17,), (2, 3, 5), (1,), ()]


# ---- references ---------------------------------------------------------------------------


def _decay(h, p, g):
    """maximize, then coupled (L2) or decoupled weight decay. Returns (p, g)."""
    if h.get("maximize", False):
        g = -g
    wd = h.get("weight_decay", 0.0)
    if wd != 0:
        if h.get("decoupled_weight_decay", False):
            p = p * (1 - h["lr"] * wd)
        else:
            g = g + wd * p
    return p, g


def ref_sgd(h, p, g, s, t):
    p, g = _decay(h, p, g)
    mu = h.get("momentum", 0.0)
    if mu != 0:
        if "b" not in s:
            s["b"] = g.copy()
        else:
            s["b"] = mu * s["b"] + (1 - h.get("dampening", 0.0)) * g
        g = g + mu * s["b"] if h.get("nesterov", False) else s["b"]
    return p - h["lr"] * g


def ref_adam(h, p, g, s, t):
    p, g = _decay(h, p, g)
    b1, b2 = h.get("betas", (0.9, 0.999))
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
    v = s["v"]
    if h.get("amsgrad", False):
        s["vmax"] = np.maximum(s.get("vmax", 0), v)
        v = s["vmax"]
    mhat = s["m"] / (1 - b1**t)
    vhat = v / (1 - b2**t)
    return p - h["lr"] * mhat / (np.sqrt(vhat) + h.get("eps", 1e-8))


def ref_rmsprop(h, p, g, s, t):
    p, g = _decay(h, p, g)
    a, eps, mu = h.get("alpha", 0.99), h.get("eps", 1e-8), h.get("momentum", 0.0)
    s["v"] = a * s.get("v", 0) + (1 - a) * g * g
    if h.get("centered", False):
        s["ga"] = a * s.get("ga", 0) + (1 - a) * g
        d = np.sqrt(s["v"] - s["ga"] ** 2) + eps
    else:
        d = np.sqrt(s["v"]) + eps
    if mu > 0:
        s["b"] = mu * s.get("b", 0) + g / d
        return p - h["lr"] * s["b"]
    return p - h["lr"] * g / d


def ref_adagrad(h, p, g, s, t):
    p, g = _decay(h, p, g)
    clr = h["lr"] / (1 + (t - 1) * h.get("lr_decay", 0.0))
    s["sum"] = s.get("sum", h.get("initial_accumulator_value", 0.0)) + g * g
    return p - clr * g / (np.sqrt(s["sum"]) + h.get("eps", 1e-10))


def ref_adadelta(h, p, g, s, t):
    p, g = _decay(h, p, g)
    rho, eps = h.get("rho", 0.9), h.get("eps", 1e-6)
    s["v"] = rho * s.get("v", 0) + (1 - rho) * g * g
    d = np.sqrt(s.get("u", 0) + eps) / np.sqrt(s["v"] + eps) * g
    s["u"] = rho * s.get("u", 0) + (1 - rho) * d * d
    return p - h["lr"] * d


def ref_adamax(h, p, g, s, t):
    p, g = _decay(h, p, g)
    b1, b2 = h.get("betas", (0.9, 0.999))
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["u"] = np.maximum(b2 * s.get("u", 0), np.abs(g) + h.get("eps", 1e-8))
    return p - h["lr"] / (1 - b1**t) * s["m"] / s["u"]


def ref_nadam(h, p, g, s, t):
    p, g = _decay(h, p, g)
    b1, b2 = h.get("betas", (0.9, 0.999))
    psi, eps, lr = h.get("momentum_decay", 4e-3), h.get("eps", 1e-8), h["lr"]

    def mu(k):
        return b1 * (1 - 0.5 * 0.96 ** (k * psi))

    prod = s.get("prod", 1.0) * mu(t)
    s["prod"] = prod
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
    d = np.sqrt(s["v"] / (1 - b2**t)) + eps
    p = p - lr * (1 - mu(t)) / (1 - prod) * g / d
    return p - lr * mu(t + 1) / (1 - prod * mu(t + 1)) * s["m"] / d


def ref_radam(h, p, g, s, t):
    p, g = _decay(h, p, g)
    b1, b2 = h.get("betas", (0.9, 0.999))
    lr, eps = h["lr"], h.get("eps", 1e-8)
    s["m"] = b1 * s.get("m", 0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0) + (1 - b2) * g * g
    mhat = s["m"] / (1 - b1**t)
    rho_inf = 2 / (1 - b2) - 1
    rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
    if rho > 5:
        l_t = math.sqrt(1 - b2**t) / (np.sqrt(s["v"]) + eps)
        r = math.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
        return p - lr * mhat * r * l_t
    return p - lr * mhat


def ref_lion(h, p, g, s, t):
    b1, b2 = h.get("betas", (0.9, 0.99))
    lr, wd = h.get("lr", 1e-4), h.get("weight_decay", 0.0)
    m = s.get("m", 0)
    u = np.sign(b1 * m + (1 - b1) * g)
    s["m"] = b2 * m + (1 - b2) * g
    return p - lr * wd * p - lr * u


CONFIGS = [
    (optim.SGD, ref_sgd, {"lr": 0.1}),
    (optim.SGD, ref_sgd, {"lr": 0.05, "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01}),
    (optim.SGD, ref_sgd, {"lr": 0.05, "momentum": 0.8, "nesterov": True, "maximize": True}),
    (optim.Adam, ref_adam, {"lr": 0.01}),
    (optim.Adam, ref_adam, {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "maximize": True}),
    (optim.Adam, ref_adam, {"lr": 0.02, "betas": (0.8, 0.99), "eps": 1e-3}),
    (optim.AdamW, ref_adam, {"lr": 0.01, "decoupled_weight_decay": True, "weight_decay": 1e-2}),
    (
        optim.AdamW,
        ref_adam,
        {"lr": 0.01, "amsgrad": True, "weight_decay": 0.3, "decoupled_weight_decay": True},
    ),
    (optim.RMSprop, ref_rmsprop, {"lr": 0.01}),
    (optim.RMSprop, ref_rmsprop, {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.1}),
    (optim.RMSprop, ref_rmsprop, {"lr": 0.01, "centered": True, "alpha": 0.9}),
    (
        optim.RMSprop,
        ref_rmsprop,
        {"lr": 0.01, "centered": True, "momentum": 0.9, "maximize": True},
    ),
    (optim.Adagrad, ref_adagrad, {"lr": 0.1}),
    (
        optim.Adagrad,
        ref_adagrad,
        {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.5},
    ),
    (optim.Adadelta, ref_adadelta, {"lr": 1.0}),
    (optim.Adadelta, ref_adadelta, {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1, "maximize": True}),
    (optim.Adamax, ref_adamax, {"lr": 2e-3}),
    (optim.Adamax, ref_adamax, {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1}),
    (optim.NAdam, ref_nadam, {"lr": 2e-3}),
    (
        optim.NAdam,
        ref_nadam,
        {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "momentum_decay": 0.01},
    ),
    (optim.NAdam, ref_nadam, {"lr": 0.01, "weight_decay": 0.1, "maximize": True}),
    (optim.RAdam, ref_radam, {"lr": 1e-3}),
    (optim.RAdam, ref_radam, {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    (optim.RAdam, ref_radam, {"lr": 0.01, "weight_decay": 0.1, "maximize": True}),
    (optim.Lion, ref_lion, {"lr": 1e-3}),
    (optim.Lion, ref_lion, {"lr": 1e-2, "betas": (0.8, 0.95), "weight_decay": 0.5}),
]


def _ctor_kwargs(cls, h):
    """The constructor arguments of ``h`` (AdamW implies decoupled weight decay)."""
    h = dict(h)
    if cls is optim.AdamW:
        h.pop("decoupled_weight_decay", None)
    return h


def _problem(shapes, dtype, steps, seed=0):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(steps)]
    return params, grads


def _run_reference(ref, h, params, grads):
    ps = [p.astype(np.float64) for p in params]
    states = [{} for _ in ps]
    for t, gs in enumerate(grads, start=1):
        ps = [
            np.asarray(ref(h, p, g.astype(np.float64), s, t), dtype=np.float64)
            for p, g, s in zip(ps, gs, states, strict=True)
        ]
    return ps


def _ids(cfg):
    cls, _, h = cfg
    return cls.__name__ + "-" + "-".join(f"{k}={v}" for k, v in h.items())


@pytest.fixture
def restore_runtime():
    threads, isa = losscore.get_num_threads(), losscore.isa()
    yield
    losscore.set_num_threads(threads)
    _core.set_isa(isa)


# ---- correctness against the references ----------------------------------------------------


@pytest.mark.parametrize("cfg", CONFIGS, ids=[_ids(c) for c in CONFIGS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("steps", [1, 25])
def test_matches_reference(cfg, dtype, steps):
    cls, ref, h = cfg
    params, grads = _problem(SHAPES, dtype, steps, seed=steps)
    expected = _run_reference(ref, h, params, grads)
    arrays = [p.copy() for p in params]
    opt = cls(arrays, **_ctor_kwargs(cls, h))
    for gs in grads:
        opt.step(gs)
    tol = {"rtol": 2e-5, "atol": 2e-5} if dtype == "float32" else {"rtol": 1e-10, "atol": 1e-12}
    for got, want, orig in zip(arrays, expected, params, strict=True):
        assert got.dtype == np.dtype(dtype) and got.shape == orig.shape
        np.testing.assert_allclose(got, want, **tol)
    assert opt.steps == steps


@pytest.mark.parametrize("cfg", CONFIGS, ids=[_ids(c) for c in CONFIGS])
def test_state_arrays_follow_the_reference(cfg):
    cls, ref, h = cfg
    params, grads = _problem([(6,), (2, 2)], "float64", 3, seed=5)
    states = [{} for _ in params]
    ps = [p.copy() for p in params]
    for t, gs in enumerate(grads, start=1):
        ps = [ref(h, p, g, s, t) for p, g, s in zip(ps, gs, states, strict=True)]
    opt = cls([p.copy() for p in params], **_ctor_kwargs(cls, h))
    for gs in grads:
        opt.step(gs)
    sd = opt.state_dict()
    names = {
        "momentum_buffer": "b",
        "exp_avg": "m",
        "exp_avg_sq": "v",
        "max_exp_avg_sq": "vmax",
        "square_avg": "v",
        "grad_avg": "ga",
        "sum": "sum",
        "acc_delta": "u",
        "exp_inf": "u",
    }
    # torch's layout: plain SGD keeps no state at all, SGD no step count.
    stateless = cls is optim.SGD and h.get("momentum", 0) == 0
    assert sorted(sd["state"]) == ([] if stateless else [0, 1])
    for i, entry in sd["state"].items():
        assert entry.get("step", 3) == 3 and ("step" in entry) == (cls is not optim.SGD)
        s = {k: v for k, v in entry.items() if isinstance(v, np.ndarray)}
        # Plain SGD keeps no buffer; every other configuration does after a step.
        assert bool(s) == (cls is not optim.SGD or h.get("momentum", 0) != 0)
        for name, arr in s.items():
            key = names[name]
            np.testing.assert_allclose(arr, states[i][key], rtol=1e-12, atol=1e-14)
            assert arr.dtype == params[i].dtype


def test_lr_changes_take_effect():
    params, grads = _problem(SHAPES, "float64", 6, seed=3)
    arrays = [p.copy() for p in params]
    opt = optim.Adam(arrays, lr=0.1)
    ps = [p.copy() for p in params]
    states = [{} for _ in ps]
    for t, gs in enumerate(grads, start=1):
        lr = 0.1 / t
        opt.lr = lr
        ps = [ref_adam({"lr": lr}, p, g, s, t) for p, g, s in zip(ps, gs, states, strict=True)]
        opt.step(gs)
    for got, want in zip(arrays, ps, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13)


def test_updates_in_place_and_mixed_dtypes():
    w32 = np.ones((4, 3), dtype=np.float32)
    w64 = np.ones(5)
    opt = optim.SGD([w32, w64], lr=0.5)
    assert opt.params[0] is w32 and opt.params[1] is w64
    opt.step([np.ones((4, 3), np.float32), np.full(5, 2.0)])
    np.testing.assert_array_equal(w32, np.full((4, 3), 0.5, np.float32))
    np.testing.assert_array_equal(w64, np.zeros(5))
    assert w32.dtype == np.float32
    assert opt.params[0] is w32


def test_state_lives_in_param_dtype():
    w = np.zeros(3, dtype=np.float32)
    opt = optim.Adam([w], amsgrad=True)
    opt.step([np.ones(3, np.float32)])
    entry = opt.state_dict()["state"][0]
    assert sorted(entry) == ["exp_avg", "exp_avg_sq", "max_exp_avg_sq", "step"]
    for name in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
        assert entry[name].dtype == np.float32, name


def test_non_contiguous_grads_are_accepted():
    params, grads = _problem([(5, 4)], "float64", 1)
    a, b = params[0].copy(), params[0].copy()
    g = np.asfortranarray(grads[0][0])
    optim.Adam([a], lr=0.1).step([g])
    optim.Adam([b], lr=0.1).step([np.ascontiguousarray(g)])
    np.testing.assert_array_equal(a, b)


def test_bind_later():
    w = np.ones(3)
    opt = optim.SGD(lr=0.5)
    assert opt.params == []
    with pytest.raises(ParameterError, match="bind"):
        opt.step([np.ones(3)])
    opt.bind([w])
    opt.bind([w])  # the same arrays again: nothing happens
    opt.step([np.ones(3)])
    np.testing.assert_array_equal(w, np.full(3, 0.5))
    with pytest.raises(ParameterError, match="already holds"):
        opt.bind([np.ones(3)])


def test_failed_first_step_leaves_no_state():
    # SGD's first momentum step copies the gradient: a failed call must not count as first.
    w = np.zeros(3)
    opt = optim.SGD([w], lr=1.0, momentum=0.9, dampening=0.5)
    with pytest.raises(ShapeError):
        opt.step([np.ones(4)])
    assert opt.steps == 0 and opt.state_dict()["state"] == {}
    opt.step([np.ones(3)])
    np.testing.assert_array_equal(w, -np.ones(3))  # buffer = g, not 0.5 * g


def test_momentum_switched_on_later_creates_its_buffer():
    w = np.zeros(2)
    opt = optim.SGD([w], lr=1.0)
    opt.step([np.ones(2)])
    opt.momentum = 0.5
    opt.step([np.ones(2)])  # fresh buffer = g
    opt.step([np.ones(2)])  # buffer = 0.5 + 1
    np.testing.assert_array_equal(w, np.full(2, -3.5))


# ---- state_dict ----------------------------------------------------------------------------


@pytest.mark.parametrize("cfg", CONFIGS, ids=[_ids(c) for c in CONFIGS])
def test_state_dict_round_trip_mid_training(cfg):
    cls, _, h = cfg
    params, grads = _problem(SHAPES, "float32", 12, seed=9)
    a = [p.copy() for p in params]
    opt_a = cls(a, **_ctor_kwargs(cls, h))
    for gs in grads[:6]:
        opt_a.step(gs)
    sd = opt_a.state_dict()
    b = [p.copy() for p in a]
    opt_b = cls(b, **_ctor_kwargs(cls, h))
    opt_b.load_state_dict(sd)
    # The loaded arrays are copies: changing the dict afterwards changes nothing.
    for s in sd["state"].values():
        for arr in s.values():
            if isinstance(arr, np.ndarray):
                arr += 1
    for gs in grads[6:]:
        opt_a.step(gs)
        opt_b.step(gs)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_state_dict_loads_before_bind():
    params, grads = _problem([(4,), (2, 3)], "float64", 4, seed=2)
    a = [p.copy() for p in params]
    opt_a = optim.NAdam(a, lr=0.01)
    for gs in grads[:2]:
        opt_a.step(gs)
    b = [p.copy() for p in a]
    opt_b = optim.NAdam(lr=0.5)
    opt_b.load_state_dict(opt_a.state_dict())
    assert opt_b.lr == 0.01
    opt_b.bind(b)
    for gs in grads[2:]:
        opt_a.step(gs)
        opt_b.step(gs)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_state_dict_rejects_wrong_kind_and_shapes():
    w = np.zeros((2, 3))
    adam = optim.Adam([w])
    adam.step([np.ones((2, 3))])
    sd = adam.state_dict()
    sgd = optim.SGD([np.zeros((2, 3))], momentum=0.9)
    with pytest.raises(ParameterError, match="keys"):
        sgd.load_state_dict(sd)
    other = optim.Adam([np.zeros((3, 2))], lr=0.5)
    with pytest.raises(ShapeError, match="shape"):
        other.load_state_dict(sd)
    assert other.lr == 0.5 and other.steps == 0  # unchanged
    two = optim.Adam([np.zeros((2, 3)), np.zeros(1)])
    with pytest.raises(ParameterError, match="holds 2 parameters"):
        two.load_state_dict(sd)
    bad = dict(sd, param_groups=[dict(sd["param_groups"][0], lr=float("nan"))])
    with pytest.raises(ParameterError, match="lr"):
        other.load_state_dict(bad)
    with pytest.raises(ParameterError, match="exp_avg_sqq"):
        optim.Adam([np.zeros((2, 3))]).load_state_dict(
            dict(sd, state={0: {"step": 1, "exp_avg_sqq": np.zeros((2, 3))}})
        )


# ---- determinism ---------------------------------------------------------------------------

BIG_SHAPES = [(70_001,), (3, 4), (40_000,), ()]


@pytest.mark.parametrize("cfg", CONFIGS, ids=[_ids(c) for c in CONFIGS])
def test_thread_count_does_not_change_bits(cfg, restore_runtime):
    cls, _, h = cfg
    params, grads = _problem(BIG_SHAPES, "float32", 3, seed=4)
    results = []
    for threads in (1, 2, 3):
        losscore.set_num_threads(threads)
        arrays = [p.copy() for p in params]
        opt = cls(arrays, **_ctor_kwargs(cls, h))
        for gs in grads:
            opt.step(gs)
        results.append(arrays)
    for other in results[1:]:
        for x, y in zip(results[0], other, strict=True):
            np.testing.assert_array_equal(x.view(np.uint32), y.view(np.uint32))


@pytest.mark.parametrize("cfg", CONFIGS, ids=[_ids(c) for c in CONFIGS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_every_isa_matches_scalar_bitwise(cfg, dtype, restore_runtime):
    cls, _, h = cfg
    params, grads = _problem([(1000,), (37,), (5, 5)], dtype, 3, seed=8)
    results = {}
    for name in losscore.available_isas():
        _core.set_isa(name)
        arrays = [p.copy() for p in params]
        opt = cls(arrays, **_ctor_kwargs(cls, h))
        for gs in grads:
            opt.step(gs)
        results[name] = [a.tobytes() for a in arrays]
    for name, got in results.items():
        assert got == results["scalar"], name


def test_special_values_propagate_like_torch():
    # NaN gradients poison their own element only; +-0 handled by the sign rule of Lion.
    w = np.zeros(3)
    optim.Adam([w], lr=0.1).step([np.array([np.nan, 1.0, -1.0])])
    assert np.isnan(w[0]) and np.isfinite(w[1:]).all()
    w = np.ones(3)
    optim.Lion([w], lr=0.5).step([np.array([0.0, 2.0, -2.0])])
    np.testing.assert_array_equal(w, [1.0, 0.5, 1.5])
    w = np.zeros(2)
    opt = optim.Adam([w], amsgrad=True)
    opt.step([np.array([np.nan, 1.0])])
    assert np.isnan(opt.state_dict()["state"][0]["max_exp_avg_sq"][0])


# ---- bad input -----------------------------------------------------------------------------


def _snapshot(arrays):
    return [a.copy() for a in arrays]


def test_bad_grads_raise_and_modify_nothing():
    w = np.ones((2, 3), dtype=np.float32)
    b = np.ones(3, dtype=np.float32)
    opt = optim.Adam([w, b], lr=0.1)
    opt.step([np.ones((2, 3), np.float32), np.ones(3, np.float32)])
    before = _snapshot([w, b])
    state_before = opt.state_dict()
    cases = [
        ([np.ones((2, 3), np.float32)], ShapeError, "expected 2 arrays"),
        ([np.ones((3, 2), np.float32), np.ones(3, np.float32)], ShapeError, r"grads\[0\]"),
        ([np.ones((2, 3), np.float32), np.ones(4, np.float32)], ShapeError, r"\(3,\)"),
        ([np.ones((2, 3)), np.ones(3, np.float32)], DTypeError, "float32"),
        ([np.ones((2, 3), np.float32), [1.0, 1.0, 1.0]], DTypeError, r"grads\[1\]"),
        ([w, np.ones(3, np.float32)], OutputError, r"grads\[0\]"),
        ([np.ones((2, 3), np.float32), w[0]], OutputError, r"grads\[1\]"),
    ]
    for grads, exc, match in cases:
        with pytest.raises(exc, match=match):
            opt.step(grads)
        for x, y in zip([w, b], before, strict=True):
            np.testing.assert_array_equal(x, y)
    assert opt.steps == 1
    after = opt.state_dict()["state"]
    assert sorted(after) == sorted(state_before["state"])
    for i, s0 in state_before["state"].items():
        for k in s0:
            np.testing.assert_array_equal(s0[k], after[i][k])
    with pytest.raises(ParameterError, match="list"):
        opt.step(np.ones((2, 3), np.float32))


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (optim.Adam, {"lr": float("nan")}, "lr"),
        (optim.Adam, {"lr": float("inf")}, "lr"),
        (optim.SGD, {"lr": -0.1}, "lr"),
        (optim.Adam, {"betas": (1.0, 0.999)}, r"betas\[0\]"),
        (optim.Adam, {"betas": (0.9, 1.0)}, r"betas\[1\]"),
        (optim.AdamW, {"betas": (-0.1, 0.9)}, r"betas\[0\]"),
        (optim.Adamax, {"betas": (0.9, 1.5)}, r"betas\[1\]"),
        (optim.NAdam, {"betas": (0.9, float("nan"))}, r"betas\[1\]"),
        (optim.RAdam, {"betas": (1.0, 0.9)}, r"betas\[0\]"),
        (optim.Lion, {"betas": (0.9, 1.0)}, r"betas\[1\]"),
        (optim.Adam, {"betas": (0.9,)}, "betas"),
        (optim.Adam, {"eps": -1e-8}, "eps"),
        (optim.RMSprop, {"eps": -1.0}, "eps"),
        (optim.Adam, {"weight_decay": -1e-2}, "weight_decay"),
        (optim.SGD, {"weight_decay": -1.0}, "weight_decay"),
        (optim.Lion, {"weight_decay": -1.0}, "weight_decay"),
        (optim.SGD, {"momentum": -0.5}, "momentum"),
        (optim.SGD, {"nesterov": True}, "nesterov"),
        (optim.SGD, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, "nesterov"),
        (optim.Adadelta, {"rho": 1.5}, "rho"),
        (optim.Adagrad, {"lr_decay": -1.0}, "lr_decay"),
        (optim.Adagrad, {"initial_accumulator_value": -1.0}, "initial_accumulator_value"),
        (optim.NAdam, {"momentum_decay": -1.0}, "momentum_decay"),
        (optim.RMSprop, {"alpha": -0.1}, "alpha"),
    ],
)
def test_bad_hyperparameters(cls, kwargs, match):
    w = np.ones(3)
    with pytest.raises(ParameterError, match=match):
        cls([w], **kwargs)
    np.testing.assert_array_equal(w, np.ones(3))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": "fast"}, "lr"),
        ({"lr": True}, "lr"),
        ({"eps": None}, "eps"),
        ({"amsgrad": 1}, "amsgrad"),
        ({"betas": "ab"}, "betas"),
        ({"betas": (0.9, False)}, r"betas\[1\]"),
        ({"foreach": "yes"}, "foreach"),
        ({"fused": 1}, "fused"),
    ],
)
def test_hyperparameters_of_the_wrong_type(kwargs, match):
    w = np.ones(3)
    with pytest.raises(ParameterTypeError, match=match):
        optim.Adam([w], **kwargs)
    np.testing.assert_array_equal(w, np.ones(3))


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("lr", "fast", r"param_groups\[1\]\['lr'\]"),
        ("lr", True, r"param_groups\[1\]\['lr'\]"),
        ("weight_decay", np.bool_(True), r"param_groups\[1\]\['weight_decay'\]"),
        ("amsgrad", "no", r"param_groups\[1\]\['amsgrad'\]"),
        ("betas", (0.9, "x"), r"param_groups\[1\]\['betas'\]\[1\]"),
    ],
)
def test_group_hyperparameters_of_the_wrong_type(key, value, match):
    w, b = np.ones(3), np.ones(2)
    with pytest.raises(ParameterTypeError, match=match):
        optim.Adam([{"params": [w]}, {"params": [b], key: value}])
    opt = optim.Adam([{"params": [w]}])
    with pytest.raises(ParameterTypeError, match=match):
        opt.add_param_group({"params": [b], key: value})
    assert len(opt.param_groups) == 1 and opt.params == [w]


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -1.0])
def test_bad_lr_setter_keeps_old_value(value):
    w = np.ones(3)
    opt = optim.Adam([w], lr=0.1)
    with pytest.raises(ParameterError, match="lr"):
        opt.lr = value
    assert opt.lr == 0.1
    with pytest.raises(ParameterError, match="betas"):
        opt.betas = (0.9, 1.0)
    assert opt.betas == (0.9, 0.999)


def test_bad_params():
    w = np.ones(4)
    with pytest.raises(OutputError, match=r"params\[1\]"):
        optim.Adam([w, w])
    with pytest.raises(OutputError, match=r"params\[1\]"):
        optim.SGD([w, w[1:3]])
    ro = np.ones(3)
    ro.flags.writeable = False
    with pytest.raises(OutputError, match="read-only"):
        optim.SGD([ro])
    with pytest.raises(OutputError, match="C-contiguous"):
        optim.SGD([np.ones((4, 4))[:, 0]])
    with pytest.raises(DTypeError, match="float32 or float64"):
        optim.SGD([np.ones(3, dtype=np.int64)])
    with pytest.raises(DTypeError, match="float32 or float64"):
        optim.SGD([np.ones(3, dtype=np.float16)])
    with pytest.raises(DTypeError, match="float32 or float64"):
        optim.SGD([[1.0, 2.0]])
    with pytest.raises(ParameterError, match="empty"):
        optim.SGD([])
    with pytest.raises(ParameterError, match="list"):
        optim.SGD(np.ones(3))


def test_errors_are_losscore_errors():
    for exc in (DTypeError, OutputError, ParameterError, ShapeError):
        assert issubclass(exc, LosscoreError)
    with pytest.raises(ValueError):
        optim.Adam([np.ones(2)], lr=-1.0)


def test_repr_and_hyper():
    opt = optim.AdamW(lr=0.5)
    assert "AdamW(" in repr(opt) and "lr=0.5" in repr(opt)
    assert opt.hyper["weight_decay"] == 1e-2 and opt.hyper["decoupled_weight_decay"] is True


def test_torch_defaults():
    assert optim.SGD().hyper == {
        "lr": 1e-3,
        "momentum": 0.0,
        "dampening": 0.0,
        "weight_decay": 0.0,
        "nesterov": False,
        "maximize": False,
    }
    adam = optim.Adam().hyper
    assert adam["lr"] == 1e-3 and adam["betas"] == (0.9, 0.999) and adam["eps"] == 1e-8
    assert adam["weight_decay"] == 0.0 and adam["amsgrad"] is False
    assert optim.AdamW().hyper["weight_decay"] == 1e-2
    rms = optim.RMSprop().hyper
    assert (rms["lr"], rms["alpha"], rms["eps"]) == (1e-2, 0.99, 1e-8)
    ada = optim.Adagrad().hyper
    assert (ada["lr"], ada["eps"]) == (1e-2, 1e-10)
    assert optim.Adadelta().hyper == {
        "lr": 1.0,
        "rho": 0.9,
        "eps": 1e-6,
        "weight_decay": 0.0,
        "maximize": False,
    }
    assert optim.Adamax().hyper["lr"] == 2e-3
    nadam = optim.NAdam().hyper
    assert (nadam["lr"], nadam["momentum_decay"]) == (2e-3, 4e-3)
    assert optim.RAdam().hyper["lr"] == 1e-3
    assert optim.Lion().hyper == {"lr": 1e-4, "betas": (0.9, 0.99), "weight_decay": 0.0}


def test_mixed_dtypes_match_separate_optimizers():
    params, grads = _problem([(3, 4), (5,), (2, 2), (7,)], "float64", 4, seed=6)
    params[0] = params[0].astype(np.float32)
    params[2] = params[2].astype(np.float32)
    for gs in grads:
        gs[0] = gs[0].astype(np.float32)
        gs[2] = gs[2].astype(np.float32)
    mixed = [p.copy() for p in params]
    opt = optim.Adam(mixed, lr=0.05, amsgrad=True)
    alone = [p.copy() for p in params]
    opts = [optim.Adam([a], lr=0.05, amsgrad=True) for a in alone]
    for gs in grads:
        opt.step(gs)
        for o, g in zip(opts, gs, strict=True):
            o.step([g])
    for x, y in zip(mixed, alone, strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)
    sd = opt.state_dict()
    for i, o in enumerate(opts):
        for name, arr in o.state_dict()["state"][0].items():
            np.testing.assert_array_equal(sd["state"][i][name], arr)
    assert sd["param_groups"][0]["params"] == [0, 1, 2, 3]


def test_core_rejects_bad_state_buffers():
    # The private kernel entry point checks its state arguments too (never a panic).
    w = np.ones(4)
    g = np.ones(4)
    group = {
        "params": [w],
        "lr": 0.1,
        "betas": (0.9, 0.999),
        "eps": 1e-8,
        "weight_decay": 0.0,
        "decoupled_weight_decay": False,
        "amsgrad": False,
        "maximize": False,
    }
    kw = {"groups": [group], "steps": [1]}
    with pytest.raises(ParameterError, match="missing"):
        _core.adam_step([w], [g], [[np.zeros(4)]], **kw)
    with pytest.raises(ParameterError, match="4 elements"):
        _core.adam_step([w], [g], [[np.zeros(4)], [np.zeros(3)]], **kw)
    with pytest.raises(ParameterError, match="missing"):
        _core.adam_step([w], [g], [[np.zeros(4)], []], **kw)
    with pytest.raises(ParameterError, match=r"states\[1\]"):
        _core.adam_step([w], [g], [[np.zeros(4)], [np.zeros(4, np.float32)]], **kw)
    with pytest.raises(OutputError, match=r"states\[1\]"):
        _core.adam_step([w], [g], [[np.zeros(4)], [w]], **kw)
    with pytest.raises(ParameterError, match="at most 3"):
        _core.adam_step([w], [g], [[np.zeros(4)]] * 4, **kw)
    two = {"groups": [group, group], "steps": [1, 1]}
    with pytest.raises(ShapeError, match="cover 2 parameters"):
        _core.adam_step([w], [g], [[np.zeros(4)], [np.zeros(4)]], **two)
    with pytest.raises(ShapeError, match="steps: expected 1"):
        _core.adam_step([w], [g], [], [group], [1, 2])
    with pytest.raises(ParameterError, match="step"):
        _core.adam_step([w], [g], [], [group], [0])
    with pytest.raises(ParameterError, match=r"param_groups\[0\]\['eps'\]: missing"):
        _core.adam_step([w], [g], [], [{k: v for k, v in group.items() if k != "eps"}], [1])
    with pytest.raises(ParameterTypeError, match=r"param_groups\[0\]\['lr'\]"):
        _core.adam_step([w], [g], [], [dict(group, lr=True)], [1])
    with pytest.raises(ParameterTypeError, match=r"param_groups\[0\]\['amsgrad'\]"):
        _core.adam_step([w], [g], [], [dict(group, amsgrad=1)], [1])
    with pytest.raises(ParameterTypeError, match=r"param_groups\[0\]\['betas'\]\[0\]"):
        _core.adam_step([w], [g], [], [dict(group, betas=(False, 0.9))], [1])
    with pytest.raises(ParameterTypeError, match=r"param_groups\[0\]\['betas'\]"):
        _core.adam_step([w], [g], [], [dict(group, betas=0.9)], [1])
    np.testing.assert_array_equal(w, np.ones(4))


def test_empty_scalar_and_shared_grad_arrays():
    params = [np.zeros(0), np.array(1.0), np.ones((2, 0, 3)), np.ones(3)]
    opt = optim.Adam(params, lr=0.1)
    g = np.ones(3)
    opt.step([np.zeros(0), np.array(2.0), np.ones((2, 0, 3)), g])
    assert params[1].shape == () and params[1] == pytest.approx(0.9)
    np.testing.assert_allclose(params[3], np.full(3, 0.9))
    # One gradient array may serve two parameters (both only read it).
    a, b = np.ones(3), np.ones(3)
    optim.SGD([a, b], lr=1.0).step([g, g])
    np.testing.assert_array_equal(a, b)


def test_other_byte_order_is_rejected():
    w = np.ones(3, dtype=">f8" if np.little_endian else "<f8")
    with pytest.raises(DTypeError, match=r"params\[0\]"):
        optim.SGD([w])


def test_concurrent_steps_in_threads(restore_runtime):
    # The GIL is released during a step: two threads updating their own parameters must give
    # exactly the sequential results.
    import threading

    params, grads = _problem([(100_000,), (7,)], "float32", 5, seed=12)
    seq = [[p.copy() for p in params] for _ in range(2)]
    for arrays in seq:
        opt = optim.Adam(arrays, lr=0.01)
        for gs in grads:
            opt.step(gs)
    par = [[p.copy() for p in params] for _ in range(2)]

    def work(arrays):
        opt = optim.Adam(arrays, lr=0.01)
        for gs in grads:
            opt.step(gs)

    threads = [threading.Thread(target=work, args=(arrays,)) for arrays in par]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for x, y in zip(seq, par, strict=True):
        for a, b in zip(x, y, strict=True):
            np.testing.assert_array_equal(a, b)
