"""losscore.fit, History, callbacks, early stopping and the progress bar.

The optimizer here is a test-local SGD written from the documented update rule
``p -= lr * g`` (torch.optim.SGD without momentum), so the training loop is checked on its own.
"""

from __future__ import annotations

import io
import math
import sys

import numpy as np
import pytest

import losscore
from losscore._progress import ProgressBar
from losscore.errors import DTypeError, ParameterError, ShapeError, TargetError
from losscore.models import MLP, Linear
from losscore.training import EarlyStopping, History


class PlainSGD:
    """``p -= lr * g``; built without parameters, bound by ``fit``."""

    def __init__(self, lr):
        self.lr = lr
        self.params = None

    def bind(self, params):
        if self.params is not None:
            raise ValueError("already bound")
        self.params = list(params)

    def step(self, grads):
        for p, g in zip(self.params, grads, strict=True):
            p -= self.lr * g


def _regression(n=200, d=4, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = np.sin(X @ rng.normal(size=d)) + 0.5 * X[:, 0]
    return X, y


def test_fit_reduces_the_loss():
    X, y = _regression()
    model = MLP([4, 32, 1], activation="tanh", seed=0)
    h = losscore.fit(model, X, y, loss="mse", optimizer=PlainSGD(0.05), epochs=30,
                     batch_size=16, seed=0, progress=False)
    losses = h.history["loss"]
    assert len(losses) == 30 and h.epoch == list(range(30))
    assert losses[-1] < 0.2 * losses[0]
    pred = model.forward(X)[:, 0].astype(np.float64)
    assert np.mean((pred - y) ** 2) < 0.2 * np.var(y)


def _numpy_tanh_mlp_epoch(params, X, y, lr, batch_size, seed):
    """One epoch of SGD on an MLP with tanh hidden layers and MSE, written from the formulas."""
    W = [p.copy() for p in params[0::2]]
    B = [p.copy() for p in params[1::2]]
    n = X.shape[0]
    perm = np.random.default_rng(seed).permutation(n)
    losses = []
    for s in range(0, n, batch_size):
        idx = perm[s : s + batch_size]
        xb, yb = X[idx], y[idx].reshape(-1, 1)
        acts, pre = [xb], []
        for i in range(len(W)):
            z = acts[-1] @ W[i] + B[i]
            pre.append(z)
            acts.append(np.tanh(z) if i < len(W) - 1 else z)
        out = acts[-1]
        losses.append((np.mean((out - yb) ** 2), len(idx)))
        g = 2.0 * (out - yb) / out.size
        gW, gB = [None] * len(W), [None] * len(W)
        for i in range(len(W) - 1, -1, -1):
            gW[i] = acts[i].T @ g
            gB[i] = g.sum(axis=0)
            if i > 0:
                g = (g @ W[i].T) * (1.0 - np.tanh(pre[i - 1]) ** 2)
        for i in range(len(W)):
            W[i] -= lr * gW[i]
            B[i] -= lr * gB[i]
    epoch_loss = sum(v * m for v, m in losses) / n
    return [p for wb in zip(W, B, strict=True) for p in wb], epoch_loss


def test_fit_matches_a_numpy_training_loop_step_for_step():
    X, y = _regression(n=103, d=5, seed=1)  # 103: a short last batch
    model = MLP([5, 8, 6, 1], activation="tanh", seed=3, dtype=np.float64)
    start = [p.copy() for p in model.parameters()]
    h = losscore.fit(model, X, y, loss="mse", optimizer=PlainSGD(0.1), epochs=1,
                     batch_size=10, seed=42, progress=False)
    expected, epoch_loss = _numpy_tanh_mlp_epoch(start, X, y, 0.1, 10, 42)
    for got, want in zip(model.parameters(), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    assert h.history["loss"][0] == pytest.approx(epoch_loss, rel=1e-12)


def test_unshuffled_batches_are_in_order():
    X, y = _regression(n=40, d=3)
    model = Linear(3, 1, seed=0, dtype=np.float64)
    start = [p.copy() for p in model.parameters()]
    losscore.fit(model, X, y, loss="mse", optimizer=PlainSGD(0.05), epochs=1, batch_size=16,
                 shuffle=False, progress=False)
    W, b = start
    for s in range(0, 40, 16):
        xb, yb = X[s : s + 16], y[s : s + 16, None]
        g = 2 * (xb @ W + b - yb) / len(xb)
        W = W - 0.05 * xb.T @ g
        b = b - 0.05 * g.sum(axis=0)
    np.testing.assert_allclose(model.weight, W, rtol=1e-13)
    np.testing.assert_allclose(model.bias, b, rtol=1e-13)


@pytest.mark.parametrize(("l1", "l2"), [(0.0, 0.3), (0.2, 0.0), (0.05, 0.1)])
def test_l1_l2_terms_match_their_formulas(l1, l2):
    rng = np.random.default_rng(7)
    X = rng.normal(size=(20, 3))
    y = rng.normal(size=20)
    model = MLP([3, 4, 1], activation="relu", seed=1, dtype=np.float64)
    model.weights[0][0, 0] = 0.0  # sign(0) = 0
    W0, b0, W1, b1 = (p.copy() for p in model.parameters())
    lr = 0.1
    h = losscore.fit(model, X, y, loss="mse", optimizer=PlainSGD(lr), epochs=1, batch_size=20,
                     shuffle=False, l1=l1, l2=l2, progress=False)
    # Full batch, one step, from the definitions.
    z = X @ W0 + b0
    a = np.maximum(z, 0)
    out = a @ W1 + b1
    r = out - y[:, None]
    data_loss = np.mean(r**2)
    penalty = sum(l1 * np.abs(w).sum() + l2 / 2 * (w**2).sum() for w in (W0, W1))
    assert h.history["loss"][0] == pytest.approx(data_loss + penalty, rel=1e-12)
    g = 2 * r / r.size
    gW1, gb1 = a.T @ g, g.sum(0)
    ga = (g @ W1.T) * (z > 0)
    gW0, gb0 = X.T @ ga, ga.sum(0)
    np.testing.assert_allclose(model.weights[0], W0 - lr * (gW0 + l2 * W0 + l1 * np.sign(W0)),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.weights[1], W1 - lr * (gW1 + l2 * W1 + l1 * np.sign(W1)),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.biases[0], b0 - lr * gb0, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(model.biases[1], b1 - lr * gb1, rtol=1e-12, atol=1e-15)


class BareModel:
    """A user model without weight_mask(): ndim >= 2 arrays are the regularized weights."""

    def __init__(self):
        self.w = np.array([[0.5], [-1.0]])
        self.b = np.array([0.3])

    def parameters(self):
        return [self.w, self.b]

    def forward(self, X):
        self.X = X
        return X @ self.w + self.b

    def backward(self, g):
        return [self.X.T @ g, g.sum(axis=0)]


def test_user_model_and_default_weight_rule():
    X = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 1.0]])
    y = np.array([1.0, 0.0, 2.0])
    m = BareModel()
    w0, b0 = m.w.copy(), m.b.copy()
    h = losscore.fit(m, X, y, loss="mae", optimizer=PlainSGD(0.5), epochs=1, batch_size=3,
                     shuffle=False, l2=1.0, progress=False)
    r = X @ w0 + b0 - y[:, None]
    assert h.history["loss"][0] == pytest.approx(np.mean(np.abs(r)) + 0.5 * (w0**2).sum())
    g = np.sign(r) / 3
    np.testing.assert_allclose(m.w, w0 - 0.5 * (X.T @ g + w0))
    np.testing.assert_allclose(m.b, b0 - 0.5 * g.sum(0))


