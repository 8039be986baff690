"""Logistic regression: one logit, binary cross-entropy with logits, Adam.

Run: python examples/logistic_regression_bce.py
"""

import numpy as np

import losscore

rng = np.random.default_rng(1)
n = 4000
X = rng.normal(size=(n, 8)).astype(np.float32)
w = rng.normal(size=8)
p = 1.0 / (1.0 + np.exp(-(X @ w - 0.5)))
y = (rng.uniform(size=n) < p).astype(np.float32)
X_train, y_train, X_test, y_test = X[:3000], y[:3000], X[3000:], y[3000:]

model = losscore.models.Linear(8, 1, seed=0)
history = losscore.fit(
    model, X_train, y_train, loss="binary_cross_entropy_with_logits",
    optimizer=losscore.optim.Adam(lr=0.05), epochs=15, batch_size=128, seed=0,
    validation_data=(X_test, y_test), metrics=["accuracy"], progress=False,
)
logits = model.forward(X_test)[:, 0]
accuracy = np.mean((logits > 0) == (y_test > 0.5))
print(f"val_loss {history.history['val_loss'][-1]:.4f}  test accuracy {accuracy:.3f}")
print("Bayes-optimal accuracy on this data:", np.mean((X_test @ w - 0.5 > 0) == (y_test > 0.5)))
assert accuracy > 0.8
