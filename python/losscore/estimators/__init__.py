"""scikit-learn compatible estimators on top of :func:`losscore.fit` (no scikit-learn needed).

``LinearRegressor``, ``LinearClassifier``, ``MLPRegressor`` and ``MLPClassifier`` follow the
estimator API: ``fit`` / ``predict`` / ``score`` / ``get_params`` / ``set_params``, classifiers
also ``predict_proba``, ``decision_function`` and ``classes_``; ``n_features_in_`` after fit.
They work in scikit-learn pipelines, grid searches and ``clone``.

Examples
--------
>>> from losscore.estimators import MLPClassifier
>>> MLPClassifier(hidden_layer_sizes=(64,)).get_params()["hidden_layer_sizes"]
(64,)
"""

from __future__ import annotations

from .linear import LinearClassifier, LinearRegressor
from .mlp import MLPClassifier, MLPRegressor

__all__ = ["LinearClassifier", "LinearRegressor", "MLPClassifier", "MLPRegressor"]
