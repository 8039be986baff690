"""Every losscore loss as a PyTorch function on CPU tensors, differentiable through
``torch.autograd``.

Each function is built from the NumPy-level loss of the same name: the forward pass hands the
tensors' memory to losscore without a copy (``Tensor.numpy()``) and, when the first argument
requires a gradient, computes the value and the gradient in one fused pass; the backward pass
returns that gradient times ``grad_output`` (per element, or per sample row for class losses,
with ``reduction="none"``). Only the first argument is differentiated.

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
        grad = ctx.grad
        if grad_output.ndim == 0:
            # loss.backward() seeds 1.0: the saved gradient is already the answer.
            if grad_output.item() != 1.0:
                grad = grad * grad_output
        elif grad_output.ndim < grad.ndim:  # per-sample losses of a class loss
            grad = grad * grad_output.unsqueeze(-1)
        else:
            grad = grad * grad_output
        return grad, None, None, None, None


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
            f"{name}: losscore.torch.{loss} differentiates its first argument ({first}) only; "
            f"pass {name}.detach()"
        )
    return as_numpy(name, value)


def _bridge(name: str) -> Callable[..., torch.Tensor]:
    fn = _bridges.loss_function(name)
    fused = value_and_grad(fn)
    sig = inspect.signature(fn)
    positional = [
        p.name for p in sig.parameters.values() if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
    ]
    first = positional[0]

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

    # torch.compile runs the loss as it is (a clean graph break, no tracing into the kernel).
    loss = torch.compiler.disable(loss)
    loss.__name__ = loss.__qualname__ = name
    loss.__module__ = __name__
    loss.__signature__ = sig.replace(return_annotation=torch.Tensor)  # type: ignore[attr-defined]
    loss.__doc__ = _bridges.bridge_doc(
        fn,
        f"``losscore.{name}`` on CPU tensors, differentiable in ``{first}``.\n\n"
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
