"""Adamax (``torch.optim.Adamax``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _core
from ._base import Optimizer, hyperparameter

__all__ = ["Adamax"]


class Adamax(Optimizer):
    r"""Adamax (Adam with the infinity norm).

    Step ``t`` (1-based), PyTorch's rule::

        g = -g if maximize;   g = g + weight_decay * p   (if weight_decay != 0)
        m = b1 * m + (1 - b1) * g
        u = max(b2 * u, |g| + eps)
        p = p - lr / (1 - b1**t) * m / u

    Parameters
    ----------
    params : list of ndarray, optional
    lr : float, default 2e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    weight_decay : float, default 0
    maximize : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import Adamax
    >>> w = np.array([1.0])
    >>> opt = Adamax([w], lr=0.1, eps=0.0)
    >>> opt.step([np.array([3.0])])  # m/(1-b1) = 3, u = 3: p = 1 - 0.1
    >>> w
    array([0.9])
    """

    _STATE_NAMES = ("exp_avg", "exp_inf")

    def __init__(
        self,
        params: Iterable[Any] | None = None,
        lr: float = 2e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
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
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            maximize=maximize,
        )

    betas = hyperparameter("betas", "(beta1, beta2) (settable; OneCycleLR cycles beta1).")

    _kernel = staticmethod(_core.adamax_step)
