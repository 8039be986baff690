"""``value_and_grad`` and ``grad``: the fused closed-form gradient of a loss.

Every losscore loss is registered here with its Rust kernel; one pass over memory computes the
value and ``d value / d first argument`` (consistent with the reduction).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

__all__ = ["grad", "value_and_grad"]

_FUSED: dict[Callable[..., Any], Callable[..., Any]] = {}
# The Rust entry point of each loss (for chunked evaluation, which asks it for block partials).
_KERNELS: dict[Callable[..., Any], Callable[..., Any]] = {}
# The keyword defaults of each loss: the Rust entry points take every hyperparameter explicitly.
_DEFAULTS: dict[Callable[..., Any], dict[str, Any]] = {}


def keyword_defaults(fn: Callable[..., Any]) -> dict[str, Any]:
    """The keyword-only defaults of a registered loss (hyperparameters and reduction)."""
    return _DEFAULTS[fn]


def register(core_fn: Callable[..., Any]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: ``core_fn(..., out=, with_grad=True)`` is the fused kernel of the loss."""

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        sig = inspect.signature(fn)
        out_param = inspect.Parameter("out", inspect.Parameter.KEYWORD_ONLY, default=None)

        positional = sum(
            p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD for p in sig.parameters.values()
        )
        defaults = {
            p.name: p.default
            for p in sig.parameters.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name != "weight"
        }
        # Forward only the defaults the kernel lacks (keyword passing costs time per call).
        core_params = inspect.signature(core_fn).parameters
        forwarded = {
            name: value
            for name, value in defaults.items()
            if name not in core_params or core_params[name].default != value
        }

        @functools.wraps(fn)
        def fused(*args: Any, out: Any = None, **kwargs: Any) -> Any:
            if len(args) > positional:
                raise TypeError(
                    f"value_and_grad({fn.__name__})() takes {positional} positional arguments "
                    f"but {len(args)} were given"
                )
            return core_fn(*args, out=out, with_grad=True, **{**forwarded, **kwargs})

        fused.__signature__ = sig.replace(  # type: ignore[attr-defined]
            parameters=[*sig.parameters.values(), out_param]
        )
        fused.__name__ = f"value_and_grad({fn.__name__})"
        fused.__qualname__ = fused.__name__
        _FUSED[fn] = fused
        _KERNELS[fn] = core_fn
        _DEFAULTS[fn] = defaults
        return fn

    return decorate


def _lookup(fn: Callable[..., Any]) -> Callable[..., Any]:
    try:
        return _FUSED[fn]
    except (KeyError, TypeError):
        name = getattr(fn, "__name__", repr(fn))
        raise TypeError(
            f"{name} has no registered closed-form gradient; "
            "pass a losscore loss such as losscore.mse"
        ) from None


def value_and_grad(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Return a function computing ``(value, gradient)`` of a loss in one fused pass.

    The returned callable takes ``fn``'s arguments plus ``out=``, a preallocated C-contiguous
    array (the first argument's shape and dtype) that receives the gradient. The gradient is
    ``d value / d first argument``; with ``reduction="mean"`` it is divided by the same
    denominator as the value, with ``reduction="none"`` it is the gradient of each element's own
    loss (and ``value`` is the array of per-element losses).

    Parameters
    ----------
    fn : callable
        A losscore loss function, e.g. :func:`losscore.mse`.

    Returns
    -------
    callable
        ``f(pred, target, *, ..., out=None) -> (value, grad)``.

    Raises
    ------
    TypeError
        If ``fn`` is not a losscore loss with a registered gradient.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> pred, target = np.array([1.0, 2.0]), np.array([0.0, 0.0])
    >>> value, g = losscore.value_and_grad(losscore.mse)(pred, target)
    >>> value, g.tolist()
    (2.5, [1.0, 2.0])
    """
    return _lookup(fn)


def grad(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Return a function computing only the gradient of a loss (see :func:`value_and_grad`).

    Examples
    --------
    >>> import numpy as np, losscore
    >>> losscore.grad(losscore.mae)(np.array([1.0, -3.0]), np.zeros(2), reduction="sum").tolist()
    [1.0, -1.0]
    """
    fused = _lookup(fn)

    @functools.wraps(fused)
    def gradient(*args: Any, **kwargs: Any) -> Any:
        return fused(*args, **kwargs)[1]

    gradient.__name__ = f"grad({getattr(fn, '__name__', 'loss')})"
    gradient.__qualname__ = gradient.__name__
    return gradient
