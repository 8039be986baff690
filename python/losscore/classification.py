"""Classification losses, PyTorch semantics, class axis last, with fused gradients.

Common parameters
-----------------
weight : array_like, optional
    Non-negative weights: per element for the element-wise losses (``pred``'s shape), per sample
    for the class losses (``logits.shape[:-1]``). ``"none"`` returns ``w*l``, ``"sum"``
    ``sum(w*l)``, ``"mean"`` ``sum(w*l) / sum(w)`` (for ``cross_entropy``/``nll_loss`` with class
    indices: ``sum(w*l) / sum(w * class_weight[target])`` over samples that are not ignored).
reduction : {"mean", "sum", "none"}
    Totals are accumulated in float64 and combined exactly (bitwise independent of the thread
    count). ``"none"`` returns an array of the first argument's dtype: per element, or per sample
    (shape ``logits.shape[:-1]``, 0 for ignored samples) for the class losses.

Numerics: every loss uses stable forms only (``exp(-|x|)`` and ``log1p``, never
``log(sigmoid(x))`` or an ``exp`` that can overflow), evaluated with losscore's vectorized
``exp``/``log``/``log1p`` (<= 1 ulp-level error). Invalid targets raise
:class:`losscore.errors.TargetError` naming the first offending flat position, before anything is
written to a caller's ``out=`` buffer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _core
from .errors import DTypeError, TargetError
from .gradients import register

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "hinge",
    "kl_div",
    "multi_margin",
    "nll_loss",
    "sigmoid_focal",
    "soft_margin",
    "squared_hinge",
]

_INT64_MAX = np.iinfo(np.int64).max


def _class_target(obj: Any) -> np.ndarray:
    """Class targets off the fast path: integers become int64, floats pass (probabilities).

    Called by the binding when ``target`` is not already a C-contiguous int64 array.
    """
    try:
        arr = np.asarray(obj)
    except Exception as exc:  # ragged lists and the like
        raise DTypeError(f"target: cannot be converted to an array ({exc})") from None
    kind = arr.dtype.kind
    if kind in "iu":
        if kind == "u" and arr.dtype.itemsize == 8 and arr.size and arr.max() > _INT64_MAX:
            flat = arr.reshape(-1)
            index = int(np.argmax(flat > _INT64_MAX))
            raise TargetError(
                f"target: class index {flat[index]} is out of range (at flat index {index})"
            )
        # np.ascontiguousarray would turn a 0-d target into shape (1,).
        return np.asarray(arr, dtype=np.int64, order="C")
    if kind == "b":
        raise DTypeError("target: boolean class targets are not supported, use integers")
    return arr


@register(_core.binary_cross_entropy)
def binary_cross_entropy(
    prob: Any, target: Any, *, weight: Any = None, reduction: str = "mean"
) -> Any:
    """Binary cross-entropy on probabilities (PyTorch ``binary_cross_entropy``).

    ``l = -(t * max(log p, -100) + (1 - t) * max(log(1 - p), -100))``; the logs are clamped at
    -100 like PyTorch, so ``p = 0`` or ``p = 1`` give a finite loss (at most 100).
    ``log(1 - p)`` is computed as ``log1p(-p)``.

    Gradient: PyTorch's ``(p - t) / max(p * (1 - p), 1e-12)``, finite everywhere.

    Parameters
    ----------
    prob : array_like
        Probabilities in ``[0, 1]``.
    target : array_like
        Targets in ``[0, 1]``, ``prob``'s shape.

    Raises
    ------
    losscore.errors.TargetError
        If a probability or a target is outside ``[0, 1]`` (the message names the first flat
        position).

    Examples
    --------
    >>> import numpy as np, losscore
    >>> round(losscore.binary_cross_entropy(np.array([0.8, 0.1]), np.array([1.0, 0.0])), 12)
    0.164252033486
    """
    return _core.binary_cross_entropy(prob, target, weight, reduction)


@register(_core.binary_cross_entropy_with_logits)
def binary_cross_entropy_with_logits(
    logits: Any,
    target: Any,
    *,
    pos_weight: Any = None,
    weight: Any = None,
    reduction: str = "mean",
) -> Any:
    """Binary cross-entropy on logits (PyTorch ``binary_cross_entropy_with_logits``).

    ``l = (1 - t) * softplus(x) + pw * t * softplus(-x)`` with
    ``softplus(x) = max(x, 0) + log1p(exp(-|x|))`` (one shared ``exp(-|x|)``, never overflows);
    without ``pos_weight`` this is ``max(x, 0) - x*t + log1p(exp(-|x|))``. A product whose
    coefficient is exactly 0 counts as 0, so ``x = +-inf`` gives the limit (0 or inf), never nan.

    Gradient: ``(1 - t) * sigmoid(x) - pw * t * sigmoid(-x)`` (``sigmoid(x) - t`` without
    ``pos_weight``), both sigmoids from ``exp(-|x|)`` without cancellation.

    Parameters
    ----------
    pos_weight : array_like, optional
        Non-negative weight of the positive term, broadcast along the last axes: shape ``(C,)``
        with ``C = logits.shape[-1]`` (any trailing shape of ``logits``), or a single value.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> x, t = np.array([0.0]), np.array([1.0])
    >>> bool(losscore.binary_cross_entropy_with_logits(x, t) == np.log(2))
    True
    >>> x, t = np.array([np.inf, -1e4]), np.array([1.0, 0.0])
    >>> losscore.binary_cross_entropy_with_logits(x, t)
    0.0
    """
    return _core.binary_cross_entropy_with_logits(logits, target, pos_weight, weight, reduction)


@register(_core.cross_entropy)
def cross_entropy(
    logits: Any,
    target: Any,
    *,
    class_weight: Any = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    weight: Any = None,
    reduction: str = "mean",
) -> Any:
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
        logits, target, class_weight, ignore_index, label_smoothing, weight, reduction
    )


@register(_core.nll_loss)
def nll_loss(
    log_probs: Any,
    target: Any,
    *,
    class_weight: Any = None,
    ignore_index: int | None = None,
    weight: Any = None,
    reduction: str = "mean",
) -> Any:
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
    return _core.nll_loss(log_probs, target, class_weight, ignore_index, weight, reduction)


@register(_core.kl_div)
def kl_div(
    log_pred: Any,
    target: Any,
    *,
    log_target: bool = False,
    weight: Any = None,
    reduction: str = "batchmean",
) -> Any:
    """Kullback-Leibler divergence (PyTorch ``kl_div``), default ``reduction="batchmean"``.

    ``l = t * (log t - x)`` (0 where ``t = 0``), or with ``log_target=True``
    ``l = exp(t) * (t - x)`` (0 where ``exp(t) = 0``), with ``x = log_pred``.
    ``"batchmean"`` is ``sum(w*l) / log_pred.shape[0]`` (1 for a 0-d input); ``"mean"`` divides
    by the number of elements. Gradient: ``-t`` (``-exp(t)``), scaled like the reduction.

    Parameters
    ----------
    log_pred : array_like
        Log-probabilities.
    target : array_like
        Probabilities (or log-probabilities with ``log_target=True``).
    reduction : {"batchmean", "mean", "sum", "none"}

    Examples
    --------
    >>> import numpy as np, losscore
    >>> p, q = np.array([[0.5, 0.5]]), np.array([[0.25, 0.75]])
    >>> bool(np.isclose(losscore.kl_div(np.log(p), q), np.sum(q * np.log(q / p))))
    True
    """
    return _core.kl_div(log_pred, target, log_target, weight, reduction)


@register(_core.hinge)
def hinge(
    pred: Any, target: Any, *, margin: float = 1.0, weight: Any = None, reduction: str = "mean"
) -> Any:
    """Hinge loss with targets in {-1, +1}: ``l = max(0, margin - t * p)``.

    Gradient: ``-t`` where ``margin - t * p > 0``, else 0.

    Parameters
    ----------
    margin : float, default 1.0
        Non-negative, finite.

    Raises
    ------
    losscore.errors.TargetError
        If a target is not -1 or +1.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> losscore.hinge(np.array([0.5, -2.0, 3.0]), np.array([1, -1, -1]), reduction="none").tolist()
    [0.5, 0.0, 4.0]
    """
    return _core.hinge(pred, target, margin, weight, reduction)


@register(_core.squared_hinge)
def squared_hinge(
    pred: Any, target: Any, *, margin: float = 1.0, weight: Any = None, reduction: str = "mean"
) -> Any:
    """Squared hinge loss with targets in {-1, +1}: ``l = max(0, margin - t * p)**2``.

    Gradient: ``-2 * t * max(0, margin - t * p)``.

    Parameters
    ----------
    margin : float, default 1.0
        Non-negative, finite.

    Raises
    ------
    losscore.errors.TargetError
        If a target is not -1 or +1.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> losscore.squared_hinge(np.array([0.5, 3.0]), np.array([1, -1]), reduction="sum")
    16.25
    """
    return _core.squared_hinge(pred, target, margin, weight, reduction)


@register(_core.multi_margin)
def multi_margin(
    logits: Any,
    target: Any,
    *,
    p: int = 1,
    margin: float = 1.0,
    class_weight: Any = None,
    weight: Any = None,
    reduction: str = "mean",
) -> Any:
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
    return _core.multi_margin(logits, target, p, margin, class_weight, weight, reduction)


@register(_core.sigmoid_focal)
def sigmoid_focal(
    logits: Any,
    target: Any,
    *,
    alpha: float = 0.25,
    gamma: float = 2.0,
    weight: Any = None,
    reduction: str = "mean",
) -> Any:
    """Sigmoid focal loss (torchvision ``sigmoid_focal_loss``), default ``reduction="mean"``.

    ``l = a_t * ce * q**gamma`` with ``ce`` the stable BCE with logits, ``p = sigmoid(x)``,
    ``q = 1 - p_t = p (1 - t) + (1 - p) t`` (both sigmoids from ``exp(-|x|)``, no
    cancellation), ``a_t = alpha t + (1 - alpha)(1 - t)`` (1 if ``alpha < 0``).
    Gradient: ``a_t q**gamma (dce + gamma * ce * (1 - 2t) p (1 - p) / q)``, finite at
    ``x = +-inf``.

    Parameters
    ----------
    alpha : float, default 0.25
        In ``[0, 1]``; negative disables the weighting.
    gamma : float, default 2.0
        Non-negative focusing exponent.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> x, t = np.array([0.0]), np.array([1.0])
    >>> bool(np.isclose(losscore.sigmoid_focal(x, t), 0.25 * np.log(2) * 0.5**2))
    True
    """
    return _core.sigmoid_focal(logits, target, alpha, gamma, weight, reduction)


@register(_core.soft_margin)
def soft_margin(pred: Any, target: Any, *, weight: Any = None, reduction: str = "mean") -> Any:
    """Soft margin loss (PyTorch ``soft_margin_loss``): ``l = log(1 + exp(-t * p))``.

    Computed as ``max(z, 0) + log1p(exp(-|z|))`` with ``z = -t * p`` (never overflows).
    Gradient: ``-t * sigmoid(-t * p)``.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> bool(losscore.soft_margin(np.array([0.0]), np.array([1.0])) == np.log(2))
    True
    """
    return _core.soft_margin(pred, target, weight, reduction)
