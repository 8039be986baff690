"""Losses over dask arrays: lazy, one task per chunk, bitwise equal to the in-memory call.

``pip install 'losscore[dask]'``. Each chunk of rows (leading axis) becomes one task computing
the :class:`losscore.Accumulator` s of that chunk, with the chunk's row offset known from
``.chunks``; an ordered tree of merges combines them. The kernels' block partials sit at fixed
offsets of the whole array and merge exactly, so the value equals the in-memory call on the
concatenated data to the last bit for any chunking along the leading axis. Arrays chunked along
other axes are rechunked to whole rows first (``target``/``weight`` to ``pred``'s row chunks).

Threads: inside a ``distributed`` worker, losscore's thread pool (one per process, shared by
the tasks running in it) is set to the worker's ``nthreads``; so ``LocalCluster(n_workers=2,
threads_per_worker=1)`` on two cores runs one kernel thread per core. ``LOSSCORE_NUM_THREADS``
in the workers' environment overrides this. Under the threaded scheduler losscore keeps its
process-wide setting (:func:`losscore.set_num_threads`).

Examples
--------
>>> import numpy as np, dask.array as da, losscore.dask as lcd
>>> p = da.from_array(np.array([1.0, 2.0, 3.0, 4.0]), chunks=3)
>>> t = da.zeros(4, chunks=2)
>>> value = lcd.evaluate("mse", p, t)
>>> value.compute()
np.float64(7.5)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import dask.array as da
import numpy as np
from dask.delayed import delayed

from .._loss_lookup import LossInfo, check_params, check_reduction, resolve
from ..errors import ParameterError, ParameterTypeError, ShapeError
from . import _tasks

__all__ = ["evaluate", "evaluate_many", "value_and_grad"]

DEFAULT_SPLIT_EVERY = 8


def _check_arrays(pred: Any, target: Any, weight: Any) -> None:
    named = [("pred", pred), ("target", target)] + (
        [("weight", weight)] if weight is not None else []
    )
    lazy = [n for n, a in named if isinstance(a, da.Array)]
    if not lazy:
        raise ParameterTypeError(
            "pred: losscore.dask takes dask arrays, got "
            f"{type(pred).__name__}; for in-memory data call the loss or losscore.evaluate"
        )
    for name, arr in named:
        if not isinstance(arr, da.Array):
            raise ParameterTypeError(
                f"{name}: a {type(arr).__name__} mixed with dask arrays ({', '.join(lazy)}); "
                f"make it a dask array, e.g. dask.array.from_array({name}, chunks=...)"
            )
        for axis, sizes in enumerate(arr.chunks):
            if any(math.isnan(s) for s in sizes):
                raise ParameterError(
                    f"{name}: unknown chunk sizes (nan) along axis {axis}, shape {arr.shape}; "
                    f"call {name}.compute_chunk_sizes() first"
                )


def _check_shapes(info: LossInfo, pred: da.Array, target: da.Array, weight: Any) -> None:
    if info.kind == "elementwise":
        if pred.ndim < 1:
            raise ShapeError(f"pred: {info.name} needs a leading axis to chunk, got shape ()")
        allowed = {"target": [pred.shape], "weight": [pred.shape]}
    else:
        if pred.ndim < 2:
            raise ShapeError(
                f"pred: {info.name} needs a leading (sample) axis and the class axis, got "
                f"shape {pred.shape}"
            )
        allowed = {"target": [pred.shape[:-1], pred.shape], "weight": [pred.shape[:-1]]}
    for name, arr in (("target", target), ("weight", weight)):
        if arr is not None and arr.shape not in allowed[name]:
            want = " or ".join(str(s) for s in allowed[name])
            raise ShapeError(
                f"{name} must have shape {want} for {info.name} with pred shape {pred.shape}, "
                f"got {arr.shape}"
            )


def _whole_rows(arr: da.Array, rows: tuple[int, ...]) -> da.Array:
    """``arr`` with leading chunks ``rows`` and one chunk along every other axis."""
    chunks = (rows, *((n,) for n in arr.shape[1:]))
    return arr if arr.chunks == chunks else arr.rechunk(chunks)


def _prepare(
    infos: list[LossInfo], pred: Any, target: Any, weight: Any
) -> tuple[da.Array, da.Array, da.Array | None]:
    _check_arrays(pred, target, weight)
    for info in infos:
        _check_shapes(info, pred, target, weight)
    pred = _whole_rows(pred, pred.chunks[0])
    rows = pred.chunks[0]
    target = _whole_rows(target, rows)
    weight = None if weight is None else _whole_rows(weight, rows)
    return pred, target, weight


def _blocks(arr: da.Array | None, n: int) -> list[Any]:
    if arr is None:
        return [None] * n
    return list(arr.to_delayed(optimize_graph=False).reshape(-1))


def _check_split_every(split_every: Any) -> int:
    if split_every is None:
        return DEFAULT_SPLIT_EVERY
    if isinstance(split_every, bool) or not isinstance(split_every, (int, np.integer)):
        raise ParameterTypeError(f"split_every must be an int, got {type(split_every).__name__}")
    if split_every < 2:
        raise ParameterError(f"split_every must be at least 2, got {split_every}")
    return int(split_every)


def _accumulate(
    losses: dict[str, dict[str, Any]],
    pred: da.Array,
    target: da.Array,
    weight: da.Array | None,
    split_every: int,
) -> Any:
    """The delayed :class:`AccumulatorSet` of all rows: one task per chunk, an ordered tree."""
    n = len(pred.chunks[0])
    offsets = np.concatenate([[0], np.cumsum(pred.chunks[0])[:-1]]).astype(int).tolist()
    chunk = delayed(_tasks.chunk_partials, pure=True)
    merge = delayed(_tasks.merge, pure=True)
    level = [
        chunk(losses, off, p, t, w)
        for off, p, t, w in zip(
            offsets, _blocks(pred, n), _blocks(target, n), _blocks(weight, n), strict=True
        )
    ]
    while len(level) > 1:
        level = [merge(*level[i : i + split_every]) for i in range(0, len(level), split_every)]
    return level[0]


def _specs(losses: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    if not isinstance(losses, Mapping) or not losses:
        raise ParameterTypeError(
            f"losses must be a non-empty mapping of loss name -> parameters, got {losses!r}"
        )
    out = {}
    for name, params in losses.items():
        if not isinstance(params, Mapping):
            raise ParameterTypeError(
                f"losses[{name!r}]: parameters must be a mapping, got {type(params).__name__}"
            )
        out[name] = dict(params)
    return out


def evaluate_many(
    losses: Mapping[str, Mapping[str, Any]],
    pred: da.Array,
    target: da.Array,
    *,
    weight: da.Array | None = None,
    reduction: str | None = None,
    split_every: int | None = None,
) -> dict[str, da.Array]:
    """Several losses over dask arrays in one pass: a dict of lazy 0-d dask arrays.

    Each chunk of rows is read once for all losses; compute the values together
    (``dask.compute(result)``) to share that pass.

    Parameters
    ----------
    losses : mapping
        Loss name -> parameters (``{"mse": {}, "huber": {"delta": 0.5}}``); a ``"reduction"``
        entry sets that loss's reduction when ``reduction`` is not given.
    pred, target, weight : dask.array.Array
        Shapes as for the loss itself (class-axis losses: ``pred`` ``(N, ..., C)``, targets and
        weights per sample). All dask arrays: a NumPy array among them is an error.
    reduction : {"mean", "sum", "batchmean"}, optional
        Default: each loss's own (``"batchmean"`` for ``kl_div``).
    split_every : int, default 8
        Fan-in of the tree of merges.

    Returns
    -------
    dict of str to dask.array.Array
        0-d float64 arrays, each bitwise equal to the in-memory call.

    Raises
    ------
    losscore.errors.ParameterTypeError
        If an input is not a dask array.
    losscore.errors.ParameterError
        For unknown losses or reductions, or chunk sizes that are not known (nan).
    losscore.errors.ShapeError
        If the shapes do not fit the loss.

    Examples
    --------
    >>> import numpy as np, dask, dask.array as da, losscore.dask as lcd
    >>> p = da.from_array(np.array([0.25, 2.0, -1.0]), chunks=1)
    >>> t = da.zeros(3, chunks=2)
    >>> values = lcd.evaluate_many({"mae": {}, "mse": {"reduction": "sum"}}, p, t)
    >>> dask.compute(values)[0]
    {'mae': np.float64(1.0833333333333333), 'mse': np.float64(5.0625)}
    """
    specs = _specs(losses)
    infos = {}
    for name, params in specs.items():
        info = resolve(name)
        params = dict(params)
        own = params.pop("reduction", None)
        check_params(info, params)
        infos[name] = (info, check_reduction(info, reduction if reduction is not None else own))
    pred, target, weight = _prepare([i for i, _ in infos.values()], pred, target, weight)
    final = _accumulate(specs, pred, target, weight, _check_split_every(split_every))
    finish = delayed(_tasks.finish, pure=True)
    return {
        name: da.from_delayed(finish(final, name, red), shape=(), dtype=np.float64)
        for name, (_, red) in infos.items()
    }


def evaluate(
    loss: str | Callable[..., Any],
    pred: da.Array,
    target: da.Array,
    *,
    weight: da.Array | None = None,
    reduction: str | None = None,
    split_every: int | None = None,
    **params: Any,
) -> da.Array:
    """One loss over dask arrays: a lazy 0-d dask array (see :func:`evaluate_many`).

    Examples
    --------
    >>> import numpy as np, dask.array as da, losscore.dask as lcd
    >>> logits = da.from_array(np.log(np.array([[0.5, 0.5], [0.25, 0.75]])), chunks=1)
    >>> labels = da.from_array(np.array([0, 1]), chunks=2)
    >>> v = lcd.evaluate("cross_entropy", logits, labels, reduction="sum")
    >>> bool(np.isclose(v.compute(), -np.log(0.5) - np.log(0.75)))
    True
    """
    name = resolve(loss).name
    return evaluate_many(
        {name: params},
        pred,
        target,
        weight=weight,
        reduction=reduction,
        split_every=split_every,
    )[name]


def value_and_grad(loss: str | Callable[..., Any]) -> Callable[..., tuple[da.Array, da.Array]]:
    """A function of dask arrays returning ``(value, gradient)``, both lazy.

    ``value`` is a 0-d dask array, ``gradient`` (``d value / d pred``) a dask array with
    ``pred``'s row chunks; both equal the in-memory ``losscore.value_and_grad(loss)`` bit for
    bit. For ``"mean"`` (``"batchmean"``) the gradient is scaled by the GLOBAL denominator:
    the chunks' accumulators are merged first, then each gradient chunk is computed with that
    scale, exactly as the in-memory kernel applies it (two passes over the data).

    Parameters
    ----------
    loss : str or callable
        A losscore loss or its name.

    Returns
    -------
    callable
        ``f(pred, target, *, weight=None, reduction=None, split_every=None, **params)``.

    Examples
    --------
    >>> import numpy as np, dask.array as da, losscore.dask as lcd
    >>> p = da.from_array(np.array([1.0, 2.0, 3.0]), chunks=2)
    >>> value, g = lcd.value_and_grad("mse")(p, da.zeros(3, chunks=3))
    >>> float(value.compute()), g.compute().tolist()  # mean of p**2, 2 p / 3
    (4.666666666666667, [0.6666666666666666, 1.3333333333333333, 2.0])
    """
    info = resolve(loss)

    def fused(
        pred: da.Array,
        target: da.Array,
        *,
        weight: da.Array | None = None,
        reduction: str | None = None,
        split_every: int | None = None,
        **params: Any,
    ) -> tuple[da.Array, da.Array]:
        red = check_reduction(info, reduction)
        kernel_params = check_params(info, params)
        pred, target, weight = _prepare([info], pred, target, weight)
        final = _accumulate(
            {info.name: dict(params)}, pred, target, weight, _check_split_every(split_every)
        )
        value = da.from_delayed(
            delayed(_tasks.finish, pure=True)(final, info.name, red),
            shape=(),
            dtype=np.float64,
        )
        scale = delayed(_tasks.grad_scale, pure=True)(final, info.name, red)
        grad_block = delayed(_tasks.grad_block, pure=True)
        dtype = np.float32 if pred.dtype == np.float32 else np.float64
        n = len(pred.chunks[0])
        pieces = [
            da.from_delayed(
                grad_block(info.name, kernel_params, scale, p, t, w),
                shape=(rows, *pred.shape[1:]),
                dtype=dtype,
            )
            for rows, p, t, w in zip(
                pred.chunks[0],
                _blocks(pred, n),
                _blocks(target, n),
                _blocks(weight, n),
                strict=True,
            )
        ]
        return value, da.concatenate(pieces, axis=0)

    fused.__name__ = f"value_and_grad({info.name})"
    fused.__qualname__ = fused.__name__
    return fused
