"""Tweedie deviances (element-wise), scikit-learn's ``mean_*_deviance`` semantics, with fused
gradients and Hessians.

Common parameters
-----------------
pred : array_like
    Predictions (the mean ``mu``), ``> 0`` for every power but 0. float32 stays float32,
    float64 stays float64, other numbers become float64.
target : array_like
    Targets of exactly ``pred``'s shape (no broadcasting), cast to ``pred``'s dtype.
weight : array_like, optional
    Non-negative per-element weights of ``pred``'s shape (scikit-learn's ``sample_weight``).
reduction : {"mean", "sum", "none"}
    ``"mean"`` is ``sum(w*l) / sum(w)`` (``/ n`` unweighted), scikit-learn's weighted mean;
    ``"sum"`` is ``sum(w*l)``; ``"none"`` returns the array ``w*l`` in ``pred``'s dtype.

Raises
------
losscore.errors.TargetError
    If a prediction or a target is outside the deviance's domain (the message names the
    argument and the first flat position). NaN is not checked: it propagates.
"""

from __future__ import annotations

from numpy.typing import ArrayLike

from .. import _core
from ._registry import LossValue, Reduction, register

__all__ = ["gamma_deviance", "poisson_deviance", "tweedie_deviance"]


@register(_core.poisson_deviance, kind="elementwise")
def poisson_deviance(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Poisson deviance (scikit-learn ``mean_poisson_deviance``), ``pred > 0``, ``target >= 0``.

    ``l = 2 * (t * log(t / mu) - t + mu)``, ``2 * mu`` where ``t = 0``; computed near
    ``mu = t`` without cancellation. Gradient ``2 * (mu - t) / mu``, Hessian ``2 * t / mu**2``.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> losscore.poisson_deviance(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    2.0
    """
    return _core.poisson_deviance(pred, target, weight, reduction)


@register(_core.gamma_deviance, kind="elementwise")
def gamma_deviance(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Gamma deviance (scikit-learn ``mean_gamma_deviance``), ``pred > 0``, ``target > 0``.

    ``l = 2 * (log(mu / t) + t / mu - 1)``; computed near ``mu = t`` without cancellation.
    Gradient ``2 * (mu - t) / mu**2``, Hessian ``2 * (2 t - mu) / mu**3``.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> losscore.gamma_deviance(np.array([2.0]), np.array([2.0]))
    0.0
    """
    return _core.gamma_deviance(pred, target, weight, reduction)


@register(_core.tweedie_deviance, kind="elementwise")
def tweedie_deviance(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    power: float = 0.0,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
) -> LossValue:
    """Tweedie deviance (scikit-learn ``mean_tweedie_deviance``) of power ``p``.

    ``p = 0``: ``(t - mu)**2``; ``p = 1``: :func:`poisson_deviance`; ``p = 2``:
    :func:`gamma_deviance`; otherwise
    ``l = 2 * (max(t, 0)**(2-p) / ((1-p)(2-p)) - t * mu**(1-p) / (1-p) + mu**(2-p) / (2-p))``.
    Gradient ``2 * mu**-p * (mu - t)``, Hessian ``2 * mu**(-p-1) * (p t + (1 - p) mu)``.

    Domains (scikit-learn's): ``p < 0``: ``pred > 0``; ``p = 0``: any; ``1 <= p < 2``:
    ``pred > 0`` and ``target >= 0``; ``p >= 2``: ``pred > 0`` and ``target > 0``.

    Parameters
    ----------
    power : float, default 0.0
        ``<= 0`` or ``>= 1`` (no Tweedie distribution has ``0 < p < 1``: a ``ParameterError``).

    Examples
    --------
    >>> import numpy as np, losscore
    >>> mu, t = np.array([1.0, 4.0]), np.array([1.0, 1.0])
    >>> round(losscore.tweedie_deviance(mu, t, power=1.5, reduction="sum"), 12)
    2.0
    """
    return _core.tweedie_deviance(pred, target, power, weight, reduction)
