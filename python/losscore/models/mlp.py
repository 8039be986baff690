"""A multi-layer perceptron: Linear layers with an activation between them, optionally a shared
trunk with several linear heads (multi-task models)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _core
from ..errors import ParameterError, ShapeError
from ._common import as_input, load_into, model_dtype, positive_int, uniform_init
from .activations import check_name

__all__ = ["MLP"]


def _head_sizes(heads: Any) -> list[int] | None:
    if heads is None:
        return None
    if isinstance(heads, str | bytes) or not isinstance(heads, Sequence):
        raise ParameterError(
            f"heads: expected a sequence of positive integers (one output size per head), "
            f"got {heads!r}"
        )
    if len(heads) == 0:
        raise ParameterError("heads: expected at least one head size, got an empty sequence")
    return [positive_int(h, "heads") for h in heads]


class MLP:
    """Multi-layer perceptron ``layer_sizes[0] -> ... -> layer_sizes[-1]``, optionally with heads.

    Each hidden layer is ``a = f(a_prev @ W + b)`` with the activation ``f`` (a Rust kernel, see
    :mod:`losscore.models.activations`); the last layer is linear (logits / raw outputs).
    Weights ``W`` have shape ``(fan_in, fan_out)``. Initialisation: He-uniform
    (``U(-a, a)``, ``a = sqrt(6 / fan_in)``) for layers followed by relu or gelu, Glorot-uniform
    (``a = sqrt(6 / (fan_in + fan_out))``) for the others and the output layers; biases start
    at 0.

    With ``heads=[k_0, k_1, ...]`` every layer of ``layer_sizes`` is a hidden (activated) layer
    of a shared trunk, and head ``j`` is a linear layer ``a_trunk @ H_j + c_j`` with ``k_j``
    outputs: ``forward`` returns a tuple of arrays, one per head, and ``backward`` takes a tuple
    of their gradients; the trunk receives the sum of the heads' gradients. With
    ``layer_sizes=[n_in]`` alone the heads read the inputs directly.

    Parameters
    ----------
    layer_sizes : sequence of int
        Without heads at least two sizes: inputs, hidden layers..., outputs. With heads: inputs
        and the trunk's hidden layers (at least the input size).
    activation : {"relu", "tanh", "sigmoid", "gelu"}, default "relu"
    seed : int or None
    dtype : float32 (default) or float64
    heads : sequence of int, optional
        Output size of each head.

    Notes
    -----
    ``parameters()`` is ``[W0, b0, W1, b1, ...]`` followed by the heads' ``[H0, c0, H1, c1,
    ...]``. ``forward(X)`` returns new arrays and keeps the hidden activations (in buffers
    reused from call to call) for ``backward(grad_output)``, which returns the gradients in
    ``parameters()`` order, in buffers the model owns and overwrites on the next call. Matrix
    products are NumPy (BLAS) calls writing into those buffers.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.models import MLP
    >>> net = MLP([4, 8, 3], activation="tanh", seed=0)
    >>> out = net.forward(np.ones((5, 4), dtype=np.float32))
    >>> out.shape, out.dtype, len(net.backward(np.ones_like(out)))
    ((5, 3), dtype('float32'), 4)
    >>> two = MLP([4, 8], heads=[10, 1], seed=0)       # shared trunk, two heads
    >>> logits, value = two.forward(np.ones((5, 4)))
    >>> logits.shape, value.shape, len(two.backward((np.ones((5, 10)), np.ones((5, 1)))))
    ((5, 10), (5, 1), 6)
    """

    def __init__(
        self,
        layer_sizes: Sequence[int],
        activation: str = "relu",
        seed: int | None = None,
        dtype: Any = np.float32,
        heads: Sequence[int] | None = None,
    ) -> None:
        try:
            sizes = list(layer_sizes)
        except TypeError:
            raise ParameterError(
                f"layer_sizes: expected a sequence of positive integers, got {layer_sizes!r}"
            ) from None
        head_sizes = _head_sizes(heads)
        if head_sizes is None and len(sizes) < 2:
            raise ParameterError(
                f"layer_sizes: needs at least an input and an output size, got {sizes!r}"
            )
        if head_sizes is not None and len(sizes) < 1:
            raise ParameterError("layer_sizes: needs at least the input size, got []")
        self.layer_sizes = [positive_int(s, "layer_sizes") for s in sizes]
        self.heads = head_sizes
        self.activation = check_name(activation)
        self.dtype = model_dtype(dtype)
        rng = np.random.default_rng(seed)
        hidden_scheme = "he" if self.activation in ("relu", "gelu") else "glorot"
        # Layers as (fan_in, fan_out): the activated hidden layers, then the linear outputs
        # (the last layer, or one per head), which all read the last hidden activation.
        pairs = list(zip(self.layer_sizes[:-1], self.layer_sizes[1:], strict=True))
        if head_sizes is None:
            hidden, outputs = pairs[:-1], pairs[-1:]
        else:
            hidden, outputs = pairs, [(self.layer_sizes[-1], k) for k in head_sizes]
        self._n_hidden = len(hidden)
        self.weights: list[np.ndarray] = []
        self.biases: list[np.ndarray] = []
        for i, (fan_in, fan_out) in enumerate(hidden + outputs):
            scheme = hidden_scheme if i < self._n_hidden else "glorot"
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

    @property
    def n_outputs(self) -> int:
        """Number of arrays ``forward`` returns: 1 without heads (a bare array), else the heads."""
        return 1 if self.heads is None else len(self.heads)

    def parameters(self) -> list[np.ndarray]:
        """``[W0, b0, W1, b1, ...]`` (then the heads'), the arrays themselves (updated in place
        by optimizers)."""
        return list(self._params)

    def weight_mask(self) -> list[bool]:
        """``[True, False, True, False, ...]``: weights are regularized, biases are not."""
        return [i % 2 == 0 for i in range(len(self._params))]

    def _ensure(self, n: int) -> None:
        if n <= self._capacity:
            return
        hidden = [w.shape[1] for w in self.weights[: self._n_hidden]]
        self._z = [np.empty((n, h), dtype=self.dtype) for h in hidden]
        self._a = [np.empty((n, h), dtype=self.dtype) for h in hidden]
        # one more scratch for summing the heads' gradients into the trunk
        extra = hidden[-1:] if self.heads is not None and len(self.heads) > 1 else []
        self._g = [np.empty((n, h), dtype=self.dtype) for h in hidden + extra]
        self._capacity = n

    def forward(self, X: Any) -> Any:
        """Outputs (logits) of shape ``(n, layer_sizes[-1])`` for ``X`` of shape
        ``(n, layer_sizes[0])``; with heads a tuple of ``(n, heads[j])`` arrays."""
        X = as_input(X, self.layer_sizes[0], self.dtype)
        n = X.shape[0]
        self._ensure(n)
        act = self.activation
        fused = _core.bias_activation_forward
        a = X
        for i in range(self._n_hidden):
            z = self._z[i][:n]
            np.matmul(a, self.weights[i], out=z)
            a_next = self._a[i][:n]
            fused(act, z, self.biases[i], a_next)  # z += b; a = f(z), one Rust pass
            a = a_next
        outs = []
        for j in range(self._n_hidden, len(self.weights)):
            out = a @ self.weights[j]
            fused(None, out, self.biases[j], None)
            outs.append(out)
        self._input = X
        return outs[0] if self.heads is None else tuple(outs)

    def _output_grads(self, grad_output: Any, n: int) -> list[np.ndarray]:
        if self.heads is None:
            given = [grad_output]
        else:
            if isinstance(grad_output, np.ndarray) or not isinstance(
                grad_output, tuple | list
            ):
                raise ShapeError(
                    f"grad_output: a model with {len(self.heads)} heads needs a tuple of "
                    f"{len(self.heads)} gradients, got {type(grad_output).__name__}"
                )
            if len(grad_output) != len(self.heads):
                raise ShapeError(
                    f"grad_output: expected {len(self.heads)} gradients (one per head), "
                    f"got {len(grad_output)}"
                )
            given = list(grad_output)
        grads = []
        for j, g in enumerate(given):
            g = np.ascontiguousarray(g, dtype=self.dtype)
            k = self.weights[self._n_hidden + j].shape[1]
            if g.shape != (n, k):
                where = "" if self.heads is None else f"[{j}]"
                raise ShapeError(
                    f"grad_output{where} must have shape {(n, k)} "
                    f"(the output of the last forward), got shape {g.shape}"
                )
            grads.append(g)
        return grads

    def backward(self, grad_output: Any) -> list[np.ndarray]:
        """Gradients of the loss with respect to ``parameters()``, given
        ``grad_output = dL/d outputs`` of the last :meth:`forward` (a tuple with heads)."""
        X = self._input
        if X is None:
            raise ParameterError("grad_output: backward() needs a forward() call first")
        n = X.shape[0]
        g_outs = self._output_grads(grad_output, n)
        act = self.activation
        fused = _core.bias_activation_backward
        grads = self._grads
        n_hidden = self._n_hidden
        a_last = X if n_hidden == 0 else self._a[n_hidden - 1][:n]
        for j, g in enumerate(g_outs):
            layer = n_hidden + j
            fused(None, None, None, g, grads[2 * layer + 1])  # output bias gradient: column sums
            np.matmul(a_last.T, g, out=grads[2 * layer])
        if n_hidden == 0:
            return list(grads)
        # gradient at the last hidden activation: the sum over the output layers
        g_prev = self._g[n_hidden - 1][:n]
        np.matmul(g_outs[0], self.weights[n_hidden].T, out=g_prev)
        for j in range(1, len(g_outs)):
            scratch = self._g[n_hidden][:n]
            np.matmul(g_outs[j], self.weights[n_hidden + j].T, out=scratch)
            g_prev += scratch
        # g_prev *= f'(z); that layer's bias gradient = column sums, one Rust pass
        fused(act, self._z[n_hidden - 1][:n], a_last, g_prev, grads[2 * n_hidden - 1])
        g = g_prev
        for i in range(n_hidden - 1, -1, -1):
            a_prev = X if i == 0 else self._a[i - 1][:n]
            np.matmul(a_prev.T, g, out=grads[2 * i])
            if i > 0:
                g_prev = self._g[i - 1][:n]
                np.matmul(g, self.weights[i].T, out=g_prev)
                fused(act, self._z[i - 1][:n], a_prev, g_prev, grads[2 * i - 1])
                g = g_prev
        return list(grads)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters by name (``"layers.0.weight"``, ``"layers.0.bias"``, ...,
        ``"heads.0.weight"``, ...)."""
        return {k: v.copy() for k, v in self._named().items()}

    def load_state_dict(self, state: Any) -> None:
        """Copy a :meth:`state_dict` back into the parameters, in place."""
        load_into(self._named(), state)

    def _named(self) -> dict[str, np.ndarray]:
        named = {}
        n_layers = self._n_hidden + (1 if self.heads is None else 0)
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            prefix = f"layers.{i}" if i < n_layers else f"heads.{i - n_layers}"
            named[f"{prefix}.weight"] = w
            named[f"{prefix}.bias"] = b
        return named

    def __getstate__(self) -> dict[str, Any]:
        # Scratch buffers are not state: pickles stay small.
        state = self.__dict__.copy()
        state.update(_capacity=0, _z=[], _a=[], _g=[], _input=None)
        return state

    def __repr__(self) -> str:
        heads = "" if self.heads is None else f", heads={self.heads}"
        return (
            f"MLP(layer_sizes={self.layer_sizes}, activation={self.activation!r}{heads}, "
            f"dtype={self.dtype.name})"
        )
