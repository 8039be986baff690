"""NAdam (``torch.optim.NAdam``)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, ClassVar

from .. import _core
from ..errors import ParameterError
from ._base import Optimizer, hyperparameter

__all__ = ["NAdam"]


class NAdam(Optimizer):
    r"""NAdam (Adam with Nesterov momentum and momentum decay).

    Step ``t`` (1-based), PyTorch's rule, with ``mu_t = b1 * (1 - 0.5 * 0.96**(t * psi))``
    (``psi = momentum_decay``) and ``P_t = mu_1 * ... * mu_t``::

        g = -g if maximize
        p = p * (1 - lr * wd)  if decoupled_weight_decay, else  g = g + wd * p   (if wd != 0)
        m = b1 * m + (1 - b1) * g;   v = b2 * v + (1 - b2) * g**2
        d = sqrt(v / (1 - b2**t)) + eps
        p = p - lr * (1 - mu_t) / (1 - P_t) * g / d - lr * mu_{t+1} / (1 - P_t * mu_{t+1}) * m / d

    Parameters
    ----------
    params : list of ndarray, optional
    lr : float, default 2e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 0
    momentum_decay : float, default 4e-3
    decoupled_weight_decay, maximize : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import NAdam
    >>> w = np.array([1.0])
    >>> opt = NAdam([w], lr=0.1)
    >>> opt.step([np.array([0.5])])
    >>> bool(w[0] < 1.0)
    True
    """

    _STATE_NAMES = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Iterable[Any] | None = None,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum_decay: float = 4e-3,
        decoupled_weight_decay: bool = False,
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
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            momentum_decay=momentum_decay,
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )

    betas = hyperparameter("betas", "(beta1, beta2) (settable; OneCycleLR cycles beta1).")

    _kernel = staticmethod(_core.nadam_step)
    _GROUP_SCALARS: ClassVar[dict[str, float]] = {"mu_product": 1.0}

    def _after_step(self, result: Any) -> None:
        for state, mu_product in zip(self._group_state, result, strict=True):
            state["mu_product"] = mu_product

    def _check_scalar(self, name: str, value: Any) -> float:
        if (
            isinstance(value, bool)
            or not isinstance(value, float | int)
            or not (0.0 < value <= 1.0)
            or not math.isfinite(value)
        ):
            raise ParameterError(f"state_dict: mu_product must be a float in (0, 1], got {value!r}")
        return float(value)

    def _call(self, params, grads, states, groups, gstates) -> Any:  # type: ignore[no-untyped-def]
        steps = [g["step"] + 1 for g in gstates]
        mu_products = [g["mu_product"] for g in gstates]
        return self._kernel(params, grads, states, groups, steps, mu_products, **self._scaling)
