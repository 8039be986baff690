"""What the framework bridges (``losscore.torch``, ``losscore.jax``) share: which losses they wrap
and how a wrapped loss is documented."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

__all__ = ["bridge_doc", "loss_function"]


def _loss_names() -> list[str]:
    """The public losses with a closed-form gradient, in ``losscore.__all__`` order.

    Every name here is wrapped by both bridges.
    """
    import losscore

    names = []
    for name in losscore.__all__:
        obj = getattr(losscore, name)
        if not inspect.isfunction(obj):
            continue
        try:
            losscore.value_and_grad(obj)
        except TypeError:
            continue
        names.append(name)
    return names


def _row_losses() -> frozenset[str]:
    """The losses over a class axis (last): their ``"none"`` result has one value per row.

    Found by asking each loss to accept one row of logits with one class index.
    """
    import numpy as np

    from .errors import LosscoreError

    rows = set()
    for name in _loss_names():
        try:
            loss_function(name)(np.zeros((1, 2)), np.zeros(1, dtype=np.int64), reduction="none")
        except (LosscoreError, TypeError):  # element-wise, or more than two arrays
            continue
        rows.add(name)
    return frozenset(rows)


def loss_function(name: str) -> Callable[..., Any]:
    """The NumPy-level loss ``losscore.<name>``."""
    import losscore

    return getattr(losscore, name)


_EXAMPLES = re.compile(r"\n\s*Examples\n\s*-+\n.*", re.DOTALL)


def bridge_doc(fn: Callable[..., Any], header: str) -> str:
    """``header`` followed by ``fn``'s docstring without its (NumPy) examples."""
    body = inspect.cleandoc(fn.__doc__ or "")
    return f"{header}\n\n{_EXAMPLES.sub('', body)}\n"
