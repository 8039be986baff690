"""Multi-task learning: one shared MLP trunk with two heads, a 4-class label and a noisy
real-valued target, trained together by ``losscore.fit`` on a generated data set.

Both targets depend on the same hidden features, so the trunk learns them once. The run is done
twice: with fixed loss weights (1.0, 0.5), and with ``loss_weights="uncertainty"``, which learns
one log-variance ``s_i`` per task (Kendall et al., 2018: ``sum_i exp(-s_i) * L_i + s_i``) and
so weighs the noisy regression task down by itself.

Run: python examples/multitask.py
"""

import numpy as np

import losscore

rng = np.random.default_rng(0)
n, dim = 6000, 12
X = rng.normal(size=(n, dim)).astype(np.float32)
hidden = np.tanh(X @ rng.normal(size=(dim, 4)))                   # the shared features
label = np.argmax(hidden + 0.1 * rng.normal(size=(n, 4)), axis=1)  # task "kind": 4 classes
size = (hidden @ [2.0, -1.0, 0.5, 1.0])[:, None] + 0.5 * rng.normal(size=(n, 1))  # task "size"
size = size.astype(np.float32)
train, val = slice(0, 5000), slice(5000, None)

for weights in [{"kind": 1.0, "size": 0.5}, "uncertainty"]:
    model = losscore.models.MLP([dim, 64, 32], heads=[4, 1], activation="gelu", seed=0)
    history = losscore.fit(
        model, X[train], {"kind": label[train], "size": size[train]},
        loss={"kind": "cross_entropy", "size": "mse"}, loss_weights=weights,
        optimizer=losscore.optim.Adam(lr=3e-3), epochs=15, batch_size=64, seed=0,
        validation_data=(X[val], {"kind": label[val], "size": size[val]}),
        metrics={"kind": ["accuracy"], "size": ["mae"]}, progress=False,
    )
    h = history.history
    line = (f"loss_weights={weights!s:28} val_accuracy_kind={h['val_accuracy_kind'][-1]:.3f} "
            f"val_mae_size={h['val_mae_size'][-1]:.3f}")
    if weights == "uncertainty":
        s = np.array([h["log_var_kind"][-1], h["log_var_size"][-1]])
        line += f"  learned weights exp(-s)={np.round(np.exp(-s), 3).tolist()}"
    print(line)

# the noise floor of the regression head: the mean absolute value of the added noise
print(f"noise floor of size: mae ~ {0.5 * np.sqrt(2 / np.pi):.3f}")
