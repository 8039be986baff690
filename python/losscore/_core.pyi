# Type stubs of the Rust extension `losscore._core` (hand-written; mirror rust/losscore-py).
from typing import Any

import numpy as np
import numpy.typing as npt

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
