# Stubs of the training-layer kernels in losscore._core (rust/losscore-py/src/nn.rs); the lead
# merges these into _core.pyi.
import numpy as np
import numpy.typing as npt

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
