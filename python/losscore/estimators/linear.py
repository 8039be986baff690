"""Linear models trained by :func:`losscore.fit`: ``LinearRegressor`` and ``LinearClassifier``."""

from __future__ import annotations

from typing import Any

import numpy as np

from ._kinds import ClassifierBase, RegressorBase

__all__ = ["LinearClassifier", "LinearRegressor"]


class LinearRegressor(RegressorBase):
    """Linear regression ``y = X @ coef_.T + intercept_`` trained by mini-batch gradient descent.

    Features (with ``standardize=True``) and the target are standardised with the training
    set's (weighted) means and standard deviations; ``coef_`` and ``intercept_`` are given back
    in the original units.

    Parameters
    ----------
    loss : str, default "mse"
        A regression loss: "mse", "mae", "huber", "smooth_l1", "log_cosh", "pinball",
        "poisson_nll" (default parameters; computed on the standardised target, except
        "poisson_nll", whose target counts stay as given: the model is then log-linear,
        ``predict`` returns ``exp(X @ coef_ + intercept_)``).
    optimizer : str, default "adam"
        A ``losscore.optim`` optimizer name.
    lr : float, default 0.01
    epochs : int, default 200
        Maximum number of passes over the data.
    batch_size : int, default 32
    l1, l2 : float, default 0.0
        Penalty ``l1*sum|W| + l2/2*sum W**2`` on the standardised problem (not on the bias).
    standardize : bool, default True
        Standardise the features before training.
    early_stopping : None, bool or int, default None
        Hold out 10% of the data and stop when its loss has not improved for this many epochs
        (True = 10), restoring the best weights.
    tol : float or None, default 1e-4
        Stop when the training loss has not improved by ``tol`` for ``n_iter_no_change`` epochs;
        reaching ``epochs`` first raises a ``ConvergenceWarning``. None: always run ``epochs``.
    n_iter_no_change : int, default 10
    shuffle : bool, default True
        Shuffle the rows every epoch.
    warm_start : bool, default False
        ``fit`` continues from the previous weights (and standardisation) instead of starting
        afresh; the optimizer state is new.
    random_state : int, RandomState or None
        Seeds the initial weights and the shuffling.
    verbose : bool, default False
        Print one line per epoch (and a progress bar in a terminal).

    Attributes
    ----------
    coef_ : ndarray of shape (n_features,) or (n_outputs, n_features)
    intercept_ : float or ndarray of shape (n_outputs,)
    model_ : losscore.models.Linear
        The fitted layer on standardised inputs and targets (float64 copy of the float32
        training weights).
    n_features_in_, feature_names_in_ (DataFrame input), n_outputs_
    n_iter_ : int
        Epochs run (summed over ``partial_fit`` calls).
    loss_curve_ : list of float
        Training loss per epoch (standardised units).
    history_ : losscore.History

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.estimators import LinearRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X @ [1.0, -2.0, 0.5] + 1.0
    >>> reg = LinearRegressor(random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.999, np.round(reg.coef_, 2).tolist()
    (True, [1.0, -2.0, 0.5])
    """

    def __init__(
        self,
        loss: str = "mse",
        optimizer: str = "adam",
        lr: float = 0.01,
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

    def _after_fit(self) -> None:
        W, b = self._linear_coef()
        coef = W * self._y_scale[:, None]
        intercept = b * self._y_scale + self._y_mean
        if self._single_output:
            self.coef_, self.intercept_ = coef[0], float(intercept[0])
        else:
            self.coef_, self.intercept_ = coef, intercept


class LinearClassifier(ClassifierBase):
    """Linear classifier (logistic / softmax regression, or a linear SVM with ``loss="hinge"``).

    Two classes: one logit trained with binary cross-entropy on logits; more: softmax
    cross-entropy over one logit per class. ``loss="hinge"`` uses the hinge loss (two classes) or
    the multi-class margin loss, and has no ``predict_proba``. Features are standardised with
    ``standardize=True``; ``coef_`` / ``intercept_`` are in the original units.

    Parameters are those of :class:`LinearRegressor`, with ``loss`` in
    {"cross_entropy" (default, alias "log_loss"), "hinge"}, and other defaults: ``l2=1e-3``
    (about ``LogisticRegression(C=1)`` on a thousand samples; without a penalty the loss of
    separable data decreases forever), ``tol=1e-3`` and ``n_iter_no_change=5`` (those of
    ``SGDClassifier``).

    Attributes
    ----------
    classes_ : ndarray
        The sorted class labels.
    coef_ : ndarray of shape (1, n_features) for two classes, else (n_classes, n_features)
    intercept_ : ndarray of shape (1,) or (n_classes,)
    model_, n_features_in_, feature_names_in_ (DataFrame input), n_iter_, loss_curve_,
    history_

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.estimators import LinearClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2)); y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    >>> clf = LinearClassifier(random_state=0).fit(X, y)
    >>> clf.classes_.tolist(), clf.score(X, y) > 0.95, clf.coef_.shape
    (['no', 'yes'], True, (1, 2))
    """

    def __init__(
        self,
        loss: str = "cross_entropy",
        optimizer: str = "adam",
        lr: float = 0.01,
        epochs: int = 200,
        batch_size: int = 32,
        l1: float = 0.0,
        l2: float = 1e-3,
        standardize: bool = True,
        early_stopping: Any = None,
        tol: float | None = 1e-3,
        n_iter_no_change: int = 5,
        shuffle: bool = True,
        warm_start: bool = False,
        random_state: Any = None,
        verbose: bool = False,
    ) -> None:
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

    def _after_fit(self) -> None:
        W, b = self._linear_coef()
        self.coef_ = np.ascontiguousarray(W)
        self.intercept_ = np.asarray(b, dtype=np.float64)
