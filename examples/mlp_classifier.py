"""An MLP classifier: softmax cross-entropy, AdamW, a cosine learning-rate schedule and early
stopping on a held-out set, on a synthetic 10-class Gaussian problem.

Run: python examples/mlp_classifier.py  (writes mlp_curves.png when matplotlib is installed)
"""

import numpy as np

import losscore
from losscore.optim.lr_scheduler import CosineAnnealingLR

rng = np.random.default_rng(2)
n_classes, dim = 10, 20
centers = rng.normal(scale=0.8, size=(n_classes, dim))
y = rng.integers(n_classes, size=6000)
X = (centers[y] + rng.normal(size=(6000, dim))).astype(np.float32)
X_train, y_train, X_val, y_val = X[:5000], y[:5000], X[5000:], y[5000:]

epochs = 40
model = losscore.models.MLP([dim, 128, 64, n_classes], activation="gelu", seed=0)
history = losscore.fit(
    model, X_train, y_train, loss="cross_entropy",
    optimizer=losscore.optim.AdamW(lr=1e-3, weight_decay=1e-2),
    lr_scheduler=lambda opt: CosineAnnealingLR(opt, T_max=epochs),
    early_stopping={"monitor": "val_loss", "patience": 5},
    epochs=epochs, batch_size=64, seed=0, validation_data=(X_val, y_val),
    metrics=["accuracy"], progress=True,
)
h = history.history
print(f"ran {len(history.epoch)} epochs, best epoch {history.best_epoch}, "
      f"val_accuracy {h['val_accuracy'][history.best_epoch]:.3f}")
try:
    history.plot("mlp_curves.png")
    print("learning curves in mlp_curves.png")
except ImportError as exc:
    print(exc)
assert max(h["val_accuracy"]) > 0.85
