"""The scikit-learn estimator protocol, implemented without importing scikit-learn.

``get_params`` / ``set_params`` / ``__repr__`` read the constructor's signature; ``__init__`` only
stores its arguments (validation happens in ``fit``). ``__sklearn_tags__`` imports scikit-learn's
tag classes lazily: scikit-learn calls it, so it is installed whenever it runs. Errors raised for
unfitted estimators subclass scikit-learn's ``NotFittedError`` when scikit-learn is loaded.
"""

from __future__ import annotations

import inspect
import sys
import warnings
from typing import Any

import numpy as np

from ..errors import (
    DataError,
    DTypeError,
    LosscoreError,
    ParameterError,
    ShapeError,
    TargetError,
)
from ..models import MLP, Linear
from ..training.callbacks import EarlyStopping, PrintProgress
from ..training.fit import fit as _fit

__all__ = ["BaseEstimator", "DataConversionWarning", "not_fitted_error"]


class DataConversionWarning(UserWarning):
    """A column-vector ``y`` was raveled (scikit-learn's class is used when it is loaded)."""


class NotFittedError(LosscoreError, ValueError, AttributeError):
    """The estimator is used before ``fit`` (scikit-learn's class is mixed in when loaded)."""


_SK_NOT_FITTED: dict[type, type] = {}


def not_fitted_error(message: str) -> Exception:
    sk = sys.modules.get("sklearn.exceptions")
    base = getattr(sk, "NotFittedError", None) if sk is not None else None
    if base is None:
        return NotFittedError(message)
    cls = _SK_NOT_FITTED.get(base)
    if cls is None:
        cls = _SK_NOT_FITTED[base] = type("NotFittedError", (NotFittedError, base), {})
    return cls(message)


def _conversion_warning() -> type[Warning]:
    sk = sys.modules.get("sklearn.exceptions")
    return getattr(sk, "DataConversionWarning", DataConversionWarning)


