"""``value_and_grad`` and ``grad``: the fused closed-form gradient of a loss.

Every losscore loss is registered in :mod:`losscore.losses` with its Rust kernel; one pass over
memory computes the value and ``d value / d first argument`` (consistent with the reduction).

Types: a loss is a :class:`losscore.losses.Loss` ``[F, K]`` for type checkers, ``K`` being the
parameters of its kernel (the loss's own parameters plus ``out=``), so the callable returned
here is checked against the loss's real signature (see :mod:`losscore.losses._registry`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ParamSpec

from .losses._registry import FloatArray, Loss, LossValue, fused_hess_of, fused_of

__all__ = ["grad", "grad_hess", "value_and_grad", "value_grad_hess"]

K = ParamSpec("K")


def value_and_grad(fn: Loss[Any, K]) -> Callable[K, tuple[LossValue, FloatArray]]:
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
    return fused_of(fn)


def grad(fn: Loss[Any, K]) -> Callable[K, FloatArray]:
    """Return a function computing only the gradient of a loss (see :func:`value_and_grad`).

    Examples
    --------
    >>> import numpy as np, losscore
    >>> losscore.grad(losscore.mae)(np.array([1.0, -3.0]), np.zeros(2), reduction="sum").tolist()
    [1.0, -1.0]
    """
    fused = fused_of(fn)

    @functools.wraps(fused)
    def gradient(*args: Any, **kwargs: Any) -> Any:
        return fused(*args, **kwargs)[1]

    gradient.__name__ = f"grad({getattr(fn, '__name__', 'loss')})"
    gradient.__qualname__ = gradient.__name__
    return gradient


def value_grad_hess(
    fn: Loss[Any, K],
) -> Callable[..., tuple[LossValue, FloatArray, FloatArray]]:
    """Return a function computing ``(value, gradient, hessian)`` of a loss in one fused pass.

    ``hessian`` is the diagonal of the Hessian of the (reduced) value with respect to the first
    argument, of its shape and dtype, scaled like the gradient (divided by the "mean"
    denominator, times the weights). For losses over a class axis it is the per-row diagonal,
    e.g. ``s * p_k * (1 - p_k)`` for ``cross_entropy`` with ``s`` the row's target mass. Where a
    loss is piecewise linear (``mae``, ``pinball``, ``hinge``, the linear side of ``huber``) the
    second derivative is 0 where it is defined (at a kink the one-sided value is reported).

    The returned callable takes ``fn``'s arguments plus ``out=`` (gradient buffer) and
    ``hess_out=`` (Hessian buffer), preallocated C-contiguous arrays of the first argument's
    shape and dtype.

    Raises
    ------
    TypeError
        If ``fn`` is not a losscore loss.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> pred, target = np.array([0.5, 3.0]), np.zeros(2)
    >>> value, g, h = losscore.value_grad_hess(losscore.huber)(pred, target, reduction="sum")
    >>> value, g.tolist(), h.tolist()
    (2.625, [0.5, 1.0], [1.0, 0.0])
    """
    return fused_hess_of(fn)


def grad_hess(fn: Loss[Any, K]) -> Callable[..., tuple[FloatArray, FloatArray]]:
    """Return a function computing ``(gradient, hessian)`` of a loss (see
    :func:`value_grad_hess`).

    Examples
    --------
    >>> import numpy as np, losscore
    >>> g, h = losscore.grad_hess(losscore.cross_entropy)(np.zeros((1, 2)), np.array([0]))
    >>> g.tolist(), h.tolist()
    ([[-0.5, 0.5]], [[0.25, 0.25]])
    """
    fused = fused_hess_of(fn)

    @functools.wraps(fused)
    def gradient_hessian(*args: Any, **kwargs: Any) -> Any:
        _, g, h = fused(*args, **kwargs)
        return g, h

    gradient_hessian.__name__ = f"grad_hess({getattr(fn, '__name__', 'loss')})"
    gradient_hessian.__qualname__ = gradient_hessian.__name__
    return gradient_hessian
