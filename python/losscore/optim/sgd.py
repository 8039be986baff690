"""SGD with momentum (``torch.optim.SGD``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

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
        params: Iterable[np.ndarray] | None = None,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ) -> None:
        super().__init__(
            params,
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )

    momentum = hyperparameter("momentum", "Momentum factor (settable; OneCycleLR cycles it).")

    def _state_names(self) -> tuple[str, ...]:
        return ("momentum_buffer",) if self._hyper["momentum"] != 0 else ()

    def _call(self, params, grads, states, hyper, step, fresh) -> Any:  # type: ignore[no-untyped-def]
        return _core.sgd_step(params, grads, states, fresh_buffers=fresh, **hyper)
