"""Which loss a name or function means, for streamed evaluation: its ``_core`` kernel and defaults.

Streaming (:class:`losscore.Accumulator`, :func:`losscore.evaluate`, ``losscore eval``,
:mod:`losscore.dask`) finds losses only through :func:`resolve`. Every ``_core`` loss kernel
takes ``partials=True, offset=...``; its keyword defaults are the public wrapper's.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from . import _core
from .errors import ParameterError, ParameterTypeError

__all__ = ["LossInfo", "loss_names", "resolve"]

# Losses over a class axis (last): one unit per row, per-sample targets and weights.
_ROW_LOSSES = frozenset({"cross_entropy", "nll_loss", "multi_margin"})
# Keywords of the kernels that belong to the call, not to the loss.
_CALL_KEYWORDS = frozenset({"weight", "reduction", "out", "with_grad", "partials", "offset"})


@dataclass(frozen=True)
class LossInfo:
    """One loss as streamed evaluation sees it."""

    name: str
    kernel: Callable[..., Any]
    kind: Literal["elementwise", "rows"]
    #: The loss's own parameters and their defaults (``delta``, ``class_weight``, ...).
    defaults: Mapping[str, Any]
    #: The default reduction of the in-memory call (``"batchmean"`` for ``kl_div``).
    reduction: str


@functools.cache
def _table() -> Mapping[str, LossInfo]:
    table = {}
    for name in dir(_core):
        kernel = getattr(_core, name)
        if name.startswith("_") or not callable(kernel) or isinstance(kernel, type):
            continue
        try:
            params = inspect.signature(kernel).parameters
        except (TypeError, ValueError):
            continue
        if "partials" not in params:
            continue
        defaults = {
            p.name: p.default
            for p in params.values()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and p.name not in _CALL_KEYWORDS
        }
        table[name] = LossInfo(
            name=name,
            kernel=kernel,
            kind="rows" if name in _ROW_LOSSES else "elementwise",
            defaults=MappingProxyType(defaults),
            reduction=params["reduction"].default,
        )
    return MappingProxyType(table)


def loss_names() -> list[str]:
    """The names of every loss that can be streamed (all of them)."""
    return sorted(_table())


def resolve(loss: str | Callable[..., Any]) -> LossInfo:
    """The :class:`LossInfo` of ``loss``: a name (``"huber"``) or a losscore loss function."""
    import losscore

    table = _table()
    if isinstance(loss, str):
        info = table.get(loss)
    elif callable(loss):
        name = getattr(loss, "__name__", "")
        info = table.get(name)
        if (
            info is not None
            and loss is not getattr(losscore, name, None)
            and loss is not (info.kernel)
        ):
            info = None
    else:
        raise ParameterTypeError(
            f"loss: expected a loss name or a losscore loss function, got {type(loss).__name__}"
        )
    if info is None:
        raise ParameterError(f"loss: unknown loss {loss!r}; known losses: {', '.join(table)}")
    return info


def check_params(info: LossInfo, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` as keyword arguments of the kernel; unknown names are a ``TypeError``."""
    unknown = sorted(set(params) - set(info.defaults))
    if unknown:
        takes = ", ".join(info.defaults) or "none"
        raise ParameterTypeError(
            f"{info.name}() got an unexpected keyword argument {unknown[0]!r} "
            f"(its parameters: {takes})"
        )
    # Only what differs from the kernel's defaults: fewer keywords per call.
    return {k: v for k, v in params.items() if v is not info.defaults[k]}


def check_reduction(info: LossInfo, reduction: str | None) -> str:
    """The reduction a streamed value finishes with (``None``: the loss's own default)."""
    if reduction is None:
        return info.reduction
    if not isinstance(reduction, str):
        raise ParameterTypeError(f"reduction must be a string, got {type(reduction).__name__}")
    allowed = ("mean", "sum", "batchmean") if info.reduction == "batchmean" else ("mean", "sum")
    if reduction not in allowed:
        if reduction == "none":
            raise ParameterError(
                f"reduction: 'none' has no streamed value ({info.name}); expected one of "
                f"{', '.join(map(repr, allowed))}"
            )
        raise ParameterError(
            f"reduction: expected one of {', '.join(map(repr, allowed))} for {info.name}, "
            f"got {reduction!r}"
        )
    return reduction
