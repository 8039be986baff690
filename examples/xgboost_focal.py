"""Imbalanced binary classification with XGBoost and losscore's sigmoid focal loss.

XGBoost has no focal loss; ``losscore.gbdt.xgboost_objective("sigmoid_focal")`` supplies its
per-sample gradient and Hessian (one fused pass), ``xgboost_metric`` its value per round.

Run: python examples/xgboost_focal.py
"""

import numpy as np
import xgboost as xgb

import losscore.gbdt

rng = np.random.default_rng(0)
n = 8_000
X = rng.normal(size=(n, 10)).astype(np.float32)
score = X[:, 0] + 0.8 * X[:, 1] * X[:, 2] + 0.5 * rng.normal(size=n)
y = (score > 2.2).astype(np.float32)  # about 5% positives
train, test = slice(0, 6_000), slice(6_000, n)


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (the rank-sum formula; ties are negligible here)."""
    ranks = np.empty(len(scores))
    ranks[np.argsort(scores)] = np.arange(1, len(scores) + 1)
    pos = labels > 0.5
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return float((ranks[pos].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


dtrain = xgb.DMatrix(X[train], label=y[train], base_margin=np.zeros(6_000))
dtest = xgb.DMatrix(X[test], label=y[test], base_margin=np.zeros(n - 6_000))
params = {"tree_method": "hist", "max_depth": 4, "eta": 0.2, "disable_default_eval_metric": 1}
history: dict = {}
focal = xgb.train(
    params,
    dtrain,
    num_boost_round=100,
    obj=losscore.gbdt.xgboost_objective("sigmoid_focal", alpha=0.75, gamma=2.0),
    custom_metric=losscore.gbdt.xgboost_metric("sigmoid_focal", alpha=0.75, gamma=2.0),
    evals=[(dtest, "test")],
    evals_result=history,
    verbose_eval=False,
)
logistic = xgb.train({**params, "objective": "binary:logistic"}, dtrain, num_boost_round=100)

curve = history["test"]["sigmoid_focal"]
auc_focal = auc(focal.predict(dtest, output_margin=True), y[test])
auc_logistic = auc(logistic.predict(dtest, output_margin=True), y[test])
print(f"positives: {y.mean():.1%}")
print(f"test focal loss: round 1 {curve[0]:.4f} -> round {len(curve)} {curve[-1]:.4f}")
print(f"test ROC AUC: sigmoid_focal {auc_focal:.3f}   binary:logistic {auc_logistic:.3f}")
assert curve[-1] < 0.5 * curve[0] and auc_focal > 0.9
