"""Typical mistakes in a user script: each line tagged ``expect-error`` must be reported by both
``mypy --strict`` and ``pyright``, and no other line (``tests/typing/test_typing.py``).
Never run: several lines would raise."""

from __future__ import annotations

import numpy as np

import losscore
from losscore.estimators import LinearRegressor

p = np.zeros(4)
t = np.ones(4)
buf = np.empty(4)
logits = np.zeros((4, 3))
labels = np.array([0, 1, 2, 0])

losscore.mse(p, t, reductio="sum")  # expect-error: misspelt keyword
losscore.huber(p, t, 0.5)  # expect-error: hyperparameters are keyword-only
x: str = losscore.mse(p, t)  # expect-error: a loss value is a float or an array
losscore.value_and_grad(losscore.mse)(p, t, reductio="sum")  # expect-error: misspelt keyword
losscore.value_and_grad(losscore.mse)(p, t, buf)  # expect-error: out is keyword-only
losscore.mse(p, t, reduction="avg")  # expect-error: not a reduction
losscore.cross_entropy(logits, labels, label_smoothing="0.1")  # expect-error: str for a float
losscore.kl_div(p, t, log_target="yes")  # expect-error: str for a bool
g: float = losscore.grad(losscore.mae)(p, t)  # expect-error: a gradient is an array
losscore.value_and_grad(lambda a, b: 0.0)  # expect-error: not a losscore loss
losscore.huber(p, t, delta=None)  # expect-error: None for a float
losscore.mse(p)  # expect-error: missing target
