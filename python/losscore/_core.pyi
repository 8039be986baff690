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
    "cosine_embedding",
    "cross_entropy",
    "exact_sum",
    "gamma_deviance",
    "gaussian_nll",
    "get_num_threads",
    "grad_norm",
    "hinge",
    "huber",
    "isa",
    "kl_div",
    "lion_step",
    "log_cosh",
    "mae",
    "margin_ranking",
    "mse",
    "multi_margin",
    "multilabel_soft_margin",
    "nadam_step",
    "nll_loss",
    "optim_check_params",
    "penalty",
    "pinball",
    "poisson_deviance",
    "poisson_nll",
    "probe_read2",
    "probe_read2_write1",
    "probe_update4",
    "radam_step",
    "rmsprop_step",
    "set_isa",
    "set_num_threads",
    "sgd_step",
    "sigmoid_focal",
    "smooth_l1",
    "soft_margin",
    "softmax_focal",
    "squared_hinge",
    "stream_sum",
    "triplet_margin",
    "tweedie_deviance",
]

_Array = NDArray[np.float32] | NDArray[np.float64]
_Reduction = Literal["mean", "sum", "none"]

# Every loss takes (first, target, *, <hyperparameters>, weight=None, reduction=..., out=None,
# with_grad=False, partials=False), keyword-only after `target`, with the Python wrapper's
# defaults. It returns a float ("mean"/"sum") or an array ("none"); with with_grad=True a
# (value, gradient) tuple (the gradient written into `out` when given); with partials=True a
# Partials value. Typed `Any` because the result depends on the flags. The two-array losses
# also take the internal `_objective=(scale, hess_floor)` of `losscore.gbdt`: `(grad, hess)`
# only, no loss value, `grad = dl * (w * scale)`, `hess = max(d2l * (w * scale), hess_floor * w)`
# (no floor when hess_floor is 0).
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
def probe_read2_write1(
    a: NDArray[np.float32], b: NDArray[np.float32], c: NDArray[np.float32]
) -> None: ...
def probe_update4(
    p: NDArray[np.float32], g: NDArray[np.float32], m: NDArray[np.float32], v: NDArray[np.float32]
) -> None: ...

