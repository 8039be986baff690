# Stubs of the classification functions of losscore._core (merged into _core.pyi by the lead).
# Each returns a float (or, with reduction="none", an ndarray of per-element / per-sample
# losses); with with_grad=True a tuple (value, gradient), the gradient written to `out` if given.
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

def binary_cross_entropy(
    prob: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
    out: NDArray[np.floating[Any]] | None = None,
    with_grad: bool = False,
    *,
    partials: bool = False,
) -> Any: ...
def binary_cross_entropy_with_logits(
    logits: ArrayLike,
    target: ArrayLike,
    pos_weight: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
    out: NDArray[np.floating[Any]] | None = None,
    with_grad: bool = False,
    *,
    partials: bool = False,
) -> Any: ...
def sigmoid_focal(
    logits: ArrayLike,
    target: ArrayLike,
    alpha: float = 0.25,
    gamma: float = 2.0,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
    out: NDArray[np.floating[Any]] | None = None,
    with_grad: bool = False,
    *,
    partials: bool = False,
) -> Any: ...
def soft_margin(
    pred: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
    out: NDArray[np.floating[Any]] | None = None,
    with_grad: bool = False,
    *,
    partials: bool = False,
) -> Any: ...
def hinge(
    pred: ArrayLike,
    target: ArrayLike,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
    out: NDArray[np.floating[Any]] | None = None,
    with_grad: bool = False,
    *,
    partials: bool = False,
) -> Any: ...
def squared_hinge(
    pred: ArrayLike,
    target: ArrayLike,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
    out: NDArray[np.floating[Any]] | None = None,
    with_grad: bool = False,
    *,
    partials: bool = False,
) -> Any: ...
def kl_div(
    log_pred: ArrayLike,
    target: ArrayLike,
    log_target: bool = False,
    weight: ArrayLike | None = None,
    reduction: str = "batchmean",
    out: NDArray[np.floating[Any]] | None = None,
    with_grad: bool = False,
    *,
    partials: bool = False,
) -> Any: ...
def cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    class_weight: ArrayLike | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
    out: NDArray[np.floating[Any]] | None = None,
    with_grad: bool = False,
) -> Any: ...
def nll_loss(
    log_probs: ArrayLike,
    target: ArrayLike,
    class_weight: ArrayLike | None = None,
    ignore_index: int | None = None,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
    out: NDArray[np.floating[Any]] | None = None,
    with_grad: bool = False,
) -> Any: ...
def multi_margin(
    logits: ArrayLike,
    target: ArrayLike,
    p: int | None = None,
    margin: float = 1.0,
    class_weight: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    reduction: str = "mean",
    out: NDArray[np.floating[Any]] | None = None,
    with_grad: bool = False,
) -> Any: ...
