"""A multi-layer perceptron: Linear layers with an activation between them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _core
from ..errors import ParameterError, ShapeError
from ._common import as_input, load_into, model_dtype, positive_int, uniform_init
from .activations import check_name

__all__ = ["MLP"]


class MLP:
    """Multi-layer perceptron ``layer_sizes[0] -> ... -> layer_sizes[-1]``.

    Each hidden layer is ``a = f(a_prev @ W + b)`` with the activation ``f`` (a Rust kernel, see
    :mod:`losscore.models.activations`); the last layer is linear (logits / raw outputs).
    Weights ``W`` have shape ``(fan_in, fan_out)``. Initialisation: He-uniform
    (``U(-a, a)``, ``a = sqrt(6 / fan_in)``) for layers followed by relu or gelu, Glorot-uniform
    (``a = sqrt(6 / (fan_in + fan_out))``) for the others and the output layer; biases start at 0.

    Parameters
    ----------
    layer_sizes : sequence of int
        At least two sizes: inputs, hidden layers..., outputs.
    activation : {"relu", "tanh", "sigmoid", "gelu"}, default "relu"
    seed : int or None
    dtype : float32 (default) or float64

    Notes
    -----
    ``parameters()`` is ``[W0, b0, W1, b1, ...]``. ``forward(X)`` returns a new array and keeps the
    hidden activations (in buffers reused from call to call) for ``backward(grad_output)``, which
    returns the gradients in ``parameters()`` order, in buffers the model owns and overwrites on
    the next call. Matrix products are NumPy (BLAS) calls writing into those buffers.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.models import MLP
    >>> net = MLP([4, 8, 3], activation="tanh", seed=0)
    >>> out = net.forward(np.ones((5, 4), dtype=np.float32))
    >>> out.shape, out.dtype, len(net.backward(np.ones_like(out)))
    ((5, 3), dtype('float32'), 4)
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "relu",
        seed: int | None = None,
        dtype: Any = np.float32,
    ) -> None:
        try:
            sizes = list(layer_sizes)
        except TypeError:
            raise ParameterError(
                f"layer_sizes: expected a sequence of positive integers, got {layer_sizes!r}"
            ) from None
        if len(sizes) < 2:
            raise ParameterError(
                f"layer_sizes: needs at least an input and an output size, got {sizes!r}"
            )
        self.layer_sizes = [positive_int(s, "layer_sizes") for s in sizes]
        self.activation = check_name(activation)
        self.dtype = model_dtype(dtype)
        rng = np.random.default_rng(seed)
        hidden_scheme = "he" if self.activation in ("relu", "gelu") else "glorot"
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        n_layers = len(self.layer_sizes) - 1
        for i, (fan_in, fan_out) in enumerate(
            zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=True)
        ):
            scheme = hidden_scheme if i < n_layers - 1 else "glorot"
            self.weights.append(uniform_init(rng, fan_in, fan_out, scheme, self.dtype))
            self.biases.append(np.zeros(fan_out, dtype=self.dtype))
        self._params = [p for wb in zip(self.weights, self.biases, strict=True) for p in wb]
        self._grads = [np.zeros_like(p) for p in self._params]
        # Hidden pre-activations z and activations a of the last forward, and the backward
        # scratch, in buffers of `_capacity` rows (grown on demand, used through row views).
        self._capacity = 0
        self._z: list[np.ndarray] = []
        self._a: list[np.ndarray] = []
        self._g: list[np.ndarray] = []
        self._input: np.ndarray | None = None

    def parameters(self) -> list[np.ndarray]:
        """``[W0, b0, W1, b1, ...]``, the arrays themselves (updated in place by optimizers)."""
        return list(self._params)

    def weight_mask(self) -> list[bool]:
        """``[True, False, True, False, ...]``: weights are regularized, biases are not."""
        return [i % 2 == 0 for i in range(len(self._params))]

    def _ensure(self, n: int) -> None:
        if n <= self._capacity:
            return
        hidden = self.layer_sizes[1:-1]
        self._z = [np.empty((n, h), dtype=self.dtype) for h in hidden]
        self._a = [np.empty((n, h), dtype=self.dtype) for h in hidden]
        self._g = [np.empty((n, h), dtype=self.dtype) for h in hidden]
        self._capacity = n

    def forward(self, X: Any) -> np.ndarray:
        """Outputs (logits) of shape ``(n, layer_sizes[-1])`` for ``X`` of shape
        ``(n, layer_sizes[0])``."""
        X = as_input(X, self.layer_sizes[0], self.dtype)
        n = X.shape[0]
        self._ensure(n)
        act = self.activation
        fused = _core.bias_activation_forward
        a = X
        last = len(self.weights) - 1
        for i in range(last):
            z = self._z[i][:n]
            np.matmul(a, self.weights[i], out=z)
            a_next = self._a[i][:n]
            fused(act, z, self.biases[i], a_next)  # z += b; a = f(z), one Rust pass
            a = a_next
        out = a @ self.weights[last]
        fused(None, out, self.biases[last], None)
        self._input = X
        return out

    def backward(self, grad_output: Any) -> list[np.ndarray]:
        """Gradients of the loss with respect to ``parameters()``, given
        ``grad_output = dL/d outputs`` of the last :meth:`forward`."""
        X = self._input
        if X is None:
            raise ParameterError("grad_output: backward() needs a forward() call first")
        n = X.shape[0]
        g = np.ascontiguousarray(grad_output, dtype=self.dtype)
        if g.shape != (n, self.layer_sizes[-1]):
            raise ShapeError(
                f"grad_output must have shape {(n, self.layer_sizes[-1])} "
                f"(the output of the last forward), got shape {g.shape}"
            )
        act = self.activation
        fused = _core.bias_activation_backward
        grads = self._grads
        last = len(self.weights) - 1
        fused(None, None, None, g, grads[2 * last + 1])  # output bias gradient: column sums
        for i in range(last, -1, -1):
            a_prev = X if i == 0 else self._a[i - 1][:n]
            np.matmul(a_prev.T, g, out=grads[2 * i])
            if i > 0:
                g_prev = self._g[i - 1][:n]
                np.matmul(g, self.weights[i].T, out=g_prev)
                # g_prev *= f'(z); previous bias gradient = column sums, one Rust pass
                fused(act, self._z[i - 1][:n], a_prev, g_prev, grads[2 * i - 1])
                g = g_prev
        return list(grads)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters by name (``"layers.0.weight"``, ``"layers.0.bias"``, ...)."""
        return {k: v.copy() for k, v in self._named().items()}

    def load_state_dict(self, state: Any) -> None:
        """Copy a :meth:`state_dict` back into the parameters, in place."""
        load_into(self._named(), state)

    def _named(self) -> dict[str, np.ndarray]:
        named = {}
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            named[f"layers.{i}.weight"] = w
            named[f"layers.{i}.bias"] = b
        return named

    def __getstate__(self) -> dict[str, Any]:
        # Scratch buffers are not state: pickles stay small.
        state = self.__dict__.copy()
        state.update(_capacity=0, _z=[], _a=[], _g=[], _input=None)
        return state

    def __repr__(self) -> str:
        return (
            f"MLP(layer_sizes={self.layer_sizes}, activation={self.activation!r}, "
            f"dtype={self.dtype.name})"
        )