def test_loss_parameters_through_functools_partial():
    import functools

    X, y = _regression(n=30, d=2)
    y = 3 * y  # residuals on both sides of delta
    model = Linear(2, 1, seed=0, dtype=np.float64)
    W, b = (p.copy() for p in model.parameters())
    h = losscore.fit(model, X, y, loss=functools.partial(losscore.huber, delta=0.5),
                     optimizer=PlainSGD(0.1), epochs=1, batch_size=30, shuffle=False,
                     validation_data=(X, y), progress=False)
    r = (X @ W + b)[:, 0] - y
    huber = np.where(np.abs(r) < 0.5, 0.5 * r**2, 0.5 * (np.abs(r) - 0.25))  # PyTorch huber_loss
    assert h.history["loss"][0] == pytest.approx(np.mean(huber), rel=1e-12)
    g = np.clip(r, -0.5, 0.5)[:, None] / 30
    np.testing.assert_allclose(model.weight, W - 0.1 * X.T @ g, rtol=1e-12)
    with pytest.raises(ParameterError, match="reduction"):
        losscore.fit(model, X, y, loss=functools.partial(losscore.mse, reduction="sum"),
                     optimizer=PlainSGD(0.1), progress=False)
    with pytest.raises(ParameterError, match="loss"):
        losscore.fit(model, X, y, loss=functools.partial(np.mean), optimizer=PlainSGD(0.1),
                     progress=False)


