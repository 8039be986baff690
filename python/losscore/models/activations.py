"""Activation functions of :class:`~losscore.models.MLP`, as fused Rust kernels.

=========  ===============================================  ==========================
name       ``f(z)``                                         ``f'(z)``
=========  ===============================================  ==========================
relu       ``max(z, 0)``                                    ``1 if z > 0 else 0``
tanh       ``tanh(z)``                                      ``1 - tanh(z)**2``
sigmoid    ``1 / (1 + exp(-z))``                            ``s (1 - s)``
gelu       ``z * sigmoid(2u)``, ``u = sqrt(2/pi) (z + 0.044715 z**3)``
                                                            ``s + 2 z s (1 - s) u'``
=========  ===============================================  ==========================

GELU is the tanh approximation (PyTorch ``gelu(approximate="tanh")``; ``z * sigmoid(2u)`` equals
``0.5 z (1 + tanh u)``). float32 stays float32 and float64 stays float64; NaN propagates.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _core
from ..errors import ParameterError

__all__ = ["ACTIVATIONS", "backward", "forward", "gelu", "relu", "sigmoid", "tanh"]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "gelu")


def check_name(name: Any) -> str:
    """Return ``name`` if it is a known activation, else raise :class:`ParameterError`."""
    if not isinstance(name, str) or name not in ACTIVATIONS:
        raise ParameterError(
            f"activation: expected one of {', '.join(map(repr, ACTIVATIONS))}, got {name!r}"
        )
    return name


def forward(name: str, z: Any, out: np.ndarray | None = None) -> np.ndarray:
    """Apply the activation ``name`` element-wise: ``out = f(z)``.

    Parameters
    ----------
    name : {"relu", "tanh", "sigmoid", "gelu"}
    z : array_like
        Pre-activations (float32 or float64; other numbers become float64).
    out : ndarray, optional
        C-contiguous array of ``z``'s shape and dtype that receives the result.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.models import activations
    >>> activations.forward("relu", np.array([-1.0, 0.5])).tolist()
    [0.0, 0.5]
    """
    return _core.activation_forward(check_name(name), z, out)


def backward(name: str, z: Any, a: Any, grad: np.ndarray) -> np.ndarray:
    """Turn ``grad = dL/da`` into ``dL/dz`` in place: ``grad *= f'(z)``, with ``a = f(z)``.

    Examples
    --------
    >>> import numpy as np
    >>> from losscore.models import activations
    >>> z = np.array([0.0, 2.0]); a = activations.forward("sigmoid", z)
    >>> g = np.ones(2); activations.backward("sigmoid", z, a, g).round(4).tolist()
    [0.25, 0.105]
    """
    _core.activation_backward(check_name(name), z, a, grad)
    return grad


def relu(z: Any) -> np.ndarray:
    """``max(z, 0)``.

    >>> import numpy as np; from losscore.models import activations
    >>> activations.relu(np.array([-2.0, 3.0])).tolist()
    [0.0, 3.0]
    """
    return _core.activation_forward("relu", z, None)


def tanh(z: Any) -> np.ndarray:
    """Hyperbolic tangent.

    >>> import numpy as np; from losscore.models import activations
    >>> activations.tanh(np.array([0.0])).tolist()
    [0.0]
    """
    return _core.activation_forward("tanh", z, None)


def sigmoid(z: Any) -> np.ndarray:
    """``1 / (1 + exp(-z))``.

    >>> import numpy as np; from losscore.models import activations
    >>> activations.sigmoid(np.array([0.0])).tolist()
    [0.5]
    """
    return _core.activation_forward("sigmoid", z, None)


def gelu(z: Any) -> np.ndarray:
    """GELU, tanh approximation: ``0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z**3)))``.

    >>> import numpy as np; from losscore.models import activations
    >>> activations.gelu(np.array([0.0, 1.0])).round(4).tolist()
    [0.0, 0.8412]
    """
    return _core.activation_forward("gelu", z, None)
