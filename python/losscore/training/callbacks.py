"""Callbacks of :func:`losscore.fit` and early stopping.

A callback is any object with ``on_epoch_end(epoch, logs)``; it stops training by returning
``True`` or by setting ``stop_training = True``. Optional hooks: ``on_train_begin(model)`` and
``on_train_end(model)``.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import GradientWarning, ParameterError, ParameterTypeError

__all__ = ["Callback", "EarlyStopping", "GradientMonitor", "PrintProgress"]


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
                f"early_stopping: monitor {self.monitor!r} is not logged; available: {sorted(logs)}"
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


class GradientMonitor(Callback):
    r"""Warn (:class:`losscore.errors.GradientWarning`) when gradient norms explode or vanish.

    Reads the epoch's ``grad_norm_max`` and ``grad_norm_mean`` (the global L2 norm of the
    gradients over the epoch's steps, which :func:`losscore.fit` records) and warns when

    - **non-finite**: a norm is NaN or infinite (training has diverged); with
      ``stop_on_nonfinite`` training stops after this epoch;
    - **exploding**: ``grad_norm_max > explode`` (default ``1e3``), or
      ``grad_norm_mean > growth * first`` where ``first`` is the first epoch's mean norm
      (default ``growth = 1e2``: a hundredfold rise);
    - **vanishing**: ``grad_norm_mean < vanish`` (default ``1e-7``) and the loss is not already
      below ``vanish`` (a solved problem has tiny gradients too).

    Each kind warns once per run (``every_epoch=True``: every epoch it holds). The warnings
    seen are kept in ``events`` as ``(epoch, kind, message)``.

    Parameters
    ----------
    explode : float, default 1e3
    vanish : float, default 1e-7
    growth : float, default 1e2
    stop_on_nonfinite : bool, default True
    every_epoch : bool, default False

    Examples
    --------
    >>> import warnings
    >>> from losscore.training.callbacks import GradientMonitor
    >>> mon = GradientMonitor(explode=10.0)
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     mon.on_epoch_end(0, {"loss": 1.0, "grad_norm_mean": 2.0, "grad_norm_max": 3.0})
    ...     mon.on_epoch_end(1, {"loss": 9.0, "grad_norm_mean": 8.0, "grad_norm_max": 50.0})
    False
    False
    >>> [e[1] for e in mon.events], seen[0].category.__name__
    (['exploding'], 'GradientWarning')
    """

    def __init__(
        self,
        explode: float = 1e3,
        vanish: float = 1e-7,
        growth: float = 1e2,
        stop_on_nonfinite: bool = True,
        every_epoch: bool = False,
    ) -> None:
        for name, value in (("explode", explode), ("vanish", vanish), ("growth", growth)):
            if isinstance(value, bool) or not isinstance(value, int | float | np.number):
                raise ParameterTypeError(f"{name}: expected a number, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ParameterError(f"{name}: expected a finite positive number, got {value!r}")
        for name, flag in (("stop_on_nonfinite", stop_on_nonfinite), ("every_epoch", every_epoch)):
            if not isinstance(flag, bool):
                raise ParameterTypeError(f"{name}: expected a bool, got {flag!r}")
        self.explode = float(explode)
        self.vanish = float(vanish)
        self.growth = float(growth)
        self.stop_on_nonfinite = stop_on_nonfinite
        self.every_epoch = every_epoch
        self.events: list[tuple[int, str, str]] = []
        self._first: float | None = None
        self.stop_training = False

    def on_train_begin(self, model: Any) -> None:
        self.events = []
        self._first = None
        self.stop_training = False

    def _warn(self, epoch: int, kind: str, message: str) -> None:
        if not self.every_epoch and any(e[1] == kind for e in self.events):
            return
        self.events.append((epoch, kind, message))
        warnings.warn(message, GradientWarning, stacklevel=3)

    def on_epoch_end(self, epoch: int, logs: Mapping[str, float]) -> bool:
        if "grad_norm_mean" not in logs or "grad_norm_max" not in logs:
            raise ParameterError(
                "GradientMonitor: the logs hold no grad_norm_mean / grad_norm_max "
                "(use it with losscore.fit)"
            )
        mean, peak = float(logs["grad_norm_mean"]), float(logs["grad_norm_max"])
        where = f"epoch {epoch}: gradient norm mean {mean:.4g}, max {peak:.4g}"
        if not (math.isfinite(mean) and math.isfinite(peak)):
            self._warn(
                epoch,
                "nonfinite",
                f"{where}: non-finite gradients, training diverged "
                "(lower the learning rate or clip: fit(..., clip_grad_norm=1.0))",
            )
            if self.stop_on_nonfinite:
                self.stop_training = True
            return self.stop_training
        if self._first is None:
            self._first = mean
        if peak > self.explode:
            reason = f"max > {self.explode:g}"
        elif self._first > 0 and mean > self.growth * self._first:
            reason = f"mean > {self.growth:g} x the first epoch's {self._first:.4g}"
        else:
            reason = ""
        if reason:
            self._warn(
                epoch,
                "exploding",
                f"{where}: exploding gradients ({reason}); lower the learning rate or clip: "
                "fit(..., clip_grad_norm=1.0)",
            )
        loss = float(logs.get("loss", math.inf))
        if mean < self.vanish and not abs(loss) < self.vanish:
            self._warn(
                epoch,
                "vanishing",
                f"{where}: vanishing gradients (mean < "
                f"{self.vanish:g}) while the loss is {loss:.4g}",
            )
        return False
