"""The losses of several inputs in the framework bridges: ``losscore.torch`` and
``losscore.jax`` differentiate every input, with the NumPy functions' bits, PyTorch's own
functions as the reference, ``torch.autograd.gradcheck`` and ``jax.test_util.check_grads``."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")

import jax.numpy as jnp  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import losscore  # noqa: E402
import losscore.jax as lcj  # noqa: E402
import losscore.torch as lct  # noqa: E402
from losscore.errors import ParameterError  # noqa: E402
from losscore.losses import registry  # noqa: E402

N, D = 6, 4
SEVERAL = [name for name, spec in registry.items() if len(spec.inputs) > 1]


def _signs(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


# Valid inputs: (differentiable arrays, label or None, keyword arguments), float64.
RECIPES = {
    "gaussian_nll": lambda r: (
        [r.normal(size=(N, D)), r.normal(size=(N, D)), r.uniform(0.2, 2.0, (N, D))], None,
        {"full": True},
    ),
    "margin_ranking": lambda r: (
        [r.normal(size=(N, D)), r.normal(size=(N, D))], _signs(r, (N, D)), {"margin": 0.2},
    ),
    "cosine_embedding": lambda r: (
        [r.normal(size=(N, D)), r.normal(size=(N, D))], _signs(r, (N,)), {"margin": -0.3},
    ),
    "triplet_margin": lambda r: (
        [r.normal(size=(N, D)), r.normal(size=(N, D)), r.normal(size=(N, D))], None,
        {"swap": True, "margin": 2.0},
    ),
}


def inputs(name, dtype, seed=0):
    arrays, label, kwargs = RECIPES[name](np.random.default_rng(seed))
    arrays = [a.astype(dtype) for a in arrays]
    return arrays, None if label is None else label.astype(dtype), kwargs


def ordered(arrays, label):
    return [*arrays[:2], label, *arrays[2:]] if label is not None else list(arrays)


def test_every_loss_of_several_inputs_is_bridged():
    assert set(SEVERAL) == set(RECIPES) == {
        "gaussian_nll", "margin_ranking", "cosine_embedding", "triplet_margin"
    }
    assert set(registry) <= set(lct.__all__) and set(registry) <= set(lcj.__all__)


# -- torch -----------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("name", SEVERAL)
def test_torch_gradients_of_every_input_equal_numpy_bit_for_bit(name, dtype, reduction):
    arrays, label, kwargs = inputs(name, dtype)
    every = tuple(range(len(arrays)))
    want_value, want = losscore.value_and_grad(getattr(losscore, name), argnums=every)(
        *ordered(arrays, label), **kwargs, reduction=reduction
    )
    tensors = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
    label_t = None if label is None else torch.from_numpy(label)
    value = getattr(lct, name)(*ordered(tensors, label_t), **kwargs, reduction=reduction)
    assert value.dtype == tensors[0].dtype
    if reduction == "none":
        np.testing.assert_array_equal(value.detach().numpy(), want_value)
        seed = np.random.default_rng(1).normal(size=want_value.shape).astype(dtype)
        value.backward(torch.from_numpy(seed))
        scale = seed[..., None] if want[0].ndim > seed.ndim else seed
        for t, g in zip(tensors, want, strict=True):
            np.testing.assert_array_equal(t.grad.numpy(), g * scale)
    else:
        assert value.item() == float(np.asarray(want_value, dtype=dtype))
        value.backward()
        for t, g in zip(tensors, want, strict=True):
            np.testing.assert_array_equal(t.grad.numpy(), g)


@pytest.mark.parametrize("name", SEVERAL)
def test_torch_only_inputs_that_require_a_gradient_get_one(name):
    arrays, label, kwargs = inputs(name, np.float64)
    tensors = [torch.from_numpy(a.copy()) for a in arrays]
    tensors[1].requires_grad_()
    label_t = None if label is None else torch.from_numpy(label)
    getattr(lct, name)(*ordered(tensors, label_t), **kwargs).backward()
    assert tensors[0].grad is None and tensors[1].grad is not None
    want = losscore.grad(getattr(losscore, name), argnums=1)(*ordered(arrays, label), **kwargs)
    np.testing.assert_array_equal(tensors[1].grad.numpy(), want)


TORCH = {
    "gaussian_nll": lambda ts, y, kw, r: F.gaussian_nll_loss(*ts, reduction=r, **kw),
    "margin_ranking": lambda ts, y, kw, r: F.margin_ranking_loss(*ts, y, reduction=r, **kw),
    "cosine_embedding": lambda ts, y, kw, r: F.cosine_embedding_loss(*ts, y, reduction=r, **kw),
    "triplet_margin": lambda ts, y, kw, r: F.triplet_margin_loss(*ts, reduction=r, **kw),
}


@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("name", SEVERAL)
def test_torch_training_code_gets_torchs_own_gradients(name, reduction):
    arrays, label, kwargs = inputs(name, np.float64, seed=4)
    label_t = None if label is None else torch.from_numpy(label)
    ours = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
    theirs = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
    mine = getattr(lct, name)(*ordered(ours, label_t), **kwargs, reduction=reduction)
    ref = TORCH[name](theirs, label_t, kwargs, reduction)
    torch.testing.assert_close(mine, ref, rtol=1e-12, atol=1e-14)
    mine.sum().backward()
    ref.sum().backward()
    for a, b in zip(ours, theirs, strict=True):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", SEVERAL)
def test_torch_gradcheck_float64(name):
    arrays, label, kwargs = inputs(name, np.float64, seed=3)
    label_t = None if label is None else torch.from_numpy(label)
    tensors = tuple(torch.from_numpy(a.copy()).requires_grad_() for a in arrays)
    fn = getattr(lct, name)
    assert torch.autograd.gradcheck(
        lambda *ts: fn(*ordered(list(ts), label_t), **kwargs), tensors, eps=1e-6, atol=1e-5
    )


def test_torch_refuses_a_label_that_requires_a_gradient():
    arrays, label, _ = inputs("margin_ranking", np.float64)
    x1, x2 = (torch.from_numpy(a) for a in arrays)
    y = torch.from_numpy(label).requires_grad_()
    with pytest.raises(ParameterError, match="differentiates x1, x2 only"):
        lct.margin_ranking(x1, x2, y)


# -- jax -------------------------------------------------------------------------------------


@pytest.fixture
def x64():
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", SEVERAL)
def test_jax_gradients_under_jit_equal_numpy(x64, name, reduction):
    arrays, label, kwargs = inputs(name, np.float64)
    every = tuple(range(len(arrays)))
    want_value, want = losscore.value_and_grad(getattr(losscore, name), argnums=every)(
        *ordered(arrays, label), **kwargs, reduction=reduction
    )
    fn = getattr(lcj, name)
    y = None if label is None else jnp.asarray(label)

    def total(*xs):
        value = fn(*ordered(list(xs), y), **kwargs, reduction=reduction)
        return value.sum() if reduction == "none" else value

    value, grads = jax.jit(jax.value_and_grad(total, argnums=every))(*map(jnp.asarray, arrays))
    np.testing.assert_allclose(value, np.sum(want_value), rtol=1e-15)
    for g, w in zip(grads, want, strict=True):
        np.testing.assert_array_equal(np.asarray(g), w)


@pytest.mark.parametrize("name", SEVERAL)
def test_jax_check_grads_and_vmap(x64, name):
    arrays, label, kwargs = inputs(name, np.float64, seed=5)
    fn = getattr(lcj, name)
    y = None if label is None else jnp.asarray(label)
    xs = tuple(map(jnp.asarray, arrays))
    check_grads(lambda *a: fn(*ordered(list(a), y), **kwargs), xs, order=1, modes=["rev"])
    # vmap over a new leading axis equals a loop over it.
    stacked = [jnp.stack([x, 2.0 * x]) for x in xs]
    ys = None if y is None else jnp.stack([y, y])
    batched = jax.vmap(lambda *a: fn(*ordered(list(a[: len(xs)]), a[-1] if y is not None
                                              else None), **kwargs))(
        *stacked, *([] if ys is None else [ys])
    )
    loop = [fn(*ordered([s[i] for s in stacked], y), **kwargs) for i in range(2)]
    np.testing.assert_array_equal(np.asarray(batched), np.asarray(loop))


def test_jax_refuses_differentiating_the_label(x64):
    arrays, label, _ = inputs("cosine_embedding", np.float64)
    x1, x2 = map(jnp.asarray, arrays)
    with pytest.raises(ParameterError, match="differentiates x1, x2 only"):
        jax.grad(lambda y: lcj.cosine_embedding(x1, x2, y))(jnp.asarray(label))
