"""Ranking and metric-learning losses over pairs and triplets of inputs (PyTorch semantics),
differentiable in each input.

Common parameters
-----------------
x1, x2 (anchor, positive, negative) : array_like
    The inputs, all of one shape (no broadcasting), cast to the first one's dtype.
    ``margin_ranking`` is element-wise; ``cosine_embedding`` and ``triplet_margin`` compare
    vectors along the last axis (one loss per row).
target : array_like
    Labels in {-1, +1}: one per element (``margin_ranking``) or one per row (``cosine_embedding``).
weight : array_like, optional
    Non-negative per-element (per-row) weights of the labels' shape.
reduction : {"mean", "sum", "none"}
    ``"mean"`` averages over elements (rows); float64 accumulation, bitwise independent of the
    thread count; ``"none"`` returns the per-element (per-row) losses.

Where a hinge ``max(0, z)`` sits exactly at ``z = 0`` the gradient is reported as 0.
"""

from __future__ import annotations

from numpy.typing import ArrayLike

from .. import _core
from ._registry import LossValue, Reduction, register

__all__ = ["cosine_embedding", "margin_ranking", "triplet_margin"]


@register(_core.margin_ranking, kind="elementwise", inputs=("x1", "x2"))
def margin_ranking(
    x1: ArrayLike,
    x2: ArrayLike,
    target: ArrayLike,
    *,
    margin: float = 0.0,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Margin ranking loss (PyTorch ``margin_ranking_loss``): ``x1`` should rank above ``x2``
    where ``target = 1`` and below where ``target = -1``.

    ``l = max(0, -y (x1 - x2) + margin)``. Gradients: ``d l / d x1 = -y = -d l / d x2`` where
    the hinge is active, else 0. Hessian diagonal: 0.

    Parameters
    ----------
    margin : float, default 0.0
        The required gap.

    Raises
    ------
    losscore.errors.TargetError
        A target that is not -1 or +1 (the message gives the first position).

    Examples
    --------
    >>> import numpy as np, losscore
    >>> x1, x2, y = np.array([2.0, 0.0]), np.array([1.0, 1.0]), np.array([1.0, 1.0])
    >>> losscore.margin_ranking(x1, x2, y, margin=0.5, reduction="none").tolist()
    [0.0, 1.5]
    """
    return _core.margin_ranking(x1, x2, target, margin, weight, reduction)


@register(_core.cosine_embedding, kind="rows", inputs=("x1", "x2"), hess=False)
def cosine_embedding(
    x1: ArrayLike,
    x2: ArrayLike,
    target: ArrayLike,
    *,
    margin: float = 0.0,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Cosine embedding loss (PyTorch ``cosine_embedding_loss``), one loss per row of the last
    axis.

    ``cos = x1.x2 / sqrt((|x1|**2 + e)(|x2|**2 + e))`` with ``e = 1e-12`` (finite for zero
    vectors, where ``cos = 0``); ``l = 1 - cos`` for ``y = 1``, ``max(0, cos - margin)`` for
    ``y = -1``. Gradient: ``d cos / d x1 = x2 / den - cos x1 / (|x1|**2 + e)`` (and the same with
    the roles swapped), times the slope of ``l`` in ``cos``. Sums are accumulated in float64.

    Parameters
    ----------
    margin : float, default 0.0
        The similarity below which dissimilar pairs cost nothing (PyTorch suggests [0, 0.5]).

    Raises
    ------
    losscore.errors.TargetError
        A target that is not -1 or +1.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> x1 = np.array([[1.0, 0.0], [1.0, 1.0]])
    >>> x2 = np.array([[0.0, 1.0], [1.0, 1.0]])
    >>> [round(v, 9) for v in losscore.cosine_embedding(
    ...     x1, x2, np.array([1, -1]), reduction="none").tolist()]
    [1.0, 1.0]
    """
    return _core.cosine_embedding(x1, x2, target, margin, weight, reduction)


@register(
    _core.triplet_margin, kind="rows", inputs=("anchor", "positive", "negative"), hess=False
)
def triplet_margin(
    anchor: ArrayLike,
    positive: ArrayLike,
    negative: ArrayLike,
    *,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Triplet margin loss (PyTorch ``triplet_margin_loss``), one loss per row of the last axis.

    ``l = max(0, d(a, p) - d(a, n) + margin)`` with PyTorch's ``pairwise_distance``
    ``d(u, v) = |u - v + eps|_p``. With ``swap=True`` the negative distance is
    ``min(d(a, n), d(p, n))`` (Balntas et al.; a tie shares the gradient equally).
    Gradient of a distance: ``sign(w) |w|**(p-1) / d**(p-1)`` with ``w = u - v + eps``.

    Parameters
    ----------
    margin : float, default 1.0
    p : float, default 2.0
        Positive order of the norm.
    eps : float, default 1e-6
        Added to each difference (PyTorch's ``pairwise_distance``).
    swap : bool, default False
        Use the distance swap.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> a, p, n = np.zeros((1, 2)), np.array([[3.0, 4.0]]), np.array([[0.0, 1.0]])
    >>> round(losscore.triplet_margin(a, p, n, eps=0.0), 12)  # max(0, 5 - 1 + 1)
    5.0
    """
    return _core.triplet_margin(anchor, positive, negative, margin, p, eps, swap, weight, reduction)
