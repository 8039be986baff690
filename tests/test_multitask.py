"""Multi-task training with ``losscore.fit``: one loss per model output, fixed or learned
(uncertainty) loss weights, per-task history, validation and metrics; sample weights. The
references are float64 NumPy formulas written here and central finite differences."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import losscore
from losscore import optim
from losscore.errors import ParameterError, ShapeError
from losscore.models import MLP, Linear

ROOT = Path(__file__).resolve().parents[1]


# ---- float64 references from the documented definitions ----


def ref_forward(params: list[np.ndarray], X: np.ndarray, n_hidden: int) -> list[np.ndarray]:
    """tanh trunk of ``n_hidden`` layers, then one linear head per remaining (W, b) pair."""
    a = X
    for i in range(n_hidden):
        a = np.tanh(a @ params[2 * i] + params[2 * i + 1])
    heads = range(n_hidden, len(params) // 2)
    return [a @ params[2 * j] + params[2 * j + 1] for j in heads]


def ref_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> float:
    z = logits - logits.max(axis=1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    return float(-np.mean(logp[np.arange(len(labels)), labels]))


def ref_mse(pred: np.ndarray, target: np.ndarray) -> float:
    return float(np.mean((pred - target) ** 2))


def task_losses(params, X, y0, y1, n_hidden=1):
    out0, out1 = ref_forward(params, X, n_hidden)
    return np.array([ref_cross_entropy(out0, y0), ref_mse(out1, y1)])


def fd_grad(f, params: list[np.ndarray], eps: float = 1e-6) -> list[np.ndarray]:
    grads = []
    for p in params:
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + eps
            up = f()
            p[idx] = old - eps
            down = f()
            p[idx] = old
            g[idx] = (up - down) / (2 * eps)
        grads.append(g)
    return grads


class Snapshots:
    """Copies of the model's parameters at the start and after every epoch."""

    def on_train_begin(self, model):
        self.model = model
        self.params = [[p.copy() for p in model.parameters()]]

    def on_epoch_end(self, epoch, logs):
        self.params.append([p.copy() for p in self.model.parameters()])


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 4))
    y0 = rng.integers(0, 3, size=24)
    y1 = rng.normal(size=(24, 2))
    return X, y0, y1


def net(seed=0):
    return MLP([4, 5], heads=[3, 2], activation="tanh", seed=seed, dtype=np.float64)


# ---- gradients ----


@pytest.mark.parametrize("weights", [(1.0, 1.0), (2.0, 0.25), (0.0, 1.0)])
def test_fixed_weight_step_is_the_finite_difference_gradient(data, weights):
    X, y0, y1 = data
    model = net()
    snap = Snapshots()
    lr = 0.1
    h = losscore.fit(model, X, (y0, y1), loss=("cross_entropy", "mse"), loss_weights=weights,
                     optimizer=optim.SGD(lr=lr), epochs=1, batch_size=len(X), shuffle=False,
                     callbacks=[snap], progress=False)
    before, after = snap.params
    w = np.array(weights)
    params = [p.copy() for p in before]
    expected = fd_grad(lambda: float(w @ task_losses(params, X, y0, y1)), params)
    for b, a, g in zip(before, after, expected, strict=True):
        np.testing.assert_allclose((b - a) / lr, g, rtol=1e-6, atol=1e-9)
    L = task_losses(before, X, y0, y1)
    assert h.history["loss_0"][0] == pytest.approx(L[0], rel=1e-12)
    assert h.history["loss_1"][0] == pytest.approx(L[1], rel=1e-12)
    assert h.history["loss"][0] == pytest.approx(w @ L, rel=1e-12)
    if weights[0] == 0.0:  # head 0 gets no gradient at all
        np.testing.assert_array_equal(after[2], before[2])
        np.testing.assert_array_equal(after[3], before[3])


