"""Adadelta (``torch.optim.Adadelta``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _core
from ._base import Optimizer

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Adadelta.

    Each step (PyTorch's rule)::

        g = -g if maximize;   g = g + weight_decay * p   (if weight_decay != 0)
        v = rho * v + (1 - rho) * g**2
        d = sqrt(u + eps) / sqrt(v + eps) * g
        u = rho * u + (1 - rho) * d**2
        p = p - lr * d

    Parameters
    ----------
    params : list of ndarray, optional
    lr : float, default 1.0
    rho : float, default 0.9
        In ``[0, 1]``.
    eps : float, default 1e-6
    weight_decay : float, default 0
    maximize : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import Adadelta
    >>> w = np.array([1.0])
    >>> opt = Adadelta([w], rho=0.0, eps=0.0)
    >>> opt.step([np.array([2.0])])  # u = 0 and eps = 0: no move on the first step
    >>> w
    array([1.])
    """

    _STATE_NAMES = ("square_avg", "acc_delta")

    def __init__(
        self,
        params: Iterable[Any] | None = None,
        lr: float = 1.0,
        rho: float = 0.9,
        eps: float = 1e-6,
        weight_decay: float = 0.0,
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
            rho=rho,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
        )

    _kernel = staticmethod(_core.adadelta_step)

    def _call(self, params, grads, states, groups, gstates) -> Any:  # type: ignore[no-untyped-def]
        return self._kernel(params, grads, states, groups, **self._scaling)
