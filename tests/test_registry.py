"""The loss registry (``losscore.losses``): complete, and each spec's claims hold when the loss
is called (kind -> result shape, class_target -> integer targets, chunked -> ``evaluate``)."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest

import losscore
from losscore.errors import ParameterError
from losscore.losses import register, registry, resolve_loss

# The public losses, spelled out independently of the registry.
PUBLIC_LOSSES = {
    "mse", "mae", "huber", "smooth_l1", "log_cosh", "pinball", "poisson_nll",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "sigmoid_focal", "soft_margin",
    "hinge", "squared_hinge", "kl_div", "cross_entropy", "nll_loss", "multi_margin",
    "softmax_focal", "multilabel_soft_margin",
    "poisson_deviance", "gamma_deviance", "tweedie_deviance",
}  # fmt: skip
# Losses of several inputs (checked in test_losses_multi_input.py).
SEVERAL_INPUTS = {"gaussian_nll", "margin_ranking", "cosine_embedding", "triplet_margin"}
ROWS, CLASSES = 6, 4


def _inputs(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Valid (first, target) for each loss, built from its documented domain."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((ROWS, CLASSES))
    if name in ("cross_entropy", "nll_loss", "multi_margin", "softmax_focal"):
        return x, np.arange(ROWS) % CLASSES
    if name == "multilabel_soft_margin":
        return x, (rng.random(x.shape) < 0.5).astype(np.float64)
    if name == "binary_cross_entropy":
        return rng.uniform(0.05, 0.95, x.shape), rng.uniform(0, 1, x.shape)
    if name in ("hinge", "squared_hinge", "soft_margin"):
        return x, np.where(rng.random(x.shape) < 0.5, -1.0, 1.0)
    if name == "kl_div":
        return np.log(rng.uniform(0.1, 1, x.shape)), rng.uniform(0, 1, x.shape)
    if name == "poisson_nll":
        return x, rng.poisson(2.0, x.shape).astype(np.float64)
    if name in ("poisson_deviance", "gamma_deviance", "tweedie_deviance"):
        return rng.uniform(0.1, 3, x.shape), rng.uniform(0.1, 3, x.shape)
    return x, rng.standard_normal(x.shape)


def test_every_public_loss_is_registered_and_exported():
    assert set(registry) == PUBLIC_LOSSES | SEVERAL_INPUTS
    for name, spec in registry.items():
        assert spec.name == name
        assert getattr(losscore, name) is spec.function
        assert name in losscore.__all__
        assert spec.kernel is getattr(losscore._core, name)


@pytest.mark.parametrize("name", sorted(PUBLIC_LOSSES))
def test_spec_matches_the_wrapper_signature(name):
    spec = registry[name]
    params = inspect.signature(spec.function).parameters
    assert spec.first_arg == next(iter(params))
    keyword = [p for p in params.values() if p.kind is inspect.Parameter.KEYWORD_ONLY]
    assert [p.name for p in keyword][-2:] == ["weight", "reduction"]
    assert dict(spec.defaults) == {p.name: p.default for p in keyword if p.name != "weight"}
    assert set(spec.hyperparameters) == {p.name for p in keyword} - {"weight", "reduction"}


@pytest.mark.parametrize("name", sorted(PUBLIC_LOSSES))
def test_kind_decides_the_shape_of_the_unreduced_loss(name):
    spec = registry[name]
    first, target = _inputs(name)
    out = np.asarray(spec.function(first, target, reduction="none"))
    expected = first.shape if spec.kind == "elementwise" else first.shape[:-1]
    assert out.shape == expected


@pytest.mark.parametrize("name", sorted(PUBLIC_LOSSES))
def test_class_target_means_integer_class_indices(name):
    spec = registry[name]
    first = np.zeros((ROWS, CLASSES))
    labels = np.arange(ROWS) % CLASSES
    if spec.class_target:
        # One class index per row; a one-hot encoding of it is not the same call.
        assert math.isfinite(spec.function(first, labels))
    else:
        with pytest.raises(ValueError):  # a (ROWS,) target against (ROWS, CLASSES)
            spec.function(first, labels)


@pytest.mark.parametrize("name", sorted(PUBLIC_LOSSES))
def test_chunked_losses_evaluate_like_the_in_memory_call(name):
    spec = registry[name]
    first, target = _inputs(name)
    if spec.chunked:
        reduction = spec.defaults["reduction"]
        got = losscore.evaluate(name, first, target, reduction=reduction)
        assert got == spec.function(first, target)
    else:
        with pytest.raises(ParameterError, match="class axis"):
            losscore.evaluate(name, first, target)


@pytest.mark.parametrize("name", sorted(PUBLIC_LOSSES))
def test_fused_is_value_and_grad_and_agrees_with_finite_differences(name):
    spec = registry[name]
    assert spec.grad and spec.hess
    assert losscore.value_and_grad(spec.function) is spec.fused
    assert losscore.value_grad_hess(spec.function) is spec.fused_hess
    first, target = _inputs(name)
    value, g = spec.fused(first, target, reduction="sum")
    assert value == spec.function(first, target, reduction="sum")
    h = 1e-6
    for index in [(0, 0), (ROWS - 1, CLASSES - 1)]:
        up, down = first.copy(), first.copy()
        up[index] += h
        down[index] -= h
        slope = (spec.function(up, target, reduction="sum")
                 - spec.function(down, target, reduction="sum")) / (2 * h)
        assert g[index] == pytest.approx(slope, rel=1e-5, abs=1e-6)


@pytest.mark.parametrize("name", sorted(PUBLIC_LOSSES))
def test_fused_hess_adds_the_diagonal_to_the_same_value_and_gradient(name):
    spec = registry[name]
    first, target = _inputs(name)
    value, g = spec.fused(first, target, reduction="sum")
    value_h, g_h, hess = spec.fused_hess(first, target, reduction="sum")
    assert value_h == value
    np.testing.assert_array_equal(g_h, g)
    assert hess.shape == first.shape and hess.dtype == first.dtype
    # The diagonal against central differences of the fused gradient itself.
    h = 1e-5
    for index in [(0, 0), (ROWS - 1, CLASSES - 1)]:
        up, down = first.copy(), first.copy()
        up[index] += h
        down[index] -= h
        slope = (spec.fused(up, target, reduction="sum")[1][index]
                 - spec.fused(down, target, reduction="sum")[1][index]) / (2 * h)
        assert hess[index] == pytest.approx(slope, rel=1e-4, abs=1e-5)
    g2, h2 = losscore.grad_hess(spec.function)(first, target, reduction="sum")
    np.testing.assert_array_equal(g2, g)
    np.testing.assert_array_equal(h2, hess)


def test_resolve_loss_by_name_or_function():
    assert resolve_loss("huber") is registry["huber"]
    assert resolve_loss(losscore.huber) is registry["huber"]
    assert resolve_loss("cross_entropy").kind == "rows"


@pytest.mark.parametrize("bad", ["hubr", "", "MSE", None, 3, losscore.evaluate, lambda p, t: 0.0])
def test_resolve_loss_rejects_what_is_not_a_loss(bad):
    with pytest.raises(ParameterError, match="unknown loss"):
        resolve_loss(bad)


def test_unknown_names_get_suggestions_and_the_known_list():
    with pytest.raises(ParameterError, match=r"did you mean 'huber'\?.*known: .*mse"):
        resolve_loss("hubr")
    with pytest.raises(ParameterError) as info:
        resolve_loss("nope", chunked=True)
    assert "did you mean" not in str(info.value)
    known = set(str(info.value).split("known: ")[1].split(", "))
    # Every loss streams (Accumulator), the class-axis ones and those of several inputs included.
    assert known == PUBLIC_LOSSES | SEVERAL_INPUTS


def test_a_copy_of_a_loss_function_is_not_the_loss():
    def mse(pred, target, *, weight=None, reduction="mean"):
        return 0.0

    with pytest.raises(ParameterError, match="unknown loss"):
        resolve_loss(mse)
    with pytest.raises(TypeError, match="no registered closed-form gradient"):
        losscore.value_and_grad(mse)


def test_registering_a_name_twice_is_refused():
    def huber(pred, target, *, delta=1.0, weight=None, reduction="mean"):
        return 0.0

    with pytest.raises(ParameterError, match="registered twice"):
        register(losscore._core.huber, kind="elementwise")(huber)
    assert registry["huber"].function is losscore.huber


def test_registry_is_read_only():
    with pytest.raises(TypeError):
        registry["mse"] = registry["mae"]  # type: ignore[index]
    with pytest.raises(TypeError):
        registry["mse"].defaults["reduction"] = "sum"  # type: ignore[index]


def _positional_weight(pred, target, weight=None, *, reduction="mean"):
    return 0.0


def _no_reduction(pred, target, *, weight=None):
    return 0.0


def _extra_positional(pred, target, delta, *, weight=None, reduction="mean"):
    return 0.0


def _kwargs_catch_all(pred, target, **kwargs):
    return 0.0


@pytest.mark.parametrize("wrapper", [_positional_weight, _no_reduction, _extra_positional,
                                     _kwargs_catch_all])
def test_wrappers_outside_the_convention_are_refused(wrapper):
    with pytest.raises(ParameterError, match="a loss wrapper takes"):
        register(losscore._core.mse, kind="elementwise")(wrapper)
    assert wrapper.__name__ not in registry


def test_unknown_kind_is_refused():
    with pytest.raises(ParameterError, match="kind"):
        register(losscore._core.mse, kind="pointwise")  # type: ignore[arg-type]
