"""What the four estimators share: scikit-learn's ``BaseEstimator``, its input validation, and
training through :func:`losscore.fit` with losscore's optimizers.

Inputs go through ``sklearn.utils.validation.validate_data`` (so ``n_features_in_``,
``feature_names_in_`` and their checks are scikit-learn's); its ``ValueError`` / ``TypeError``
are re-raised as :class:`losscore.errors.DataError` / :class:`losscore.errors.DTypeError` (still
``ValueError`` / ``TypeError``) with the same message. The network trains in float32; a float64
copy (``model_``) makes the predictions.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.exceptions import NotFittedError as SklearnNotFittedError
from sklearn.utils.validation import _check_sample_weight, check_random_state, validate_data

from .. import errors
from ..errors import DataError, DTypeError, LosscoreError, ParameterError
from ..models import MLP, Linear
from ..models.activations import check_name
from ..training.callbacks import EarlyStopping, PrintProgress
from ..training.fit import fit as _fit
from ..training.fit import resolve_optimizer

__all__ = ["NotFittedError", "TrainedEstimator"]

_DTYPES = [np.float64, np.float32]


class NotFittedError(errors.NotFittedError, SklearnNotFittedError):
    """The estimator is used before ``fit``: :class:`losscore.errors.NotFittedError` that is
    also scikit-learn's ``NotFittedError`` (so ``check_is_fitted`` callers catch it too)."""


@contextlib.contextmanager
def losscore_errors() -> Iterator[None]:
    """scikit-learn's validation errors as losscore's, message unchanged."""
    try:
        yield
    except LosscoreError:
        raise
    except ValueError as exc:
        raise DataError(str(exc)) from exc
    except TypeError as exc:
        raise DTypeError(str(exc)) from exc


