"""What the framework bridges (``losscore.torch``, ``losscore.jax``) share: which losses they wrap
and how a wrapped loss is documented."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

__all__ = ["bridge_doc", "loss_function"]


def _loss_names() -> list[str]:
    """The registered losses with a closed-form gradient: every one is wrapped by both bridges."""
    from .losses import registry

    return [name for name, spec in registry.items() if spec.grad]


def _row_losses() -> frozenset[str]:
    """The losses over a class axis (last): their ``"none"`` result has one value per row."""
    from .losses import registry

    return frozenset(name for name, spec in registry.items() if spec.kind == "rows")


def loss_function(name: str) -> Callable[..., Any]:
    """The NumPy-level loss ``name`` (from the registry)."""
    from .losses import registry

    return registry[name].function


_EXAMPLES = re.compile(r"\n\s*Examples\n\s*-+\n.*", re.DOTALL)


def bridge_doc(fn: Callable[..., Any], header: str) -> str:
    """``header`` followed by ``fn``'s docstring without its (NumPy) examples."""
    body = inspect.cleandoc(fn.__doc__ or "")
    return f"{header}\n\n{_EXAMPLES.sub('', body)}\n"
