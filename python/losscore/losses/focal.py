"""Multi-class focal loss over a softmax (Lin et al.), class axis last: ``softmax_focal``.

Mirrors the core's ``loss/softmax_focal.rs``; a row loss (one loss per row of ``logits``).

Common parameters
-----------------
weight : array_like, optional
    Non-negative per-sample weights, shape ``logits.shape[:-1]``.
reduction : {"mean", "sum", "none"}
    ``"none"`` returns the per-sample losses ``w*l`` (shape ``logits.shape[:-1]``) in the first
    argument's dtype, ``"sum"`` ``sum(w*l)``, ``"mean"`` ``sum(w*l) / sum(w)``. Totals are
    accumulated in float64 and combined exactly (bitwise independent of the thread count).

Invalid class indices raise :class:`losscore.errors.TargetError` naming the first offending flat
position, before anything is written to a caller's ``out=`` buffer.
"""

from __future__ import annotations

from numpy.typing import ArrayLike

from .. import _core
from ._registry import LossValue, Reduction, register

__all__ = ["softmax_focal"]


@register(_core.softmax_focal, kind="rows", class_target=True)
def softmax_focal(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    gamma: float = 2.0,
    alpha: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Multi-class focal loss (Lin et al.) on logits with class indices, class axis last.

    ``l = -alpha[y] * (1 - p_y)**gamma * log(p_y)`` with ``p = softmax(logits)`` (``alpha[y] = 1``
    without ``alpha``). ``log p_y`` comes from the max-shifted log-softmax and ``1 - p_y`` from
    the other classes' probabilities (accurate as ``p_y -> 1``). With ``gamma=0`` the value is
    :func:`losscore.cross_entropy`'s, bit for bit.

    ``"mean"`` divides by the number of samples (``sum(weight)``), not by ``sum(alpha[y])``:
    ``alpha`` balances the classes inside the loss, as in the paper and in torchvision's
    ``sigmoid_focal_loss`` (so with ``alpha`` and ``gamma=0``, ``"sum"`` equals
    ``cross_entropy(class_weight=alpha, reduction="sum")`` while ``"mean"`` differs from
    ``cross_entropy``'s weighted mean).

    Gradient ``alpha[y] F (p_j - [j = y])`` with ``F = q**gamma (1 - gamma p_y log(p_y) / q)``,
    ``q = 1 - p_y``; the Hessian diagonal (:func:`losscore.value_grad_hess`) is exact, see the
    core's ``softmax_focal.rs``.

    Parameters
    ----------
    logits : array_like
        Unnormalized scores ``(..., C)``.
    target : array_like
        Integer class indices ``(...)``; float targets raise ``DTypeError``.
    gamma : float, default 2.0
        Focusing parameter, ``>= 0`` (``ParameterError`` otherwise).
    alpha : array_like, optional
        Non-negative per-class factors, shape ``(C,)``.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> x = np.array([[2.0, 0.5, -1.0], [0.0, 0.0, 3.0]])
    >>> y = np.array([0, 1])
    >>> p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    >>> py = p[[0, 1], y]
    >>> bool(np.isclose(losscore.softmax_focal(x, y), np.mean(-(1 - py) ** 2 * np.log(py))))
    True
    """
    return _core.softmax_focal(
        logits,
        target,
        gamma,
        alpha,
        weight,
        reduction,
    )
