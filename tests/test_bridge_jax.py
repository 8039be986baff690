"""losscore.jax against the NumPy functions (bit for bit), JAX's own autodiff of a NumPy-style
formula, finite differences (check_grads), under jit, grad and vmap, with the real JAX."""

from __future__ import annotations

import numpy as np
import pytest

jax = pytest.importorskip("jax")
jnp = jax.numpy

from bridge_inputs import RECIPES, inputs  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import losscore  # noqa: E402
import losscore.jax as lcj  # noqa: E402
from losscore import _bridges  # noqa: E402
from losscore.errors import DTypeError, ParameterError, ShapeError, TargetError  # noqa: E402

# Losses of a (pred, target) pair; those of several inputs: test_bridge_several_inputs.py.
NAMES = [n for n in _bridges._loss_names() if len(losscore.losses.registry[n].arrays) == 2]


@pytest.fixture
def x64():
    """float64 JAX arrays for this test only."""
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


@pytest.fixture(params=[np.float32, np.float64], ids=["float32", "float64"])
def dtype(request):
    if request.param == np.float64:
        previous = jax.config.jax_enable_x64
        jax.config.update("jax_enable_x64", True)
        yield request.param
        jax.config.update("jax_enable_x64", previous)
    else:
        yield request.param


def _jax_args(pred, target, kwargs):
    return (
        jnp.asarray(pred),
        jnp.asarray(target),
        {k: jnp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()},
    )


def test_every_loss_is_wrapped():
    assert set(NAMES) == set(RECIPES)
    assert set(NAMES) <= set(lcj.__all__)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", NAMES)
def test_value_and_gradient_equal_numpy_under_jit(name, dtype, reduction):
    pred, target, kwargs = inputs(name, dtype)
    if np.dtype(target.dtype).kind == "i":
        target = target.astype(np.int32)  # JAX's default integer without x64
    fn = getattr(losscore, name)
    want_value, want_grad = losscore.value_and_grad(fn)(pred, target, **kwargs, reduction=reduction)
    p, t, kw = _jax_args(pred, target, kwargs)
    loss = getattr(lcj, name)
    value = jax.jit(lambda a, b: loss(a, b, **kw, reduction=reduction))(p, t)
    assert value.dtype == dtype
    if reduction == "none":
        np.testing.assert_array_equal(np.asarray(value), want_value)
        cot = np.random.default_rng(1).normal(size=want_value.shape).astype(dtype)
        _, vjp = jax.vjp(lambda a: loss(a, t, **kw, reduction="none"), p)
        (g,) = jax.jit(vjp)(jnp.asarray(cot))
        scale = cot[..., None] if want_grad.ndim > cot.ndim else cot
        np.testing.assert_array_equal(np.asarray(g), want_grad * scale)
    else:
        assert value.shape == ()
        assert value == np.asarray(want_value, dtype=dtype)
        v, g = jax.jit(jax.value_and_grad(lambda a: loss(a, t, **kw, reduction=reduction)))(p)
        assert v == value
        np.testing.assert_array_equal(np.asarray(g), want_grad)


@pytest.mark.parametrize("name", NAMES)
def test_check_grads_float64(name, x64):
    pred, target, kwargs = inputs(name, np.float64, seed=3)
    p, t, kw = _jax_args(pred, target, kwargs)
    loss = getattr(lcj, name)
    check_grads(lambda a: loss(a, t, **kw), (p,), order=1, modes=["rev"], eps=1e-6)
    check_grads(
        lambda a: jnp.sum(loss(a, t, **kw, reduction="none") ** 2),
        (p,),
        order=1,
        modes=["rev"],
        eps=1e-6,
    )


