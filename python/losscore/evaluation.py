"""Chunked loss evaluation over arrays, memory maps and files larger than memory.

Each chunk starts at a multiple of the kernels' reduction block, and the kernels return their
per-block partial sums, which are combined exactly (correctly rounded, like :func:`math.fsum`).
The in-memory call combines the same partials the same way, so the result is bitwise identical
to it for any chunk size.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import _core
from ._progress import Progress
from ._sources import ArraySource, open_source
from .errors import ParameterError, ShapeError
from .gradients import _KERNELS, keyword_defaults

__all__ = ["evaluate", "evaluate_many", "resolve_loss"]

DEFAULT_CHUNK = 1 << 22  # elements per chunk: 16 MiB of float32


# Losses over a class axis reduce per sample in row blocks; chunked evaluation covers the
# element-wise losses, whose kernels return their fixed-block partial sums.
_ROW_LOSSES = {"cross_entropy", "nll_loss", "multi_margin"}


def resolve_loss(loss: str | Callable[..., Any]) -> Callable[..., Any]:
    """A losscore element-wise loss function from itself or its name."""
    import losscore

    fn = getattr(losscore, loss, None) if isinstance(loss, str) else loss
    if fn is None or fn not in _KERNELS:
        known = sorted(f.__name__ for f in _KERNELS if f.__name__ not in _ROW_LOSSES)
        raise ParameterError(f"loss: unknown loss {loss!r}; known losses: {', '.join(known)}")
    if fn.__name__ in _ROW_LOSSES:
        raise ParameterError(
            f"loss: {fn.__name__} reduces over a class axis and is not supported by chunked "
            "evaluation yet; call it in memory"
        )
    return fn


def _chunk_elements(chunk_size: int | None) -> int:
    block = _core.block_size()
    if chunk_size is None:
        return DEFAULT_CHUNK
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise TypeError(f"chunk_size must be an int, got {type(chunk_size).__name__}")
    if chunk_size < 1:
        raise ParameterError(f"chunk_size must be positive, got {chunk_size}")
    # Chunks must start on block boundaries for the partials to line up.
    return max(block, int(chunk_size) // block * block)


def evaluate_many(
    losses: Sequence[tuple[str | Callable[..., Any], dict[str, Any]]],
    pred: Any,
    target: Any,
    *,
    weight: Any = None,
    reduction: str = "mean",
    chunk_size: int | None = None,
    progress: bool = False,
) -> list[float]:
    """Evaluate several losses in one pass over the data (see :func:`evaluate`)."""
    if reduction not in ("mean", "sum", "batchmean"):
        raise ParameterError(
            f"reduction: expected 'mean', 'sum' or 'batchmean', got {reduction!r}"
        )
    kernels = []
    for fn, params in losses:
        loss = resolve_loss(fn)
        if params.get("pos_weight") is not None:
            raise ParameterError("pos_weight is not supported by chunked evaluation")
        full = {**keyword_defaults(loss), **params}
        full.pop("reduction", None)
        kernels.append((_KERNELS[loss], full))
    chunk = _chunk_elements(chunk_size)
    sources: list[ArraySource] = []
    try:
        sources.append(open_source(pred, "pred"))
        sources.append(open_source(target, "target"))
        if weight is not None:
            sources.append(open_source(weight, "weight"))
        p_src, t_src = sources[0], sources[1]
        w_src = sources[2] if weight is not None else None
        for src in sources[1:]:
            if src.shape != p_src.shape:
                raise ShapeError(
                    f"pred and {src.name} must have the same shape, got pred shape "
                    f"{p_src.shape} and {src.name} shape {src.shape}"
                )
        n = p_src.size
        loss_parts: list[list[float]] = [[] for _ in kernels]
        weight_parts: list[float] = []
        with Progress(n, "evaluating", enabled=progress, unit="el") as bar:
            for start in range(0, n, chunk):
                stop = min(start + chunk, n)
                p = p_src.read(start, stop)
                t = t_src.read(start, stop)
                w = w_src.read(start, stop) if w_src is not None else None
                for k, (kernel, params) in enumerate(kernels):
                    lp, wp = kernel(p, t, weight=w, reduction="sum", partials=True, **params)
                    loss_parts[k].extend(lp.tolist())
                    if k == 0 and wp is not None:
                        weight_parts.extend(wp.tolist())
                bar.update(stop - start)
        if n == 0 and not kernels:
            return []
    finally:
        for src in sources:
            src.close()
    results = []
    # The kernels' own exact summation (correctly rounded like math.fsum, and defined where an
    # intermediate total overflows), exactly as the in-memory call combines its partials.
    for parts in loss_parts:
        total = _core.exact_sum(parts)
        if reduction == "sum":
            results.append(total)
            continue
        if reduction == "batchmean":
            # kl_div's batchmean: the sum over the size of the first axis.
            batch = p_src.shape[0] if p_src.shape else 1
            results.append(total / batch if batch else math.nan)
            continue
        denominator = _core.exact_sum(weight_parts) if w_src is not None else float(n)
        results.append(total / denominator if denominator != 0 else math.nan)
    return results


def evaluate(
    loss: str | Callable[..., Any],
    pred: Any,
    target: Any,
    *,
    weight: Any = None,
    reduction: str = "mean",
    chunk_size: int | None = None,
    progress: bool = False,
    **params: Any,
) -> float:
    """Evaluate a loss chunk by chunk, bitwise equal to the in-memory call.

    ``pred``, ``target`` (and ``weight``) may be arrays, memory maps (``np.load(...,
    mmap_mode="r")``), ``.npy`` paths or ``"file.npz:key"`` specs; only one chunk of each is in
    memory at a time. The chunk results are the kernels' fixed-block partial sums, combined
    exactly, so the value equals ``loss(pred, target, reduction=...)`` to the last bit whatever
    ``chunk_size`` is.

    Parameters
    ----------
    loss : str or callable
        A losscore element-wise loss or its name (``"mse"``, ``"huber"``,
        ``"binary_cross_entropy_with_logits"``, ``"kl_div"``, ...). Losses over a class axis
        (``cross_entropy``, ``nll_loss``, ``multi_margin``) are not supported yet.
    pred, target, weight : array_like, memory map, or path
        Same shape.
    reduction : {"mean", "sum", "batchmean"}
        ``"batchmean"`` divides the sum by ``pred.shape[0]`` (``kl_div``'s default).
    chunk_size : int, optional
        Elements per chunk, rounded down to a multiple of the reduction block (8192);
        default 4 Mi elements.
    progress : bool
        Show a progress bar (only when stderr is a terminal).
    **params
        The loss's own parameters (``delta=...``, ``quantile=...``).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np, losscore
    >>> rng = np.random.default_rng(0)
    >>> p, t = rng.standard_normal(100_000), rng.standard_normal(100_000)
    >>> losscore.evaluate("huber", p, t, chunk_size=10_000, delta=0.5) == losscore.huber(
    ...     p, t, delta=0.5)
    True
    """
    return evaluate_many(
        [(loss, params)],
        pred,
        target,
        weight=weight,
        reduction=reduction,
        chunk_size=chunk_size,
        progress=progress,
    )[0]
