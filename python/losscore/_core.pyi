# Type stubs of the Rust extension `losscore._core` (hand-written; mirror rust/losscore-py).
from collections.abc import Sequence
from typing import Any, Literal, final

import numpy as np
import numpy.typing as npt
from numpy.typing import ArrayLike, NDArray

__version__: str

__all__ = [
    "Partials",
    "__version__",
    "activation_backward",
    "activation_forward",
    "adadelta_step",
    "adagrad_step",
    "adam_step",
    "adamax_step",
    "available_isas",
    "bias_activation_backward",
    "bias_activation_forward",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "block_size",
    "clip_grad_norm",
    "clip_grad_value",
    "cross_entropy",
    "exact_sum",
    "get_num_threads",
    "hinge",
    "huber",
    "isa",
    "kl_div",
    "lion_step",
    "log_cosh",
    "mae",
    "mse",
    "multi_margin",
    "nadam_step",
    "nll_loss",
    "optim_check_params",
    "penalty",
    "pinball",
    "poisson_nll",
    "probe_read2",
    "probe_update4",
    "radam_step",
    "rmsprop_step",
    "set_isa",
    "set_num_threads",
    "sgd_step",
    "sigmoid_focal",
    "smooth_l1",
    "soft_margin",
    "squared_hinge",
    "stream_sum",
]

_Array = NDArray[np.float32] | NDArray[np.float64]
_Reduction = Literal["mean", "sum", "none"]

# Every loss takes (first, target, *, <hyperparameters>, weight=None, reduction=..., out=None,
# with_grad=False, partials=False), keyword-only after `target`, with the Python wrapper's
# defaults. It returns a float ("mean"/"sum") or an array ("none"); with with_grad=True a
# (value, gradient) tuple (the gradient written into `out` when given); with partials=True a
# Partials value. Typed `Any` because the result depends on the flags.
@final
class Partials:
    """Mergeable reduction state of a loss over a range of rows (cut anywhere)."""

    def merge(self, other: Partials) -> None: ...
    def finish(self, reduction: str) -> float: ...
    def copy(self) -> Partials: ...
    @property
    def count(self) -> int: ...
    @property
    def start(self) -> int: ...

# -- runtime -------------------------------------------------------------------------------
def get_num_threads() -> int: ...
def set_num_threads(n: int) -> None: ...
def isa() -> str: ...
def available_isas() -> list[str]: ...
def set_isa(name: str) -> None: ...
def exact_sum(values: list[float]) -> float: ...
def block_size() -> int: ...
def stream_sum(x: ArrayLike) -> float: ...
def probe_read2(a: NDArray[np.float32], b: NDArray[np.float32]) -> float: ...
def probe_update4(
    p: NDArray[np.float32], g: NDArray[np.float32], m: NDArray[np.float32], v: NDArray[np.float32]
) -> None: ...

# -- regression losses (loss/regression.rs) ------------------------------------------------
def mse(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...
def mae(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...
def huber(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    delta: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...
def smooth_l1(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    beta: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...
def log_cosh(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...
def pinball(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    quantile: float = 0.5,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...
def poisson_nll(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-08,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...

# -- element-wise classification losses (loss/binary.rs) -------------------------------------
def binary_cross_entropy(
    prob: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...
def binary_cross_entropy_with_logits(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    pos_weight: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...
def sigmoid_focal(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    alpha: float = 0.25,
    gamma: float = 2.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...
def soft_margin(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...
def hinge(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...
def squared_hinge(
    pred: ArrayLike,
    target: ArrayLike,
    *,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...
def kl_div(
    log_pred: ArrayLike,
    target: ArrayLike,
    *,
    log_target: bool = False,
    weight: ArrayLike | None = None,
    reduction: Literal["batchmean", "mean", "sum", "none"] = "batchmean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...

# -- row losses over a class axis (loss/softmax.rs, loss/classification.rs) --------------------
def cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    class_weight: ArrayLike | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...
def nll_loss(
    log_probs: ArrayLike,
    target: ArrayLike,
    *,
    class_weight: ArrayLike | None = None,
    ignore_index: int | None = None,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...
def multi_margin(
    logits: ArrayLike,
    target: ArrayLike,
    *,
    p: int = 1,
    margin: float = 1.0,
    class_weight: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    partials: bool = False,
    offset: int = 0,
) -> Any: ...

# -- optimizers and clipping ----------------------------------------------------------------
_Arrays = Sequence[npt.NDArray[np.floating]]
# states[k]: the flat buffers (one per dtype present) of the k-th state the update uses.
_States = Sequence[Sequence[npt.NDArray[np.floating]]]

def sgd_step(
    params: _Arrays,
    grads: _Arrays,
    states: _States,
    *,
    lr: float,
    momentum: float,
    dampening: float,
    weight_decay: float,
    nesterov: bool,
    maximize: bool,
    fresh_buffers: bool,
) -> None: ...
def adam_step(
    params: _Arrays,
    grads: _Arrays,
    states: _States,
    *,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    amsgrad: bool,
    maximize: bool,
) -> None: ...
def rmsprop_step(
    params: _Arrays,
    grads: _Arrays,
    states: _States,
    *,
    lr: float,
    alpha: float,
    eps: float,
    weight_decay: float,
    momentum: float,
    centered: bool,
    maximize: bool,
) -> None: ...
def adagrad_step(
    params: _Arrays,
    grads: _Arrays,
    states: _States,
    *,
    step: int,
    lr: float,
    lr_decay: float,
    weight_decay: float,
    initial_accumulator_value: float,
    eps: float,
    maximize: bool,
) -> None: ...
def adadelta_step(
    params: _Arrays,
    grads: _Arrays,
    states: _States,
    *,
    lr: float,
    rho: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
) -> None: ...
def adamax_step(
    params: _Arrays,
    grads: _Arrays,
    states: _States,
    *,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    maximize: bool,
) -> None: ...
def nadam_step(
    params: _Arrays,
    grads: _Arrays,
    states: _States,
    *,
    step: int,
    mu_product: float,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    momentum_decay: float,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> float: ...
def radam_step(
    params: _Arrays,
    grads: _Arrays,
    states: _States,
    *,
    step: int,
    lr: float,
    beta1: float,
    beta2: float,
    eps: float,
    weight_decay: float,
    decoupled_weight_decay: bool,
    maximize: bool,
) -> None: ...
def lion_step(
    params: _Arrays,
    grads: _Arrays,
    states: _States,
    *,
    lr: float,
    beta1: float,
    beta2: float,
    weight_decay: float,
) -> None: ...
def optim_check_params(params: _Arrays) -> None: ...
def clip_grad_norm(
    grads: _Arrays, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> float: ...
def clip_grad_value(grads: _Arrays, clip_value: float) -> None: ...

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