def test_gradient_equals_jax_autodiff_of_the_formula(x64):
    rng = np.random.default_rng(5)
    logits, labels = rng.normal(size=(8, 5)), rng.integers(0, 5, size=8)
    weights = rng.uniform(size=8)

    def reference(x):  # weighted per-sample cross-entropy, then a weighted sum
        logp = jax.nn.log_softmax(x)
        return jnp.sum(-logp[jnp.arange(8), labels] * weights)

    def ours(x):
        return jnp.sum(lcj.cross_entropy(x, labels, reduction="none") * weights)

    v1, g1 = jax.jit(jax.value_and_grad(ours))(jnp.asarray(logits))
    v2, g2 = jax.value_and_grad(reference)(jnp.asarray(logits))
    np.testing.assert_allclose(v1, v2, rtol=1e-13)
    np.testing.assert_allclose(g1, g2, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", NAMES)
def test_vmap_equals_a_loop(name, x64):
    batch = [inputs(name, np.float64, seed=s) for s in range(3)]
    preds = jnp.stack([jnp.asarray(b[0]) for b in batch])
    targets = jnp.stack([jnp.asarray(b[1]) for b in batch])
    kwargs = batch[0][2]
    kw = {k: jnp.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    loss = getattr(lcj, name)
    fused = losscore.value_and_grad(getattr(losscore, name))

    values, grads = jax.jit(jax.vmap(jax.value_and_grad(lambda a, b: loss(a, b, **kw))))(
        preds, targets
    )
    for i, (p, t, _) in enumerate(batch):
        v, g = fused(p, t, **kwargs)
        assert values[i] == v
        np.testing.assert_array_equal(np.asarray(grads[i]), g)


def test_vmap_with_an_unbatched_target_and_nested_vmap(x64):
    rng = np.random.default_rng(6)
    preds, target = rng.normal(size=(2, 3, 4)), rng.normal(size=4)
    out = jax.vmap(jax.vmap(lcj.mse, in_axes=(0, None)), in_axes=(0, None))(
        jnp.asarray(preds), jnp.asarray(target)
    )
    want = [[losscore.mse(preds[i, j], target) for j in range(3)] for i in range(2)]
    np.testing.assert_array_equal(np.asarray(out), np.array(want))


def test_training_step_under_jit_decreases_the_loss():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(64, 5)), dtype=jnp.float32)
    y = jnp.asarray(rng.integers(0, 3, size=64))
    w = jnp.zeros((5, 3))

    @jax.jit
    def step(w):
        loss, g = jax.value_and_grad(lambda w: lcj.cross_entropy(x @ w, y))(w)
        return w - 0.5 * g, loss

    losses = []
    for _ in range(20):
        w, loss = step(w)
        losses.append(float(loss))
    assert losses[0] == pytest.approx(np.log(3), rel=1e-6)
    assert losses[-1] < losses[0] - 0.05


def test_errors():
    x = jnp.zeros((3, 2))
    with pytest.raises(DTypeError, match="int32"):
        lcj.cross_entropy(jnp.zeros((3, 2), dtype=jnp.int32), jnp.zeros(3, dtype=jnp.int32))
    with pytest.raises(ShapeError, match=r"\(3, 2\).*\(2, 3\)"):
        jax.jit(lcj.mse)(x, jnp.zeros((2, 3)))
    with pytest.raises(ShapeError, match="weight"):
        jax.jit(lambda a, w: lcj.mse(a, a, weight=w))(x, jnp.ones((4, 2)))
    with pytest.raises(ParameterError, match="delta"):
        jax.jit(lambda a: lcj.huber(a, a, delta=-1.0))(x)
    with pytest.raises(ParameterError, match="reduction"):
        lcj.mse(x, x, reduction="avg")
    with pytest.raises(ParameterError, match=r"target.*stop_gradient"):
        jax.grad(lambda a: lcj.mse(a, 2 * a))(x)
    # Value checks run in the callback: under jit JAX re-raises them with losscore's message.
    with pytest.raises(Exception, match="TargetError"):
        jax.jit(lcj.cross_entropy)(x, jnp.array([0, 5, 1])).block_until_ready()
    with pytest.raises(TargetError):
        losscore.cross_entropy(np.zeros((3, 2)), np.array([0, 5, 1]))


def test_vmap_over_single_rows_of_a_class_loss(x64):
    rng = np.random.default_rng(8)
    logits, labels = rng.normal(size=(5, 4)), rng.integers(0, 4, size=5)
    per_row = jax.vmap(lcj.cross_entropy)(jnp.asarray(logits), jnp.asarray(labels))
    want = losscore.cross_entropy(logits, labels, reduction="none")
    np.testing.assert_array_equal(np.asarray(per_row), want)


def test_eager_calls_compute_directly_and_raise_losscore_errors():
    pred, target, kwargs = inputs("huber", np.float32)
    value = lcj.huber(jnp.asarray(pred), jnp.asarray(target), **kwargs)
    assert value.dtype == np.float32
    assert value == np.float32(losscore.huber(pred, target, **kwargs))
    with pytest.raises(TargetError):
        lcj.cross_entropy(jnp.zeros((3, 2)), jnp.array([0, 5, 1]))
    with pytest.raises(AttributeError):
        lcj.not_a_loss  # noqa: B018


def test_example_trains():
    import os
    import pathlib
    import subprocess
    import sys

    script = pathlib.Path(__file__).parent.parent / "examples" / "jax_training.py"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # tiny matrices: threads only contend
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=300, env=env
    )
    assert result.returncode == 0, result.stdout + result.stderr
    last_epoch = [line for line in result.stdout.splitlines() if line.startswith("epoch")][-1]
    assert float(last_epoch.rsplit("val accuracy", 1)[1]) > 0.9
