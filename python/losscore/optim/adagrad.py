"""Adagrad (``torch.optim.Adagrad``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .. import _core
from ._base import Optimizer

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad.

    Step ``t`` (1-based), PyTorch's rule::

        g = -g if maximize;   g = g + weight_decay * p   (if weight_decay != 0)
        clr = lr / (1 + (t - 1) * lr_decay)
        s = s + g**2                       (s starts at initial_accumulator_value)
        p = p - clr * g / (sqrt(s) + eps)

    As in ``torch.optim.Adagrad``, the accumulators of every group start from the
    constructor's ``initial_accumulator_value`` (a group's own value is kept but not used).

    Parameters
    ----------
    params : list of ndarray, optional
    lr : float, default 1e-2
    lr_decay, weight_decay, initial_accumulator_value : float, default 0
    eps : float, default 1e-10
    maximize : bool, default False

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.optim import Adagrad
    >>> w = np.array([1.0])
    >>> opt = Adagrad([w], lr=0.5, initial_accumulator_value=5.0)
    >>> opt.step([np.array([2.0])])  # s = 5 + 4 = 9: p = 1 - 0.5 * 2 / 3
    >>> w.round(6)
    array([0.666667])
    """

    _STATE_NAMES = ("sum",)

    def __init__(
        self,
        params: Iterable[Any] | None = None,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
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
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )

    _kernel = staticmethod(_core.adagrad_step)

    def _initial_value(self, name: str, group: dict[str, Any]) -> float:
        # As torch.optim.Adagrad: every group's accumulators start from the constructor's value.
        return float(self.defaults["initial_accumulator_value"])
