"""losscore losses as custom objectives and metrics of gradient-boosting frameworks.

XGBoost and LightGBM grow each tree from a per-sample gradient and Hessian of the loss with
respect to the raw margin. These adapters compute both in one fused losscore pass
(``reduction="none"``, sample weights applied, a documented Hessian floor) and accept both
calling conventions of each framework: the native one (``xgb.train(obj=...)``,
``lgb.train({"objective": ...})``) and the scikit-learn wrappers' ``(y_true, y_pred)``.
Neither framework is imported until an adapter is called.

>>> import losscore.gbdt
>>> obj = losscore.gbdt.xgboost_objective("huber", delta=1.0)
>>> obj.__name__
'huber'
"""

from __future__ import annotations

from .lightgbm import lightgbm_metric, lightgbm_objective
from .xgboost import xgboost_metric, xgboost_objective

__all__ = ["lightgbm_metric", "lightgbm_objective", "xgboost_metric", "xgboost_objective"]
