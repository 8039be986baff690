"""``value_and_grad`` and ``grad``: the fused closed-form gradient of a loss.

Every losscore loss is registered in :mod:`losscore.losses` with its Rust kernel; one pass over
memory computes the value and ``d value / d first argument`` (consistent with the reduction).

Types: a loss is a :class:`losscore.losses.Loss` ``[F, K]`` for type checkers, ``K`` being the
parameters of its kernel (the loss's own parameters plus ``out=``), so the callable returned
here is checked against the loss's real signature (see :mod:`losscore.losses._registry`).
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from typing import Any, ParamSpec, overload

from .errors import ParameterError, ParameterTypeError
from .losses._registry import FloatArray, Loss, LossValue, fused_hess_of, fused_of, registry

__all__ = ["grad", "grad_hess", "value_and_grad", "value_grad_hess"]

K = ParamSpec("K")


Argnums = int | tuple[int, ...]


def _positions(fn: Any, argnums: Any) -> tuple[str, ...]:
    """The names of the inputs ``argnums`` selects (checked against the loss's inputs)."""
    name = getattr(fn, "__name__", "loss")
    spec = registry.get(name)
    inputs = spec.inputs if spec is not None and spec.function is fn else ("the first",)
    many = isinstance(argnums, tuple | list)
    items = list(argnums) if many else [argnums]
    for k in items:
        if isinstance(k, bool) or not hasattr(k, "__index__"):
            raise ParameterTypeError(
                f"argnums must be an int or a tuple of ints, got {type(k).__name__}"
            )
    positions = [operator.index(k) for k in items]
    if many and not positions:
        raise ParameterError("argnums: an empty tuple asks for nothing")
    for k in positions:
        if not 0 <= k < len(inputs):
            raise ParameterError(
                f"argnums: {k} is not the position of a differentiable input of {name} "
                f"({', '.join(f'{i}: {n}' for i, n in enumerate(inputs))})"
            )
    if len(set(positions)) != len(positions):
        raise ParameterError(f"argnums: {tuple(positions)} names an input twice")
    return tuple(inputs[k] for k in positions)


@overload
def value_and_grad(
    fn: Loss[Any, K], argnums: int = 0
) -> Callable[K, tuple[LossValue, FloatArray]]: ...
@overload
def value_and_grad(
    fn: Loss[Any, K], argnums: tuple[int, ...]
) -> Callable[K, tuple[LossValue, tuple[FloatArray, ...]]]: ...
def value_and_grad(fn: Loss[Any, K], argnums: Argnums = 0) -> Callable[K, Any]:
    """Return a function computing ``(value, gradient)`` of a loss in one fused pass.

    The returned callable takes ``fn``'s arguments plus ``out=``, a preallocated C-contiguous
    array (the first argument's shape and dtype) that receives the gradient. The gradient is
    ``d value / d first argument``; with ``reduction="mean"`` it is divided by the same
    denominator as the value, with ``reduction="none"`` it is the gradient of each element's own
    loss (and ``value`` is the array of per-element losses).

    Losses of several inputs (``gaussian_nll``, ``margin_ranking``, ``cosine_embedding``,
    ``triplet_margin``) take ``argnums`` as JAX does: an int gives one gradient, a tuple a
    tuple of gradients in its order, all from the same pass; ``out`` is then a tuple of buffers
    (``None`` entries are allocated). Every other loss differentiates its first argument only
    (``argnums=0``, or ``(0,)`` for a 1-tuple).

    Parameters
    ----------
    fn : callable
        A losscore loss function, e.g. :func:`losscore.mse`.
    argnums : int or tuple of int, default 0
        Which inputs to differentiate, counted in the loss's differentiable inputs
        (``losscore.losses.registry[name].inputs``).

    Returns
    -------
    callable
        ``f(pred, target, *, ..., out=None) -> (value, grad)`` (``(value, (grad, ...))`` for a
        tuple ``argnums``).

    Raises
    ------
    TypeError
        If ``fn`` is not a losscore loss with a registered gradient.
    losscore.errors.ParameterError
        If ``argnums`` names no input of ``fn``, or one twice.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> pred, target = np.array([1.0, 2.0]), np.array([0.0, 0.0])
    >>> value, g = losscore.value_and_grad(losscore.mse)(pred, target)
    >>> value, g.tolist()
    (2.5, [1.0, 2.0])
    >>> x1, x2, y = np.array([1.0, 0.0]), np.array([0.0, 1.0]), np.array([-1.0, 1.0])
    >>> value, (g1, g2) = losscore.value_and_grad(losscore.margin_ranking, argnums=(0, 1))(
    ...     x1, x2, y, reduction="sum")
    >>> value, g1.tolist(), g2.tolist()
    (2.0, [1.0, -1.0], [-1.0, 1.0])
    """
    fused = fused_of(fn)
    if type(argnums) is int and argnums == 0:
        return fused
    names = _positions(fn, argnums)
    fn_name: str = getattr(fn, "__name__", "loss")
    spec = registry[fn_name]
    label = f"value_and_grad({fn_name}, argnums={argnums!r})"
    if spec.multi_input:
        chosen = argnums if isinstance(argnums, int) else tuple(argnums)

        @functools.wraps(fused)
        def several(*args: Any, **kwargs: Any) -> Any:
            return fused(*args, argnums=chosen, **kwargs)

        several.__name__ = several.__qualname__ = label
        return several
    if isinstance(argnums, int):  # an int naming the first input: argnums=0 in any int type
        return fused
    # A 1-tuple naming the first input: the gradient in a 1-tuple.
    del names

    @functools.wraps(fused)
    def one(*args: Any, **kwargs: Any) -> Any:
        if isinstance(kwargs.get("out"), tuple | list):
            (kwargs["out"],) = kwargs["out"]
        value, g = fused(*args, **kwargs)
        return value, (g,)

    one.__name__ = one.__qualname__ = label
    return one


@overload
def grad(fn: Loss[Any, K], argnums: int = 0) -> Callable[K, FloatArray]: ...
@overload
def grad(fn: Loss[Any, K], argnums: tuple[int, ...]) -> Callable[K, tuple[FloatArray, ...]]: ...
def grad(fn: Loss[Any, K], argnums: Argnums = 0) -> Callable[K, Any]:
    """Return a function computing only the gradient of a loss (see :func:`value_and_grad`,
    whose ``argnums`` it takes).

    Examples
    --------
    >>> import numpy as np, losscore
    >>> losscore.grad(losscore.mae)(np.array([1.0, -3.0]), np.zeros(2), reduction="sum").tolist()
    [1.0, -1.0]
    """
    fused = value_and_grad(fn, argnums)

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
