"""Parameter groups against torch.optim itself: 25-step trajectories with two groups of different
hyperparameters, torch's state_dict layout, add_param_group, and the error cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import losscore
from losscore import _core, optim
from losscore.errors import DTypeError, OutputError, ParameterError, ParameterTypeError, ShapeError

STEPS = 25
SHAPES = [(4, 3), (3,), (2, 5), (5,)]  # group 0: the first two, group 1: the last two

# (name, defaults, overrides of group 1) -- torch keyword names.
CASES = [
    ("SGD", {"lr": 0.05}, {"lr": 0.01, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}, {"momentum": 0.5, "dampening": 0.2, "lr": 0.1}),
    ("SGD", {"lr": 0.02, "momentum": 0.9, "nesterov": True}, {"weight_decay": 0.3}),
    ("SGD", {"lr": 0.02}, {"momentum": 0.8, "maximize": True}),
    ("Adam", {"lr": 0.01}, {"lr": 0.003, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True}, {"amsgrad": False, "eps": 1e-3}),
    ("Adam", {"lr": 0.01}, {"amsgrad": True, "maximize": True}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1}, {"weight_decay": 0.0, "lr": 0.02}),
    ("AdamW", {"lr": 0.01}, {"amsgrad": True, "betas": (0.5, 0.9)}),
    ("RMSprop", {"lr": 0.01}, {"alpha": 0.9, "momentum": 0.5}),
    ("RMSprop", {"lr": 0.01, "centered": True}, {"centered": False, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1}, {"lr_decay": 0.05, "initial_accumulator_value": 0.5}),
    ("Adadelta", {"lr": 1.0}, {"rho": 0.8, "weight_decay": 0.1, "lr": 0.5}),
    ("Adamax", {"lr": 0.01}, {"betas": (0.8, 0.9), "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01}, {"momentum_decay": 0.01, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01}, {"decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.01}, {"lr": 0.003, "weight_decay": 0.1}),
    ("RAdam", {"lr": 0.01}, {"decoupled_weight_decay": True, "weight_decay": 0.2}),
]


def _ids(case):
    name, d, o = case
    return f"{name}-{d}-{o}"


def _problem(seed=0, steps=STEPS):
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s) for s in SHAPES]
    grads = [[rng.standard_normal(s) for s in SHAPES] for _ in range(steps)]
    return params, grads


def _torch_run(name, defaults, override, params, grads, n_first=2):
    # float64 scalars too (torch keeps NAdam's mu_product in the default dtype).
    saved = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        return _torch_steps(name, defaults, override, params, grads, n_first)
    finally:
        torch.set_default_dtype(saved)


def _torch_steps(name, defaults, override, params, grads, n_first):
    ts = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    opt = getattr(torch.optim, name)(
        [{"params": ts[:n_first]}, {"params": ts[n_first:], **override}], **defaults
    )
    for gs in grads:
        for t, g in zip(ts, gs, strict=True):
            t.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
    return [t.detach().numpy() for t in ts], opt


def _ours(name, defaults, override, params, n_first=2):
    return getattr(optim, name)(
        [{"params": params[:n_first]}, {"params": params[n_first:], **override}], **defaults
    )


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_two_groups_follow_torch_for_25_steps(case):
    name, defaults, override = case
    params, grads = _problem(seed=len(name))
    want, _ = _torch_run(name, defaults, override, params, grads)
    arrays = [p.copy() for p in params]
    opt = _ours(name, defaults, override, arrays)
    calls = []
    kernel = type(opt)._kernel

    def counting(*args):
        calls.append(1)
        return kernel(*args)

    opt._kernel = counting  # type: ignore[method-assign]
    for gs in grads:
        opt.step(gs)
    assert len(calls) == STEPS  # one call into Rust per step, across both groups
    for got, w in zip(arrays, want, strict=True):
        np.testing.assert_allclose(got, w, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_state_dict_layout_matches_torch(case):
    name, defaults, override = case
    params, grads = _problem(seed=3, steps=4)
    _, topt = _torch_run(name, defaults, override, params, grads)
    arrays = [p.copy() for p in params]
    opt = _ours(name, defaults, override, arrays)
    for gs in grads:
        opt.step(gs)
    ours, theirs = opt.state_dict(), topt.state_dict()
    assert sorted(ours) == ["param_groups", "state"]
    assert [g["params"] for g in ours["param_groups"]] == [
        g["params"] for g in theirs["param_groups"]
    ]
    for og, tg in zip(ours["param_groups"], theirs["param_groups"], strict=True):
        for key, value in og.items():
            if key != "params":
                assert tg[key] == pytest.approx(value), key
    assert sorted(ours["state"]) == sorted(theirs["state"])
    for i, entry in ours["state"].items():
        t_entry = theirs["state"][i]
        buffers = {k for k, v in t_entry.items() if torch.is_tensor(v) and v.ndim > 0}
        assert {k for k, v in entry.items() if isinstance(v, np.ndarray)} == buffers
        for k in buffers:
            np.testing.assert_allclose(entry[k], t_entry[k].numpy(), rtol=1e-12, atol=1e-14)
        if "step" in t_entry:
            assert entry["step"] == float(t_entry["step"])
        if "mu_product" in t_entry:
            assert entry["mu_product"] == pytest.approx(float(t_entry["mu_product"]), rel=1e-12)


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_state_dict_round_trip_with_groups(case):
    name, defaults, override = case
    params, grads = _problem(seed=7, steps=12)
    a = [p.copy() for p in params]
    opt_a = _ours(name, defaults, override, a)
    for gs in grads[:6]:
        opt_a.step(gs)
    sd = opt_a.state_dict()
    b = [p.copy() for p in a]
    opt_b = _ours(name, {}, {}, b)  # other hyperparameters: the state dict restores them
    opt_b.load_state_dict(sd)
    assert [dict(g, params=None) for g in opt_b.param_groups] == [
        dict(g, params=None) for g in opt_a.param_groups
    ]
    for gs in grads[6:]:
        opt_a.step(gs)
        opt_b.step(gs)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_add_param_group_after_steps_follows_torch():
    params, grads = _problem(seed=11, steps=10)
    ts = [torch.tensor(p, requires_grad=True) for p in params]
    topt = torch.optim.Adam([{"params": ts[:2]}], lr=0.01, amsgrad=True)
    arrays = [p.copy() for p in params]
    opt = optim.Adam([{"params": arrays[:2]}], lr=0.01, amsgrad=True)
    for k, gs in enumerate(grads):
        if k == 4:  # the new group counts its own steps from 1
            topt.add_param_group({"params": ts[2:], "lr": 0.05, "betas": (0.5, 0.9)})
            opt.add_param_group({"params": arrays[2:], "lr": 0.05, "betas": (0.5, 0.9)})
        n = 2 if k < 4 else 4
        for t, g in zip(ts[:n], gs[:n], strict=True):
            t.grad = torch.tensor(g)
        topt.step()
        opt.step(gs[:n])
    for got, t in zip(arrays, ts, strict=True):
        np.testing.assert_allclose(got, t.detach().numpy(), rtol=1e-12, atol=1e-13)
    sd = opt.state_dict()
    assert [sd["state"][i]["step"] for i in range(4)] == [10, 10, 6, 6]


def test_param_groups_are_filled_from_the_defaults():
    w, b = np.ones(3), np.ones(2)
    opt = optim.SGD([{"params": [w]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert opt.param_groups[0]["params"][0] is w
    assert opt.param_groups[1]["params"] == [b]  # a single array becomes a list
    assert opt.param_groups[1] == {
        "params": [b],
        "lr": 0.5,
        "momentum": 0.9,
        "dampening": 0.0,
        "weight_decay": 0.0,
        "nesterov": False,
        "maximize": False,
    }
    assert opt.params == [w, b]


def test_lr_setter_sets_every_group_and_groups_can_be_edited():
    w, b = np.zeros(2), np.zeros(2)
    opt = optim.SGD([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    opt.lr = 1.0
    assert [g["lr"] for g in opt.param_groups] == [1.0, 1.0]
    opt.param_groups[1]["lr"] = 2.0  # torch style: edit one group directly
    opt.step([np.ones(2), np.ones(2)])
    np.testing.assert_array_equal(w, [-1.0, -1.0])
    np.testing.assert_array_equal(b, [-2.0, -2.0])


def test_edited_group_values_are_checked_at_the_step():
    w, b = np.zeros(2), np.zeros(2)
    opt = optim.Adam([{"params": [w]}, {"params": [b]}], lr=0.1)
    for key, value, exc in [
        ("lr", "x", ParameterTypeError),
        ("lr", True, ParameterTypeError),
        ("lr", -1.0, ParameterError),
        ("amsgrad", 0, ParameterTypeError),
        ("betas", 0.9, ParameterTypeError),
    ]:
        saved = opt.param_groups[1][key]
        opt.param_groups[1][key] = value
        with pytest.raises(exc, match=key if key != "betas" else r"param_groups\[1\]\['betas'\]"):
            opt.step([np.ones(2), np.ones(2)])
        opt.param_groups[1][key] = saved
        np.testing.assert_array_equal(w, [0.0, 0.0])
    assert opt.steps == 0


def test_torch_only_flags_are_accepted_and_change_nothing():
    params, grads = _problem(seed=2, steps=5)
    a = [p.copy() for p in params]
    b = [p.copy() for p in params]
    plain = optim.AdamW(a, lr=0.01)
    flagged = optim.AdamW(
        b, lr=0.01, foreach=True, fused=False, capturable=True, differentiable=False
    )
    for gs in grads:
        plain.step(gs)
        flagged.step(gs)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    for cls in (
        optim.SGD,
        optim.Adam,
        optim.RMSprop,
        optim.Adagrad,
        optim.Adadelta,
        optim.Adamax,
        optim.NAdam,
        optim.RAdam,
        optim.Lion,
    ):
        cls(foreach=None, fused=None, capturable=False, differentiable=False)


def test_lion_groups_follow_the_paper_rule():
    # Lion is not in torch.optim: a NumPy reference of the paper's update, per group.
    params, grads = _problem(seed=4)
    groups_h = [
        {"lr": 1e-3, "betas": (0.9, 0.99), "weight_decay": 0.1},
        {"lr": 3e-3, "betas": (0.8, 0.95), "weight_decay": 0.0},
    ]
    ps = [p.copy() for p in params]
    ms = [np.zeros_like(p) for p in params]
    for gs in grads:
        for i in range(4):
            h = groups_h[i // 2]
            b1, b2 = h["betas"]
            ps[i] = ps[i] * (1 - h["lr"] * h["weight_decay"])
            ps[i] = ps[i] - h["lr"] * np.sign(b1 * ms[i] + (1 - b1) * gs[i])
            ms[i] = b2 * ms[i] + (1 - b2) * gs[i]
    arrays = [p.copy() for p in params]
    opt = optim.Lion([{"params": arrays[:2]}, {"params": arrays[2:], **groups_h[1]}], **groups_h[0])
    for gs in grads:
        opt.step(gs)
    for got, want in zip(arrays, ps, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-13)


def test_mixed_dtypes_across_groups():
    params, grads = _problem(seed=5, steps=6)
    params[1] = params[1].astype(np.float32)
    params[2] = params[2].astype(np.float32)
    for gs in grads:
        gs[1] = gs[1].astype(np.float32)
        gs[2] = gs[2].astype(np.float32)
    mixed = [p.copy() for p in params]
    opt = optim.Adam([{"params": mixed[:2]}, {"params": mixed[2:], "lr": 0.05}], lr=0.01)
    alone = [p.copy() for p in params]
    opts = [optim.Adam([a], lr=0.01 if i < 2 else 0.05) for i, a in enumerate(alone)]
    for gs in grads:
        opt.step(gs)
        for o, g in zip(opts, gs, strict=True):
            o.step([g])
    for x, y in zip(mixed, alone, strict=True):
        assert x.dtype == y.dtype
        np.testing.assert_array_equal(x, y)


# ---- errors --------------------------------------------------------------------------------


def test_bad_group_keys_and_shapes():
    w, b = np.ones(3), np.ones(2)
    with pytest.raises(ParameterError, match=r"param_groups\[1\]: unknown key\(s\) \['lrr'\]"):
        optim.Adam([{"params": [w]}, {"params": [b], "lrr": 0.1}])
    with pytest.raises(ParameterError, match=r"param_groups\[0\]: missing the key 'params'"):
        optim.Adam([{"lr": 0.1}])
    with pytest.raises(ParameterError, match="mixes"):
        optim.Adam([w, {"params": [b]}])
    with pytest.raises(ParameterTypeError, match="a set has no order"):
        optim.Adam([{"params": {1, 2}}])
    with pytest.raises(ParameterTypeError, match="param_group"):
        optim.Adam([w]).add_param_group([b])  # type: ignore[arg-type]
    with pytest.raises(ParameterError, match="betas"):
        optim.Adam([{"params": [w], "betas": (0.9, 0.9, 0.9)}])


def test_a_parameter_in_two_groups_is_rejected():
    w, b = np.ones(3), np.ones(2)
    with pytest.raises(ParameterError, match=r"param_groups\[1\].*param_groups\[0\]"):
        optim.SGD([{"params": [w, b]}, {"params": [w]}])
    opt = optim.SGD([{"params": [w]}])
    with pytest.raises(ParameterError, match="one group only"):
        opt.add_param_group({"params": [w]})
    with pytest.raises(OutputError, match=r"params\[2\]"):
        opt.add_param_group({"params": [b, w[1:]]})  # a view of a bound array
    assert len(opt.param_groups) == 1
    with pytest.raises(OutputError, match=r"params\[1\]"):
        optim.SGD([{"params": [b, b]}])


def test_non_float_params_are_rejected_naming_them():
    w = np.ones(3)
    with pytest.raises(DTypeError, match=r"params\[1\] \(param_groups\[1\]\['params'\]\[0\]\)"):
        optim.SGD([{"params": [w]}, {"params": [np.ones(2, dtype=np.int64)]}])
    with pytest.raises(DTypeError, match=r"params\[0\].*list"):
        optim.SGD([{"params": [[1.0, 2.0]]}])
    with pytest.raises(DTypeError, match="float16"):
        optim.SGD([np.ones(2, dtype=np.float16)])


def test_wrong_grads_count_and_shapes_change_nothing():
    w, b = np.ones(3), np.ones(2)
    opt = optim.Adam([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    opt.step([np.ones(3), np.ones(2)])
    before = (w.copy(), b.copy(), opt.state_dict())
    for grads, exc, match in [
        ([np.ones(3)], ShapeError, "expected 2 arrays"),
        ([np.ones(3), np.ones(2), np.ones(1)], ShapeError, "expected 2 arrays"),
        ([np.ones(3), np.ones(3)], ShapeError, r"grads\[1\]"),
        ([np.ones(3), np.ones(2, np.float32)], DTypeError, r"grads\[1\]"),
    ]:
        with pytest.raises(exc, match=match):
            opt.step(grads)
    np.testing.assert_array_equal(w, before[0])
    np.testing.assert_array_equal(b, before[1])
    assert opt.steps == 1
    after = opt.state_dict()
    for i in (0, 1):
        np.testing.assert_array_equal(
            after["state"][i]["exp_avg"], before[2]["state"][i]["exp_avg"]
        )


def test_state_dict_mismatches_are_rejected_and_change_nothing():
    w, b = np.ones(3), np.ones(2)
    opt = optim.Adam([{"params": [w]}, {"params": [b], "lr": 0.5}], lr=0.1)
    opt.step([np.ones(3), np.ones(2)])
    sd = opt.state_dict()
    other = optim.Adam([np.ones(3), np.ones(2)], lr=0.2)
    with pytest.raises(ParameterError, match="2 parameter groups, the optimizer has 1"):
        other.load_state_dict(sd)
    swapped = optim.Adam([{"params": [np.ones(3), np.ones(2)]}, {"params": []}])
    with pytest.raises(ParameterError, match=r"param_groups\[0\]\['params'\]"):
        swapped.load_state_dict(sd)
    target = optim.Adam([{"params": [np.ones(3)]}, {"params": [np.ones(2)]}], lr=0.3)
    two_in_one = optim.Adam([{"params": [np.ones(3), np.ones(2)]}])
    merged = [dict(sd["param_groups"][0], params=[0, 1])]
    uneven = {0: sd["state"][0], 1: dict(sd["state"][1], step=2)}
    with pytest.raises(ParameterError, match="must share 'step'"):
        two_in_one.load_state_dict({"state": uneven, "param_groups": merged})
    with pytest.raises(ParameterError, match="some parameters only"):
        two_in_one.load_state_dict({"state": {0: sd["state"][0]}, "param_groups": merged})
    with pytest.raises(ParameterError, match="step"):
        target.load_state_dict(
            {"state": {0: dict(sd["state"][0], step=True)}, "param_groups": sd["param_groups"]}
        )
    bad_shape = {0: dict(sd["state"][0], exp_avg=np.zeros(4))}
    with pytest.raises(ShapeError, match="shape"):
        target.load_state_dict({"state": bad_shape, "param_groups": sd["param_groups"]})
    with pytest.raises(ParameterError, match="unknown parameter indices"):
        target.load_state_dict(
            {"state": {**sd["state"], 7: {}}, "param_groups": sd["param_groups"]}
        )
    with pytest.raises(ParameterError, match="missing key"):
        target.load_state_dict({"state": {}})
    with pytest.raises(ParameterTypeError, match=r"param_groups\[1\]\['lr'\]"):
        target.load_state_dict(
            {
                "state": {},
                "param_groups": [sd["param_groups"][0], dict(sd["param_groups"][1], lr="big")],
            }
        )
    assert [g["lr"] for g in target.param_groups] == [0.3, 0.3] and target.steps == 0


def test_state_dict_loaded_before_bind_restores_the_groups():
    params, grads = _problem(seed=8, steps=6)
    a = [p.copy() for p in params]
    opt_a = optim.RMSprop([{"params": a[:2]}, {"params": a[2:], "momentum": 0.5}], lr=0.01)
    for gs in grads[:3]:
        opt_a.step(gs)
    b = [p.copy() for p in a]
    opt_b = optim.RMSprop(lr=0.5)
    opt_b.load_state_dict(opt_a.state_dict())
    opt_b.bind(b)  # a plain list split as the saved groups
    assert [len(g["params"]) for g in opt_b.param_groups] == [2, 2]
    for gs in grads[3:]:
        opt_a.step(gs)
        opt_b.step(gs)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)


def test_one_kernel_call_covers_every_group():
    # The binding itself takes per-group hyperparameters: two groups, one call.
    w, b = np.ones(2), np.ones(3)
    base = {
        "momentum": 0.0,
        "dampening": 0.0,
        "weight_decay": 0.0,
        "nesterov": False,
        "maximize": False,
    }
    groups = [dict(base, params=[w], lr=0.5), dict(base, params=[b], lr=0.25)]
    _core.sgd_step([w, b], [np.ones(2), np.ones(3)], [], groups, [True, True])
    np.testing.assert_array_equal(w, [0.5, 0.5])
    np.testing.assert_array_equal(b, [0.75, 0.75, 0.75])


@pytest.fixture
def restore_threads():
    threads = losscore.get_num_threads()
    yield
    losscore.set_num_threads(threads)


@pytest.mark.parametrize("case", CASES[::3], ids=[_ids(c) for c in CASES[::3]])
def test_groups_are_thread_count_invariant(case, restore_threads):
    # Arrays above the parallel threshold in both groups, mixed dtypes: bitwise equal results
    # for any thread count, and equal to each group stepped by its own optimizer.
    name, defaults, override = case
    rng = np.random.default_rng(1)
    shapes = [(70_001,), (3, 4), (40_000,), ()]
    params = [
        rng.standard_normal(s).astype(np.float32 if i % 2 else np.float64)
        for i, s in enumerate(shapes)
    ]
    grads = [
        [rng.standard_normal(s).astype(p.dtype) for s, p in zip(shapes, params, strict=True)]
        for _ in range(3)
    ]
    results = []
    for threads in (1, 2, 3):
        losscore.set_num_threads(threads)
        arrays = [p.copy() for p in params]
        opt = _ours(name, defaults, override, arrays)
        for gs in grads:
            opt.step(gs)
        results.append(arrays)
    alone = [p.copy() for p in params]
    first = getattr(optim, name)(alone[:2], **defaults)
    second = getattr(optim, name)(alone[2:], **{**defaults, **override})
    for gs in grads:
        first.step(gs[:2])
        second.step(gs[2:])
    for arrays in (*results[1:], alone):
        for a, b in zip(results[0], arrays, strict=True):
            np.testing.assert_array_equal(a, b)