# -- regression losses (loss/regression.rs) ------------------------------------------------
def mse(
    pred: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def mae(
    pred: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def huber(
    pred: ArrayLike,
    target: ArrayLike,
    delta: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def smooth_l1(
    pred: ArrayLike,
    target: ArrayLike,
    beta: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def log_cosh(
    pred: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def pinball(
    pred: ArrayLike,
    target: ArrayLike,
    quantile: float = 0.5,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def poisson_nll(
    pred: ArrayLike,
    target: ArrayLike,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-08,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...

# -- deviances (loss/deviance.rs) --------------------------------------------------------------
def poisson_deviance(
    pred: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def gamma_deviance(
    pred: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def tweedie_deviance(
    pred: ArrayLike,
    target: ArrayLike,
    power: float = 0.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...

# -- element-wise classification losses (loss/binary.rs) -------------------------------------
def binary_cross_entropy(
    prob: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def binary_cross_entropy_with_logits(
    logits: ArrayLike,
    target: ArrayLike,
    pos_weight: ArrayLike | None = None,
    label_smoothing: float = 0.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def sigmoid_focal(
    logits: ArrayLike,
    target: ArrayLike,
    alpha: float = 0.25,
    gamma: float = 2.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def soft_margin(
    pred: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def hinge(
    pred: ArrayLike,
    target: ArrayLike,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def squared_hinge(
    pred: ArrayLike,
    target: ArrayLike,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def kl_div(
    log_pred: ArrayLike,
    target: ArrayLike,
    log_target: bool = False,
    weight: ArrayLike | None = None,
    reduction: Literal["batchmean", "mean", "sum", "none"] = "batchmean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...

# -- row losses over a class axis (loss/softmax.rs, loss/classification.rs) --------------------
def cross_entropy(
    logits: ArrayLike,
    target: ArrayLike,
    class_weight: ArrayLike | None = None,
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def nll_loss(
    log_probs: ArrayLike,
    target: ArrayLike,
    class_weight: ArrayLike | None = None,
    ignore_index: int | None = None,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def multi_margin(
    logits: ArrayLike,
    target: ArrayLike,
    p: int = 1,
    margin: float = 1.0,
    class_weight: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def softmax_focal(
    logits: ArrayLike,
    target: ArrayLike,
    gamma: float = 2.0,
    alpha: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...
def multilabel_soft_margin(
    logits: ArrayLike,
    target: ArrayLike,
    class_weight: ArrayLike | None = None,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    _objective: tuple[float, float] | None = None,
) -> Any: ...

# Losses of several inputs: `argnums` selects the inputs differentiated (`out` one buffer or a
# tuple of buffers, one per entry).
def gaussian_nll(
    pred: ArrayLike,
    target: ArrayLike,
    var: ArrayLike,
    full: bool = False,
    eps: float = 1e-6,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | tuple[_Array | None, ...] | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    argnums: int | tuple[int, ...] | None = None,
) -> Any: ...
def margin_ranking(
    x1: ArrayLike,
    x2: ArrayLike,
    target: ArrayLike,
    margin: float = 0.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | tuple[_Array | None, ...] | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    argnums: int | tuple[int, ...] | None = None,
) -> Any: ...
def cosine_embedding(
    x1: ArrayLike,
    x2: ArrayLike,
    target: ArrayLike,
    margin: float = 0.0,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | tuple[_Array | None, ...] | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    argnums: int | tuple[int, ...] | None = None,
) -> Any: ...
def triplet_margin(
    anchor: ArrayLike,
    positive: ArrayLike,
    negative: ArrayLike,
    margin: float = 1.0,
    p: float = 2.0,
    eps: float = 1e-6,
    swap: bool = False,
    weight: ArrayLike | None = None,
    reduction: _Reduction = "mean",
    out: _Array | tuple[_Array | None, ...] | None = None,
    with_grad: bool = False,
    *,
    with_hess: bool = False,
    hess_out: _Array | None = None,
    partials: bool = False,
    offset: int = 0,
    argnums: int | tuple[int, ...] | None = None,
) -> Any: ...

# -- optimizers and clipping ----------------------------------------------------------------
_Arrays = Sequence[npt.NDArray[np.floating]]
# states[k]: the flat buffers (one per dtype present) of the kernel's k-th state buffer (empty
# when no group uses it). groups: the optimizer's param_groups dicts, read as they are (each
# covers len(group["params"]) consecutive parameters); steps: the step each group is taking.
_States = Sequence[Sequence[npt.NDArray[np.floating]]]
_Groups = Sequence[dict[str, Any]]

def sgd_step(
    params: _Arrays, grads: _Arrays, states: _States, groups: _Groups, fresh: Sequence[bool],
    *,
    grad_scale: float = 1.0,
) -> None: ...
def adam_step(
    params: _Arrays, grads: _Arrays, states: _States, groups: _Groups, steps: Sequence[int],
    *,
    grad_scale: float = 1.0,
) -> None: ...
def rmsprop_step(
    params: _Arrays,
    grads: _Arrays,
    states: _States,
    groups: _Groups,
    *,
    grad_scale: float = 1.0,
) -> None: ...
def adagrad_step(
    params: _Arrays, grads: _Arrays, states: _States, groups: _Groups, steps: Sequence[int],
    *,
    grad_scale: float = 1.0,
) -> None: ...
def adadelta_step(
    params: _Arrays,
    grads: _Arrays,
    states: _States,
    groups: _Groups,
    *,
    grad_scale: float = 1.0,
) -> None: ...
def adamax_step(
    params: _Arrays, grads: _Arrays, states: _States, groups: _Groups, steps: Sequence[int],
    *,
    grad_scale: float = 1.0,
) -> None: ...
def nadam_step(
    params: _Arrays,
    grads: _Arrays,
    states: _States,
    groups: _Groups,
    steps: Sequence[int],
    mu_products: Sequence[float],
    *,
    grad_scale: float = 1.0,
) -> list[float]: ...
def radam_step(
    params: _Arrays, grads: _Arrays, states: _States, groups: _Groups, steps: Sequence[int],
    *,
    grad_scale: float = 1.0,
) -> None: ...
def lion_step(
    params: _Arrays,
    grads: _Arrays,
    states: _States,
    groups: _Groups,
    *,
    grad_scale: float = 1.0,
) -> None: ...
def optim_check_params(params: _Arrays) -> None: ...
def clip_grad_norm(
    grads: _Arrays, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> float: ...
def clip_grad_value(grads: _Arrays, clip_value: float) -> None: ...
def grad_norm(arrays: _Arrays, norm_type: float = 2.0) -> float: ...

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
