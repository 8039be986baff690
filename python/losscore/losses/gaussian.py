"""``gaussian_nll``: the Gaussian negative log-likelihood with a predicted variance (element-wise,
PyTorch semantics), differentiable in each of its three inputs.

Common parameters
-----------------
pred, target, var : array_like
    Predicted means, observations and predicted variances, all of one shape (no broadcasting),
    cast to ``pred``'s dtype (float32 stays float32, float64 stays float64).
weight : array_like, optional
    Non-negative per-element weights of ``pred``'s shape.
reduction : {"mean", "sum", "none"}
    As for every element-wise loss: float64 accumulation, bitwise independent of the thread
    count; ``"none"`` returns the array ``w*l``.
"""

from __future__ import annotations

from numpy.typing import ArrayLike

from .. import _core
from ._registry import LossValue, Reduction, register

__all__ = ["gaussian_nll"]


@register(_core.gaussian_nll, kind="elementwise", inputs=("pred", "target", "var"))
def gaussian_nll(
    pred: ArrayLike,
    target: ArrayLike,
    var: ArrayLike,
    *,
    full: bool = False,
    eps: float = 1e-6,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Gaussian negative log-likelihood (PyTorch ``gaussian_nll_loss``).

    With ``v = max(var, eps)`` and ``d = pred - target``:
    ``l = (log(v) + d**2 / v) / 2``, plus ``log(2 pi) / 2`` with ``full=True``.

    Gradients (one fused pass, :func:`losscore.value_and_grad` with ``argnums``):
    ``d l / d pred = d / v = -d l / d target`` and ``d l / d var = (1/v - d**2/v**2) / 2``.
    The clamp at ``eps`` is not differentiated (as in PyTorch): where ``var < eps`` the
    gradient with respect to ``var`` is the one at ``v = eps``. Hessian diagonal (with respect
    to ``pred``): ``1 / v``.

    Parameters
    ----------
    full : bool, default False
        Add the constant ``log(2 pi) / 2``.
    eps : float, default 1e-6
        Positive floor of the variance, for stability.

    Raises
    ------
    losscore.errors.TargetError
        A negative variance (the message gives the first position).

    Examples
    --------
    >>> import numpy as np, losscore
    >>> pred, target, var = np.array([1.0, 2.0]), np.array([0.0, 2.0]), np.array([1.0, 4.0])
    >>> losscore.gaussian_nll(pred, target, var, reduction="none").tolist()  # (0+1)/2, log(4)/2
    [0.5, 0.6931471805599453]
    >>> value, (g_pred, g_var) = losscore.value_and_grad(losscore.gaussian_nll, argnums=(0, 2))(
    ...     pred, target, var, reduction="sum")
    >>> g_pred.tolist(), g_var.tolist()
    ([1.0, 0.0], [0.0, 0.125])
    """
    return _core.gaussian_nll(pred, target, var, full, eps, weight, reduction)
