"""losscore.torch against the NumPy functions (bit for bit), torch's own losses and optimizers,
finite differences (gradcheck), with the real PyTorch."""

from __future__ import annotations

import copy
import io
import tracemalloc

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from bridge_inputs import RECIPES, _log_softmax, inputs  # noqa: E402

import losscore  # noqa: E402
import losscore.torch as lct  # noqa: E402
from losscore import _bridges, _core  # noqa: E402
from losscore.errors import (  # noqa: E402
    DeviceError,
    DTypeError,
    ParameterError,
    ParameterTypeError,
    ShapeError,
)
from losscore.torch._tensors import float_view  # noqa: E402

N, C = 6, 4
# Losses of a (pred, target) pair; those of several inputs: test_bridge_several_inputs.py.
NAMES = [n for n in _bridges._loss_names() if len(losscore.losses.registry[n].arrays) == 2]


def _tensors(pred, target, kwargs, requires_grad=True):
    p = torch.from_numpy(pred.copy()).requires_grad_(requires_grad)
    t = torch.from_numpy(target.copy())
    kw = {k: torch.from_numpy(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    return p, t, kw


def test_every_loss_has_a_recipe():
    assert set(NAMES) == set(RECIPES)
    assert set(NAMES) <= set(lct.__all__)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_value_and_gradient_equal_numpy_bit_for_bit(name, dtype, reduction):
    pred, target, kwargs = inputs(name, dtype)
    fn = getattr(losscore, name)
    want_value, want_grad = losscore.value_and_grad(fn)(pred, target, **kwargs, reduction=reduction)
    p, t, kw = _tensors(pred, target, kwargs)
    value = getattr(lct, name)(p, t, **kw, reduction=reduction)
    assert value.dtype == p.dtype
    if reduction == "none":
        np.testing.assert_array_equal(value.detach().numpy(), want_value)
        # A per-element (per-sample) cotangent multiplies each element's (row's) gradient.
        seed = np.random.default_rng(1).normal(size=want_value.shape).astype(dtype)
        value.backward(torch.from_numpy(seed))
        scale = seed[..., None] if want_grad.ndim > seed.ndim else seed
        np.testing.assert_array_equal(p.grad.numpy(), want_grad * scale)
    else:
        assert value.shape == ()
        assert value.item() == float(np.asarray(want_value, dtype=dtype))
        value.backward()
        np.testing.assert_array_equal(p.grad.numpy(), want_grad)


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("name", NAMES)
def test_gradcheck_float64(name, reduction):
    pred, target, kwargs = inputs(name, np.float64, seed=3)
    p, t, kw = _tensors(pred, target, kwargs)
    fn = getattr(lct, name)
    assert torch.autograd.gradcheck(
        lambda x: fn(x, t, **kw, reduction=reduction), (p,), eps=1e-6, atol=1e-5
    )


def test_a_scaled_total_scales_the_gradient():
    pred, target, _ = inputs("mse", np.float64)
    p, t, _ = _tensors(pred, target, {})
    (3.0 * lct.mse(p, t)).backward()
    want = losscore.grad(losscore.mse)(pred, target)
    np.testing.assert_array_equal(p.grad.numpy(), want * 3.0)


# The real torch functions, as an independent reference.
TORCH = {
    "mse": lambda p, t, kw, r: F.mse_loss(p, t, reduction=r),
    "mae": lambda p, t, kw, r: F.l1_loss(p, t, reduction=r),
    "huber": lambda p, t, kw, r: F.huber_loss(p, t, reduction=r, delta=kw["delta"]),
    "smooth_l1": lambda p, t, kw, r: F.smooth_l1_loss(p, t, reduction=r, beta=kw["beta"]),
    "poisson_nll": lambda p, t, kw, r: F.poisson_nll_loss(p, t, reduction=r),
    "binary_cross_entropy": lambda p, t, kw, r: F.binary_cross_entropy(p, t, reduction=r),
    "binary_cross_entropy_with_logits": lambda p, t, kw, r: F.binary_cross_entropy_with_logits(
        p, t, pos_weight=kw["pos_weight"], reduction=r
    ),
    "cross_entropy": lambda p, t, kw, r: F.cross_entropy(
        p, t, weight=kw["class_weight"], label_smoothing=kw["label_smoothing"], reduction=r
    ),
    "nll_loss": lambda p, t, kw, r: F.nll_loss(p, t, reduction=r),
    "multi_margin": lambda p, t, kw, r: F.multi_margin_loss(p, t, margin=kw["margin"], reduction=r),
    "soft_margin": lambda p, t, kw, r: F.soft_margin_loss(p, t, reduction=r),
    "multilabel_soft_margin": lambda p, t, kw, r: F.multilabel_soft_margin_loss(
        p, t, weight=kw["class_weight"], reduction=r
    ),
}


@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("name", sorted(TORCH))
def test_matches_torch_functional(name, reduction):
    pred, target, kwargs = inputs(name, np.float64, seed=5)
    p, t, kw = _tensors(pred, target, kwargs)
    q = p.detach().clone().requires_grad_(True)
    ours = getattr(lct, name)(p, t, **kw, reduction=reduction)
    theirs = TORCH[name](q, t, kw, reduction)
    ours.backward()
    theirs.backward()
    assert ours.item() == pytest.approx(theirs.item(), rel=1e-12, abs=1e-14)
    np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-14)


def test_kl_div_matches_torch_batchmean():
    pred, target, _ = inputs("kl_div", np.float64)
    p, t, _ = _tensors(pred, target, {})
    q = p.detach().clone().requires_grad_(True)
    lct.kl_div(p, t).backward()
    F.kl_div(q, t, reduction="batchmean").backward()
    np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)


