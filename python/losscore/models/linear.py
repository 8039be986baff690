"""A fully connected layer ``y = X @ W + b``."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from ..errors import ParameterError, ShapeError
from ._common import as_input, load_into, model_dtype, positive_int, uniform_init

__all__ = ["Linear"]


class Linear:
    """Affine map ``y = X @ weight + bias`` over rows of ``X``.

    ``weight`` has shape ``(in_features, out_features)`` (the transpose of PyTorch's layout, so the
    forward pass is one BLAS call without a transpose), Glorot-uniform initialised
    (``U(-a, a)``, ``a = sqrt(6 / (in + out))``); ``bias`` starts at zero.

    Parameters
    ----------
    in_features, out_features : int
    bias : bool, default True
    seed : int or None
        Seed of the initialisation (``numpy.random.default_rng``).
    dtype : float32 (default) or float64

    Notes
    -----
    ``forward(X)`` returns a new array and remembers ``X`` for ``backward``;
    ``backward(grad_output)`` returns ``[d weight, d bias]`` in buffers the layer owns and
    overwrites on the next call (the optimizer consumes them at once).

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.models import Linear
    >>> layer = Linear(3, 2, seed=0, dtype=np.float64)
    >>> out = layer.forward(np.ones((4, 3)))
    >>> out.shape, [g.shape for g in layer.backward(np.ones((4, 2)))]
    ((4, 2), [(3, 2), (2,)])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        seed: int | None = None,
        dtype: Any = np.float32,
    ) -> None:
        self.in_features = positive_int(in_features, "in_features")
        self.out_features = positive_int(out_features, "out_features")
        self.dtype = model_dtype(dtype)
        rng = np.random.default_rng(seed)
        self.weight = uniform_init(rng, self.in_features, self.out_features, "glorot", self.dtype)
        self.bias = np.zeros(self.out_features, dtype=self.dtype) if bias else None
        self._grad_w = np.zeros_like(self.weight)
        self._grad_b = None if self.bias is None else np.zeros_like(self.bias)
        self._input: np.ndarray | None = None

    def parameters(self) -> list[np.ndarray]:
        """``[weight, bias]`` (or ``[weight]``), the arrays themselves (updated in place)."""
        return [self.weight] if self.bias is None else [self.weight, self.bias]

    def weight_mask(self) -> list[bool]:
        """Which parameters are weights (regularized by ``l1``/``l2``): ``[True, False]``."""
        return [True] if self.bias is None else [True, False]

    def forward(self, X: Any) -> np.ndarray:
        """``X @ weight + bias`` for ``X`` of shape ``(n, in_features)``."""
        X = as_input(X, self.in_features, self.dtype)
        self._input = X
        out = X @ self.weight
        if self.bias is not None:
            out += self.bias
        return out

    def backward(self, grad_output: Any) -> list[np.ndarray]:
        """Gradients ``[X.T @ g, sum(g, axis=0)]`` for ``g = dL/d output`` of the last forward.

        The bias gradient is summed in float64 and rounded once (a Rust kernel)."""
        X = self._input
        if X is None:
            raise ParameterError("grad_output: backward() needs a forward() call first")
        g = np.ascontiguousarray(grad_output, dtype=self.dtype)
        if g.shape != (X.shape[0], self.out_features):
            raise ShapeError(
                f"grad_output must have shape {(X.shape[0], self.out_features)} "
                f"(the output of the last forward), got shape {g.shape}"
            )
        np.matmul(X.T, g, out=self._grad_w)
        if self._grad_b is None:
            return [self._grad_w]
        _core.bias_activation_backward(None, None, None, g, self._grad_b)  # column sums
        return [self._grad_w, self._grad_b]

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of the parameters by name (``"weight"``, ``"bias"``)."""
        return {k: v.copy() for k, v in self._named().items()}

    def load_state_dict(self, state: Any) -> None:
        """Copy a :meth:`state_dict` back into the parameters, in place."""
        load_into(self._named(), state)

    def _named(self) -> dict[str, np.ndarray]:
        named = {"weight": self.weight}
        if self.bias is not None:
            named["bias"] = self.bias
        return named

    def __repr__(self) -> str:
        return (
            f"Linear(in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None}, dtype={self.dtype.name})"
        )
