"""RMSprop (``torch.optim.RMSprop``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _core
from ._base import Optimizer, hyperparameter

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop, optionally centered and with momentum.

    Each step (PyTorch's rule)::

        g = -g if maximize;   g = g + weight_decay * p   (if weight_decay != 0)
        v = alpha * v + (1 - alpha) * g**2
        centered:  ga = alpha * ga + (1 - alpha) * g;  d = sqrt(v - ga**2) + eps
        otherwise: d = sqrt(v) + eps
        momentum > 0: b = momentum * b + g / d;  p = p - lr * b
        otherwise:    p = p - lr * g / d

    Parameters
    ----------
    params : list of ndarray, optional
    lr : float, default 1e-2
    alpha : float, default 0.99
    eps : float, default 1e-8
    weight_decay, momentum : float, default 0
    centered, maximize : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import RMSprop
    >>> w = np.array([1.0])
    >>> opt = RMSprop([w], lr=0.01, alpha=0.75)
    >>> opt.step([np.array([2.0])])  # v = 0.25 * 4 = 1: p = 1 - 0.01 * 2 / (1 + 1e-8)
    >>> w
    array([0.98])
    """

    _STATE_NAMES = ("square_avg", "momentum_buffer", "grad_avg")

    def __init__(
        self,
        params: Iterable[Any] | None = None,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
        foreach: bool | None = None,
        fused: bool | None = None,
        capturable: bool = False,
        differentiable: bool = False,
    ) -> None:
        super().__init__(
            params,
            foreach=foreach,
            fused=fused,
            capturable=capturable,
            differentiable=differentiable,
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )

    momentum = hyperparameter("momentum", "Momentum factor (settable; OneCycleLR cycles it).")

    _kernel = staticmethod(_core.rmsprop_step)

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        names = ["square_avg"]
        if group["momentum"] > 0:
            names.append("momentum_buffer")
        if group["centered"]:
            names.append("grad_avg")
        return tuple(names)

    def _call(self, params, grads, states, groups, gstates) -> Any:  # type: ignore[no-untyped-def]
        return self._kernel(params, grads, states, groups, **self._scaling)