def test_metrics_and_validation_logs():
    X, y = _regression(n=64, d=3)
    Xv, yv = _regression(n=30, d=3, seed=5)
    model = Linear(3, 1, seed=0, dtype=np.float64)
    W, b = (p.copy() for p in model.parameters())
    h = losscore.fit(model, X, y, loss="mse", optimizer=PlainSGD(0.01), epochs=1, batch_size=64,
                     shuffle=False, metrics=["mae", "mse"], validation_data=(Xv, yv),
                     progress=False)
    out0 = (X @ W + b)[:, 0]
    assert h.history["mae"][0] == pytest.approx(np.mean(np.abs(out0 - y)), rel=1e-12)
    assert h.history["mse"][0] == pytest.approx(h.history["loss"][0], rel=1e-12)
    outv = (Xv @ model.weight + model.bias)[:, 0]
    assert h.history["val_loss"][0] == pytest.approx(np.mean((outv - yv) ** 2), rel=1e-12)
    assert h.history["val_mae"][0] == pytest.approx(np.mean(np.abs(outv - yv)), rel=1e-12)
    assert h.history["lr"] == [0.01]
    assert sorted(h.history) == [
        "grad_norm_max", "grad_norm_mean", "loss", "lr", "mae", "mse", "val_loss", "val_mae",
        "val_mse",
    ]


class Recorder:
    """Keeps each epoch's logs and parameters."""

    def __init__(self, model):
        self.model = model
        self.logs, self.params = [], []

    def on_epoch_end(self, epoch, logs):
        self.logs.append(logs)
        self.params.append([p.copy() for p in self.model.parameters()])


def test_early_stopping_restores_the_best_epoch():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(60, 10))
    y = X[:, 0] + rng.normal(scale=1.0, size=60)  # few samples, many noisy features: overfits
    Xv = rng.normal(size=(200, 10))
    yv = Xv[:, 0]
    model = MLP([10, 64, 1], activation="relu", seed=0, dtype=np.float64)
    rec = Recorder(model)
    h = losscore.fit(model, X, y, loss="mse", optimizer=PlainSGD(0.05), epochs=300,
                     batch_size=8, seed=0, validation_data=(Xv, yv), early_stopping=3,
                     callbacks=[rec], progress=False)
    val = h.history["val_loss"]
    best = int(np.argmin(val))
    assert len(val) < 300  # stopped early
    assert h.best_epoch == best and h.stopped_epoch == len(val) - 1
    assert len(val) - 1 - best == 3  # patience epochs without improvement, then stop
    for got, want in zip(model.parameters(), rec.params[best], strict=True):
        np.testing.assert_array_equal(got, want)
    outv = model.forward(Xv)[:, 0]
    assert np.mean((outv - yv) ** 2) == pytest.approx(min(val), rel=1e-12)