def _positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ParameterError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def _scale(X: np.ndarray, weights: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """(Weighted) column means and standard deviations in float64; 1 for constant columns."""
    if weights is None:
        mean = np.mean(X, axis=0, dtype=np.float64)
        var = np.var(X, axis=0, dtype=np.float64)
    else:
        mean = np.average(X, axis=0, weights=weights)
        var = np.average((X - mean) ** 2, axis=0, weights=weights)
    std = np.sqrt(var)
    constant = std <= 1e-12 * np.maximum(1.0, np.abs(mean))
    return np.asarray(mean), np.where(constant, 1.0, std)


class TrainedEstimator(BaseEstimator):
    """Parameters, validation and the training run shared by the four estimators.

    A subclass sets ``_hidden()`` (None for linear models) and calls :meth:`_train` with its
    targets and loss name.
    """

    # set by fit (declared for type checkers; absent until then, as scikit-learn expects)
    model_: Any
    history_: Any
    n_iter_: int
    loss_curve_: list[float]
    classes_: np.ndarray
    n_outputs_: int
    coef_: Any
    intercept_: Any
    _net: Any
    _net_shape: tuple[int, int, list[int] | None]
    _opt: Any
    _shuffle_seed: int
    _n_calls: int
    _x_mean: np.ndarray
    _x_scale: np.ndarray
    _y_mean: np.ndarray
    _y_scale: np.ndarray
    _single_output: bool

    # ---- validation ------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def _validate_fit(self, X: Any, y: Any, reset: bool, **kwargs: Any) -> tuple[Any, Any]:
        with losscore_errors():
            return validate_data(self, X, y, reset=reset, dtype=_DTYPES, **kwargs)

    def _validate_predict(self, X: Any) -> np.ndarray:
        self._check_fitted()
        with losscore_errors():
            X = validate_data(self, X, reset=False, dtype=_DTYPES)
        return self._standardized(X, np.float64)

    def _standardized(self, X: np.ndarray, dtype: Any) -> np.ndarray:
        """``(X - mean) / scale`` in ``dtype``, one pass into a new array."""
        out = np.empty(X.shape, dtype=dtype)
        np.subtract(X, self._x_mean, out=out, casting="unsafe")
        out /= self._x_scale.astype(dtype)
        return out

    @staticmethod
    def _sample_weight(sample_weight: Any, X: np.ndarray) -> np.ndarray | None:
        if sample_weight is None:
            return None
        with losscore_errors():
            w = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if not w.sum() > 0:
            raise ParameterError("sample_weight: the weights sum to 0")
        return w

    def _set_input_scale(self, X: np.ndarray, w: np.ndarray | None) -> None:
        if self.standardize:
            self._x_mean, self._x_scale = _scale(X, w)
        else:
            self._x_mean = np.zeros(X.shape[1])
            self._x_scale = np.ones(X.shape[1])

    # ---- the network -----------------------------------------------------------------------

    def _hidden(self) -> list[int] | None:
        sizes = getattr(self, "hidden_layer_sizes", None)
        if sizes is None:
            return None
        if isinstance(sizes, int | np.integer) and not isinstance(sizes, bool):
            sizes = (sizes,)
        try:
            hidden = [int(s) for s in sizes]
            ok = all(not isinstance(s, bool) and float(s) == int(s) >= 1 for s in sizes)
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ParameterError(
                f"hidden_layer_sizes: expected a tuple of positive integers, got {sizes!r}"
            )
        return hidden

    def _build(self, n_in: int, n_out: int, seed: int, dtype: Any) -> Any:
        hidden = self._hidden()
        if hidden is None:
            return Linear(n_in, n_out, seed=seed, dtype=dtype)
        return MLP([n_in, *hidden, n_out], activation=self.activation, seed=seed, dtype=dtype)

    def _optimizer(self) -> Any:
        lr = self.lr
        if isinstance(lr, bool) or not isinstance(lr, int | float | np.floating) or not lr > 0:
            raise ParameterError(f"lr: expected a positive number, got {lr!r}")
        if not isinstance(self.optimizer, str):
            raise ParameterError(f"optimizer: expected an optimizer name, got {self.optimizer!r}")
        return resolve_optimizer(self.optimizer, lr=float(lr))

    def _early_stopping(self) -> int | None:
        es = self.early_stopping
        if es is None or es is False:
            return None
        if es is True:
            return 10
        if isinstance(es, int | np.integer) and es >= 1:
            return int(es)
        raise ParameterError(
            f"early_stopping: expected None, False, True or a positive int patience, got {es!r}"
        )

    def _tol_callback(self) -> EarlyStopping | None:
        if self.tol is None:
            return None
        tol = self.tol
        if isinstance(tol, bool) or not isinstance(tol, int | float | np.floating) or not tol >= 0:
            raise ParameterError(f"tol: expected a number >= 0 or None, got {tol!r}")
        patience = _positive_int(self.n_iter_no_change, "n_iter_no_change")
        return EarlyStopping(monitor="loss", patience=patience, min_delta=float(tol),
                             restore_best_weights=False)

    def _check_params(self) -> None:
        """Every hyperparameter, before ``fit`` changes any state."""
        _positive_int(self.epochs, "epochs")
        _positive_int(self.batch_size, "batch_size")
        self._optimizer()
        self._tol_callback()
        _positive_int(self.n_iter_no_change, "n_iter_no_change")
        self._early_stopping()
        self._hidden()
        if hasattr(self, "activation"):
            check_name(self.activation)
        for name in ("l1", "l2"):
            value = getattr(self, name)
            if (isinstance(value, bool) or not isinstance(value, int | float | np.floating)
                    or not 0 <= value < float("inf")):
                raise ParameterError(f"{name}: expected a finite number >= 0, got {value!r}")

    # ---- training --------------------------------------------------------------------------

    def _start(self, n_in: int, n_out: int, keep: bool) -> None:
        """A new float32 network and optimizer, unless ``keep`` and the shapes still fit."""
        rs = check_random_state(self.random_state)
        init_seed, self._shuffle_seed = (int(s) for s in rs.randint(2**31 - 1, size=2))
        self._n_calls = 0
        same = (
            keep
            and hasattr(self, "_net")
            and self._net_shape == (n_in, n_out, self._hidden())
        )
        if not same:
            self._net = self._build(n_in, n_out, init_seed, np.float32)
            self._net_shape = (n_in, n_out, self._hidden())
        self._opt = self._optimizer()

    def _train(self, X: np.ndarray, target: np.ndarray, loss: str, w: np.ndarray | None,
               incremental: bool) -> None:
        """One ``losscore.fit`` run (float32 ``X``): all epochs (``fit``) or one
        (``partial_fit``)."""
        epochs = 1 if incremental else _positive_int(self.epochs, "epochs")
        batch_size = _positive_int(self.batch_size, "batch_size")
        callbacks: list[Any] = []
        tol_cb = None if incremental else self._tol_callback()
        if tol_cb is not None:
            callbacks.append(tol_cb)
        if self.verbose:
            callbacks.append(PrintProgress(epochs))
        patience = None if incremental else self._early_stopping()
        Xt, yt, wt, validation, es = X, target, w, None, None
        n = X.shape[0]
        if patience is not None and n >= 20:
            order = np.random.default_rng(self._shuffle_seed).permutation(n)
            n_val = max(1, n // 10)
            val_idx, train_idx = order[:n_val], order[n_val:]
            Xt, yt = X[train_idx], target[train_idx]
            wt = None if w is None else w[train_idx]
            validation = (X[val_idx], target[val_idx])
            es = EarlyStopping(monitor="val_loss", patience=patience)
        elif patience is not None:
            es = EarlyStopping(monitor="loss", patience=patience)
        if es is not None:
            callbacks.append(es)
        history = _fit(
            self._net, Xt, yt, loss=loss, optimizer=self._opt, epochs=epochs,
            batch_size=batch_size, shuffle=bool(self.shuffle),
            seed=self._shuffle_seed + self._n_calls, sample_weight=wt, l1=self.l1, l2=self.l2,
            validation_data=validation, callbacks=callbacks, progress=bool(self.verbose),
        )
        self._n_calls += 1
        model = self._build(X.shape[1], self._net_shape[1], 0, np.float64)
        model.load_state_dict(self._net.state_dict())
        self.model_ = model
        self.history_ = history
        curve = list(history.history.get("loss", []))
        if incremental:
            self.n_iter_ = getattr(self, "n_iter_", 0) + len(history.epoch)
            self.loss_curve_ = [*getattr(self, "loss_curve_", []), *curve]
        else:
            self.n_iter_ = len(history.epoch)
            self.loss_curve_ = curve
            stopped = history.stopped_epoch is not None
            if tol_cb is not None and not stopped and self.n_iter_ == epochs:
                warnings.warn(
                    f"{type(self).__name__}: stopped after the maximum of {epochs} epochs while "
                    f"the training loss was still improving by more than tol={self.tol} within "
                    f"{tol_cb.patience} epochs; raise epochs (or lr) or loosen tol.",
                    ConvergenceWarning,
                    stacklevel=3,
                )

    def _raw_output(self, Xs: np.ndarray) -> np.ndarray:
        chunk = 4096
        forward = self.model_.forward
        if Xs.shape[0] <= chunk:
            return np.array(forward(Xs))
        return np.concatenate([forward(Xs[s : s + chunk]) for s in range(0, len(Xs), chunk)])

    def _linear_coef(self) -> tuple[np.ndarray, np.ndarray]:
        """Weights ``(n_outputs, n_features)`` and intercepts of the network in the original
        feature units: ``Xs = (X - mean) / scale`` folded into the linear layer."""
        W = self.model_.weight / self._x_scale[:, None]
        b = self.model_.bias - self._x_mean @ W
        return W.T, b
