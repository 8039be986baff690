"""SGD with momentum (``torch.optim.SGD``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _core
from ._base import Optimizer, hyperparameter

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with (Nesterov) momentum.

    Each step, for every parameter ``p`` with gradient ``g`` (PyTorch's rule)::

        g = -g if maximize;   g = g + weight_decay * p      (if weight_decay != 0)
        if momentum != 0:
            b = g on the first step, else b = momentum * b + (1 - dampening) * g
            g = g + momentum * b if nesterov else b
        p = p - lr * g

    Parameters
    ----------
    params : list of ndarray, optional
        float32/float64 C-contiguous writable arrays, updated in place (or :meth:`bind` later).
    lr : float, default 1e-3
    momentum, dampening, weight_decay : float, default 0
    nesterov, maximize : bool, default False
        Nesterov needs ``momentum > 0`` and ``dampening == 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import SGD
    >>> w = np.array([1.0, 2.0])
    >>> opt = SGD([w], lr=0.1, momentum=0.9)
    >>> opt.step([np.array([1.0, -1.0])])
    >>> w
    array([0.9, 2.1])
    >>> opt.step([np.array([1.0, -1.0])])  # buffer 0.9 * 1 + 1 = 1.9
    >>> w
    array([0.71, 2.29])
    """

    _STATE_NAMES = ("momentum_buffer",)

    def __init__(
        self,
        params: Iterable[Any] | None = None,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
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
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )

    momentum = hyperparameter("momentum", "Momentum factor (settable; OneCycleLR cycles it).")

    _kernel = staticmethod(_core.sgd_step)
    _STEP_IN_STATE = False

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return self._STATE_NAMES if group["momentum"] != 0 else ()

    def _call(self, params, grads, states, groups, gstates) -> Any:  # type: ignore[no-untyped-def]
        # torch: a momentum buffer starts as the first gradient it sees.
        fresh = ["momentum_buffer" not in g["buffers"] for g in gstates]
        return self._kernel(params, grads, states, groups, fresh, **self._scaling)
