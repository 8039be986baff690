"""losscore inside JAX code: every loss as a ``jax.custom_vjp`` over a host callback, usable under
``jax.jit``, ``jax.grad``, ``jax.value_and_grad`` and ``jax.vmap`` on the CPU.

>>> import jax, jax.numpy as jnp
>>> import losscore.jax as lcj
>>> x, y = jnp.array([0.0, 2.0]), jnp.array([1.0, 0.0])
>>> g = jax.jit(jax.grad(lcj.binary_cross_entropy_with_logits))(x, y)
>>> [round(float(v), 6) for v in g]  # (sigmoid(x) - y) / 2
[-0.25, 0.440399]
"""

from __future__ import annotations

try:
    import jax as _jax  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without jax
    raise ImportError("losscore.jax needs JAX: pip install 'losscore[jax]'") from exc

from typing import Any

from . import losses
from .losses import *  # noqa: F403
from .losses import __all__ as _losses

__all__ = ["losses", *_losses]


def __getattr__(name: str) -> Any:
    """Only for type checkers, which cannot see the generated losses re-exported above."""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
