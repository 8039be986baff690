"""Regression with outliers: LightGBM with losscore's Huber loss against its squared error.

10% of the training targets are corrupted by large errors; the Huber loss (gradient clipped at
``delta``) keeps them from pulling the trees, the squared error does not.

Run: python examples/lightgbm_huber.py
"""

import lightgbm as lgb
import numpy as np

import losscore.gbdt

rng = np.random.default_rng(0)
n = 8_000
X = rng.uniform(-2, 2, size=(n, 5))
clean = np.sin(2 * X[:, 0]) + X[:, 1] ** 2 - X[:, 2]
y = clean + 0.2 * rng.normal(size=n)
outliers = rng.uniform(size=n) < 0.1
y[outliers] += rng.choice([-1.0, 1.0], outliers.sum()) * rng.uniform(5, 20, outliers.sum())
train, test = slice(0, 6_000), slice(6_000, n)

common = {"learning_rate": 0.1, "num_leaves": 15, "verbose": -1, "seed": 0}
dtrain = lgb.Dataset(X[train], label=y[train])
huber = lgb.train(
    {**common, "objective": losscore.gbdt.lightgbm_objective("huber", delta=1.0)},
    dtrain,
    num_boost_round=200,
)
squared = lgb.train({**common, "objective": "regression"}, dtrain, num_boost_round=200)

err_huber = np.mean(np.abs(huber.predict(X[test]) - clean[test]))
err_squared = np.mean(np.abs(squared.predict(X[test]) - clean[test]))
print(f"outliers in the training targets: {outliers[train].mean():.1%}")
print(
    f"mean |prediction - clean target| on the test set: huber {err_huber:.3f}, "
    f"squared error {err_squared:.3f}"
)
assert err_huber < 0.8 * err_squared