def test_early_stopping_spec_forms():
    X, y = _regression(n=32, d=2)
    for spec in ({"monitor": "loss", "patience": 0, "min_delta": 1e9}, EarlyStopping(
            monitor="loss", patience=0, min_delta=1e9)):
        h = losscore.fit(Linear(2, 1, seed=0), X, y, loss="mse", optimizer=PlainSGD(0.01),
                         epochs=10, early_stopping=spec, progress=False)
        assert len(h.epoch) == 2  # epoch 0 sets the best, epoch 1 cannot improve by 1e9
    with pytest.raises(ParameterError, match="early_stopping"):
        losscore.fit(Linear(2, 1), X, y, loss="mse", optimizer=PlainSGD(0.01),
                     early_stopping="soon", progress=False)
    with pytest.raises(ParameterError, match="patience"):
        losscore.fit(Linear(2, 1), X, y, loss="mse", optimizer=PlainSGD(0.01),
                     early_stopping=-1, progress=False)
    with pytest.raises(ParameterError, match="monitor"):
        losscore.fit(Linear(2, 1), X, y, loss="mse", optimizer=PlainSGD(0.01),
                     early_stopping={"monitor": "val_accuracy"}, progress=False)


def test_callbacks_can_stop_training():
    X, y = _regression(n=32, d=2)

    class StopAt:
        def __init__(self, at, flag):
            self.at, self.flag, self.stop_training, self.seen = at, flag, False, []

        def on_epoch_end(self, epoch, logs):
            self.seen.append(epoch)
            if epoch == self.at:
                if self.flag:
                    self.stop_training = True
                else:
                    return True
            return None

    for flag in (False, True):
        cb = StopAt(2, flag)
        h = losscore.fit(Linear(2, 1), X, y, loss="mse", optimizer=PlainSGD(0.01), epochs=10,
                         callbacks=[cb], progress=False)
        assert cb.seen == [0, 1, 2] and h.epoch == [0, 1, 2] and h.stopped_epoch == 2
    with pytest.raises(ParameterError, match="on_epoch_end"):
        losscore.fit(Linear(2, 1), X, y, loss="mse", optimizer=PlainSGD(0.01),
                     callbacks=[object()], progress=False)


class StepCounter:
    """A stand-in scheduler: halves the optimizer's lr on every step."""

    def __init__(self, opt):
        self.opt, self.calls = opt, []

    def step(self, *args):
        self.calls.append(args)
        self.opt.lr *= 0.5


class ReduceLROnPlateau(StepCounter):
    """Same name as the plateau scheduler: fit passes it the monitored value."""


def test_lr_scheduler_is_stepped_once_per_epoch():
    X, y = _regression(n=32, d=2)
    opt = PlainSGD(0.1)
    sched = StepCounter(opt)
    h = losscore.fit(Linear(2, 1), X, y, loss="mse", optimizer=opt, epochs=4,
                     lr_scheduler=sched, progress=False)
    assert sched.calls == [(), (), (), ()]
    assert h.history["lr"] == [0.1, 0.05, 0.025, 0.0125]
    # A factory receives the optimizer fit resolved.
    made = []

    def factory(o):
        made.append(ReduceLROnPlateau(o))
        return made[-1]

    h = losscore.fit(Linear(2, 1), X, y, loss="mse", optimizer=PlainSGD(0.1), epochs=3,
                     lr_scheduler=factory, validation_data=(X, y), progress=False)
    assert [c[0] for c in made[0].calls] == h.history["val_loss"]
    with pytest.raises(ParameterError, match="lr_scheduler"):
        losscore.fit(Linear(2, 1), X, y, loss="mse", optimizer=PlainSGD(0.1),
                     lr_scheduler=3, progress=False)


