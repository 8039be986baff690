"""The record of a training run returned by :func:`losscore.fit`."""

from __future__ import annotations

from typing import Any

__all__ = ["History"]


class History:
    """Per-epoch logs of :func:`losscore.fit`.

    Attributes
    ----------
    history : dict[str, list[float]]
        One list per quantity, one entry per epoch: ``loss``, ``lr``, each metric, and
        ``val_loss`` / ``val_<metric>`` with validation data. Multi-task runs (several losses)
        add ``loss_<task>`` / ``val_loss_<task>`` (each task's own mean loss; ``loss`` is the
        weighted objective), ``<metric>_<task>`` / ``val_<metric>_<task>`` and, with learned
        weights, ``log_var_<task>``; tasks are named by the keys of a ``loss`` dict, else
        ``"0"``, ``"1"``, ...
        ``grad_norm_mean`` / ``grad_norm_max`` are the mean and maximum over the epoch's steps
        of the global L2 norm of the gradients, before clipping.
    epoch : list[int]
        The epoch numbers (0-based) that ran.
    stopped_epoch : int or None
        The epoch after which a callback or early stopping ended training.
    best_epoch : int or None
        The epoch whose weights early stopping restored.

    Examples
    --------
    >>> from losscore import History
    >>> h = History()
    >>> h.append(0, {"loss": 1.0, "lr": 0.1}); h.append(1, {"loss": 0.5, "lr": 0.1})
    >>> h.history["loss"], h.epoch
    ([1.0, 0.5], [0, 1])
    """

    def __init__(self) -> None:
        self.history: dict[str, list[float]] = {}
        self.epoch: list[int] = []
        self.stopped_epoch: int | None = None
        self.best_epoch: int | None = None

    def append(self, epoch: int, logs: dict[str, float]) -> None:
        """Record the logs of one epoch."""
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(float(value))

    def plot(self, path: Any = None, *, title: str | None = None) -> Any:
        """Draw the learning curves with matplotlib; save them to ``path`` when given.

        One panel for the loss (training and validation), one per metric, one for the
        gradient norms (log scale), and one for the learning rate when it changed. Needs
        matplotlib (``pip install losscore[plot]``).

        Returns
        -------
        matplotlib.figure.Figure
        """
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise ImportError(
                "History.plot needs matplotlib: pip install losscore[plot]"
            ) from None
        norms = [k for k in ("grad_norm_mean", "grad_norm_max") if k in self.history]
        keys = [
            k for k in self.history if not k.startswith("val_") and k != "lr" and k not in norms
        ]
        lr = self.history.get("lr", [])
        show_lr = len(set(lr)) > 1
        panels = len(keys) + (1 if show_lr else 0) + (1 if norms else 0)
        fig = Figure(figsize=(4.5 * max(panels, 1), 3.5), layout="constrained")
        axes = fig.subplots(1, max(panels, 1), squeeze=False)[0]
        for ax, key in zip(axes, keys, strict=False):
            ax.plot(self.epoch, self.history[key], label=f"train {key}")
            if f"val_{key}" in self.history:
                ax.plot(self.epoch, self.history[f"val_{key}"], label=f"validation {key}")
            if self.best_epoch is not None:
                ax.axvline(self.best_epoch, color="grey", linestyle=":", label="best epoch")
            ax.set_xlabel("epoch")
            ax.set_ylabel(key)
            ax.legend()
        if norms:
            ax = axes[len(keys)]
            for key in norms:
                ax.plot(self.epoch, self.history[key], label=key.replace("grad_norm_", ""))
            ax.set_yscale("log")
            ax.set_xlabel("epoch")
            ax.set_ylabel("gradient norm")
            ax.legend()
        if show_lr:
            ax = axes[len(keys) + (1 if norms else 0)]
            ax.plot(self.epoch, lr)
            ax.set_xlabel("epoch")
            ax.set_ylabel("learning rate")
        if title:
            fig.suptitle(title)
        if path is not None:
            fig.savefig(path, dpi=120)
        return fig

    def __repr__(self) -> str:
        keys = ", ".join(self.history)
        return f"History(epochs={len(self.epoch)}, keys=[{keys}])"
