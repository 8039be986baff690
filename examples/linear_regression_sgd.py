"""Linear regression with the MSE loss and SGD (momentum), on synthetic data.

Run: python examples/linear_regression_sgd.py
"""

import numpy as np

import losscore

rng = np.random.default_rng(0)
true_w = np.array([2.0, -3.0, 0.5, 0.0, 1.5])
X = rng.normal(size=(5000, 5))
y = X @ true_w + 0.7 + rng.normal(scale=0.1, size=5000)

model = losscore.models.Linear(5, 1, seed=0)
history = losscore.fit(
    model, X, y, loss="mse", optimizer=losscore.optim.SGD(lr=0.05, momentum=0.9),
    epochs=10, batch_size=64, seed=0, metrics=["mae"], progress=False,
)
print("loss per epoch:", [round(v, 4) for v in history.history["loss"]])
print("learned weights:", model.weight.ravel().round(3), "bias:", model.bias.round(3))
print("true weights:   ", true_w, "bias: [0.7]")
assert np.allclose(model.weight.ravel(), true_w, atol=0.05)
