"""``losscore demo``: train an MLP on a generated three-arm spiral and plot its learning curves.

No download: the data set is drawn with NumPy. Shows one line per epoch and a summary line;
writes a PNG of the curves when matplotlib is installed.
"""

from __future__ import annotations

import sys
import time

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
        model, Xt, yt, loss="cross_entropy", optimizer=losscore.optim.Adam(lr=0.01),
        lr_scheduler=lambda opt: CosineAnnealingLR(opt, T_max=epochs),
        epochs=epochs, batch_size=64, seed=seed, validation_data=(Xv, yv),
        metrics=["accuracy"], callbacks=[] if live else [PrintProgress(epochs)], progress=live,
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
