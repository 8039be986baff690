"""Linear models trained by :func:`losscore.fit`: ``LinearRegressor`` and ``LinearClassifier``."""

from __future__ import annotations

from typing import Any

from ._kinds import ClassifierBase, RegressorBase

__all__ = ["LinearClassifier", "LinearRegressor"]


class LinearRegressor(RegressorBase):
    """Linear regression ``y = X @ W + b`` trained by mini-batch gradient descent.

    Parameters
    ----------
    loss : str, default "mse"
        A regression loss: "mse", "mae", "huber", "smooth_l1", "log_cosh", "pinball",
        "poisson_nll" (default parameters).
    optimizer : str, default "adam"
        A ``losscore.optim`` optimizer name.
    lr : float, default 0.01
    epochs : int, default 100
        Maximum number of passes over the data.
    batch_size : int, default 32
    l1, l2 : float, default 0.0
        Penalty ``l1*sum|W| + l2/2*sum W**2`` (not on the bias).
    early_stopping : None, bool or int, default None
        Hold out 10% of the data and stop when its loss has not improved for this many epochs
        (True = 10), restoring the best weights.
    tol : float or None, default 1e-4
        Stop when the training loss has not improved by ``tol`` for 10 epochs.
    random_state : int, RandomState or None
    verbose : bool, default False
        Print one line per epoch (and a progress bar in a terminal).

    Attributes
    ----------
    model_ : losscore.models.Linear
        The fitted model (float64 copy of the float32 training weights).
    n_features_in_, feature_names_in_ (DataFrame input), n_outputs_, n_iter_, loss_curve_,
    history_

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.estimators import LinearRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3)); y = X @ [1.0, -2.0, 0.5] + 1.0
    >>> reg = LinearRegressor(epochs=100, random_state=0).fit(X, y)
    >>> reg.score(X, y) > 0.99
    True
    """

    def __init__(
        self,
        loss: str = "mse",
        optimizer: str = "adam",
        lr: float = 0.01,
        epochs: int = 100,
        batch_size: int = 32,
        l1: float = 0.0,
        l2: float = 0.0,
        early_stopping: Any = None,
        tol: float | None = 1e-4,
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
        self.early_stopping = early_stopping
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose


class LinearClassifier(ClassifierBase):
    """Linear classifier (logistic / softmax regression, or a linear SVM with ``loss="hinge"``).

    Two classes: one logit trained with binary cross-entropy on logits; more: softmax
    cross-entropy over one logit per class. ``loss="hinge"`` uses the hinge loss (two classes) or
    the multi-class margin loss, and has no ``predict_proba``.

    Parameters are those of :class:`LinearRegressor`, with ``loss`` in
    {"cross_entropy" (default, alias "log_loss"), "hinge"}.

    Attributes
    ----------
    classes_ : ndarray
        The sorted class labels.
    model_, n_features_in_, feature_names_in_ (DataFrame input), n_iter_, loss_curve_,
    history_

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.estimators import LinearClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 2)); y = np.where(X[:, 0] + X[:, 1] > 0, "yes", "no")
    >>> clf = LinearClassifier(random_state=0).fit(X, y)
    >>> clf.classes_.tolist(), clf.score(X, y) > 0.95
    (['no', 'yes'], True)
    """

    def __init__(
        self,
        loss: str = "cross_entropy",
        optimizer: str = "adam",
        lr: float = 0.01,
        epochs: int = 100,
        batch_size: int = 32,
        l1: float = 0.0,
        l2: float = 0.0,
        early_stopping: Any = None,
        tol: float | None = 1e-4,
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
        self.early_stopping = early_stopping
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
