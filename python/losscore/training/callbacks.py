"""Callbacks of :func:`losscore.fit` and early stopping.

A callback is any object with ``on_epoch_end(epoch, logs)``; it stops training by returning
``True`` or by setting ``stop_training = True``. Optional hooks: ``on_train_begin(model)`` and
``on_train_end(model)``.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ParameterError

__all__ = ["Callback", "EarlyStopping", "PrintProgress"]


class Callback:
    """Base class with no-op hooks (subclassing it is optional)."""

    stop_training: bool = False

    def on_train_begin(self, model: Any) -> None:
        """Called once before the first epoch."""

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool | None:
        """Called after every epoch with its logs; return True to stop training."""
        return None

    def on_train_end(self, model: Any) -> None:
        """Called once after the last epoch."""


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Training stops after the ``patience``-th epoch in a row without improvement (Keras semantics).

    An epoch improves when ``value < best - min_delta`` (``mode="min"``) or
    ``value > best + min_delta`` (``mode="max"``). With ``restore_best_weights`` the parameters
    of the best epoch are copied back into the model (in place) when training ends.

    Parameters
    ----------
    monitor : str, default "val_loss"
        A key of the epoch logs. ``fit`` falls back to ``"loss"`` when ``"val_loss"`` is asked for
        without validation data.
    patience : int, default 5
    min_delta : float, default 0.0
    mode : {"min", "max"}, default "min"
    restore_best_weights : bool, default True

    Examples
    --------
    >>> from losscore.training.callbacks import EarlyStopping
    >>> es = EarlyStopping(monitor="loss", patience=2, restore_best_weights=False)
    >>> [es.on_epoch_end(e, {"loss": v}) for e, v in enumerate([3.0, 2.0, 2.5, 2.4])]
    [False, False, False, True]
    >>> es.best_epoch
    1
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 5,
        min_delta: float = 0.0,
        mode: str = "min",
        restore_best_weights: bool = True,
    ) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int | np.integer) or patience < 0:
            raise ParameterError(f"patience: expected an integer >= 0, got {patience!r}")
        if not (isinstance(min_delta, int | float) and math.isfinite(min_delta) and min_delta >= 0):
            raise ParameterError(f"min_delta: expected a finite number >= 0, got {min_delta!r}")
        if mode not in ("min", "max"):
            raise ParameterError(f"mode: expected 'min' or 'max', got {mode!r}")
        if not isinstance(monitor, str):
            raise ParameterError(f"monitor: expected a log name, got {monitor!r}")
        self.monitor = monitor
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.mode = mode
        self.restore_best_weights = bool(restore_best_weights)
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.wait = 0
        self.stop_training = False
        self._model: Any = None
        self._best_params: list[np.ndarray] | None = None

    @classmethod
    def from_spec(cls, spec: Any, has_validation: bool) -> Any:
        """``int`` patience, a dict of this class's arguments, or a callback object."""
        default_monitor = "val_loss" if has_validation else "loss"
        if isinstance(spec, bool):
            raise ParameterError(f"early_stopping: expected an int, dict or callback, got {spec!r}")
        if isinstance(spec, int | np.integer):
            return cls(monitor=default_monitor, patience=int(spec))
        if isinstance(spec, Mapping):
            kwargs = dict(spec)
            kwargs.setdefault("monitor", default_monitor)
            try:
                return cls(**kwargs)
            except TypeError as exc:
                raise ParameterError(f"early_stopping: {exc}") from None
        if hasattr(spec, "on_epoch_end"):
            return spec
        raise ParameterError(
            f"early_stopping: expected an int patience, a dict or a callback, got {spec!r}"
        )

    def on_train_begin(self, model: Any) -> None:
        self._model = model
        self.best = None
        self.best_epoch = None
        self.wait = 0
        self.stop_training = False
        self._best_params = None

    def _improved(self, value: float) -> bool:
        if self.best is None:
            return not math.isnan(value)
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> bool:
        if self.monitor not in logs:
            raise ParameterError(
                f"early_stopping: monitor {self.monitor!r} is not logged; "
                f"available: {sorted(logs)}"
            )
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best = value
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights and self._model is not None:
                params = self._model.parameters()
                if self._best_params is None:
                    self._best_params = [np.array(p, copy=True) for p in params]
                else:
                    for dst, src in zip(self._best_params, params, strict=True):
                        np.copyto(dst, src)
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.stop_training = True
        return self.stop_training

    def on_train_end(self, model: Any) -> None:
        if self.restore_best_weights and self._best_params is not None:
            for dst, src in zip(model.parameters(), self._best_params, strict=True):
                np.copyto(dst, src)


class PrintProgress(Callback):
    """Prints one line per epoch: ``epoch 3/20 loss=0.41 val_loss=0.45 ...``."""

    def __init__(self, epochs: int, stream: Any = None) -> None:
        self.epochs = epochs
        self.stream = stream

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        stream = self.stream if self.stream is not None else sys.stdout
        items = " ".join(f"{k}={v:.4g}" for k, v in logs.items())
        print(f"epoch {epoch + 1}/{self.epochs} {items}", file=stream, flush=True)
        return None
