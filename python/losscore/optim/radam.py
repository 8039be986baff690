"""RAdam (``torch.optim.RAdam``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _core
from ._base import Optimizer, hyperparameter

__all__ = ["RAdam"]


class RAdam(Optimizer):
    r"""RAdam (rectified Adam).

    Step ``t`` (1-based), PyTorch's rule, with ``rho_inf = 2 / (1 - b2) - 1`` and
    ``rho_t = rho_inf - 2 t b2**t / (1 - b2**t)``::

        g = -g if maximize
        p = p * (1 - lr * wd)  if decoupled_weight_decay, else  g = g + wd * p   (if wd != 0)
        m = b1 * m + (1 - b1) * g;   v = b2 * v + (1 - b2) * g**2
        if rho_t > 5:
            r = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
            p = p - lr * m / (1 - b1**t) * r * sqrt(1 - b2**t) / (sqrt(v) + eps)
        else:
            p = p - lr * m / (1 - b1**t)

    Parameters
    ----------
    params : list of ndarray, optional
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 0
    decoupled_weight_decay, maximize : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import RAdam
    >>> w = np.array([1.0])
    >>> opt = RAdam([w], lr=0.1)
    >>> opt.step([np.array([0.5])])  # early steps are plain momentum: p - lr * m / (1 - b1)
    >>> w
    array([0.95])
    """

    _STATE_NAMES = ("exp_avg", "exp_avg_sq")

    def __init__(
        self,
        params: Iterable[Any] | None = None,
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
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
            decoupled_weight_decay=decoupled_weight_decay,
            maximize=maximize,
        )

    betas = hyperparameter("betas", "(beta1, beta2) (settable; OneCycleLR cycles beta1).")

    _kernel = staticmethod(_core.radam_step)
