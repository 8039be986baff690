"""Softmax cross-entropy over a class axis (the last), PyTorch semantics.

Mirrors the core's ``loss/softmax.rs``; a row loss (one loss per row of ``logits``).

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

__all__ = ["cross_entropy"]


@register(_core.cross_entropy, kind="rows", class_target=True)
def cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    class_weight: ArrayLike | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Softmax cross-entropy over the last axis (PyTorch ``cross_entropy``).

    For a row ``x`` (logits ``(..., C)``) with ``m = max(x)`` and ``L = log(sum(exp(x - m)))``:

    * class index ``y`` (integer ``target`` of shape ``(...)``, any integer dtype):
      ``l = (1 - eps) * w[y] * ((m - x[y]) + L) + eps/C * sum_c w[c] * ((m - x[c]) + L)``;
      ``"mean"`` divides by ``sum(weight * w[y])`` over the samples that are not ignored.
    * probabilities ``t`` (float ``target`` of shape ``(..., C)``):
      ``l = sum_c w[c] * ((1 - eps) t[c] + eps/C) * ((m - x[c]) + L)``; ``"mean"`` divides by
      the number of samples (``sum(weight)``).

    ``(m - x[y]) + L`` is never formed as ``m + L - x[y]``, so float32 logits of 1e4 are exact to
    float precision. ``-inf`` logits (masked classes) contribute exactly 0 probability (with
    ``label_smoothing > 0`` a masked class has a positive smoothed target, so the loss is
    ``+inf`` as in PyTorch, unless its ``class_weight`` is 0, which excludes it). A row
    whose logits are all ``-inf`` has loss ``+inf`` and a zero gradient (documented choice; never
    nan). ``+inf`` or nan logits give nan.

    Gradient: ``softmax(x) * ((1 - eps) w[y] + eps/C sum(w)) - eps/C w - (1 - eps) w[y] onehot(y)``
    (``softmax(x) * sum(u) - u`` for probability targets), scaled like the reduction; ignored
    samples get a zero gradient.

    Parameters
    ----------
    logits : array_like
        Unnormalized scores, class axis last, any number of leading axes.
    target : array_like
        Class indices ``(...)`` or class probabilities ``(..., C)``.
    class_weight : array_like, optional
        Non-negative per-class weights, shape ``(C,)``.
    ignore_index : int, optional
        Samples with this class index contribute nothing (class-index targets only).
    label_smoothing : float, default 0.0
        In ``[0, 1]``.

    Raises
    ------
    losscore.errors.TargetError
        If a class index is outside ``[0, C)`` and not ``ignore_index``.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> logits = np.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    >>> round(losscore.cross_entropy(logits, np.array([0, 2])), 12)
    0.669078527445
    >>> round(losscore.cross_entropy(logits, np.array([0, -100]), ignore_index=-100), 12)
    0.239544766222
    """
    return _core.cross_entropy(
        logits,
        target,
        class_weight,
        ignore_index,
        label_smoothing,
        weight,
        reduction,
    )