def test_cross_entropy_probability_targets_match_torch():
    rng = np.random.default_rng(7)
    logits = torch.from_numpy(rng.normal(size=(N, C))).requires_grad_(True)
    probs = torch.from_numpy(np.exp(_log_softmax(rng.normal(size=(N, C)))))
    q = logits.detach().clone().requires_grad_(True)
    lct.cross_entropy(logits, probs).backward()
    F.cross_entropy(q, probs).backward()
    np.testing.assert_allclose(logits.grad.numpy(), q.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_non_contiguous_inputs_and_no_grad():
    rng = np.random.default_rng(2)
    base = torch.from_numpy(rng.normal(size=(C, N)))
    p = base.t().requires_grad_(True)  # a transposed leaf: not contiguous
    t = torch.from_numpy(rng.normal(size=(C, N))).t()
    assert not p.is_contiguous()
    lct.huber(p, t).backward()
    want = losscore.grad(losscore.huber)(np.ascontiguousarray(p.detach().numpy()), t.numpy())
    np.testing.assert_array_equal(p.grad.numpy(), want)
    with torch.no_grad():
        value = lct.huber(p, t)
    assert value.grad_fn is None
    assert value.item() == losscore.huber(p.detach().numpy(), t.numpy())


def test_retain_graph_backward_twice_accumulates_the_same_gradient():
    pred, target, _ = inputs("log_cosh", np.float64)
    p, t, _ = _tensors(pred, target, {})
    loss = lct.log_cosh(p, t) * 2.0
    loss.backward(retain_graph=True)
    once = p.grad.clone()
    loss.backward()
    np.testing.assert_array_equal(p.grad.numpy(), 2 * once.numpy())


def test_inputs_are_read_in_place():
    x = torch.randn(1 << 21, dtype=torch.float64)  # 16 MiB
    y = torch.randn(1 << 21, dtype=torch.float64)
    assert float_view("pred", x).__array_interface__["data"][0] == x.data_ptr()
    tracemalloc.start()
    try:
        value = lct.mse(x, y)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < x.numel() * 8 // 16  # no array of the input's size was made
    assert value.item() == losscore.mse(x.numpy(), y.numpy())


def test_per_element_result_is_not_copied():
    x, y = torch.randn(1 << 20), torch.randn(1 << 20)
    tracemalloc.start()
    try:
        out = lct.mae(x, y, reduction="none")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # One output array of the input's size (made by the kernel, shared with the tensor).
    assert peak < 1.5 * x.numel() * 4
    np.testing.assert_array_equal(out.numpy(), np.abs(x.numpy() - y.numpy()))


def test_errors():
    x = torch.zeros(3, 2)
    with pytest.raises(DeviceError, match="meta"):
        lct.mse(torch.zeros(3, 2, device="meta"), x)
    with pytest.raises(DeviceError, match="meta"):
        lct.mse(x, torch.zeros(3, 2, device="meta"))
    with pytest.raises(DTypeError, match=r"logits.*int64"):
        lct.cross_entropy(torch.zeros(3, 2, dtype=torch.int64), torch.zeros(3, dtype=torch.int64))
    with pytest.raises(DTypeError, match="float16"):
        lct.mse(torch.zeros(3, dtype=torch.float16), torch.zeros(3, dtype=torch.float16))
    with pytest.raises(DTypeError, match=r"torch\.Tensor"):
        lct.mse(np.zeros(3), x)
    with pytest.raises(ParameterError, match=r"target.*detach"):
        lct.mse(x.requires_grad_(True), torch.zeros(3, 2, requires_grad=True))
    with pytest.raises(ShapeError):
        lct.mse(torch.zeros(3, 2), torch.zeros(2, 3))
    with pytest.raises(ParameterError):
        lct.huber(torch.zeros(3), torch.zeros(3), delta=-1.0)
    with pytest.raises(TypeError, match="missing"):
        lct.mse()


def test_signatures_follow_numpy():
    import inspect

    for name in NAMES:
        ours = inspect.signature(getattr(lct, name)).parameters
        assert list(ours) == list(inspect.signature(getattr(losscore, name)).parameters)
    p = torch.zeros(2, requires_grad=True)
    assert lct.mse(pred=p, target=torch.ones(2)).item() == 1.0


# ---- optimizers ------------------------------------------------------------------------------

SHAPES = [(3, 4), (5,), (2, 3, 2), (1,)]
OPTIMIZERS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "dampening": 0.3, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "amsgrad": True, "maximize": True, "betas": (0.8, 0.9)}),
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "initial_accumulator_value": 0.1}),
    ("Adadelta", {"lr": 0.5, "rho": 0.8, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.01, "weight_decay": 0.1}),
    ("NAdam", {"lr": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.01}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
]


