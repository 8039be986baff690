"""Gradient clipping, in place (``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_``)."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .. import _core
from ..errors import ParameterTypeError

__all__ = ["clip_grad_norm", "clip_grad_value", "grad_norm"]


def _as_list(grads: np.ndarray | Iterable[np.ndarray]) -> list[np.ndarray]:
    return [grads] if isinstance(grads, np.ndarray) else list(grads)


def _number(name: str, value: object) -> float:
    if isinstance(value, bool | str | bytes):
        raise ParameterTypeError(f"{name}: expected a number, got {value!r}")
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ParameterTypeError(f"{name}: expected a number, got {value!r}") from None


def clip_grad_norm(
    grads: np.ndarray | Iterable[np.ndarray],
    max_norm: float,
    norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> float:
    r"""Scale gradients in place so that their total norm is at most ``max_norm``.

    The total norm is that of all gradients together, ``(sum |g|**p)**(1/p)`` (``max |g|`` for
    ``p = inf``), summed in float64 over fixed blocks and combined exactly (bitwise independent
    of the thread count). Every gradient is multiplied by
    ``min(max_norm / (total + 1e-6), 1)``; a NaN total makes the gradients NaN, as in PyTorch.

    Parameters
    ----------
    grads : list of ndarray
        float32/float64, C-contiguous, writable; modified in place.
    max_norm : float
        Non-negative.
    norm_type : float, default 2.0
        ``0``, a positive number, ``inf`` or ``-inf``.
    error_if_nonfinite : bool, default False
        Raise :class:`losscore.errors.NonFiniteError` (leaving the gradients unchanged) if the
        total norm is nan or inf.

    Returns
    -------
    float
        The total norm before clipping.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import clip_grad_norm
    >>> g = [np.array([3.0]), np.array([4.0])]
    >>> clip_grad_norm(g, max_norm=1.0)
    5.0
    >>> np.round(np.concatenate(g), 6)
    array([0.6, 0.8])
    """
    return _core.clip_grad_norm(
        _as_list(grads),
        _number("max_norm", max_norm),
        _number("norm_type", norm_type),
        bool(error_if_nonfinite),
    )


def clip_grad_value(grads: np.ndarray | Iterable[np.ndarray], clip_value: float) -> None:
    """Clamp gradients in place to ``[-clip_value, clip_value]`` (NaN stays NaN).

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import clip_grad_value
    >>> g = np.array([-3.0, 0.5, 2.0])
    >>> clip_grad_value([g], 1.0)
    >>> g
    array([-1. ,  0.5,  1. ])
    """
    _core.clip_grad_value(_as_list(grads), _number("clip_value", clip_value))


def grad_norm(grads: np.ndarray | Iterable[np.ndarray], norm_type: float = 2.0) -> float:
    r"""The total norm of all gradients together, without changing them.

    ``(sum |g|**p)**(1/p)`` over every element (``max |g|`` for ``p = inf``): the value
    :func:`clip_grad_norm` returns, computed the same way (float64 block sums combined exactly,
    independent of the thread count). ``fit`` records it every step.

    Parameters
    ----------
    grads : list of ndarray
        float32/float64 arrays (read only).
    norm_type : float, default 2.0
        ``0``, a positive number, ``inf`` or ``-inf``.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import grad_norm
    >>> grad_norm([np.array([3.0]), np.array([[4.0]])])
    5.0
    >>> grad_norm([np.array([3.0, -7.0])], norm_type=float("inf"))
    7.0
    """
    return _core.grad_norm(_as_list(grads), _number("norm_type", norm_type))
