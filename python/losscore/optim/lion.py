"""Lion (Chen et al. 2023; optax ``lion``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _core
from ._base import Optimizer, hyperparameter

__all__ = ["Lion"]


class Lion(Optimizer):
    r"""Lion: the sign of an interpolated momentum, with decoupled weight decay.

    Each step::

        u = sign(b1 * m + (1 - b1) * g)       (sign(0) = 0)
        p = p - lr * weight_decay * p
        p = p - lr * u
        m = b2 * m + (1 - b2) * g

    Parameters
    ----------
    params : list of ndarray, optional
    lr : float, default 1e-4
    betas : (float, float), default (0.9, 0.99)
    weight_decay : float, default 0

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import Lion
    >>> w = np.array([1.0, 1.0, 1.0])
    >>> opt = Lion([w], lr=0.25)
    >>> opt.step([np.array([3.0, -1e-3, 0.0])])  # every element moves by lr (or not at all)
    >>> w
    array([0.75, 1.25, 1.  ])
    """

    _STATE_NAMES = ("exp_avg",)

    def __init__(
        self,
        params: Iterable[Any] | None = None,
        lr: float = 1e-4,
        betas: tuple[float, float] = (0.9, 0.99),
        weight_decay: float = 0.0,
        *,
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
            betas=betas,
            weight_decay=weight_decay,
        )

    betas = hyperparameter("betas", "(beta1, beta2) (settable; OneCycleLR cycles beta1).")

    _kernel = staticmethod(_core.lion_step)

    def _call(self, params, grads, states, groups, gstates) -> Any:  # type: ignore[no-untyped-def]
        return self._kernel(params, grads, states, groups, **self._scaling)
