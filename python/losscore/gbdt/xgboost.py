"""losscore losses as XGBoost custom objectives and metrics."""

from __future__ import annotations

from typing import Any

import numpy as np

from . import _common

__all__ = ["XGBoostMetric", "XGBoostObjective", "xgboost_metric", "xgboost_objective"]


def _is_dmatrix(obj: Any) -> bool:
    import xgboost

    return isinstance(obj, xgboost.DMatrix)


def _split(a: Any, b: Any, sample_weight: Any) -> tuple[Any, Any, np.ndarray | None]:
    """``(margins, labels, weights)`` from either calling convention: native
    ``(predt, dmatrix)`` or the scikit-learn wrapper's ``(y_true, y_pred, sample_weight=...)``."""
    if _is_dmatrix(b):
        return a, b.get_label(), _common.weights(b.get_weight())
    return b, a, _common.weights(sample_weight)


class XGBoostObjective(_common.Adapter):
    """A losscore loss as an XGBoost objective (see :func:`xgboost_objective`)."""

    def __call__(self, a: Any, b: Any, sample_weight: Any = None) -> tuple[np.ndarray, np.ndarray]:
        pred, label, weight = _split(a, b, sample_weight)
        x, target = self._inputs(pred, label, "xgboost")
        return _common.grad_hess(self._obj, x, target, weight)


class XGBoostMetric(_common.Adapter):
    """A losscore loss as an XGBoost evaluation metric (see :func:`xgboost_metric`)."""

    def __call__(self, a: Any, b: Any, sample_weight: Any = None) -> Any:
        native = _is_dmatrix(b)
        pred, label, weight = _split(a, b, sample_weight)
        x, target = self._inputs(pred, label, "xgboost")
        v = _common.value(self._obj, x, target, weight)
        return (self.__name__, v) if native else v


def xgboost_objective(
    loss: Any, *, hess_floor: float | None = None, scale: float = 1.0, **params: Any
) -> XGBoostObjective:
    """An XGBoost custom objective computing a losscore loss's per-sample gradient and Hessian.

    Works as ``xgb.train(params, dtrain, obj=...)`` (called with ``(predt, dmatrix)``) and as
    ``XGBRegressor(objective=...)`` / ``XGBClassifier(objective=...)`` (called with
    ``(y_true, y_pred, sample_weight=...)``). Labels and sample weights come from the framework.
    Each call is one pass of the loss's kernel giving its unreduced (``reduction="none"``)
    derivatives (no loss value is computed): per sample,
    ``g_i = s w_i dl/dx_i`` and ``h_i = max(s w_i d^2l/dx_i^2, hess_floor * w_i)`` with
    ``s = scale`` (the floor is not scaled) on the raw margins ``x``; float32 margins stay
    float32.

    Multi-class models (``num_class = C``) hand over ``(n, C)`` margins; class losses
    (``cross_entropy``, ``nll_loss``, ``multi_margin``) then take the labels as class indices
    and return ``(n, C)`` gradients and Hessian diagonals (``cross_entropy``:
    ``w p_k (1 - p_k)`` times the row's target mass).

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
        Multiplies gradient and Hessian (``scale=0.5`` turns ``mse``, ``(x - y)^2``, into
        XGBoost's ``reg:squarederror``, ``(x - y)^2 / 2``).
    **params
        The loss's hyperparameters (``delta=``, ``alpha=``, ``label_smoothing=``, ...).

    Returns
    -------
    XGBoostObjective
        A callable returning ``(grad, hess)``.

    Raises
    ------
    losscore.errors.ParameterError
        Unknown loss, or a bad hyperparameter.
    losscore.errors.TargetError, losscore.errors.ShapeError
        (When called) labels of the wrong kind or margins of the wrong layout.

    Examples
    --------
    >>> import numpy as np, xgboost as xgb
    >>> import losscore.gbdt
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X[:, 0] + 0.1 * rng.normal(size=200)
    >>> dtrain = xgb.DMatrix(X, label=y)
    >>> obj = losscore.gbdt.xgboost_objective("huber", delta=1.0)
    >>> booster = xgb.train({"base_score": 0.0}, dtrain, num_boost_round=20, obj=obj)
    >>> bool(np.mean((booster.predict(dtrain) - y) ** 2) < 0.1)
    True
    """
    return XGBoostObjective(loss, {"hess_floor": hess_floor, "scale": scale, **params})


def xgboost_metric(loss: Any, **params: Any) -> XGBoostMetric:
    """An XGBoost evaluation metric: the losscore loss's (weighted) mean on the raw margins.

    Works as ``xgb.train(..., custom_metric=...)`` (returns ``(name, value)``) and as the
    scikit-learn wrappers' ``eval_metric=`` (returns the value; the name is the loss's).
    XGBoost hands raw margins to custom metrics when the objective is a custom one, as with
    :func:`xgboost_objective`.

    Parameters
    ----------
    loss : str or callable
        A losscore loss name or function.
    **params
        The loss's hyperparameters.

    Returns
    -------
    XGBoostMetric

    Examples
    --------
    >>> import numpy as np, xgboost as xgb
    >>> import losscore.gbdt
    >>> dtrain = xgb.DMatrix(np.zeros((4, 1)), label=np.array([0.0, 1.0, 2.0, 3.0]))
    >>> metric = losscore.gbdt.xgboost_metric("mae")
    >>> metric(np.ones(4, dtype=np.float32), dtrain)
    ('mae', 1.0)
    """
    return XGBoostMetric(loss, params)
