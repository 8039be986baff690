"""fit's gradient clipping, gradient-norm history and default parameter groups against NumPy
loops (and torch.optim for the groups), GradientMonitor, and ``losscore demo --explode``."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

import losscore
from losscore import optim
from losscore.__main__ import main
from losscore.errors import GradientWarning, ParameterError, ParameterTypeError
from losscore.models import MLP, Linear
from losscore.training import GradientMonitor


def _data(n=96, d=3, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * scale
    y = X @ rng.normal(size=d) + 0.5 + 0.1 * rng.normal(size=n)
    return X, y


def _numpy_linear_epochs(W, b, X, y, lr, bs, epochs, max_norm=None, max_value=None, l2=0.0):
    """Plain SGD on the mean squared error of X @ W + b, in float64, from the definitions.
    Returns the final (W, b) and the per-epoch mean and max of the pre-clipping global norm."""
    W, b = W.copy(), b.copy()
    means, maxes = [], []
    for _ in range(epochs):
        norms = []
        for s in range(0, len(y), bs):
            xb, yb = X[s : s + bs], y[s : s + bs, None]
            r = xb @ W + b - yb
            gW = 2 * xb.T @ r / r.size + l2 * W
            gb = 2 * r.sum(0) / r.size
            norm = math.sqrt((gW**2).sum() + (gb**2).sum())
            norms.append(norm)
            if max_value is not None:
                gW, gb = np.clip(gW, -max_value, max_value), np.clip(gb, -max_value, max_value)
            if max_norm is not None:
                clipped = math.sqrt((gW**2).sum() + (gb**2).sum())
                coef = min(max_norm / (clipped + 1e-6), 1.0)
                gW, gb = gW * coef, gb * coef
            W, b = W - lr * gW, b - lr * gb
        means.append(float(np.mean(norms)))
        maxes.append(max(norms))
    return W, b, means, maxes


@pytest.mark.parametrize(
    ("max_norm", "max_value", "l2"),
    [(None, None, 0.0), (0.5, None, 0.0), (None, 0.2, 0.0), (0.3, 0.25, 0.0), (0.5, None, 0.1)],
)
def test_clipping_and_norm_history_match_numpy(max_norm, max_value, l2):
    X, y = _data(scale=3.0)
    model = Linear(3, 1, seed=1, dtype=np.float64)
    W0, b0 = model.weight.copy(), model.bias.copy()
    h = losscore.fit(
        model,
        X,
        y,
        loss="mse",
        optimizer=optim.SGD(lr=0.05),
        epochs=3,
        batch_size=16,
        shuffle=False,
        l2=l2,
        clip_grad_norm=max_norm,
        clip_grad_value=max_value,
        progress=False,
    )
    W, b, means, maxes = _numpy_linear_epochs(W0, b0, X, y, 0.05, 16, 3, max_norm, max_value, l2)
    np.testing.assert_allclose(model.weight, W, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(model.bias, b, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h.history["grad_norm_mean"], means, rtol=1e-12)
    np.testing.assert_allclose(h.history["grad_norm_max"], maxes, rtol=1e-12)
    if max_norm is not None or max_value is not None:
        assert max(maxes) > (max_norm or max_value)  # the clipping was active


def test_clipping_bounds_every_update():
    X, y = _data(scale=10.0)
    model = Linear(3, 1, seed=0, dtype=np.float64)
    seen = []

    class Recorder:
        def __init__(self):
            self.inner = optim.SGD(lr=1.0)

        @property
        def params(self):
            return self.inner.params

        def bind(self, params):
            self.inner.bind(params)

        def step(self, grads):
            seen.append(math.sqrt(sum(float((g**2).sum()) for g in grads)))
            self.inner.step(grads)

    losscore.fit(
        model,
        X,
        y,
        loss="mse",
        optimizer=Recorder(),
        epochs=1,
        batch_size=8,
        clip_grad_norm=0.1,
        progress=False,
    )
    assert max(seen) <= 0.1 * (1 + 1e-12)


def test_fit_puts_biases_in_a_no_decay_group_as_torch_would():
    X, y = _data(n=64)
    model = MLP([3, 8, 1], activation="tanh", seed=0, dtype=np.float64)
    start = [p.copy() for p in model.parameters()]
    opt = optim.AdamW(lr=0.01, weight_decay=0.5)
    losscore.fit(
        model,
        X,
        y,
        loss="mse",
        optimizer=opt,
        epochs=2,
        batch_size=16,
        shuffle=False,
        progress=False,
    )
    W0, b0, W1, b1 = model.parameters()
    groups = opt.param_groups
    assert [g["weight_decay"] for g in groups] == [0.5, 0.0]
    assert groups[0]["params"][0] is W0 and groups[0]["params"][1] is W1
    assert groups[1]["params"][0] is b0 and groups[1]["params"][1] is b1
    # The same run by hand: NumPy gradients of the tanh MLP, torch's AdamW with the two groups.
    ts = [torch.tensor(p, requires_grad=True) for p in start]
    topt = torch.optim.AdamW(
        [{"params": [ts[0], ts[2]]}, {"params": [ts[1], ts[3]], "weight_decay": 0.0}],
        lr=0.01,
        weight_decay=0.5,
    )
    for _ in range(2):
        for s in range(0, 64, 16):
            xb, yb = torch.tensor(X[s : s + 16]), torch.tensor(y[s : s + 16, None])
            out = torch.tanh(xb @ ts[0] + ts[1]) @ ts[2] + ts[3]
            topt.zero_grad()
            ((out - yb) ** 2).mean().backward()
            topt.step()
    for got, t in zip(model.parameters(), ts, strict=True):
        np.testing.assert_allclose(got, t.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_no_decay_group_only_when_the_optimizer_decays():
    X, y = _data()
    opt = optim.Adam(lr=0.01)
    losscore.fit(Linear(3, 1), X, y, loss="mse", optimizer=opt, epochs=1, progress=False)
    assert len(opt.param_groups) == 1


def test_an_optimizer_holding_the_model_in_its_own_groups_is_used_as_is():
    X, y = _data()
    model = MLP([3, 4, 1], seed=0, dtype=np.float64)
    W0, b0, W1, b1 = model.parameters()
    twin = MLP([3, 4, 1], seed=0, dtype=np.float64)
    V0, c0, V1, c1 = twin.parameters()
    opt = optim.SGD([{"params": [b1, W0]}, {"params": [W1, b0], "lr": 0.2}], lr=0.1)
    losscore.fit(
        model,
        X,
        y,
        loss="mse",
        optimizer=opt,
        epochs=1,
        batch_size=32,
        shuffle=False,
        progress=False,
    )
    # By hand: the twin's gradients, each array with its group's lr.
    for s in range(0, len(y), 32):
        out = twin.forward(X[s : s + 32])
        g = 2 * (out - y[s : s + 32, None]) / out.size
        gV0, gc0, gV1, gc1 = twin.backward(g)
        V0 -= 0.1 * gV0
        c1 -= 0.1 * gc1
        V1 -= 0.2 * gV1
        c0 -= 0.2 * gc0
    for got, want in zip(model.parameters(), twin.parameters(), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)
    other = optim.SGD([np.zeros(3)])
    with pytest.raises(ParameterError, match="already holds"):
        losscore.fit(model, X, y, loss="mse", optimizer=other, epochs=1, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"clip_grad_norm": -1.0}, ParameterError, "clip_grad_norm"),
        ({"clip_grad_norm": float("nan")}, ParameterError, "clip_grad_norm"),
        ({"clip_grad_norm": "1"}, ParameterTypeError, "clip_grad_norm"),
        ({"clip_grad_norm": True}, ParameterTypeError, "clip_grad_norm"),
        ({"clip_grad_value": -0.5}, ParameterError, "clip_grad_value"),
        ({"clip_grad_value": [1.0]}, ParameterTypeError, "clip_grad_value"),
    ],
)
def test_bad_clipping_arguments(kwargs, exc, match):
    X, y = _data()
    model = Linear(3, 1, seed=0)
    before = [p.copy() for p in model.parameters()]
    with pytest.raises(exc, match=match):
        losscore.fit(model, X, y, loss="mse", epochs=1, progress=False, **kwargs)
    for p, q in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p, q)


# ---- GradientMonitor ------------------------------------------------------------------------


def test_monitor_warns_on_exploding_gradients_in_fit():
    X, y = _data(n=512, d=8, seed=3)
    monitor = GradientMonitor()
    with pytest.warns(GradientWarning, match="exploding"), np.errstate(all="ignore"):
        h = losscore.fit(
            Linear(8, 1, seed=0, dtype=np.float64),
            X,
            y,
            loss="mse",
            optimizer=optim.SGD(lr=1.5),
            epochs=4,
            batch_size=32,
            seed=0,
            callbacks=[monitor],
            progress=False,
        )
    assert [e[1] for e in monitor.events] == ["exploding"]  # once per run
    assert h.history["grad_norm_max"][0] > 1e3


def test_monitor_stops_on_nonfinite_norms():
    X, y = _data(n=512, d=8, seed=3)
    monitor = GradientMonitor(every_epoch=True)
    with warnings.catch_warnings(record=True) as seen, np.errstate(all="ignore"):
        warnings.simplefilter("always")
        h = losscore.fit(
            Linear(8, 1, seed=0, dtype=np.float64),
            X,
            y,
            loss="mse",
            optimizer=optim.SGD(lr=3.0),
            epochs=50,
            batch_size=32,
            seed=0,
            callbacks=[monitor],
            progress=False,
        )
    kinds = [e[1] for e in monitor.events]
    assert kinds[-1] == "nonfinite" and h.stopped_epoch == len(h.epoch) - 1 < 49
    assert not math.isfinite(h.history["grad_norm_max"][-1])
    assert any(issubclass(w.category, GradientWarning) for w in seen)


def test_monitor_thresholds_from_their_definitions():
    logs = {"loss": 1.0, "grad_norm_mean": 1.0, "grad_norm_max": 2.0}
    mon = GradientMonitor(explode=10.0, vanish=1e-3, growth=5.0, every_epoch=True)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        assert mon.on_epoch_end(0, logs) is False  # sets the first epoch's mean
        mon.on_epoch_end(1, dict(logs, grad_norm_mean=4.9, grad_norm_max=9.9))  # within bounds
        mon.on_epoch_end(2, dict(logs, grad_norm_mean=5.1, grad_norm_max=6.0))  # mean > 5 x 1
        mon.on_epoch_end(3, dict(logs, grad_norm_mean=1.0, grad_norm_max=10.5))  # max > 10
        mon.on_epoch_end(4, dict(logs, grad_norm_mean=9e-4, grad_norm_max=1e-3))  # vanishing
        mon.on_epoch_end(5, dict(logs, loss=1e-4, grad_norm_mean=9e-4))  # solved, not vanishing
        assert mon.on_epoch_end(6, dict(logs, grad_norm_max=math.inf)) is True
    assert [(e[0], e[1]) for e in mon.events] == [
        (2, "exploding"),
        (3, "exploding"),
        (4, "vanishing"),
        (6, "nonfinite"),
    ]
    assert len(seen) == 4 and all(w.category is GradientWarning for w in seen)
    assert issubclass(GradientWarning, UserWarning)


def test_monitor_bad_arguments():
    with pytest.raises(ParameterError, match="explode"):
        GradientMonitor(explode=-1.0)
    with pytest.raises(ParameterTypeError, match="vanish"):
        GradientMonitor(vanish="small")
    with pytest.raises(ParameterTypeError, match="growth"):
        GradientMonitor(growth=True)
    with pytest.raises(ParameterTypeError, match="every_epoch"):
        GradientMonitor(every_epoch=1)
    with pytest.raises(ParameterError, match="grad_norm_mean"):
        GradientMonitor().on_epoch_end(0, {"loss": 1.0})


def test_demo_explode_shows_the_warning_and_the_norms(capsys):
    assert main(["demo", "--explode", "--epochs", "3"]) == 0
    out = capsys.readouterr().out
    assert "GradientWarning" in out and "exploding gradients" in out
    assert out.count("grad_norm_mean") == 3
    assert "clip_grad_norm=1.0" in out and "no warning" in out