def test_uncertainty_weights_follow_their_gradient(data):
    """total = sum exp(-s_i) L_i + s_i; d total / d s_i = 1 - exp(-s_i) L_i; s starts at 0."""
    X, y0, y1 = data
    model = net()
    snap = Snapshots()
    lr = 0.2
    h = losscore.fit(model, X, (y0, y1), loss=("cross_entropy", "mse"),
                     loss_weights="uncertainty", optimizer=optim.SGD(lr=lr), epochs=2,
                     batch_size=len(X), shuffle=False, callbacks=[snap], progress=False)
    s = np.zeros(2)
    for epoch in range(2):
        before, after = snap.params[epoch], snap.params[epoch + 1]
        L = task_losses(before, X, y0, y1)
        assert h.history["loss"][epoch] == pytest.approx(np.sum(np.exp(-s) * L + s), rel=1e-12)
        params = [p.copy() for p in before]

        def total(s=s, params=params):
            return float(np.sum(np.exp(-s) * task_losses(params, X, y0, y1) + s))

        expected = fd_grad(total, params)
        for b, a, g in zip(before, after, expected, strict=True):
            np.testing.assert_allclose((b - a) / lr, g, rtol=1e-6, atol=1e-9)
        s = s - lr * (1.0 - np.exp(-s) * L)  # one SGD step on s
        got = [h.history["log_var_0"][epoch], h.history["log_var_1"][epoch]]
        np.testing.assert_allclose(got, s, rtol=1e-12, atol=1e-15)
    # the signs the formula gives: a task whose loss is above 1 raises s_i, below 1 lowers it
    L0 = task_losses(snap.params[0], X, y0, y1)
    assert np.all(np.sign([h.history["log_var_0"][0], h.history["log_var_1"][0]])
                  == np.sign(L0 - 1.0))


def test_uncertainty_weights_settle_at_log_of_the_task_loss():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 3))
    y_small = (X @ [0.1, 0.0, -0.1])[:, None] + 0.2 * rng.normal(size=(400, 1))
    y_large = (X @ [3.0, 1.0, 0.0])[:, None] + 2.0 * rng.normal(size=(400, 1))
    model = MLP([3, 8], heads=[1, 1], activation="tanh", seed=0, dtype=np.float64)
    h = losscore.fit(model, X, (y_small, y_large), loss=("mse", "mse"),
                     loss_weights="uncertainty", optimizer=optim.Adam(lr=0.03), epochs=300,
                     batch_size=400, seed=0, progress=False)
    for i in range(2):
        s = h.history[f"log_var_{i}"][-1]
        assert s == pytest.approx(np.log(h.history[f"loss_{i}"][-1]), abs=0.05)
    # the noisy task gets the smaller weight exp(-s)
    assert h.history["log_var_1"][-1] > h.history["log_var_0"][-1] + 3


def test_history_total_is_the_weighted_sum_over_shuffled_batches(data):
    X, y0, y1 = data
    h = losscore.fit(net(), X, (y0, y1), loss=("cross_entropy", "mse"),
                     loss_weights=(0.7, 3.0), epochs=3, batch_size=5, seed=1, progress=False)
    for e in range(3):
        total = 0.7 * h.history["loss_0"][e] + 3.0 * h.history["loss_1"][e]
        assert h.history["loss"][e] == pytest.approx(total, rel=1e-12)


# ---- validation, metrics, names ----


def test_validation_and_metrics_per_task(data):
    X, y0, y1 = data
    rng = np.random.default_rng(5)
    Xv, yv0, yv1 = rng.normal(size=(10, 4)), rng.integers(0, 3, 10), rng.normal(size=(10, 2))
    model = net()
    h = losscore.fit(model, X, {"kind": y0, "size": y1},
                     loss={"kind": "cross_entropy", "size": "mse"},
                     loss_weights={"size": 0.5, "kind": 1.0},
                     validation_data=(Xv, {"kind": yv0, "size": yv1}),
                     metrics={"kind": ["accuracy"], "size": ["mae"]}, epochs=4, batch_size=8,
                     seed=0, progress=False)
    assert sorted(h.history) == sorted([
        "loss", "loss_kind", "loss_size", "accuracy_kind", "mae_size", "lr",
        "val_loss", "val_loss_kind", "val_loss_size", "val_accuracy_kind", "val_mae_size",
    ])
    out0, out1 = ref_forward(model.parameters(), Xv, 1)  # the final model = the last epoch's
    ce, mse = ref_cross_entropy(out0, yv0), ref_mse(out1, yv1)
    assert h.history["val_loss_kind"][-1] == pytest.approx(ce, rel=1e-12)
    assert h.history["val_loss_size"][-1] == pytest.approx(mse, rel=1e-12)
    assert h.history["val_loss"][-1] == pytest.approx(ce + 0.5 * mse, rel=1e-12)
    assert h.history["val_accuracy_kind"][-1] == np.mean(np.argmax(out0, axis=1) == yv0)
    assert h.history["val_mae_size"][-1] == pytest.approx(np.mean(np.abs(out1 - yv1)),
                                                          rel=1e-12)


