"""Regression losses (element-wise), PyTorch semantics, with fused gradients.

Common parameters
-----------------
pred : array_like
    Predictions. float32 stays float32, float64 stays float64, other numbers become float64.
target : array_like
    Targets of exactly ``pred``'s shape (no broadcasting), cast to ``pred``'s dtype.
weight : array_like, optional
    Non-negative per-element weights of ``pred``'s shape.
reduction : {"mean", "sum", "none"}
    ``"mean"`` is ``sum(w*l) / sum(w)`` (``/ n`` unweighted), ``"sum"`` is ``sum(w*l)``, both
    accumulated in float64 and combined exactly (bitwise independent of the thread count);
    ``"none"`` returns the array ``w*l`` in ``pred``'s dtype. Empty input: mean is nan, sum is 0.
"""

from __future__ import annotations

from numpy.typing import ArrayLike

from .. import _core
from ._registry import LossValue, Reduction, register

__all__ = ["huber", "log_cosh", "mae", "mse", "pinball", "poisson_nll", "smooth_l1"]


@register(_core.mse, kind="elementwise")
def mse(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Mean squared error, ``l = (pred - target)**2`` (PyTorch ``mse_loss``).

    Gradient: ``2 * (pred - target)``, scaled like the reduction.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> losscore.mse(np.array([1.0, 2.0, 3.0]), np.array([1.0, 0.0, 0.0]))
    4.333333333333333
    """
    return _core.mse(pred, target, weight, reduction)


@register(_core.mae, kind="elementwise")
def mae(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Mean absolute error, ``l = |pred - target|`` (PyTorch ``l1_loss``).

    Gradient: ``sign(pred - target)`` (0 where they are equal).

    Examples
    --------
    >>> import numpy as np, losscore
    >>> losscore.mae(np.array([1.0, -2.0]), np.array([0.0, 0.0]), reduction="sum")
    3.0
    """
    return _core.mae(pred, target, weight, reduction)


@register(_core.huber, kind="elementwise")
def huber(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    delta: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Huber loss (PyTorch ``huber_loss``): quadratic near zero, linear in the tails.

    With ``d = pred - target``: ``l = d**2 / 2`` if ``|d| < delta`` else
    ``delta * (|d| - delta / 2)``. Gradient: ``clip(d, -delta, delta)``.

    Parameters
    ----------
    delta : float, default 1.0
        Positive threshold between the quadratic and linear parts.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> losscore.huber(np.array([0.5, 3.0]), np.zeros(2), reduction="none").tolist()
    [0.125, 2.5]
    """
    return _core.huber(pred, target, delta, weight, reduction)


@register(_core.smooth_l1, kind="elementwise")
def smooth_l1(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    beta: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Smooth L1 loss (PyTorch ``smooth_l1_loss``).

    With ``d = pred - target``: ``l = d**2 / (2 beta)`` if ``|d| < beta`` else ``|d| - beta/2``;
    ``beta = 0`` gives exactly the L1 loss. Gradient: ``d / beta`` or ``sign(d)``.

    Parameters
    ----------
    beta : float, default 1.0
        Non-negative threshold.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> losscore.smooth_l1(np.array([0.5, 3.0]), np.zeros(2), reduction="none").tolist()
    [0.125, 2.5]
    """
    return _core.smooth_l1(pred, target, beta, weight, reduction)


@register(_core.log_cosh, kind="elementwise")
def log_cosh(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Log-cosh loss, ``l = log(cosh(pred - target))``.

    Computed as ``|d| + log1p(exp(-2|d|)) - log(2)``, which never overflows.
    Gradient: ``tanh(pred - target)``.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> round(losscore.log_cosh(np.array([1.0]), np.array([0.0])), 12)
    0.433780830483
    """
    return _core.log_cosh(pred, target, weight, reduction)


@register(_core.pinball, kind="elementwise")
def pinball(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    quantile: float = 0.5,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Pinball (quantile) loss, scikit-learn's ``mean_pinball_loss`` per element.

    ``l = quantile * max(target - pred, 0) + (1 - quantile) * max(pred - target, 0)``.
    Gradient: ``-quantile`` where ``pred < target``, ``1 - quantile`` where ``pred > target``,
    0 where equal.

    Parameters
    ----------
    quantile : float, default 0.5
        In ``[0, 1]``.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> losscore.pinball(np.array([0.0, 2.0]), np.array([1.0, 1.0]), quantile=0.9,
    ...                  reduction="none").tolist()
    [0.9, 0.09999999999999998]
    """
    return _core.pinball(pred, target, quantile, weight, reduction)


@register(_core.poisson_nll, kind="elementwise")
def poisson_nll(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Poisson negative log-likelihood (PyTorch ``poisson_nll_loss``).

    ``log_input=True``: ``l = exp(pred) - target * pred``, gradient ``exp(pred) - target``.
    ``log_input=False``: ``l = pred - target * log(pred + eps)``, gradient
    ``1 - target / (pred + eps)``. ``full=True`` adds the Stirling term
    ``target*log(target) - target + log(2*pi*target)/2`` where ``target > 1``.

    Parameters
    ----------
    log_input : bool, default True
        Whether ``pred`` is the log of the rate.
    full : bool, default False
        Add the Stirling approximation term.
    eps : float, default 1e-8
        Non-negative; avoids ``log(0)`` when ``log_input=False``.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> losscore.poisson_nll(np.array([0.0]), np.array([2.0]))
    1.0
    """
    return _core.poisson_nll(
        pred, target, log_input, full, eps, weight, reduction
    )
