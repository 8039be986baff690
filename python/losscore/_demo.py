"""``losscore demo``: train an MLP on a generated three-arm spiral and plot its learning curves.

No download: the data set is drawn with NumPy. Shows one line per epoch and a summary line;
writes a PNG of the curves when matplotlib is installed. ``losscore demo --explode`` shows
exploding gradients instead: a learning rate too large for a linear regression, what
:class:`~losscore.training.callbacks.GradientMonitor` reports, and two cures (clipping the
gradient norm, a smaller learning rate).
"""

from __future__ import annotations

import sys
import time
import warnings

import numpy as np


def spirals(n_per_class: int, n_classes: int = 3, noise: float = 0.12, seed: int = 0):
    """Interleaved spiral arms in 2-D: ``(X float32 (n, 2), y int64 (n,))``."""
    rng = np.random.default_rng(seed)
    t = rng.uniform(0.0, 1.0, size=(n_classes, n_per_class))
    radius = 0.2 + 2.0 * t
    angle = 3.0 * np.pi * t + (2 * np.pi / n_classes) * np.arange(n_classes)[:, None]
    X = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=-1).reshape(-1, 2)
    X += rng.normal(scale=noise, size=X.shape)
    y = np.repeat(np.arange(n_classes), n_per_class)
    order = rng.permutation(len(y))
    return X[order].astype(np.float32), y[order].astype(np.int64)


def main(epochs: int = 30, out: str | None = "losscore-demo.png", seed: int = 0) -> int:
    import losscore
    from losscore.optim.lr_scheduler import CosineAnnealingLR
    from losscore.training import PrintProgress

    if epochs < 1:
        print("losscore demo: --epochs must be at least 1", file=sys.stderr)
        return 2
    X, y = spirals(1500, seed=seed)
    n_train = int(0.8 * len(y))
    Xt, yt, Xv, yv = X[:n_train], y[:n_train], X[n_train:], y[n_train:]
    model = losscore.models.MLP([2, 64, 64, 3], activation="relu", seed=seed)
    print(
        f"losscore demo: {len(yt)} training / {len(yv)} validation points, 3-arm spiral; "
        f"{model}; Adam(lr=0.01) with a cosine schedule, batch 64, {epochs} epochs"
    )
    # On a terminal fit's own progress line per epoch (live, then left with the epoch's metrics);
    # elsewhere one printed line per epoch. Either way one line per epoch, then the summary.
    live = sys.stdout.isatty()
    start = time.perf_counter()
    history = losscore.fit(
        model,
        Xt,
        yt,
        loss="cross_entropy",
        optimizer=losscore.optim.Adam(lr=0.01),
        lr_scheduler=lambda opt: CosineAnnealingLR(opt, T_max=epochs),
        epochs=epochs,
        batch_size=64,
        seed=seed,
        validation_data=(Xv, yv),
        metrics=["accuracy"],
        callbacks=[] if live else [PrintProgress(epochs)],
        progress=live,
    )
    elapsed = time.perf_counter() - start
    h = history.history
    print(
        f"done in {elapsed:.2f} s: loss {h['loss'][-1]:.4f}, accuracy {h['accuracy'][-1]:.3f}, "
        f"val_loss {h['val_loss'][-1]:.4f}, val_accuracy {h['val_accuracy'][-1]:.3f}"
    )
    if out:
        try:
            history.plot(out, title="losscore demo: MLP on a 3-arm spiral")
        except ImportError:
            print("matplotlib is not installed (pip install losscore[plot]): no plot written")
        else:
            print(f"learning curves written to {out}")
    return 0


def explode(epochs: int = 8, seed: int = 0) -> int:
    """Train the same linear regression three ways and print each epoch's gradient norms."""
    import losscore
    from losscore.errors import GradientWarning
    from losscore.training import GradientMonitor

    if epochs < 1:
        print("losscore demo: --epochs must be at least 1", file=sys.stderr)
        return 2
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(2000, 8))
    y = X @ rng.normal(size=8) + 0.1 * rng.normal(size=2000)
    print(
        "losscore demo --explode: linear regression (2000 x 8, MSE), SGD, batch 64; the "
        "mean-squared error's curvature is ~2, so a learning rate above ~1 diverges"
    )
    runs = [
        ("lr=1.2 (too large)", 1.2, None),
        ("lr=1.2, clip_grad_norm=1.0", 1.2, 1.0),
        ("lr=0.05", 0.05, None),
    ]
    for label, lr, clip in runs:
        model = losscore.models.Linear(8, 1, seed=seed, dtype=np.float64)
        monitor = GradientMonitor()
        with warnings.catch_warnings(record=True) as seen, np.errstate(all="ignore"):
            warnings.simplefilter("always", GradientWarning)
            history = losscore.fit(
                model,
                X,
                y,
                loss="mse",
                optimizer=losscore.optim.SGD(lr=lr),
                epochs=epochs,
                batch_size=64,
                seed=seed,
                clip_grad_norm=clip,
                callbacks=[monitor],
                progress=False,
            )
        h = history.history
        print(f"\n{label}")
        print("  epoch        loss   grad_norm_mean   grad_norm_max")
        for e, loss, mean, peak in zip(
            history.epoch, h["loss"], h["grad_norm_mean"], h["grad_norm_max"], strict=True
        ):
            print(f"  {e:5d} {loss:11.4g} {mean:16.4g} {peak:15.4g}")
        for w in seen:
            if issubclass(w.category, GradientWarning):
                print(f"  GradientWarning: {w.message}")
        if not monitor.events:
            print("  no warning: the gradient norms stay bounded")
    return 0
