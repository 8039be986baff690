"""Multi-label soft margin (PyTorch ``multilabel_soft_margin_loss``), class axis last.

Mirrors the core's ``loss/multilabel.rs``; a row loss (one loss per row of ``logits``) whose
target has the logits' shape.

Common parameters
-----------------
weight : array_like, optional
    Non-negative per-sample weights, shape ``logits.shape[:-1]``.
reduction : {"mean", "sum", "none"}
    ``"none"`` returns the per-sample losses ``w*l`` (shape ``logits.shape[:-1]``) in the first
    argument's dtype, ``"sum"`` ``sum(w*l)``, ``"mean"`` ``sum(w*l) / sum(w)`` (PyTorch's mean over
    rows). Totals are accumulated in float64 and combined exactly (bitwise independent of the
    thread count).
"""

from __future__ import annotations

from numpy.typing import ArrayLike

from .. import _core
from ._registry import LossValue, Reduction, register

__all__ = ["multilabel_soft_margin"]


@register(_core.multilabel_soft_margin, kind="rows")
def multilabel_soft_margin(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    class_weight: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Multi-label one-versus-all logistic loss (PyTorch ``multilabel_soft_margin_loss``).

    Per row ``l = -1/C * sum_c w[c] * (t[c] log sigmoid(x[c]) + (1 - t[c]) log sigmoid(-x[c]))``
    with the stable softplus form (``x = +-inf`` gives the limit). Gradient
    ``w[c] / C * (sigmoid(x[c]) - t[c])``; Hessian diagonal ``w[c] / C * s (1 - s)``,
    ``s = sigmoid(x[c])`` (exact).

    Parameters
    ----------
    logits : array_like
        Scores ``(..., C)``.
    target : array_like
        Labels of ``logits``' shape. Float values are taken as they are (soft labels in
        ``[0, 1]``, like PyTorch, which does not check them); integer targets must be 0/1 labels
        (``TargetError`` naming the first other value); boolean targets raise ``DTypeError``.
    class_weight : array_like, optional
        Non-negative per-class weights, shape ``(C,)`` (PyTorch's ``weight``).

    Examples
    --------
    >>> import numpy as np, losscore
    >>> x = np.array([[2.0, -1.0, 0.5]])
    >>> t = np.array([[1, 0, 1]])
    >>> s = 1 / (1 + np.exp(-x))
    >>> want = -np.mean(t * np.log(s) + (1 - t) * np.log(1 - s))
    >>> bool(np.isclose(losscore.multilabel_soft_margin(x, t), want))
    True
    """
    return _core.multilabel_soft_margin(
        logits,
        target,
        class_weight,
        weight,
        reduction,
    )