def test_errors_are_clear_and_modify_nothing():
    X, y = _regression(n=20, d=3)
    model = Linear(3, 1, seed=0)
    before = [p.copy() for p in model.parameters()]
    opt = PlainSGD(0.1)
    with pytest.raises(ShapeError, match=r"X shape \(20, 3\) and y shape \(19,\)"):
        losscore.fit(model, X, y[:-1], loss="mse", optimizer=opt, progress=False)
    Xn = X.copy()
    Xn[4, 1] = np.nan
    with pytest.raises(ParameterError, match="NaN"):
        losscore.fit(model, Xn, y, loss="mse", optimizer=opt, progress=False)
    with pytest.raises(ParameterError, match="unknown loss 'msee'"):
        losscore.fit(model, X, y, loss="msee", optimizer=opt, progress=False)
    with pytest.raises(ParameterError, match="loss"):
        losscore.fit(model, X, y, loss=lambda p, t: 0.0, optimizer=opt, progress=False)
    with pytest.raises(ParameterError, match="epochs"):
        losscore.fit(model, X, y, loss="mse", optimizer=opt, epochs=-1, progress=False)
    with pytest.raises(ParameterError, match="batch_size"):
        losscore.fit(model, X, y, loss="mse", optimizer=opt, batch_size=0, progress=False)
    with pytest.raises(ParameterError, match="l2"):
        losscore.fit(model, X, y, loss="mse", optimizer=opt, l2=-0.1, progress=False)
    with pytest.raises(ParameterError, match="metric"):
        losscore.fit(model, X, y, loss="mse", optimizer=opt, metrics=["f1"], progress=False)
    with pytest.raises(ParameterError, match="optimizer"):
        losscore.fit(model, X, y, loss="mse", optimizer=42, progress=False)
    with pytest.raises(ParameterError, match="validation_data"):
        losscore.fit(model, X, y, loss="mse", optimizer=opt, validation_data=X, progress=False)
    with pytest.raises(ShapeError, match="X_val"):
        losscore.fit(model, X, y, loss="mse", optimizer=opt,
                     validation_data=(X[:5], y[:4]), progress=False)
    with pytest.raises(DTypeError, match="X"):
        losscore.fit(model, np.array([["a"]] * 20), y, loss="mse", optimizer=opt,
                     progress=False)
    with pytest.raises(ParameterError, match="model"):
        losscore.fit(object(), X, y, loss="mse", optimizer=opt, progress=False)
    with pytest.raises(ShapeError):
        losscore.fit(model, X[:0], y[:0], loss="mse", optimizer=opt, progress=False)
    with pytest.raises(ShapeError, match="target"):  # the loss names the shapes
        losscore.fit(model, X, np.ones((20, 2)), loss="mse", optimizer=opt, progress=False)
    for p, q in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p, q)


def test_zero_epochs_and_float32_inputs_cast_once():
    X, y = _regression(n=16, d=2)
    model = Linear(2, 1, seed=0)
    h = losscore.fit(model, X, y, loss="mse", optimizer=PlainSGD(0.1), epochs=0, progress=False)
    assert h.epoch == [] and h.history == {}
    h = losscore.fit(model, X.tolist(), y.tolist(), loss=losscore.mse, optimizer=PlainSGD(0.1),
                     epochs=2, progress=False)
    assert len(h.history["loss"]) == 2 and model.weight.dtype == np.float32


# ---- progress bar and history ----


def test_no_progress_output_when_not_a_terminal(capsys):
    X, y = _regression(n=16, d=2)
    losscore.fit(Linear(2, 1), X, y, loss="mse", optimizer=PlainSGD(0.1), epochs=2,
                 progress=True)
    assert capsys.readouterr().out == ""


