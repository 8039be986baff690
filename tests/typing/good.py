"""A typical typed user script: it must type-check with no error under ``mypy --strict`` and
``pyright`` (``tests/typing/test_typing.py`` runs both), and it runs."""

from __future__ import annotations

import functools

import numpy as np
import numpy.typing as npt

import losscore
from losscore.estimators import LinearClassifier, LinearRegressor
from losscore.losses import LossSpec, LossValue, registry

rng = np.random.default_rng(0)
pred: npt.NDArray[np.float64] = rng.standard_normal(100)
target: npt.NDArray[np.float64] = rng.standard_normal(100)
weight = np.ones(100)

# Loss values: a float for "mean"/"sum", an array for "none".
mean_loss: LossValue = losscore.mse(pred, target)
total = float(losscore.huber(pred, target, delta=0.5, weight=weight, reduction="sum"))
per_element = np.asarray(losscore.mae(pred, target, reduction="none"))
print(f"mse={mean_loss:.4f} huber={total:.4f} mae[0]={per_element[0]}")
focal = losscore.sigmoid_focal(pred, (target > 0).astype(np.float64), alpha=0.5, gamma=1.0)
kl = losscore.kl_div(np.log(np.full((4, 3), 1 / 3)), np.full((4, 3), 1 / 3))

logits = rng.standard_normal((32, 5))
labels = rng.integers(0, 5, size=32)
ce = losscore.cross_entropy(logits, labels, label_smoothing=0.1, ignore_index=-100)
nll = losscore.nll_loss(logits, labels, class_weight=np.ones(5))

# The fused value and gradient, into a reused buffer.
buf = np.empty_like(pred)
value, gradient = losscore.value_and_grad(losscore.mse)(pred, target, out=buf)
g_ce = losscore.grad(losscore.cross_entropy)(logits, labels, reduction="sum")
fused_huber = losscore.value_and_grad(losscore.huber)
v2, g2 = fused_huber(pred, target, delta=2.0, weight=weight)
assert gradient is buf and g_ce.shape == logits.shape and g2.shape == pred.shape

# Losses as values: a partial fixes hyperparameters.
smoothed = functools.partial(losscore.cross_entropy, label_smoothing=0.05)
print(float(smoothed(logits, labels)), float(value), float(v2), float(ce), float(nll))

# The registry.
spec: LossSpec = registry["huber"]
names: list[str] = sorted(registry)
print(spec.kind, spec.first_arg, names[:3], float(focal), float(kl))

# Training.
X = rng.standard_normal((64, 3))
y = X @ np.array([1.0, -2.0, 0.5])
model = losscore.models.Linear(3, 1, seed=0, dtype=np.float64)
history = losscore.fit(model, X, y, loss="mse", optimizer=losscore.optim.SGD(lr=0.05),
                       epochs=2, progress=False)
losses: list[float] = history.history["loss"]

# Estimators: fit returns the estimator itself; predict_proba an array.
reg = LinearRegressor(epochs=3).fit(X, y)
r2: float = reg.score(X, y)
clf = LinearClassifier(epochs=3).fit(X, (y > 0).astype(np.int64))
proba: npt.NDArray[np.float64] = clf.predict_proba(X)
print(losses[-1], r2, proba.shape)