def test_metrics_for_every_task_and_early_stopping(data):
    X, y0, y1 = data
    y0 = np.eye(3)[y0]  # two regression tasks, so that one metric fits both
    h = losscore.fit(net(), X, (y0, y1), loss=("mse", "mse"), metrics=["mae"],
                     validation_data=(X, (y0, y1)), early_stopping=2, epochs=200,
                     optimizer=optim.Adam(lr=0.5), seed=0, progress=False)
    assert "mae_0" in h.history and "val_mae_1" in h.history
    assert h.best_epoch == int(np.argmin(h.history["val_loss"]))


def test_float32_multitask_trains():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(256, 3)).astype(np.float32)
    labels = (X[:, 0] > 0).astype(np.int64)
    value = X[:, 1:2] * 2.0
    model = MLP([3, 16], heads=[2, 1], seed=0)
    h = losscore.fit(model, X, (labels, value), loss=("cross_entropy", "mse"),
                     optimizer=optim.Adam(lr=0.01), epochs=30, metrics=(["accuracy"], []),
                     seed=0, progress=False)
    assert h.history["accuracy_0"][-1] > 0.95 and h.history["loss_1"][-1] < 0.05


# ---- sample weights ----


def test_sample_weight_step_is_the_weighted_mean_gradient():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(16, 3))
    y = rng.normal(size=(16, 2))
    w = rng.uniform(0.0, 3.0, size=16)
    model = Linear(3, 2, seed=0, dtype=np.float64)
    snap = Snapshots()
    lr = 0.05
    h = losscore.fit(model, X, y, loss="mse", optimizer=optim.SGD(lr=lr), epochs=1,
                     batch_size=16, shuffle=False, sample_weight=w, callbacks=[snap],
                     progress=False)
    before, after = snap.params
    params = [p.copy() for p in before]

    def weighted_mean():  # sum_j w_j l_j / sum_j w_j, l the per-element squared errors
        out = X @ params[0] + params[1]
        return float(np.sum(w[:, None] * (out - y) ** 2) / (2 * np.sum(w)))

    for b, a, g in zip(before, after, fd_grad(weighted_mean, params), strict=True):
        np.testing.assert_allclose((b - a) / lr, g, rtol=1e-6, atol=1e-9)
    out = X @ before[0] + before[1]
    ref = np.sum(w[:, None] * (out - y) ** 2) / (2 * np.sum(w))
    assert h.history["loss"][0] == pytest.approx(ref, rel=1e-12)


def test_sample_weight_multitask_and_constant_weights(data):
    X, y0, y1 = data
    w = np.random.default_rng(7).uniform(0.5, 2.0, size=len(X))
    snap = Snapshots()
    lr = 0.1
    losscore.fit(net(), X, (y0, y1), loss=("cross_entropy", "mse"), loss_weights=(1.0, 0.5),
                 optimizer=optim.SGD(lr=lr), epochs=1, batch_size=len(X), shuffle=False,
                 sample_weight=w, callbacks=[snap], progress=False)
    before, after = snap.params
    params = [p.copy() for p in before]
    wn = w / w.mean()

    def total():
        out0, out1 = ref_forward(params, X, 1)
        z = out0 - out0.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        ce = -np.mean(wn * logp[np.arange(len(y0)), y0])
        mse = np.mean(wn[:, None] * (out1 - y1) ** 2)
        return float(ce + 0.5 * mse)

    for b, a, g in zip(before, after, fd_grad(total, params), strict=True):
        np.testing.assert_allclose((b - a) / lr, g, rtol=1e-6, atol=1e-9)
    # constant weights are no weights
    m1, m2 = net(), net()
    h1 = losscore.fit(m1, X, (y0, y1), loss=("cross_entropy", "mse"), epochs=2, seed=0,
                      progress=False)
    h2 = losscore.fit(m2, X, (y0, y1), loss=("cross_entropy", "mse"), epochs=2, seed=0,
                      sample_weight=np.full(len(X), 3.0), progress=False)
    assert h1.history == h2.history


