"""losscore losses as LightGBM custom objectives and metrics."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _common

__all__ = ["LightGBMMetric", "LightGBMObjective", "lightgbm_metric", "lightgbm_objective"]


def _is_dataset(obj: Any) -> bool:
    import lightgbm

    return isinstance(obj, lightgbm.Dataset)


def _split(a: Any, b: Any, weight: Any) -> tuple[Any, Any, np.ndarray | None]:
    """``(scores, labels, weights)`` from either calling convention: native
    ``(preds, dataset)`` or the scikit-learn wrapper's ``(y_true, y_pred, weight)``."""
    if _is_dataset(b):
        return a, b.get_label(), _common.weights(b.get_weight())
    return b, a, _common.weights(weight)


class LightGBMObjective(_common.Adapter):
    """A losscore loss as a LightGBM objective (see :func:`lightgbm_objective`)."""

    # Three parameters: LightGBM's scikit-learn wrapper then passes the sample weights.
    def __call__(self, a: Any, b: Any, weight: Any = None) -> tuple[np.ndarray, np.ndarray]:
        pred, label, w = _split(a, b, weight)
        # Multi-class scores arrive as an (n, C) view of LightGBM's class-major buffer;
        # `margins` makes the one row-major copy the kernel needs.
        x, target = self._inputs(pred, label, "lightgbm")
        return _common.grad_hess(self._obj, x, target, w)


class LightGBMMetric(_common.Adapter):
    """A losscore loss as a LightGBM evaluation metric (see :func:`lightgbm_metric`)."""

    def __call__(self, a: Any, b: Any, weight: Any = None) -> tuple[str, float, bool]:
        pred, label, w = _split(a, b, weight)
        x, target = self._inputs(pred, label, "lightgbm")
        v = _common.value(self._obj, x, target, w)
        return self.__name__, v, False


def lightgbm_objective(
    loss: Any, *, hess_floor: float | None = None, scale: float = 1.0, **params: Any
) -> LightGBMObjective:
    """A LightGBM custom objective computing a losscore loss's per-sample gradient and Hessian.

    Works as ``lgb.train({"objective": ...}, dataset)`` (called with ``(preds, dataset)``) and
    as ``LGBMRegressor(objective=...)`` / ``LGBMClassifier(objective=...)`` (called with
    ``(y_true, y_pred, weight)``). Labels and sample weights come from the framework. Each call
    is one pass of the loss's kernel giving its unreduced (``reduction="none"``) derivatives on
    the raw scores ``x`` (no loss value is computed): per sample
    ``g_i = s w_i dl/dx_i`` and ``h_i = max(s w_i d^2l/dx_i^2, hess_floor * w_i)`` with
    ``s = scale`` (the floor is not scaled).

    Multi-class models (``num_class = C``; LightGBM 4 hands over an ``(n, C)`` view of its
    class-major scores and expects ``(n, C)`` back): class losses take the labels as class
    indices. Custom objectives start from score 0: set ``boost_from_average=False`` on built-in
    objectives to compare.

    Parameters
    ----------
    loss : str or callable
        A losscore loss name (``"huber"``, ``"cross_entropy"``, ...) or function.
    hess_floor : float, optional
        Lower bound of the per-sample Hessian (times the sample weight), so that trees grow,
        and leaf steps stay bounded, where the loss has little or no curvature. Default: 1.0
        for losses whose second derivative is 0 on whole regions (``mae``, ``pinball``,
        ``hinge``, ``kl_div``, ``nll_loss``, ``multi_margin`` with ``p=1``: plain gradient
        steps; ``huber`` and ``smooth_l1``: 1 outside the quadratic zone, so ``huber`` has
        LightGBM's constant Hessian 1), else 1e-16 (as XGBoost's logistic and softmax
        objectives). 0 disables the floor.
    scale : float, default 1.0
        Multiplies gradient and Hessian (``scale=0.5`` turns ``mse`` into LightGBM's
        ``regression``, whose gradient is ``x - y``).
    **params
        The loss's hyperparameters.

    Returns
    -------
    LightGBMObjective
        A callable returning ``(grad, hess)``.

    Raises
    ------
    losscore.errors.ParameterError
        Unknown loss, or a bad hyperparameter.
    losscore.errors.TargetError, losscore.errors.ShapeError
        (When called) labels of the wrong kind or scores of the wrong layout.

    Examples
    --------
    >>> import numpy as np, lightgbm as lgb
    >>> import losscore.gbdt
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 3)); y = X[:, 0] + 0.1 * rng.normal(size=300)
    >>> params = {"objective": losscore.gbdt.lightgbm_objective("huber"), "verbose": -1}
    >>> booster = lgb.train(params, lgb.Dataset(X, label=y), num_boost_round=30)
    >>> bool(np.mean((booster.predict(X) - y) ** 2) < 0.1)
    True
    """
    return LightGBMObjective(loss, {"hess_floor": hess_floor, "scale": scale, **params})


def lightgbm_metric(loss: Any, **params: Any) -> LightGBMMetric:
    """A LightGBM evaluation metric: the losscore loss's (weighted) mean on the raw scores.

    Works as ``lgb.train(..., feval=...)`` and as the scikit-learn wrappers' ``eval_metric=``;
    returns ``(name, value, False)`` (lower is better). LightGBM hands raw scores to metrics
    when the objective is a custom one, as with :func:`lightgbm_objective`.

    Parameters
    ----------
    loss : str or callable
        A losscore loss name or function.
    **params
        The loss's hyperparameters.

    Returns
    -------
    LightGBMMetric

    Examples
    --------
    >>> import numpy as np
    >>> import losscore.gbdt
    >>> metric = losscore.gbdt.lightgbm_metric("pinball", quantile=0.9)
    >>> name, value, higher_is_better = metric(np.array([1.0, 2.0]), np.array([0.0, 2.0]), None)
    >>> name, round(value, 6), higher_is_better
    ('pinball', 0.45, False)
    """
    return LightGBMMetric(loss, params)
