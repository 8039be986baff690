"""Element-wise classification losses (binary, margin, divergence), PyTorch semantics.

Mirrors the core's ``loss/binary.rs``: one loss per element, evaluated chunk by chunk by
:func:`losscore.evaluate`.

Common parameters
-----------------
weight : array_like, optional
    Non-negative per-element weights of the first argument's shape.
reduction : {"mean", "sum", "none"}
    ``"none"`` returns ``w*l`` (the first argument's dtype), ``"sum"`` ``sum(w*l)``, ``"mean"``
    ``sum(w*l) / sum(w)``; totals are accumulated in float64 and combined exactly (bitwise
    independent of the thread count).

Numerics: every loss uses stable forms only (``exp(-|x|)`` and ``log1p``, never
``log(sigmoid(x))`` or an ``exp`` that can overflow), evaluated with losscore's vectorized
``exp``/``log``/``log1p`` (<= 1 ulp-level error). Invalid targets raise
:class:`losscore.errors.TargetError` naming the first offending flat position, before anything is
written to a caller's ``out=`` buffer.
"""

from __future__ import annotations

from typing import Literal

from numpy.typing import ArrayLike

from .. import _core
from ._registry import LossValue, Reduction, register

# kl_div alone also has PyTorch's "batchmean" (the sum over the size of the first axis).
KlReduction = Literal["batchmean", "mean", "sum", "none"]

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "hinge",
    "kl_div",
    "sigmoid_focal",
    "soft_margin",
    "squared_hinge",
]


@register(_core.binary_cross_entropy, kind="elementwise")
def binary_cross_entropy(
    prob: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
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


@register(_core.binary_cross_entropy_with_logits, kind="elementwise")
def binary_cross_entropy_with_logits(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    pos_weight: ArrayLike | None = None,
    label_smoothing: float = 0.0,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
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
    label_smoothing : float, default 0.0
        ``eps`` in ``[0, 1]``: the target becomes ``t * (1 - eps) + eps / 2`` (optax / keras);
        gradient and Hessian are those of the smoothed target.

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
    return _core.binary_cross_entropy_with_logits(
        logits, target, pos_weight, label_smoothing, weight, reduction
    )


@register(_core.sigmoid_focal, kind="elementwise")
def sigmoid_focal(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    alpha: float = 0.25,
    gamma: float = 2.0,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
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
    return _core.sigmoid_focal(
        logits, target, alpha, gamma, weight, reduction
    )


@register(_core.soft_margin, kind="elementwise")
def soft_margin(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
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


@register(_core.hinge, kind="elementwise")
def hinge(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
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


@register(_core.squared_hinge, kind="elementwise")
def squared_hinge(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
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


@register(_core.kl_div, kind="elementwise")
def kl_div(
    log_pred: ArrayLike,
    target: ArrayLike,
    *,
    log_target: bool = False,
    weight: ArrayLike | None = None,
    reduction: KlReduction = "batchmean",
) -> LossValue:
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
