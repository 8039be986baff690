"""Row losses over a class axis (the last) besides softmax: ``nll_loss``, ``multi_margin``.

Mirrors the core's ``loss/classification.rs``; one loss per row of the first argument.

Common parameters
-----------------
weight : array_like, optional
    Non-negative per-sample weights, shape ``logits.shape[:-1]``.
reduction : {"mean", "sum", "none"}
    ``"none"`` returns the per-sample losses (shape ``logits.shape[:-1]``, 0 for ignored samples)
    in the first argument's dtype, ``"sum"`` ``sum(w*l)``; ``"mean"`` is described per loss.
    Totals are accumulated in float64 and combined exactly (bitwise independent of the thread
    count).

Invalid class indices raise :class:`losscore.errors.TargetError` naming the first offending flat
position, before anything is written to a caller's ``out=`` buffer.
"""

from __future__ import annotations

from numpy.typing import ArrayLike

from .. import _core
from ._registry import LossValue, Reduction, register

__all__ = ["multi_margin", "nll_loss"]


@register(_core.nll_loss, kind="rows", class_target=True)
def nll_loss(
    log_probs: ArrayLike,
    target: ArrayLike,
    *,
    class_weight: ArrayLike | None = None,
    ignore_index: int | None = None,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Negative log-likelihood of class indices (PyTorch ``nll_loss``), class axis last.

    ``l = -w[y] * log_probs[..., y]`` (0 for ignored samples); ``"mean"`` divides by
    ``sum(weight * w[y])`` over the samples that are not ignored.
    Gradient: ``-w[y]`` at the target class, 0 elsewhere.

    Parameters
    ----------
    log_probs : array_like
        Log-probabilities ``(..., C)``.
    target : array_like
        Integer class indices ``(...)``; float targets raise ``DTypeError``.
    class_weight : array_like, optional
        Non-negative per-class weights, shape ``(C,)``.
    ignore_index : int, optional
        Samples with this class index contribute nothing.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> lp = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.1, 0.8]]))
    >>> bool(np.isclose(losscore.nll_loss(lp, np.array([0, 2])), -(np.log(0.5) + np.log(0.8)) / 2))
    True
    """
    return _core.nll_loss(
        log_probs,
        target,
        class_weight,
        ignore_index,
        weight,
        reduction,
    )


@register(_core.multi_margin, kind="rows", class_target=True)
def multi_margin(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    p: int = 1,
    margin: float = 1.0,
    class_weight: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Multi-class hinge loss (PyTorch ``multi_margin_loss``), class axis last.

    ``l = w[y] / C * sum_{i != y} max(0, margin - x[y] + x[i])**p``; the class weight multiplies
    each term after the power, as PyTorch's kernel does. ``"mean"`` divides by the number of
    samples (``sum(weight)``). Gradient: ``w[y] / C * h'(z_i)`` for ``i != y`` and minus their
    sum at ``y``, with ``h'(z) = [z > 0]`` (``p=1``) or ``2 max(z, 0)`` (``p=2``).

    Parameters
    ----------
    target : array_like
        Integer class indices ``(...)``.
    p : {1, 2}
    margin : float, default 1.0
    class_weight : array_like, optional
        Non-negative per-class weights, shape ``(C,)``.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> round(losscore.multi_margin(np.array([[0.1, 0.2, 0.4, 0.8]]), np.array([3])), 12)
    0.325
    """
    return _core.multi_margin(
        logits,
        target,
        p,
        margin,
        class_weight,
        weight,
        reduction,
    )