# ---- errors ----


def test_errors(data):
    X, y0, y1 = data
    two = ("cross_entropy", "mse")

    def run(model=None, y=(y0, y1), **kw):
        kw.setdefault("loss", two)
        losscore.fit(model or net(), X, y, epochs=1, progress=False, **kw)

    with pytest.raises(ShapeError, match="2 losses need 2 targets, got 3"):
        run(y=(y0, y1, y1))
    with pytest.raises(ShapeError, match="2 losses need 2 targets"):
        run(y=y1)
    with pytest.raises(ParameterError, match="3 losses given, but the model returns 2"):
        run(loss=("cross_entropy", "mse", "mae"), y=(y0, y1, y1))
    with pytest.raises(ParameterError, match="model returns one output"):
        run(model=Linear(4, 2, dtype=np.float64), y=(y1, y1), loss=("mse", "mse"))
    with pytest.raises(ParameterError, match="the model returns a tuple of 2 output"):
        run(loss="mse", y=y1)
    with pytest.raises(ParameterError, match="2 targets need one loss each"):
        run(loss="mse")
    with pytest.raises(ParameterError, match="unknown loss 'msee'"):
        run(loss=("cross_entropy", "msee"))
    with pytest.raises(ParameterError, match="expected at least one loss"):
        run(loss=(), y=())
    with pytest.raises(ParameterError, match="task names must be non-empty strings"):
        run(loss={1: "cross_entropy", 2: "mse"}, y={1: y0, 2: y1})
    with pytest.raises(ParameterError, match="expected the task names"):
        run(loss={"a": "cross_entropy", "b": "mse"}, y={"a": y0, "c": y1})
    with pytest.raises(ParameterError, match="loss_weights: 2 losses need 2 weights, got 3"):
        run(loss_weights=(1.0, 1.0, 1.0))
    with pytest.raises(ParameterError, match=r"loss_weights\['1'\]: expected a finite number"):
        run(loss_weights=(1.0, -1.0))
    with pytest.raises(ParameterError, match=r"loss_weights\['0'\]: expected a number"):
        run(loss_weights=(True, 1.0))
    with pytest.raises(ParameterError, match=r"loss_weights\['0'\]: expected a number"):
        run(loss_weights=("1", 1.0))
    with pytest.raises(ParameterError, match="'uncertainty'"):
        run(loss_weights="learned")
    with pytest.raises(ParameterError, match="only for several losses"):
        losscore.fit(Linear(4, 2, dtype=np.float64), X, y1, loss="mse", loss_weights=(1.0,),
                     progress=False)
    with pytest.raises(ParameterError, match="one entry per task"):
        run(metrics=(["accuracy"], ["mae"], ["mae"]))
    with pytest.raises(ParameterError, match="unknown task names"):
        run(loss={"a": "cross_entropy", "b": "mse"}, y={"a": y0, "b": y1},
            metrics={"c": ["mae"]})
    with pytest.raises(ParameterError, match="unknown metric"):
        run(metrics=(["accuracy"], ["r2"]))
    with pytest.raises(ShapeError, match="validation_data"):
        run(validation_data=(X, y1))
    with pytest.raises(ShapeError, match=r"X and y\['1'\]"):
        run(y=(y0, y1[:-1]))
    with pytest.raises(ShapeError, match=r"y_val\['1'\]"):
        run(validation_data=(X, (y0, y1[:-1])))
    # sample weights
    for bad, match in [(np.ones(3), "shape"), (-np.ones(len(X)), ">= 0"),
                       (np.full(len(X), np.nan), ">= 0"), (np.zeros(len(X)), "sum to 0"),
                       (np.ones(len(X), dtype=bool), "numbers")]:
        with pytest.raises((ParameterError, ShapeError, TypeError), match=match):
            run(sample_weight=bad)
    # nothing was trained by a failed call
    model = net()
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(ParameterError):
        run(model=model, loss_weights=(1.0, -1.0))
    for b, p in zip(before, model.parameters(), strict=True):
        np.testing.assert_array_equal(b, p)


def test_example_script_runs(tmp_path):
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(ROOT / "examples" / "multitask.py")],
                            cwd=tmp_path, capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "uncertainty" in result.stdout
