"""Regression and classification behaviour shared by the linear and MLP estimators."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import ParameterError, TargetError
from ._base import BaseEstimator, check_length, check_X, check_y_present, column_to_1d

__all__ = ["ClassifierBase", "RegressorBase"]

REGRESSION_LOSSES = ("mse", "mae", "huber", "smooth_l1", "log_cosh", "pinball", "poisson_nll")
CLASSIFICATION_LOSSES = ("cross_entropy", "log_loss", "hinge")


class RegressorBase(BaseEstimator):
    """``fit(X, y)`` with float targets of shape ``(n,)`` or ``(n, n_outputs)``; ``predict``;
    ``score`` = coefficient of determination R^2 (averaged over outputs)."""

    _estimator_type = "regressor"  # how scikit-learn < 1.6 recognises a regressor

    def fit(self, X: Any, y: Any) -> Any:
        """Train on ``X`` of shape ``(n_samples, n_features)`` and ``y``; returns ``self``."""
        X_in, X = X, check_X(X)
        check_y_present(y, type(self).__name__)
        y = np.asarray(y)
        if y.dtype.kind not in "biuf":
            try:
                y = np.asarray(y, dtype=np.float64)
            except (TypeError, ValueError):
                raise TargetError(f"y: expected numeric targets, got dtype {y.dtype}") from None
        y = np.asarray(y, dtype=np.float64)
        if y.ndim not in (1, 2):
            raise TargetError(f"y should be a 1d array or a 2d (n_samples, n_outputs) array, "
                              f"got shape {y.shape}")
        check_length(X, y)
        if np.isnan(y).any():
            raise TargetError("y: Input y contains NaN.")
        if not np.isfinite(y).all():
            raise TargetError("y: Input y contains infinity or a value too large.")
        if self.loss not in REGRESSION_LOSSES:
            raise ParameterError(
                f"loss: expected one of {', '.join(map(repr, REGRESSION_LOSSES))} for a "
                f"regressor, got {self.loss!r}"
            )
        n_out = 1 if y.ndim == 1 else y.shape[1]
        self._train(X, y if y.ndim == 2 else y.reshape(-1, 1), n_out, self.loss)
        self.n_features_in_ = X.shape[1]
        self._record_feature_names(X_in)
        self.n_outputs_ = n_out
        self._single_output_ = y.ndim == 1
        return self

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, shape ``(n,)`` (or ``(n, n_outputs)`` when fitted on 2-D ``y``)."""
        X = self._check_predict_X(X)
        out = self._decision(X)
        return out[:, 0] if self._single_output_ else out

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """R^2 = 1 - sum (y - pred)^2 / sum (y - mean y)^2, averaged over outputs."""
        pred = self.predict(X)
        y = np.asarray(y, dtype=np.float64).reshape(pred.shape)
        w = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        if w is not None and w.ndim == 1 and pred.ndim == 2:
            w = w[:, None]
        mean = np.average(y, axis=0, weights=None if w is None else np.broadcast_to(w, y.shape))
        res = np.sum((y - pred) ** 2 * (1.0 if w is None else w), axis=0)
        tot = np.sum((y - mean) ** 2 * (1.0 if w is None else w), axis=0)
        with np.errstate(divide="ignore", invalid="ignore"):
            r2 = np.where(tot > 0, 1.0 - res / np.where(tot > 0, tot, 1.0),
                          np.where(res == 0, 1.0, 0.0))
        return float(np.mean(r2))


class ClassifierBase(BaseEstimator):
    """``fit(X, y)`` with labels of any sortable kind; ``predict``, ``decision_function``,
    ``predict_proba`` (with ``loss="cross_entropy"``) and ``score`` (accuracy).

    Two classes: one output trained with ``binary_cross_entropy_with_logits`` (or ``hinge`` on
    -1/+1 labels); more: one output per class with ``cross_entropy`` (or ``multi_margin``)."""

    _is_classifier = True
    _estimator_type = "classifier"  # how scikit-learn < 1.6 recognises a classifier

    def fit(self, X: Any, y: Any) -> Any:
        """Train on ``X`` (n_samples, n_features) and labels ``y``; returns ``self``."""
        X_in, X = X, check_X(X)
        check_y_present(y, type(self).__name__)
        y = column_to_1d(np.asarray(y))
        if y.ndim != 1:
            raise TargetError(f"y should be a 1d array of labels, got shape {y.shape}")
        check_length(X, y)
        if y.dtype.kind == "f":
            if np.isnan(y).any():
                raise TargetError("y: Input y contains NaN.")
            if not np.isfinite(y).all():
                raise TargetError("y: Input y contains infinity.")
            if np.any(y != np.round(y)):
                raise TargetError(
                    "y: Unknown label type: continuous. A classifier needs discrete class "
                    "labels (integers, strings, booleans); use a regressor for continuous targets."
                )
        elif y.dtype.kind == "c":
            raise TargetError(f"y: Unknown label type: complex dtype {y.dtype}")
        try:
            classes, encoded = np.unique(y, return_inverse=True)
        except TypeError as exc:
            raise TargetError(f"y: labels must be comparable with each other ({exc})") from None
        if len(classes) < 2:
            raise TargetError(
                "y: a classifier needs samples of at least 2 classes, but the data contains "
                f"only one class: {classes[0]!r}"
            )
        if self.loss not in CLASSIFICATION_LOSSES:
            raise ParameterError(
                f"loss: expected one of {', '.join(map(repr, CLASSIFICATION_LOSSES))} for a "
                f"classifier, got {self.loss!r}"
            )
        hinge = self.loss == "hinge"
        encoded = encoded.reshape(-1)
        if len(classes) == 2:
            target = encoded.astype(np.float64).reshape(-1, 1)
            if hinge:
                target = 2.0 * target - 1.0
            self._train(X, target, 1, "hinge" if hinge else "binary_cross_entropy_with_logits")
        else:
            self._train(X, encoded.astype(np.int64), len(classes),
                        "multi_margin" if hinge else "cross_entropy")
        self.classes_ = classes
        self.n_features_in_ = X.shape[1]
        self._record_feature_names(X_in)
        return self

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits: shape ``(n,)`` for two classes (positive means ``classes_[1]``), else
        ``(n, n_classes)``."""
        X = self._check_predict_X(X)
        out = self._decision(X)
        return out[:, 0] if len(self.classes_) == 2 else out

    def predict(self, X: Any) -> np.ndarray:
        """The most likely class of each row."""
        d = self.decision_function(X)
        idx = (d > 0).astype(np.intp) if d.ndim == 1 else np.argmax(d, axis=1)
        return self.classes_[idx]

    @property
    def predict_proba(self) -> Any:
        """Class probabilities ``(n, n_classes)``: sigmoid of the logit for two classes, softmax
        otherwise. Only with ``loss="cross_entropy"``."""
        if self.loss not in ("cross_entropy", "log_loss"):
            raise AttributeError(
                f"predict_proba is only available with loss='cross_entropy', not {self.loss!r}"
            )
        return self._predict_proba

    def _predict_proba(self, X: Any) -> np.ndarray:
        d = self.decision_function(X)
        if d.ndim == 1:
            p1 = np.exp(-np.logaddexp(0.0, -d))
            return np.column_stack([1.0 - p1, p1])
        z = d - d.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy: the (weighted) fraction of rows predicted correctly."""
        pred = self.predict(X)
        y = np.asarray(y).reshape(-1)
        return float(np.average(pred == y, weights=sample_weight))