def test_plain_progress_bar_without_tqdm(monkeypatch):
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # import fails -> plain bar
    buf = io.StringIO()
    monkeypatch.setattr(sys, "stdout", buf)
    bar = ProgressBar(total=4, epoch=0, epochs=3)
    for done in range(1, 5):
        bar.update(done, 1.5)
    bar.close({"loss": 1.25})
    text = buf.getvalue()
    assert "epoch 1/3" in text and "4/4" in text and "loss=1.25" in text


def test_progress_bar_in_a_terminal(monkeypatch):
    buf = io.StringIO()
    buf.isatty = lambda: True
    monkeypatch.setattr(sys, "stdout", buf)
    X, y = _regression(n=16, d=2)
    losscore.fit(Linear(2, 1), X, y, loss="mse", optimizer=PlainSGD(0.1), epochs=2,
                 batch_size=4)
    assert "epoch 2/2" in buf.getvalue() and "loss" in buf.getvalue()
    silent = io.StringIO()
    silent.isatty = lambda: True
    monkeypatch.setattr(sys, "stdout", silent)
    losscore.fit(Linear(2, 1), X, y, loss="mse", optimizer=PlainSGD(0.1), epochs=1,
                 progress=False)
    assert silent.getvalue() == ""


def test_history_plot_writes_png(tmp_path):
    pytest.importorskip("matplotlib")
    h = History()
    for e in range(5):
        h.append(e, {"loss": 1 / (e + 1), "accuracy": e / 5, "val_loss": 1.2 / (e + 1),
                     "lr": 0.1 * 0.5**e})
    h.best_epoch = 3
    path = tmp_path / "curves.png"
    fig = h.plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(fig.axes) == 3  # loss, accuracy, lr
    assert "epochs=5" in repr(h)


def test_history_plot_without_matplotlib(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r"pip install losscore\[plot\]"):
        History().plot()


def test_exports():
    assert losscore.fit is losscore.training.fit
    assert losscore.History is History
    assert math.isnan(losscore.training.metrics.accuracy_for(None)(np.zeros((0, 3)),
                                                                 np.zeros(0)))


# ---- the demo and the examples ----

ROOT = __import__("pathlib").Path(__file__).resolve().parent.parent


