"""Regression and classification behaviour shared by the linear and MLP estimators."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets

from ..errors import ParameterError, TargetError
from ._base import TrainedEstimator, _scale, losscore_errors

__all__ = ["ClassifierBase", "RegressorBase"]

REGRESSION_LOSSES = ("mse", "mae", "huber", "smooth_l1", "log_cosh", "pinball", "poisson_nll")
CLASSIFICATION_LOSSES = ("cross_entropy", "log_loss", "hinge")
# Losses whose targets must keep their units (counts): the target is not standardised.
UNSCALED_TARGET_LOSSES = ("poisson_nll",)


class RegressorBase(RegressorMixin, TrainedEstimator):
    """``fit(X, y)`` with float targets of shape ``(n,)`` or ``(n, n_outputs)``; ``predict``;
    ``score`` = R^2 (scikit-learn's ``RegressorMixin``).

    The target is standardised with its (weighted) mean and standard deviation before training
    (except for ``loss="poisson_nll"``, whose targets are counts), so the loss is computed in
    standard units and predictions are mapped back."""

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags

    def _check_loss(self) -> str:
        if self.loss not in REGRESSION_LOSSES:
            raise ParameterError(
                f"loss: expected one of {', '.join(map(repr, REGRESSION_LOSSES))} for a "
                f"regressor, got {self.loss!r}"
            )
        return self.loss

    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool) -> Any:
        loss = self._check_loss()
        self._check_params()
        first = not (incremental and hasattr(self, "model_"))
        keep = hasattr(self, "model_") and (incremental or self.warm_start)
        X, y = self._validate_fit(X, y, reset=not keep, multi_output=True, y_numeric=True)
        w = self._sample_weight(sample_weight, X)
        y = np.asarray(y, dtype=np.float64)
        single = y.ndim == 1
        Y = y.reshape(-1, 1) if single else y
        if keep and Y.shape[1] != self.n_outputs_:
            raise TargetError(
                f"y: has {Y.shape[1]} outputs, but {type(self).__name__} was fitted with "
                f"{self.n_outputs_}"
            )
        if not keep:
            self._set_input_scale(X, w)
            if loss in UNSCALED_TARGET_LOSSES:
                self._y_mean, self._y_scale = np.zeros(Y.shape[1]), np.ones(Y.shape[1])
            else:
                self._y_mean, self._y_scale = _scale(Y, w)
            self.n_outputs_ = Y.shape[1]
            self._single_output = single
        if first:
            self._start(X.shape[1], Y.shape[1], keep)
        Xs = self._standardized(X, np.float32)
        Ys = (Y - self._y_mean) / self._y_scale
        self._train(Xs, Ys.astype(np.float32), loss, w, incremental)
        self._after_fit()
        return self

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Train on ``X`` (n_samples, n_features) and ``y`` (n_samples,) or
        (n_samples, n_outputs), optionally weighting samples; returns ``self``."""
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer state
        (the first call sets up the network and the standardisation from its data)."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _after_fit(self) -> None:
        pass

    def predict(self, X: Any) -> np.ndarray:
        """Predictions, shape ``(n,)`` (or ``(n, n_outputs)`` when fitted on 2-D ``y``); with
        ``loss="poisson_nll"`` the network outputs log-rates and ``predict`` their ``exp``."""
        raw = self._raw_output(self._validate_predict(X))
        out = np.exp(raw) if self.loss == "poisson_nll" else raw * self._y_scale + self._y_mean
        return out[:, 0] if self._single_output else out


class ClassifierBase(ClassifierMixin, TrainedEstimator):
    """``fit(X, y)`` with labels of any sortable kind; ``predict``, ``decision_function``,
    ``predict_proba`` / ``predict_log_proba`` (with ``loss="cross_entropy"``) and ``score``
    (accuracy, scikit-learn's ``ClassifierMixin``).

    Two classes: one output trained with ``binary_cross_entropy_with_logits`` (or ``hinge`` on
    -1/+1 labels); more: one output per class with ``cross_entropy`` (or ``multi_margin``)."""

    def _check_loss(self) -> str:
        if self.loss not in CLASSIFICATION_LOSSES:
            raise ParameterError(
                f"loss: expected one of {', '.join(map(repr, CLASSIFICATION_LOSSES))} for a "
                f"classifier, got {self.loss!r}"
            )
        return self.loss

    def _encode(self, y: np.ndarray) -> np.ndarray:
        """Indices into ``classes_``; labels outside them are an error."""
        idx = np.searchsorted(self.classes_, y)
        idx = np.clip(idx, 0, len(self.classes_) - 1)
        bad = self.classes_[idx] != y
        if np.any(bad):
            raise TargetError(
                f"y: labels {np.unique(y[bad]).tolist()} are not in classes_ "
                f"{self.classes_.tolist()}"
            )
        return idx

    def _fit(self, X: Any, y: Any, sample_weight: Any, incremental: bool,
             classes: Any = None) -> Any:
        loss = self._check_loss()
        self._check_params()
        first = not (incremental and hasattr(self, "model_"))
        keep = hasattr(self, "model_") and (incremental or self.warm_start)
        X, y = self._validate_fit(X, y, reset=not keep)
        with losscore_errors():
            check_classification_targets(y)
        w = self._sample_weight(sample_weight, X)
        if incremental and first:
            if classes is None:
                raise ParameterError(
                    "classes: the first call to partial_fit needs classes=, all the labels "
                    "that will ever appear"
                )
            labels = np.unique(np.asarray(classes))
        elif incremental:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                raise ParameterError(
                    f"classes: {np.unique(classes).tolist()} differs from the first call's "
                    f"{self.classes_.tolist()}"
                )
            labels = self.classes_
        else:
            labels = np.unique(y)
        if len(labels) < 2:
            raise TargetError(
                "y: a classifier needs samples of at least 2 classes, but the data contains "
                f"only one class: {labels[0]!r}"
            )
        if keep and not incremental and not np.array_equal(labels, self.classes_):
            keep = False  # warm start with other classes: start afresh
        self.classes_ = labels
        encoded = self._encode(y)
        binary = len(labels) == 2
        hinge = loss == "hinge"
        if not keep:
            self._set_input_scale(X, w)
        if first:
            self._start(X.shape[1], 1 if binary else len(labels), keep)
        Xs = self._standardized(X, np.float32)
        if binary:
            target = encoded.astype(np.float32).reshape(-1, 1)
            if hinge:
                target = 2.0 * target - 1.0
            name = "hinge" if hinge else "binary_cross_entropy_with_logits"
        else:
            target = encoded.astype(np.int64)
            name = "multi_margin" if hinge else "cross_entropy"
        self._train(Xs, target, name, w, incremental)
        self._after_fit()
        return self

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> Any:
        """Train on ``X`` (n_samples, n_features) and labels ``y``, optionally weighting
        samples; returns ``self``."""
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X: Any, y: Any, classes: Any = None, sample_weight: Any = None) -> Any:
        """One epoch over ``(X, y)``, continuing from the current weights and optimizer state.
        The first call needs ``classes`` (every label that will appear)."""
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _after_fit(self) -> None:
        pass

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits: shape ``(n,)`` for two classes (positive means ``classes_[1]``), else
        ``(n, n_classes)``."""
        out = self._raw_output(self._validate_predict(X))
        return out[:, 0] if len(self.classes_) == 2 else out

    def predict(self, X: Any) -> np.ndarray:
        """The most likely class of each row."""
        d = self.decision_function(X)
        idx = (d > 0).astype(np.intp) if d.ndim == 1 else np.argmax(d, axis=1)
        return self.classes_[idx]

    def _has_proba(self) -> bool:
        if self.loss not in ("cross_entropy", "log_loss"):
            raise AttributeError(
                f"predict_proba is only available with loss='cross_entropy', not {self.loss!r}"
            )
        return True

    @available_if(_has_proba)
    def predict_log_proba(self, X: Any) -> np.ndarray:
        """Log class probabilities ``(n, n_classes)``: log-sigmoid of the logit for two classes,
        log-softmax otherwise (computed without overflow)."""
        d = self.decision_function(X)
        if d.ndim == 1:
            return np.column_stack([-np.logaddexp(0.0, d), -np.logaddexp(0.0, -d)])
        z = d - d.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))

    @available_if(_has_proba)
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n, n_classes)``: sigmoid of the logit for two classes, softmax
        otherwise. Only with ``loss="cross_entropy"``."""
        return np.exp(self.predict_log_proba(X))
