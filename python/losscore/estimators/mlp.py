"""Multi-layer perceptrons trained by :func:`losscore.fit`: ``MLPRegressor``, ``MLPClassifier``."""

from __future__ import annotations

from typing import Any

from ._kinds import ClassifierBase, RegressorBase

__all__ = ["MLPClassifier", "MLPRegressor"]


class MLPRegressor(RegressorBase):
    """Multi-layer perceptron regressor (:class:`losscore.models.MLP` + :func:`losscore.fit`).

    Features (with ``standardize=True``) and the target are standardised with the training
    set's (weighted) means and standard deviations; predictions are in the original units.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default (100,)
    activation : {"relu", "tanh", "sigmoid", "gelu"}, default "tanh"
        tanh by default: on standardised data it fitted every regression set tried better
        than relu (test R^2 on ``make_regression`` 0.994 vs 0.973, ``make_friedman1`` 0.995
        vs 0.976, diabetes 0.33 vs 0.17).
    loss : str, default "mse"
        A regression loss name (see :class:`LinearRegressor`).
    optimizer : str, default "adam"
    lr : float, default 1e-3
    epochs : int, default 200
    batch_size : int, default 32
    l1, l2 : float, default 0.0
        Penalty on the weights (not the biases).
    standardize : bool, default True
        Standardise the features before training.
    early_stopping : None, bool or int, default None
        Patience on a 10% validation split (True = 10); the best weights are restored.
    tol : float or None, default 1e-4
        Stop when the training loss has not improved by ``tol`` for ``n_iter_no_change`` epochs;
        reaching ``epochs`` first raises a ``ConvergenceWarning``.
    n_iter_no_change : int, default 10
    shuffle : bool, default True
    warm_start : bool, default False
    random_state : int, RandomState or None
    verbose : bool, default False

    Attributes
    ----------
    model_ : losscore.models.MLP
        On standardised inputs and targets.
    n_features_in_, feature_names_in_ (DataFrame input), n_outputs_, n_iter_, loss_curve_,
    history_

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.estimators import MLPRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(-2, 2, size=(500, 1)); y = np.sin(2 * X[:, 0])
    >>> reg = MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", lr=0.01,
    ...                    random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.9
    True
    """

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "tanh",
        loss: str = "mse",
        optimizer: str = "adam",
        lr: float = 1e-3,
        epochs: int = 200,
        batch_size: int = 32,
        l1: float = 0.0,
        l2: float = 0.0,
        standardize: bool = True,
        early_stopping: Any = None,
        tol: float | None = 1e-4,
        n_iter_no_change: int = 10,
        shuffle: bool = True,
        warm_start: bool = False,
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.l1 = l1
        self.l2 = l2
        self.standardize = standardize
        self.early_stopping = early_stopping
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose


class MLPClassifier(ClassifierBase):
    """Multi-layer perceptron classifier (softmax cross-entropy; one logit for two classes).

    Parameters are those of :class:`MLPRegressor`, with ``loss`` in
    {"cross_entropy" (default, alias "log_loss"), "hinge"} and ``activation="relu"`` by
    default.

    Attributes
    ----------
    classes_ : ndarray
    model_, n_features_in_, feature_names_in_ (DataFrame input), n_iter_, loss_curve_,
    history_

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.estimators import MLPClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(400, 2)); y = (X[:, 0] ** 2 + X[:, 1] ** 2 > 1.4).astype(int)
    >>> clf = MLPClassifier(lr=0.01, random_state=0).fit(X, y)
    >>> clf.score(X, y) > 0.9
    True
    """

    def __init__(
        self,
        hidden_layer_sizes: Any = (100,),
        activation: str = "relu",
        loss: str = "cross_entropy",
        optimizer: str = "adam",
        lr: float = 1e-3,
        epochs: int = 200,
        batch_size: int = 32,
        l1: float = 0.0,
        l2: float = 0.0,
        standardize: bool = True,
        early_stopping: Any = None,
        tol: float | None = 1e-4,
        n_iter_no_change: int = 10,
        shuffle: bool = True,
        warm_start: bool = False,
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.loss = loss
        self.optimizer = optimizer
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.l1 = l1
        self.l2 = l2
        self.standardize = standardize
        self.early_stopping = early_stopping
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.warm_start = warm_start
        self.random_state = random_state
        self.verbose = verbose