def test_demo_runs(tmp_path, capsys):
    from losscore.__main__ import main

    out = tmp_path / "demo.png"
    assert main(["demo", "--epochs", "3", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "epoch 1/3" in text and "epoch 3/3" in text and "val_accuracy" in text
    if __import__("importlib").util.find_spec("matplotlib") is not None:
        assert out.read_bytes()[:4] == b"\x89PNG"


def test_demo_learns_the_spiral(capsys):
    from losscore._demo import main

    assert main(epochs=25, out=None) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    val_acc = float(last.rsplit("val_accuracy", 1)[1].strip())
    assert val_acc > 0.9


@pytest.mark.parametrize(
    "script", ["linear_regression_sgd.py", "logistic_regression_bce.py", "mlp_classifier.py"]
)
def test_examples_run(script, tmp_path):
    import subprocess

    # Batch-64 matrix products are too small for BLAS threads; on a busy 2-core runner they
    # only contend with each other (seconds of spinning), so the scripts run with one.
    env = {**__import__("os").environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, str(ROOT / "examples" / script)], cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stdout + result.stderr


def test_training_is_bitwise_independent_of_losscore_threads():
    rng = np.random.default_rng(9)
    X = rng.normal(size=(4096, 4)).astype(np.float32)
    y = rng.normal(size=4096).astype(np.float32)
    before = losscore.get_num_threads()
    results = []
    try:
        for threads in (1, 2, 3):
            losscore.set_num_threads(threads)
            # 1024 x 64 hidden units per batch: enough for the kernels to split across threads
            model = MLP([4, 64, 1], activation="gelu", seed=0)
            h = losscore.fit(model, X, y, loss="mse", optimizer=PlainSGD(0.01), epochs=2,
                             batch_size=1024, seed=0, l2=1e-3, progress=False)
            results.append((h.history["loss"], [p.copy() for p in model.parameters()]))
    finally:
        losscore.set_num_threads(before)
    for losses, params in results[1:]:
        assert losses == results[0][0]
        for p, q in zip(params, results[0][1], strict=True):
            np.testing.assert_array_equal(p, q)


# ---- with losscore.optim and the classification losses ----


def test_default_optimizer_is_adam_with_the_documented_first_step():
    # torch.optim.Adam, first step from zero state: m_hat = g, v_hat = g**2, so
    # p -= lr * g / (|g| + eps) with lr = 1e-3, eps = 1e-8.
    X, y = _regression(n=50, d=3)
    model = Linear(3, 1, seed=0, dtype=np.float64)
    W, b = (p.copy() for p in model.parameters())
    losscore.fit(model, X, y, loss="mse", epochs=1, batch_size=50, shuffle=False,
                 progress=False)
    g = 2 * (X @ W + b - y[:, None]) / 50
    gW, gb = X.T @ g, g.sum(axis=0)
    np.testing.assert_allclose(model.weight, W - 1e-3 * gW / (np.abs(gW) + 1e-8), rtol=1e-12)
    np.testing.assert_allclose(model.bias, b - 1e-3 * gb / (np.abs(gb) + 1e-8), rtol=1e-12)


@pytest.mark.parametrize("name", ["adam", "SGD", "adamw", "rmsprop", "nadam", "lion"])
def test_optimizer_by_name(name):
    X, y = _regression(n=64, d=3)
    h = losscore.fit(Linear(3, 1, seed=0), X, y, loss="mse", optimizer=name, epochs=2,
                     progress=False)
    assert h.history["lr"] == [1e-3, 1e-3]
    assert all(math.isfinite(v) for v in h.history["loss"])


def test_bad_labels_fail_before_any_update():
    rng = np.random.default_rng(13)
    X = rng.normal(size=(100, 3))
    labels = rng.integers(3, size=100)
    labels[97] = 3  # out of range for 3 classes, in the last batch
    model = MLP([3, 8, 3], seed=0, dtype=np.float64)
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(TargetError, match="3"):
        losscore.fit(model, X, labels, loss="cross_entropy", optimizer=PlainSGD(0.1),
                     batch_size=10, shuffle=False, progress=False)
    with pytest.raises(ShapeError):
        losscore.fit(model, X, rng.uniform(size=(100, 2)), loss="mse",
                     optimizer=PlainSGD(0.1), progress=False)
    ok = labels.copy()
    ok[97] = 0
    with pytest.raises(TargetError):
        losscore.fit(model, X, ok, loss="cross_entropy", optimizer=PlainSGD(0.1),
                     validation_data=(X, labels), progress=False)
    for p, q in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p, q)


def test_optimizer_binding_rules():
    X, y = _regression(n=32, d=3)
    model = Linear(3, 1, seed=0, dtype=np.float64)
    opt = losscore.optim.SGD(model.parameters(), lr=0.1)  # already bound to these: fine
    losscore.fit(model, X, y, loss="mse", optimizer=opt, epochs=1, progress=False)
    other = losscore.optim.SGD([np.zeros(3)], lr=0.1)
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(ParameterError, match="params"):
        losscore.fit(model, X, y, loss="mse", optimizer=other, epochs=1, progress=False)
    for p, q in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p, q)
    with pytest.raises(ParameterError, match="unknown optimizer 'adamz'"):
        losscore.fit(model, X, y, loss="mse", optimizer="adamz", progress=False)


