"""scikit-learn estimators on top of :func:`losscore.fit` (needs ``losscore[sklearn]``).

``LinearRegressor``, ``LinearClassifier``, ``MLPRegressor`` and ``MLPClassifier`` inherit
scikit-learn's ``BaseEstimator`` and ``RegressorMixin`` / ``ClassifierMixin`` and validate with
its tools: ``fit`` / ``partial_fit`` / ``score`` take ``sample_weight``; ``warm_start``,
``n_iter_``, ``loss_curve_``, ``ConvergenceWarning``, metadata routing, HTML repr, pipelines,
grid searches, ``clone`` and pickling work as in scikit-learn. Classifiers also have
``predict_proba``, ``predict_log_proba``, ``decision_function`` and ``classes_``; the linear
ones ``coef_`` and ``intercept_``. Training is :func:`losscore.fit` with losscore's optimizers.

Examples
--------
>>> from losscore.estimators import MLPClassifier
>>> MLPClassifier(hidden_layer_sizes=(64,)).get_params()["hidden_layer_sizes"]
(64,)
"""

from __future__ import annotations

try:
    import sklearn  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise ImportError(
        "losscore.estimators needs scikit-learn; install it with "
        "pip install 'losscore[sklearn]'"
    ) from exc

from ._base import NotFittedError
from .linear import LinearClassifier, LinearRegressor
from .mlp import MLPClassifier, MLPRegressor

__all__ = ["LinearClassifier", "LinearRegressor", "MLPClassifier", "MLPRegressor", "NotFittedError"]
