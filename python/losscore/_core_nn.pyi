# Stubs of the training-layer kernels in losscore._core (rust/losscore-py/src/nn.rs); the lead
# merges these into _core.pyi.
from typing import Any

import numpy as np
from numpy.typing import NDArray

def activation_forward(
    name: str, z: Any, out: NDArray[np.floating] | None = None
) -> NDArray[np.floating]: ...
def activation_backward(name: str, z: Any, a: Any, grad: NDArray[np.floating]) -> None: ...
def penalty(
    weights: list[NDArray[np.floating]],
    grads: list[NDArray[np.floating]] | None = None,
    l1: float = 0.0,
    l2: float = 0.0,
) -> float: ...