def test_real_schedulers():
    from losscore.optim.lr_scheduler import ReduceLROnPlateau as Plateau
    from losscore.optim.lr_scheduler import StepLR

    X, y = _regression(n=32, d=2)
    h = losscore.fit(Linear(2, 1), X, y, loss="mse", optimizer=losscore.optim.SGD(lr=0.1),
                     epochs=5, lr_scheduler=lambda o: StepLR(o, step_size=2, gamma=0.5),
                     progress=False)
    np.testing.assert_allclose(h.history["lr"], [0.1, 0.1, 0.05, 0.05, 0.025])
    # A learning rate too small to move the validation loss by the relative threshold 1e-4:
    # the plateau scheduler (patience 0) halves it after every epoch from the second on.
    opt = losscore.optim.SGD(lr=1e-6)
    h = losscore.fit(Linear(2, 1), X, y, loss="mse", optimizer=opt, epochs=4,
                     lr_scheduler=Plateau(opt, factor=0.5, patience=0),
                     validation_data=(X, y), progress=False)
    np.testing.assert_allclose(h.history["lr"], [1e-6, 1e-6, 5e-7, 2.5e-7])


def test_accuracy_metric_reads_outputs_like_the_loss():
    rng = np.random.default_rng(11)
    X = rng.normal(size=(40, 3))
    labels = rng.integers(4, size=40)
    model = Linear(3, 4, seed=0, dtype=np.float64)
    out0 = X @ model.weight + model.bias
    h = losscore.fit(model, X, labels, loss="cross_entropy", optimizer=PlainSGD(0.1), epochs=1,
                     batch_size=40, shuffle=False, metrics=["accuracy"],
                     validation_data=(X, labels), progress=False)
    assert h.history["accuracy"][0] == np.mean(out0.argmax(axis=1) == labels)
    # the same labels as floats are still class indices
    twin = Linear(3, 4, seed=0, dtype=np.float64)
    h2 = losscore.fit(twin, X, labels.astype(float), loss="cross_entropy",
                      optimizer=PlainSGD(0.1), epochs=1, batch_size=40, shuffle=False,
                      progress=False)
    assert h2.history["loss"] == h.history["loss"]
    out1 = X @ model.weight + model.bias
    assert h.history["val_accuracy"][0] == np.mean(out1.argmax(axis=1) == labels)
    # softmax cross-entropy from its definition
    lse = np.log(np.exp(out0 - out0.max(1, keepdims=True)).sum(1)) + out0.max(1)
    assert h.history["loss"][0] == pytest.approx(np.mean(lse - out0[np.arange(40), labels]))
    # one logit, 0/1 targets: positive logit means class 1
    yb = (labels > 1).astype(float)
    m1 = Linear(3, 1, seed=0, dtype=np.float64)
    o = (X @ m1.weight + m1.bias)[:, 0]
    h = losscore.fit(m1, X, yb, loss="binary_cross_entropy_with_logits",
                     optimizer=PlainSGD(0.1), epochs=1, batch_size=40, shuffle=False,
                     metrics=["accuracy"], progress=False)
    assert h.history["accuracy"][0] == np.mean((o > 0) == (yb > 0.5))
    # -1/+1 targets with the hinge loss
    ypm = 2 * yb - 1
    m2 = Linear(3, 1, seed=0, dtype=np.float64)
    h = losscore.fit(m2, X, ypm, loss="hinge", optimizer=PlainSGD(0.1), epochs=1, batch_size=40,
                     shuffle=False, metrics=["accuracy", "mae"], progress=False)
    assert h.history["accuracy"][0] == np.mean((o > 0) == (ypm > 0))
    assert h.history["mae"][0] == pytest.approx(np.mean(np.abs(o - ypm)))


def test_mlp_learns_a_classification_problem():
    rng = np.random.default_rng(12)
    X = rng.normal(size=(600, 2))
    y = ((X[:, 0] ** 2 + X[:, 1] ** 2) > 1.2).astype(np.int64)
    model = MLP([2, 32, 2], activation="tanh", seed=0)
    h = losscore.fit(model, X, y, loss="cross_entropy", optimizer=losscore.optim.Adam(lr=0.02),
                     epochs=40, batch_size=32, seed=0, metrics=["accuracy"], progress=False)
    assert h.history["accuracy"][-1] > 0.95
