"""Adam and AdamW (``torch.optim.Adam``, ``torch.optim.AdamW``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _core
from ._base import Optimizer, hyperparameter

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam, with optional AMSGrad and decoupled (AdamW) weight decay.

    Step ``t`` (1-based), for every parameter ``p`` with gradient ``g`` (PyTorch's rule)::

        g = -g if maximize
        p = p * (1 - lr * wd)  if decoupled_weight_decay, else  g = g + wd * p   (if wd != 0)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g**2
        v_max = max(v_max, v)  and use v_max below   (if amsgrad)
        p = p - lr / (1 - b1**t) * m / (sqrt(v) / sqrt(1 - b2**t) + eps)

    Bias corrections are computed in float64; one fused pass per step over all parameters.

    Parameters
    ----------
    params : list of ndarray, optional
        float32/float64 C-contiguous writable arrays, updated in place (or :meth:`bind` later).
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
        Each in ``[0, 1)``.
    eps : float, default 1e-8
    weight_decay : float, default 0
    amsgrad, maximize, decoupled_weight_decay : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import Adam
    >>> w = np.array([1.0, -2.0])
    >>> opt = Adam([w], lr=0.1)
    >>> opt.step([np.array([0.5, -0.5])])  # the first step moves by ~lr against the gradient
    >>> w
    array([ 0.9, -1.9])
    """

    _STATE_NAMES = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def __init__(
        self,
        params: Iterable[Any] | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        amsgrad: bool = False,
        *,
        maximize: bool = False,
        decoupled_weight_decay: bool = False,
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
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=decoupled_weight_decay,
        )

    betas = hyperparameter("betas", "(beta1, beta2) (settable; OneCycleLR cycles beta1).")

    _kernel = staticmethod(_core.adam_step)

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        return self._STATE_NAMES if group["amsgrad"] else self._STATE_NAMES[:2]


class AdamW(Adam):
    r"""AdamW: Adam with decoupled weight decay, ``p = p * (1 - lr * weight_decay)`` first.

    Same rule and arguments as :class:`Adam` (see there), with ``weight_decay=1e-2`` by default
    (``torch.optim.AdamW``).

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import AdamW
    >>> w = np.array([1.0])
    >>> opt = AdamW([w], lr=0.1, weight_decay=0.5)
    >>> opt.step([np.array([0.0])])  # zero gradient: only the decay p * (1 - 0.1 * 0.5)
    >>> w
    array([0.95])
    """

    def __init__(
        self,
        params: Iterable[Any] | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
        amsgrad: bool = False,
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
            amsgrad=amsgrad,
            maximize=maximize,
            decoupled_weight_decay=True,
        )
