# Stubs of the optimizer / clipping functions of losscore._core (merged into _core.pyi by the lead).
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

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
