"""Every losscore loss as a PyTorch function on CPU tensors, differentiable through
``torch.autograd``.

Each function is built from the NumPy-level loss of the same name: the forward pass hands the
tensors' memory to losscore without a copy (``Tensor.numpy()``) and, when the first argument
requires a gradient, computes the value and the gradient in one fused pass; the backward pass
returns that gradient times ``grad_output`` (per element, or per sample row for class losses,
with ``reduction="none"``). The first argument is differentiated; a loss of several inputs
(``gaussian_nll``, ``margin_ranking``, ``cosine_embedding``, ``triplet_margin``) differentiates
every input that requires a gradient, all from the same pass.

>>> import torch
>>> import losscore.torch as lct
>>> logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]], requires_grad=True)
>>> loss = lct.cross_entropy(logits, torch.tensor([0, 2]))
>>> loss
tensor(0.6691, grad_fn=<FusedLossBackward>)
>>> loss.backward()
>>> bool(logits.grad.sum(dim=-1).abs().max() < 1e-6)  # softmax minus one-hot: rows sum to 0
True
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch.autograd.function import once_differentiable

from .. import _bridges
from ..errors import ParameterError
from ..gradients import value_and_grad
from ..losses import registry
from ._tensors import as_numpy, float_view

__all__ = list(_bridges._loss_names())


class FusedLoss(torch.autograd.Function):
    """One autograd node for every loss: the fused gradient saved by the forward pass."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        pred: torch.Tensor,
        view: np.ndarray,
        fused: Callable[..., Any],
        rest: tuple[Any, ...],
        params: dict[str, Any],
    ) -> torch.Tensor:
        value, grad = fused(view, *rest, **params)
        ctx.grad = torch.from_numpy(grad)
        return _as_tensor(value, pred.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        return _chain(ctx.grad, grad_output), None, None, None, None


class FusedMultiLoss(torch.autograd.Function):
    """The autograd node of a loss of several inputs: the gradients of the inputs that require
    one, from one fused pass (``argnums``)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        call: Callable[[], tuple[Any, tuple[np.ndarray, ...]]],
        dtype: torch.dtype,
        *tensors: torch.Tensor,
    ) -> torch.Tensor:
        value, grads = call()
        ctx.grads = tuple(torch.from_numpy(g) for g in grads)
        return _as_tensor(value, dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[Any, ...]:  # type: ignore[override]
        return (None, None, *(_chain(g, grad_output) for g in ctx.grads))


def _chain(grad: torch.Tensor, grad_output: torch.Tensor) -> torch.Tensor:
    """The saved gradient times ``grad_output`` (per unit with ``reduction="none"``)."""
    if grad_output.ndim == 0:
        # loss.backward() seeds 1.0: the saved gradient is already the answer.
        return grad if grad_output.item() == 1.0 else grad * grad_output
    if grad_output.ndim < grad.ndim:  # per-sample losses of a loss over the last axis
        return grad * grad_output.unsqueeze(-1)
    return grad * grad_output


def _as_tensor(value: Any, dtype: torch.dtype) -> torch.Tensor:
    """Per-element losses as a tensor over the same memory; a total as a 0-d tensor."""
    if isinstance(value, np.ndarray):
        return torch.from_numpy(value)
    return torch.tensor(value, dtype=dtype)


def _constant(loss: str, first: str, name: str, value: Any) -> Any:
    """A non-differentiated argument: tensors become NumPy views, anything else passes."""
    if not isinstance(value, torch.Tensor):
        return value
    if value.requires_grad and torch.is_grad_enabled():
        raise ParameterError(
            f"{name}: losscore.torch.{loss} differentiates {first} only; "
            f"pass {name}.detach()"
        )
    return as_numpy(name, value)


def _several(name: str, fn: Callable[..., Any], inputs: tuple[str, ...]) -> Callable[..., Any]:
    """The torch function of a loss of several inputs (each input may require a gradient)."""
    positional = list(registry[name].arrays)
    fused = {}

    def loss(*args: Any, **kwargs: Any) -> torch.Tensor:
        if len(args) < len(positional):  # arguments given by name
            args = (*args, *(kwargs.pop(n) for n in positional[len(args) :] if n in kwargs))
        if len(args) < len(inputs):
            raise TypeError(f"{name}() missing required argument: '{positional[len(args)]}'")
        views: list[Any] = []
        wanted: list[int] = []
        for k, (arg, value) in enumerate(zip(positional, args, strict=False)):
            if k < len(inputs):
                views.append(float_view(arg, value) if isinstance(value, torch.Tensor) else value)
                if isinstance(value, torch.Tensor) and value.requires_grad:
                    wanted.append(k)
            else:
                views.append(_constant(name, ", ".join(inputs), arg, value))
        views += list(args[len(positional) :])  # the NumPy function reports extra arguments
        params = {k: _constant(name, ", ".join(inputs), k, v) for k, v in kwargs.items()}
        first = args[0]
        dtype = first.dtype if isinstance(first, torch.Tensor) else torch.float64
        if not wanted or not torch.is_grad_enabled():
            return _as_tensor(fn(*views, **params), dtype)
        key = tuple(wanted)
        if key not in fused:
            fused[key] = value_and_grad(fn, argnums=key)
        tensors = [args[k] for k in wanted]
        return FusedMultiLoss.apply(lambda: fused[key](*views, **params), dtype, *tensors)

    return loss


def _bridge(name: str) -> Callable[..., torch.Tensor]:
    fn = _bridges.loss_function(name)
    fused = value_and_grad(fn)
    sig = inspect.signature(fn)
    positional = [
        p.name for p in sig.parameters.values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    first = positional[0]
    inputs = registry[name].inputs

    def loss(*args: Any, **kwargs: Any) -> torch.Tensor:
        if len(args) < len(positional):  # arguments given by name
            args = (*args, *(kwargs.pop(n) for n in positional[len(args) :] if n in kwargs))
        if not args:
            raise TypeError(f"{name}() missing required argument: '{first}'")
        pred = args[0]
        view = float_view(first, pred)
        rest = tuple(
            _constant(name, first, arg, value)
            for arg, value in zip(positional[1:], args[1:], strict=False)
        )
        if len(args) > len(positional):
            rest += args[len(positional) :]  # the NumPy function reports the extra arguments
        params = {k: _constant(name, first, k, v) for k, v in kwargs.items()}
        if pred.requires_grad and torch.is_grad_enabled():
            return FusedLoss.apply(pred, view, fused, rest, params)
        return _as_tensor(fn(view, *rest, **params), pred.dtype)

    if len(inputs) > 1:
        loss = _several(name, fn, inputs)
    # torch.compile runs the loss as it is (a clean graph break, no tracing into the kernel).
    loss = torch.compiler.disable(loss)
    loss.__name__ = loss.__qualname__ = name
    loss.__module__ = __name__
    loss.__signature__ = sig.replace(return_annotation=torch.Tensor)  # type: ignore[attr-defined]
    loss.__doc__ = _bridges.bridge_doc(
        fn,
        f"``losscore.{name}`` on CPU tensors, differentiable in "
        f"{', '.join(f'``{n}``' for n in inputs)}.\n\n"
        f"Arguments as :func:`losscore.{name}` (tensors, arrays or numbers). Returns a 0-d tensor "
        f'of ``{first}``\'s dtype for ``"mean"``/``"sum"`` (the float64 total rounded once), the '
        f'per-element (per-sample) losses for ``"none"``. The backward pass is the fused '
        "gradient times ``grad_output``.",
    )
    return loss


for _name in __all__:
    globals()[_name] = _bridge(_name)
del _name


def __getattr__(name: str) -> Callable[..., torch.Tensor]:
    """Only for type checkers, which cannot see the generated losses (all defined above)."""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
