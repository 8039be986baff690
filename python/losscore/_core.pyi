# Type stubs of the Rust extension `losscore._core` (hand-written; mirror rust/losscore-py).
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike, NDArray

__version__: str

_Array = npt.NDArray[np.float32] | npt.NDArray[np.float64]
# A float (reduction "mean"/"sum") or an array (reduction "none"); with with_grad=True a
# (value, gradient) tuple; with partials=True (loss block partials, weight block partials | None).
_LossResult = Any

# -- runtime -------------------------------------------------------------------------------
def get_num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def isa() -> str: ...
def available_isas() -> list[str]: ...
def set_isa(name: str) -> None: ...
def exact_sum(values: list[float]) -> float: ...
def block_size() -> int: ...
def stream_sum(x: npt.ArrayLike) -> float: ...

# -- regression losses ---------------------------------------------------------------------
def mse(
    pred: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    reduction: str = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    partials: bool = False,
) -> _LossResult: ...
def mae(
    pred: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    reduction: str = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    partials: bool = False,
) -> _LossResult: ...
def huber(
    pred: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    reduction: str = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    delta: float = 1.0,
    *,
    partials: bool = False,
) -> _LossResult: ...
def smooth_l1(
    pred: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    reduction: str = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    beta: float = 1.0,
    *,
    partials: bool = False,
) -> _LossResult: ...
def log_cosh(
    pred: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    reduction: str = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    partials: bool = False,
) -> _LossResult: ...
def pinball(
    pred: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    reduction: str = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    quantile: float = 0.5,
    *,
    partials: bool = False,
) -> _LossResult: ...
def poisson_nll(
    pred: npt.ArrayLike,
    target: npt.ArrayLike,
    weight: npt.ArrayLike | None = None,
    reduction: str = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    *,
    partials: bool = False,
) -> _LossResult: ...

# -- classification losses ------------------------------------------------------------------
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

# -- optimizers and clipping ----------------------------------------------------------------
_Arrays = Sequence[npt.NDArray[np.floating]]
# states[k]: the flat buffers (one per dtype present) of the kernel's k-th state buffer (empty
# when no group uses it). groups: the optimizer's param_groups dicts, read as they are (each
# covers len(group["params"]) consecutive parameters); steps: the step each group is taking.
_States = Sequence[Sequence[npt.NDArray[np.floating]]]
_Groups = Sequence[dict[str, Any]]

def sgd_step(
    params: _Arrays, grads: _Arrays, states: _States, groups: _Groups, fresh: Sequence[bool]
) -> None: ...
def adam_step(
    params: _Arrays, grads: _Arrays, states: _States, groups: _Groups, steps: Sequence[int]
) -> None: ...
def rmsprop_step(params: _Arrays, grads: _Arrays, states: _States, groups: _Groups) -> None: ...
def adagrad_step(
    params: _Arrays, grads: _Arrays, states: _States, groups: _Groups, steps: Sequence[int]
) -> None: ...
def adadelta_step(params: _Arrays, grads: _Arrays, states: _States, groups: _Groups) -> None: ...
def adamax_step(
    params: _Arrays, grads: _Arrays, states: _States, groups: _Groups, steps: Sequence[int]
) -> None: ...
def nadam_step(
    params: _Arrays,
    grads: _Arrays,
    states: _States,
    groups: _Groups,
    steps: Sequence[int],
    mu_products: Sequence[float],
) -> list[float]: ...
def radam_step(
    params: _Arrays, grads: _Arrays, states: _States, groups: _Groups, steps: Sequence[int]
) -> None: ...
def lion_step(params: _Arrays, grads: _Arrays, states: _States, groups: _Groups) -> None: ...
def optim_check_params(params: _Arrays) -> None: ...
def clip_grad_norm(
    grads: _Arrays, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> float: ...
def clip_grad_value(grads: _Arrays, clip_value: float) -> None: ...
def grad_norm(arrays: _Arrays, norm_type: float = 2.0) -> float: ...

# -- models (activations, regularization) ---------------------------------------------------
_Array = npt.NDArray[np.float32] | npt.NDArray[np.float64]

# -- training layer (losscore.models, losscore.fit) -------------------------------------------
def activation_forward(name: str, z: npt.ArrayLike, out: _Array | None = None) -> _Array: ...
def activation_backward(name: str, z: npt.ArrayLike, a: npt.ArrayLike, grad: _Array) -> None: ...
def bias_activation_forward(
    name: str | None, z: _Array, bias: npt.ArrayLike, a: _Array | None = None
) -> None: ...
def bias_activation_backward(
    name: str | None,
    z: npt.ArrayLike | None,
    a: npt.ArrayLike | None,
    grad: _Array,
    bias_grad: _Array,
) -> None: ...
def penalty(
    weights: list[_Array], grads: list[_Array] | None = None, l1: float = 0.0, l2: float = 0.0
) -> float: ...
