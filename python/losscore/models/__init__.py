"""Models for :func:`losscore.fit`: :class:`Linear` and :class:`MLP`.

A model is any object with ``parameters() -> list[ndarray]``, ``forward(X) -> output`` and
``backward(grad_output) -> list[ndarray]`` (gradients in ``parameters()`` order, for the inputs
of the last ``forward``). Optionally ``weight_mask() -> list[bool]`` says which parameters
``l1``/``l2`` regularize (default: arrays with ``ndim >= 2``), and ``state_dict()`` /
``load_state_dict()`` save and restore them.

Examples
--------
>>> import numpy as np, losscore
>>> net = losscore.models.MLP([2, 16, 1], activation="gelu", seed=0)
>>> [p.shape for p in net.parameters()]
[(2, 16), (16,), (16, 1), (1,)]
"""

from __future__ import annotations

from . import activations
from .linear import Linear
from .mlp import MLP

__all__ = ["MLP", "Linear", "activations"]