def check_X(X: Any, name: str = "X") -> np.ndarray:
    """A finite 2-D float array (float32 kept, other numbers as float64), at least 1 x 1."""
    if X is None:
        raise ShapeError(f"{name}: expected a 2-D array, got None")
    if type(X).__module__.startswith("scipy.sparse"):
        raise DTypeError(
            f"{name}: sparse input is not supported; convert it with {name}.toarray()"
        )
    arr = np.asarray(X)
    if arr.dtype.kind == "c":
        raise ParameterError(f"{name}: Complex data not supported, got dtype {arr.dtype}")
    if arr.dtype.kind not in "biuf":
        try:
            arr = np.asarray(arr, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DTypeError(f"{name}: expected numbers ({exc})") from None
    if arr.ndim != 2:
        hint = (
            " Reshape your data either using array.reshape(-1, 1) if it has a single feature"
            " or array.reshape(1, -1) if it contains a single sample."
            if arr.ndim == 1
            else ""
        )
        raise ShapeError(f"{name}: expected a 2-D array, got shape {arr.shape}.{hint}")
    if arr.shape[0] == 0:
        raise ShapeError(
            f"{name}: Found array with 0 sample(s) (shape={arr.shape}) while a minimum of 1 "
            "is required."
        )
    if arr.shape[1] == 0:
        raise ShapeError(
            f"{name}: Found array with 0 feature(s) (shape={arr.shape}) while a minimum of 1 "
            "is required."
        )
    if arr.dtype not in (np.float32, np.float64):
        arr = np.asarray(arr, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise DataError(f"{name}: Input contains NaN or infinity.")
    return arr


def check_length(X: np.ndarray, y: np.ndarray) -> None:
    if X.shape[0] != y.shape[0]:
        raise ShapeError(
            "X and y: Found input variables with inconsistent numbers of samples: "
            f"X has {X.shape[0]} rows, y has {y.shape[0]}"
        )


def check_y_present(y: Any, name: str) -> None:
    if y is None:
        raise TargetError(
            f"{name} requires y to be passed, but the target y is None"
        )


def column_to_1d(y: np.ndarray) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the "
            "shape of y to (n_samples, ), for example using ravel().",
            _conversion_warning(),
            stacklevel=4,
        )
        return y.ravel()
    return y


def feature_names(X: Any) -> np.ndarray | None:
    """The column names of a DataFrame-like ``X`` when all are strings (scikit-learn's rule)."""
    columns = getattr(X, "columns", None)
    if columns is None:
        return None
    names = np.asarray(list(columns), dtype=object)
    if len(names) and all(isinstance(c, str) for c in names):
        return names
    return None


class BaseEstimator:
    """Parameters from the constructor signature; training through :func:`losscore.fit`."""

    _is_classifier = False

    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values() if p.name != "self")

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The constructor parameters and their current values."""
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params: Any) -> Any:
        """Set constructor parameters (checked when ``fit`` runs); returns ``self``."""
        valid = set(self._get_param_names())
        for key, value in params.items():
            if key not in valid:
                raise ParameterError(
                    f"Invalid parameter {key!r} for estimator {type(self).__name__}; "
                    f"valid parameters: {sorted(valid)}"
                )
            setattr(self, key, value)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default
            for p in inspect.signature(type(self).__init__).parameters.values()
            if p.name != "self"
        }
        shown = []
        for name in self._get_param_names():
            value = getattr(self, name, None)
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = bool(value == default) if type(value) is type(default) else False
            except Exception:
                same = False
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    def __sklearn_tags__(self) -> Any:
        # Only scikit-learn calls this, so it is importable here.
        from sklearn.utils import ClassifierTags, InputTags, RegressorTags, Tags, TargetTags

        if self._is_classifier:
            return Tags(
                estimator_type="classifier",
                target_tags=TargetTags(required=True, single_output=True, multi_output=False),
                classifier_tags=ClassifierTags(),
                input_tags=InputTags(),
            )
        return Tags(
            estimator_type="regressor",
            target_tags=TargetTags(required=True, single_output=True, multi_output=True),
            regressor_tags=RegressorTags(),
            input_tags=InputTags(),
        )

    # ---- shared machinery ----

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise not_fitted_error(
                f"This {type(self).__name__} instance is not fitted yet. Call 'fit' with "
                "appropriate arguments before using this estimator."
            )

    def _record_feature_names(self, X: Any) -> None:
        names = feature_names(X)
        if names is not None:
            self.feature_names_in_ = names
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_

    def _check_predict_X(self, X: Any) -> np.ndarray:
        self._check_fitted()
        fitted_names = getattr(self, "feature_names_in_", None)
        names = feature_names(X)
        if fitted_names is not None and names is not None and (
            len(names) != len(fitted_names) or np.any(names != fitted_names)
        ):
            raise ParameterError(
                "X: The feature names should match those that were passed during fit: "
                f"got {list(names)}, fitted with {list(fitted_names)}"
            )
        X = check_X(X)
        if X.shape[1] != self.n_features_in_:
            raise ShapeError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input"
            )
        return X

    def _build_model(self, n_in: int, n_out: int, seed: int | None, dtype: Any) -> Any:
        sizes = getattr(self, "hidden_layer_sizes", None)
        if sizes is None:
            return Linear(n_in, n_out, seed=seed, dtype=dtype)
        if isinstance(sizes, int | np.integer):
            sizes = (sizes,)
        try:
            hidden = [int(s) for s in sizes]
        except (TypeError, ValueError):
            raise ParameterError(
                f"hidden_layer_sizes: expected a tuple of positive integers, got {sizes!r}"
            ) from None
        if any(s < 1 for s in hidden):
            raise ParameterError(
                f"hidden_layer_sizes: expected positive integers, got {sizes!r}"
            )
        return MLP([n_in, *hidden, n_out], activation=self.activation, seed=seed, dtype=dtype)

    def _seed(self) -> int:
        rs = self.random_state
        if rs is None:
            return int(np.random.default_rng().integers(2**31))
        if isinstance(rs, np.random.RandomState):  # scikit-learn style
            return int(rs.randint(2**31))
        if isinstance(rs, np.random.Generator):
            return int(rs.integers(2**31))
        if isinstance(rs, bool) or not isinstance(rs, int | np.integer):
            raise ParameterError(
                f"random_state: expected None, an int or a RandomState, got {rs!r}"
            )
        return int(rs)

    def _callbacks(self, epochs: int) -> list[Any]:
        if self.verbose:
            return [PrintProgress(epochs)]
        return []

    def _early_stopping(self, has_validation: bool) -> Any:
        es = self.early_stopping
        if es is None or es is False:
            return None
        if es is True:
            es = 10
        if isinstance(es, int | np.integer) and not isinstance(es, bool):
            return EarlyStopping(
                monitor="val_loss" if has_validation else "loss", patience=int(es)
            )
        raise ParameterError(
            f"early_stopping: expected None, False, True or an int patience, got {es!r}"
        )

    def _train(self, X: np.ndarray, y: np.ndarray, n_out: int, loss: str) -> None:
        """Train a float32 model, then keep a float64 copy for prediction."""
        epochs = self.epochs
        if isinstance(epochs, bool) or not isinstance(epochs, int | np.integer) or epochs < 1:
            raise ParameterError(f"epochs: expected a positive integer, got {epochs!r}")
        seed = self._seed()
        model = self._build_model(X.shape[1], n_out, seed, np.float32)
        callbacks = self._callbacks(int(epochs))
        validation = None
        Xt, yt = X, y
        es = self._early_stopping(True)
        if es is not None and X.shape[0] >= 20:
            order = np.random.default_rng(seed).permutation(X.shape[0])
            n_val = max(1, X.shape[0] // 10)
            val_idx, train_idx = order[:n_val], order[n_val:]
            Xt, yt = X[train_idx], y[train_idx]
            validation = (X[val_idx], y[val_idx])
        elif es is not None:
            es = self._early_stopping(False)
        if self.tol is not None:
            tol = float(self.tol)
            if not tol >= 0:
                raise ParameterError(f"tol: expected a number >= 0 or None, got {self.tol!r}")
            callbacks.append(
                EarlyStopping(monitor="loss", patience=10, min_delta=tol,
                              restore_best_weights=False)
            )
        lr = self.lr
        if isinstance(lr, bool) or not isinstance(lr, int | float) or not lr > 0:
            raise ParameterError(f"lr: expected a positive number, got {lr!r}")
        from ..training.fit import resolve_optimizer

        opt = self.optimizer
        if isinstance(opt, str) or opt is None:
            opt = resolve_optimizer(opt or "adam", lr=float(lr))
        else:
            raise ParameterError(f"optimizer: expected an optimizer name, got {opt!r}")
        history = _fit(
            model, Xt, yt, loss=loss, optimizer=opt, epochs=int(epochs),
            batch_size=self.batch_size, seed=seed, l1=self.l1, l2=self.l2,
            validation_data=validation, early_stopping=es, callbacks=callbacks,
            progress=bool(self.verbose),
        )
        final = self._build_model(X.shape[1], n_out, 0, np.float64)
        final.load_state_dict(model.state_dict())
        self.model_ = final
        self.history_ = history
        self.n_iter_ = len(history.epoch)
        self.loss_curve_ = list(history.history.get("loss", []))

    def _decision(self, X: np.ndarray) -> np.ndarray:
        model = self.model_
        chunk = 4096
        if X.shape[0] <= chunk:
            return model.forward(X)
        return np.concatenate([model.forward(X[s : s + chunk]) for s in range(0, len(X), chunk)])
