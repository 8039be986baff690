"""Which loss a name or function means, for streamed evaluation: its ``_core`` kernel and defaults.

Streaming (:class:`losscore.Accumulator`, :func:`losscore.evaluate`, ``losscore eval``,
:mod:`losscore.dask`) finds losses only through :func:`resolve`, which reads the registry
(:mod:`losscore.losses`). Every ``_core`` loss kernel takes ``partials=True, offset=...``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

import numpy as np

from .errors import ParameterError, ParameterTypeError
from .losses import LossSpec, registry, resolve_loss

__all__ = ["LossInfo", "loss_names", "resolve"]

@dataclass(frozen=True)
class LossInfo:
    """One loss as streamed evaluation sees it."""

    name: str
    kernel: Callable[..., Any]
    kind: Literal["elementwise", "rows"]
    #: The positional array arguments (``("pred", "target")``, ``("x1", "x2", "target")``).
    arrays: tuple[str, ...]
    #: The differentiable inputs among them (the first only, unless the loss has several).
    inputs: tuple[str, ...]
    #: The loss's own parameters and their defaults (``delta``, ``class_weight``, ...).
    defaults: Mapping[str, Any]
    #: The default reduction of the in-memory call (``"batchmean"`` for ``kl_div``).
    reduction: str


def _info(spec: LossSpec) -> LossInfo:
    defaults = {k: v for k, v in spec.defaults.items() if k != "reduction"}
    return LossInfo(
        name=spec.name,
        kernel=spec.kernel,
        kind=spec.kind,
        arrays=spec.arrays,
        inputs=spec.inputs,
        defaults=MappingProxyType(defaults),
        reduction=spec.defaults["reduction"],
    )


def loss_names() -> list[str]:
    """The names of every loss of a ``(pred, target)`` pair (what files and Dask stream)."""
    return sorted(name for name, spec in registry.items() if len(spec.arrays) == 2)


def resolve(loss: str | Callable[..., Any], *, pairs: bool = True) -> LossInfo:
    """The :class:`LossInfo` of ``loss``: a name (``"huber"``) or a losscore loss function.

    With ``pairs`` (prediction files, Dask) only losses of a ``(pred, target)`` pair are
    accepted; :class:`losscore.Accumulator` takes every loss.
    """
    if not isinstance(loss, str) and not callable(loss):
        raise ParameterTypeError(
            f"loss: expected a loss name or a losscore loss function, got {type(loss).__name__}"
        )
    spec = resolve_loss(loss)
    if pairs and len(spec.arrays) != 2:
        raise ParameterError(
            f"loss: {spec.name} takes {len(spec.arrays)} arrays ({', '.join(spec.arrays)}), "
            "not a (pred, target) pair; stream it with losscore.Accumulator"
        )
    return _info(spec)


def _empty_arguments(info: LossInfo) -> list[np.ndarray]:
    """Valid empty arrays for each array argument of the loss."""
    first = np.zeros((0, 1)) if info.kind == "rows" else np.zeros(0)
    if len(info.inputs) == 1:  # (first, target): class indices for a class axis
        return [first, np.zeros(0, dtype=np.int64) if info.kind == "rows" else np.zeros(0)]
    # Several inputs of the first one's shape, then a label per unit.
    return [first if name in info.inputs else np.zeros(first.shape[: first.ndim - 1]
                                                       if info.kind == "rows" else 0)
            for name in info.arrays]


def check_params(info: LossInfo, params: Mapping[str, Any]) -> dict[str, Any]:
    """``params`` as keyword arguments of the kernel; unknown names are a ``TypeError``."""
    unknown = sorted(set(params) - set(info.defaults))
    if unknown:
        takes = ", ".join(info.defaults) or "none"
        raise ParameterTypeError(
            f"{info.name}() got an unexpected keyword argument {unknown[0]!r} "
            f"(its parameters: {takes})"
        )
    # Hyperparameters are checked now, by the kernel on empty input (array parameters, default
    # None, such as class_weight, need the data's class count): a stream that never sees a
    # valid batch must not finish with a value for parameters the in-memory call refuses.
    scalars = {
        k: v for k, v in params.items() if np.ndim(v) == 0 or info.defaults[k] is not None
    }
    if scalars:
        info.kernel(*_empty_arguments(info), reduction="sum", **scalars)
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