@pytest.fixture
def float64_scalars():
    """torch keeps NAdam's mu_product and step counts in the default dtype: float64 here."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(previous)


def _groups(params):
    return [{"params": params[:2]}, {"params": params[2:], "lr": 0.003}]


def _run(opt, params, grads):
    for step_grads in grads:
        for p, g in zip(params, step_grads, strict=True):
            p.grad = g.clone()
        opt.step()


@pytest.mark.parametrize(("name", "hyper"), OPTIMIZERS, ids=lambda v: str(v))
def test_trajectory_equals_torch_optim(name, hyper, float64_scalars):
    gen = torch.Generator().manual_seed(0)
    init = [torch.randn(s, generator=gen, dtype=torch.float64) for s in SHAPES]
    f64 = torch.float64
    grads = [[torch.randn(s, generator=gen, dtype=f64) for s in SHAPES] for _ in range(25)]
    ours = [torch.nn.Parameter(t.clone()) for t in init]
    theirs = [torch.nn.Parameter(t.clone()) for t in init]
    _run(getattr(lct.optim, name)(_groups(ours), **hyper), ours, grads)
    _run(getattr(torch.optim, name)(_groups(theirs), **hyper), theirs, grads)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_lion_follows_its_update_rule():
    rng = np.random.default_rng(4)
    init = [rng.normal(size=s) for s in SHAPES]
    grads = [[rng.normal(size=s) for s in SHAPES] for _ in range(25)]
    params = [torch.nn.Parameter(torch.from_numpy(w.copy())) for w in init]
    lr, (b1, b2), wd = 0.01, (0.9, 0.99), 0.1
    opt = lct.optim.Lion(params, lr=lr, betas=(b1, b2), weight_decay=wd)
    _run(opt, params, [[torch.from_numpy(g) for g in gs] for gs in grads])
    for w0, p, k in zip(init, params, range(len(SHAPES)), strict=True):
        w, m = w0.copy(), np.zeros_like(w0)
        for gs in grads:
            g = gs[k]
            w = w * (1 - lr * wd) - lr * np.sign(b1 * m + (1 - b1) * g)
            m = b2 * m + (1 - b2) * g
        np.testing.assert_allclose(p.detach().numpy(), w, rtol=1e-12, atol=1e-14)


def test_float32_parameters_match_torch():
    gen = torch.Generator().manual_seed(1)
    init = [torch.randn(s, generator=gen) for s in SHAPES]
    grads = [[torch.randn(s, generator=gen) for s in SHAPES] for _ in range(25)]
    ours = [torch.nn.Parameter(t.clone()) for t in init]
    theirs = [torch.nn.Parameter(t.clone()) for t in init]
    _run(lct.optim.AdamW(_groups(ours), lr=0.01), ours, grads)
    _run(torch.optim.AdamW(_groups(theirs), lr=0.01), theirs, grads)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_parameters_without_gradients_are_skipped_like_torch(float64_scalars):
    gen = torch.Generator().manual_seed(2)
    init = [torch.randn(s, generator=gen) for s in SHAPES]
    ours = [torch.nn.Parameter(t.clone()) for t in init]
    theirs = [torch.nn.Parameter(t.clone()) for t in init]
    opt_a = lct.optim.Adam(ours, lr=0.05)
    opt_b = torch.optim.Adam(theirs, lr=0.05)
    for step in range(12):
        gs = [torch.randn(s, generator=gen) for s in SHAPES]
        for params, opt in ((ours, opt_a), (theirs, opt_b)):
            opt.zero_grad()
            for i, (p, g) in enumerate(zip(params, gs, strict=True)):
                if i != 1 or step % 3 == 0:  # parameter 1 only every third step
                    p.grad = g.clone()
            opt.step()
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=1e-12)
    assert opt_a.state[ours[1]]["step"].item() == 4


def test_non_contiguous_parameter_matches_torch():
    gen = torch.Generator().manual_seed(3)
    base = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    ours = torch.nn.Parameter(base.clone().t())
    theirs = torch.nn.Parameter(base.clone().t())
    assert not ours.is_contiguous()
    grads = [torch.randn(3, 4, generator=gen, dtype=torch.float64) for _ in range(5)]
    _run(lct.optim.SGD([ours], lr=0.1, momentum=0.9), [ours], [[g] for g in grads])
    _run(torch.optim.SGD([theirs], lr=0.1, momentum=0.9), [theirs], [[g] for g in grads])
    # Parameters are O(1): a few of their ulps absolutely, where an update cancels to near 0
    # (torch may fuse `p - lr * buf` into one rounding, losscore rounds twice).
    np.testing.assert_allclose(
        ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-14, atol=1e-15
    )


def _train(opt, params, gen, steps):
    for _ in range(steps):
        for p in params:
            p.grad = torch.randn(p.shape, generator=gen, dtype=p.dtype)
        opt.step()


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "NAdam", "RMSprop", "Lion"])
def test_state_dict_round_trip(name):
    hyper = {"SGD": {"momentum": 0.9}, "RMSprop": {"centered": True, "momentum": 0.3}}
    cls = getattr(lct.optim, name)
    init = [torch.randn(s, dtype=torch.float64) for s in SHAPES]
    a = [torch.nn.Parameter(t.clone()) for t in init]
    opt_a = cls(_groups(a), lr=0.01, **hyper.get(name, {}))
    _train(opt_a, a, torch.Generator().manual_seed(3), 10)
    buffer = io.BytesIO()
    torch.save(opt_a.state_dict(), buffer)  # a checkpoint on disk, as training code keeps it
    buffer.seek(0)
    saved = torch.load(buffer)
    b = [torch.nn.Parameter(p.detach().clone()) for p in a]
    opt_b = cls(_groups(b), lr=0.5)  # the loaded groups bring back lr and the rest
    opt_b.load_state_dict(saved)
    _train(opt_a, a, torch.Generator().manual_seed(4), 10)
    _train(opt_b, b, torch.Generator().manual_seed(4), 10)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x.detach().numpy(), y.detach().numpy())
    # The loaded dict was copied, not updated by the later steps.
    assert saved["state"][0]["step"].item() == 10
    assert opt_b.state_dict()["state"][0]["step"].item() == 20


def test_loads_a_torch_optim_state_dict(float64_scalars):
    init = [torch.randn(s) for s in SHAPES]
    a = [torch.nn.Parameter(t.clone()) for t in init]
    torch_opt = torch.optim.Adam(a, lr=0.01)
    _train(torch_opt, a, torch.Generator().manual_seed(5), 5)
    b = [torch.nn.Parameter(p.detach().clone()) for p in a]
    ours = lct.optim.Adam(b, lr=0.01)
    ours.load_state_dict(copy.deepcopy(torch_opt.state_dict()))
    _train(torch_opt, a, torch.Generator().manual_seed(6), 5)
    _train(ours, b, torch.Generator().manual_seed(6), 5)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x.detach().numpy(), y.detach().numpy(), rtol=1e-12)


def test_one_kernel_call_per_group_on_the_parameters_memory(monkeypatch):
    calls = []
    real = _core.adam_step

    def recording(params, grads, states, *args):
        calls.append([p.__array_interface__["data"][0] for p in params])
        return real(params, grads, states, *args)

    monkeypatch.setattr(_core, "adam_step", recording)
    params = [torch.nn.Parameter(torch.randn(s)) for s in SHAPES]
    opt = lct.optim.AdamW(_groups(params))
    calls.clear()  # the constructor validates each group's hyperparameters with empty lists
    _train(opt, params, torch.Generator().manual_seed(7), 3)
    assert len(calls) == 6  # 3 steps x 2 groups
    assert calls[-2] + calls[-1] == [p.data_ptr() for p in params]


def test_closure_zero_grad_and_version_counter():
    w = torch.nn.Parameter(torch.tensor([1.0, -2.0]))
    opt = lct.optim.SGD([w], lr=0.1)

    def closure():
        opt.zero_grad()
        loss = (w**2).sum()
        loss.backward()
        return loss

    version = w._version
    loss = opt.step(closure)
    assert loss.item() == 5.0
    np.testing.assert_allclose(w.detach().numpy(), [0.8, -1.6])
    assert w._version > version  # autograd sees the in-place update
    opt.zero_grad()
    assert w.grad is None


def test_optimizer_errors():
    with pytest.raises(DTypeError, match="int64"):
        lct.optim.Adam([torch.zeros(3, dtype=torch.int64)])
    with pytest.raises(DTypeError, match="float16"):
        lct.optim.Adam([torch.zeros(3, dtype=torch.float16, requires_grad=True)])
    with pytest.raises(DeviceError, match="meta"):
        lct.optim.SGD([torch.zeros(3, device="meta", requires_grad=True)])
    w = torch.nn.Parameter(torch.zeros(3))
    with pytest.raises(ParameterError):
        lct.optim.Adam([w], lr=-1.0)
    with pytest.raises(ParameterTypeError, match="lr"):
        lct.optim.Adam([w], lr=True)
    with pytest.raises(ParameterTypeError, match="betas"):
        lct.optim.Adam([w], betas="ab")
    with pytest.raises(ParameterTypeError, match="amsgrad"):
        lct.optim.Adam([w], amsgrad=1)
    with pytest.raises(TypeError, match="momentum"):
        lct.optim.Adam([w], momentum=0.9)
    with pytest.raises(ParameterError, match="differentiable"):
        lct.optim.Adam([w], differentiable=True)
    lct.optim.AdamW([w], fused=True, foreach=False)  # torch's switches: accepted, no effect
    opt = lct.optim.Adam([w])
    with pytest.raises(ParameterError):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "eps": -1.0})
    assert len(opt.param_groups) == 1  # a rejected group is not kept
    opt.param_groups[0]["lr"] = "fast"
    w.grad = torch.ones(3)
    with pytest.raises(ParameterTypeError, match="lr"):
        opt.step()
    np.testing.assert_array_equal(w.detach().numpy(), np.zeros(3))


def test_inside_torch_compile():
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 3).double()
    x, y = torch.randn(8, 4, dtype=torch.float64), torch.randint(0, 3, (8,))

    def loss_of(x, y):
        return lct.cross_entropy(model(x), y, label_smoothing=0.1)

    compiled = torch.compile(loss_of, backend="eager")
    loss = compiled(x, y)
    loss.backward()
    got = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    want = F.cross_entropy(model(x), y, label_smoothing=0.1)
    want.backward()
    assert loss.item() == pytest.approx(want.item(), rel=1e-12)
    for g, p in zip(got, model.parameters(), strict=True):
        np.testing.assert_allclose(g.numpy(), p.grad.numpy(), rtol=1e-10, atol=1e-15)


def test_example_trains():
    import os
    import pathlib
    import subprocess
    import sys

    script = pathlib.Path(__file__).parent.parent / "examples" / "torch_training.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # tiny matrices: threads only contend
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    last_epoch = [line for line in result.stdout.splitlines() if line.startswith("epoch")][-1]
    assert float(last_epoch.rsplit("val accuracy", 1)[1]) > 0.9
