"""Chunked loss evaluation over arrays, memory maps, zarr arrays and files larger than memory.

The data are read a chunk of rows (leading-axis entries) at a time and fed to
:class:`losscore.Accumulator` s: the kernels' mergeable block partials, which finish bitwise like
the in-memory call whatever the chunk size. Every loss is supported, the class-axis ones
(``cross_entropy``, ``nll_loss``, ``multi_margin``: chunks of rows of logits) included.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any, overload

import numpy as np

from ._loss_lookup import LossInfo, resolve
from ._progress import Progress, progress_enabled
from ._sources import ArraySource, open_source
from .accumulator import Accumulator
from .errors import LosscoreError, ParameterError, ParameterTypeError, ShapeError

__all__ = ["evaluate", "evaluate_many"]

DEFAULT_CHUNK = 1 << 22  # elements of the first argument per chunk: 16 MiB of float32

LossList = Sequence[tuple[str | Callable[..., Any], Mapping[str, Any]]]


def _chunk_elements(chunk_size: int | None) -> int:
    if chunk_size is None:
        return DEFAULT_CHUNK
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)):
        raise ParameterTypeError(f"chunk_size must be an int, got {chunk_size!r}")
    if chunk_size < 1:
        raise ParameterError(f"chunk_size must be positive, got {chunk_size}")
    return int(chunk_size)


def _check_shapes(info: LossInfo, pred: ArraySource, others: list[ArraySource]) -> None:
    """The shape rules of the in-memory call, checked before reading anything."""
    if info.kind == "elementwise":
        for src in others:
            if src.shape != pred.shape:
                raise ShapeError(
                    f"pred and {src.name} must have the same shape, got pred shape "
                    f"{pred.shape} and {src.name} shape {src.shape}"
                )
        return
    if not pred.shape:
        raise ShapeError(f"pred: {info.name} needs a class axis (last), got shape ()")
    samples = pred.shape[:-1]
    for src in others:
        allowed = [samples] if src.name == "weight" else [samples, pred.shape]
        if src.shape not in allowed:
            want = " or ".join(str(s) for s in allowed)
            raise ShapeError(
                f"{src.name} must have shape {want} for {info.name} with pred shape "
                f"{pred.shape}, got {src.shape}"
            )


def _leading_rows(infos: list[LossInfo], pred: ArraySource) -> bool:
    """Whether ``pred`` is cut along its leading axis (else it is read whole, as one row)."""
    least = 2 if any(i.kind == "rows" for i in infos) else 1
    return len(pred.shape) >= least


@overload
def evaluate_many(
    losses: Mapping[str, Mapping[str, Any]],
    pred: Any,
    target: Any,
    *,
    weight: Any = ...,
    reduction: str | None = ...,
    chunk_size: int | None = ...,
    progress: bool = ...,
) -> dict[str, float]: ...


@overload
def evaluate_many(
    losses: LossList,
    pred: Any,
    target: Any,
    *,
    weight: Any = ...,
    reduction: str | None = ...,
    chunk_size: int | None = ...,
    progress: bool = ...,
) -> list[float]: ...


def evaluate_many(
    losses: Mapping[str, Mapping[str, Any]] | LossList,
    pred: Any,
    target: Any,
    *,
    weight: Any = None,
    reduction: str | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
) -> dict[str, float] | list[float]:
    """Evaluate several losses in one pass over the data (see :func:`evaluate`).

    Parameters
    ----------
    losses : mapping or sequence
        ``{"mse": {}, "huber": {"delta": 0.5}}`` (returns a dict), or a sequence of
        ``(loss, params)`` pairs (returns a list in that order). A ``"reduction"`` entry in the
        parameters sets that loss's reduction when ``reduction`` is not given.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> from losscore.evaluation import evaluate_many
    >>> evaluate_many({"mse": {}, "mae": {}}, np.array([1.0, -3.0]), np.zeros(2), chunk_size=1)
    {'mse': 5.0, 'mae': 2.0}
    """
    pairs: list[tuple[str | Callable[..., Any], Mapping[str, Any]]]
    if isinstance(losses, Mapping):
        pairs = list(losses.items())
    elif isinstance(losses, Sequence) and not isinstance(losses, str):
        pairs = list(losses)
    else:
        raise ParameterTypeError(
            "losses must be a mapping of loss name -> parameters or a sequence of "
            f"(loss, parameters) pairs, got {type(losses).__name__}"
        )
    accs = []
    kernel_params: list[dict[str, Any]] = []
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[1], Mapping)):
            raise ParameterTypeError(f"losses: expected (loss, parameters) pairs, got {pair!r}")
        loss, params = pair
        params = dict(params)
        own = params.pop("reduction", None)
        kernel_params.append(params)
        accs.append(
            Accumulator(loss, reduction=reduction if reduction is not None else own, **params)
        )
    infos = [resolve(loss) for loss, _ in pairs]
    chunk = _chunk_elements(chunk_size)
    sources: list[ArraySource] = []
    try:
        sources.append(open_source(pred, "pred"))
        sources.append(open_source(target, "target"))
        if weight is not None:
            sources.append(open_source(weight, "weight"))
        p_src = sources[0]
        for info in infos:
            _check_shapes(info, p_src, sources[1:])
        cut = _leading_rows(infos, p_src)
        # Without a leading axis to cut (a 0-d array, one sample of logits): one chunk.
        rows = p_src.rows if cut else 1
        step = max(1, chunk // max(1, p_src.row_size)) if cut else 1
        if p_src.size == 0:
            step = max(1, rows)  # nothing to read: every row in one (empty) chunk
        with Progress(
            p_src.size, "evaluating", unit="el", enabled=progress_enabled(progress, sys.stderr)
        ) as bar:
            # Empty inputs still make one (empty) update: the same validation as in memory.
            for start in range(0, rows, step) or [0]:
                stop = min(start + step, rows)
                if cut:
                    parts = [src.read_rows(start, stop) for src in sources]
                else:
                    parts = [_whole(src) for src in sources]
                w = parts[2] if weight is not None else None
                try:
                    for acc in accs:
                        acc.update(parts[0], parts[1], w)
                except LosscoreError as exc:
                    located = _locate(exc, infos, kernel_params, parts, w)
                    if located is None:
                        raise
                    raise _global_position(located, sources, start if cut else 0) from None
                bar.update(parts[0].size)
            for src in sources:
                src.finish()
    finally:
        for src in sources:
            src.close()
    values = [acc.result() for acc in accs]
    if isinstance(losses, Mapping):
        return dict(zip(losses, values, strict=True))
    return values


_FLAT_INDEX = re.compile(r"^(\w+)(.*?flat index )(\d+)", re.DOTALL)


def _locate(
    exc: LosscoreError,
    infos: list[LossInfo],
    params: list[dict[str, Any]],
    parts: list[np.ndarray],
    weight: np.ndarray | None,
) -> LosscoreError | None:
    """The error of the failing chunk evaluated on its own (offset 0), whose positions count
    from the chunk's start; ``None`` when that cannot be told (the accumulators' positions
    count from a block boundary inside the chunk)."""
    for info, kw in zip(infos, params, strict=True):
        try:
            info.kernel(parts[0], parts[1], weight=weight, **kw, partials=True, offset=0)
        except LosscoreError as own:
            return own if type(own) is type(exc) else None
    return None


def _global_position(exc: LosscoreError, sources: list[ArraySource], row: int) -> LosscoreError:
    """``exc`` with a chunk-relative "flat index" made relative to the whole array, as the
    in-memory call reports it (the chunk starts at ``row``)."""
    match = _FLAT_INDEX.match(str(exc))
    if match is None or row == 0:
        return exc
    named = {src.name: src for src in sources}
    # The first argument may be named after the loss's convention (logits, prob, log_pred...).
    src = named.get(match.group(1), sources[0])
    index = int(match.group(3)) + row * src.row_size
    text = f"{match.group(1)}{match.group(2)}{index}{str(exc)[match.end():]}"
    return type(exc)(text)


def _whole(src: ArraySource) -> np.ndarray:
    """An array without a leading axis to cut, with one added."""
    return src.read_rows(0, 1).reshape((1, *src.shape)) if src.shape else src.read_rows(0, 1)


def evaluate(
    loss: str | Callable[..., Any],
    pred: Any,
    target: Any,
    *,
    weight: Any = None,
    reduction: str | None = None,
    chunk_size: int | None = None,
    progress: bool = False,
    **params: Any,
) -> float:
    """Evaluate a loss chunk by chunk, bitwise equal to the in-memory call.

    ``pred``, ``target`` (and ``weight``) may be arrays, memory maps (``np.load(...,
    mmap_mode="r")``), ``.npy`` paths, ``"file.npz:key"`` specs, zarr arrays or
    ``"dir.zarr[:name]"`` paths (with the ``zarr`` extra), or other lazy arrays with ``shape``,
    ``dtype`` and slicing (a dask array is read one slice at a time, never whole). Only one
    chunk of rows of each is in memory at a time. The chunks feed a :class:`losscore.Accumulator`,
    so the value equals ``loss(pred, target, reduction=...)`` to the last bit whatever
    ``chunk_size`` is.

    Parameters
    ----------
    loss : str or callable
        A losscore loss or its name (``"mse"``, ``"huber"``, ``"kl_div"``, ``"cross_entropy"``,
        ...). Class-axis losses take ``pred`` of shape ``(N, ..., C)`` with class-index targets
        ``(N, ...)`` (or probabilities of ``pred``'s shape) and per-sample weights.
    pred, target, weight : array_like, memory map, lazy array, or path
        Shapes as for the loss itself.
    reduction : {"mean", "sum", "batchmean"}, optional
        Default: the loss's own (``"mean"``; ``"batchmean"`` for ``kl_div``, the sum over the
        size of the leading axis).
    chunk_size : int, optional
        Elements of ``pred`` per chunk (whole rows, at least one); default 4 Mi elements. Any
        value gives the same bits.
    progress : bool
        Show a progress bar (only when stderr is a terminal).
    **params
        The loss's own parameters (``delta=...``, ``class_weight=...``).

    Returns
    -------
    float

    Examples
    --------
    >>> import numpy as np, losscore
    >>> rng = np.random.default_rng(0)
    >>> p, t = rng.standard_normal(100_000), rng.standard_normal(100_000)
    >>> losscore.evaluate("huber", p, t, chunk_size=10_000, delta=0.5) == losscore.evaluate(
    ...     "huber", p, t, chunk_size=777, delta=0.5)
    True
    >>> logits, labels = rng.standard_normal((1000, 10)), rng.integers(0, 10, 1000)
    >>> ce = losscore.evaluate("cross_entropy", logits, labels, chunk_size=2_000)
    >>> log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    >>> bool(abs(ce + log_softmax[np.arange(1000), labels].mean()) < 1e-12)
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
