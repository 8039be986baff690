"""The functions :mod:`losscore.dask` graphs run on the workers.

Each is a plain module-level function of picklable values (losses travel by name), so the
graph runs the same under the threaded scheduler and on ``distributed`` worker processes.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from .._loss_lookup import resolve
from ..accumulator import AccumulatorSet
from ..runtime import get_num_threads, set_num_threads


def use_worker_threads() -> None:
    """Inside a ``distributed`` worker: size losscore's pool to the worker's thread budget.

    The pool is per process and shared by the tasks running in it, so a worker with
    ``nthreads`` threads runs losscore's kernels on ``nthreads`` threads in all: workers that
    together have one thread per core never oversubscribe. ``LOSSCORE_NUM_THREADS`` set in the
    worker's environment takes precedence. Outside a worker (threaded scheduler) nothing changes.
    """
    if os.environ.get("LOSSCORE_NUM_THREADS"):
        return
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return
    n = max(1, int(worker.state.nthreads))
    if get_num_threads() != n:
        set_num_threads(n)


def chunk_partials(
    losses: Mapping[str, Mapping[str, Any]],
    offset: int,
    pred: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None,
) -> AccumulatorSet:
    """The accumulators of one chunk of rows, which starts at row ``offset``."""
    use_worker_threads()
    accs = AccumulatorSet(losses, offset=offset)
    accs.update(pred, target, weight)
    return accs


def merge(*parts: AccumulatorSet) -> AccumulatorSet:
    """Consecutive chunks' accumulators, merged in order (the inputs are left as they are)."""
    out = parts[0].copy()
    for part in parts[1:]:
        out.merge(part)
    return out


def finish(accs: AccumulatorSet, name: str, reduction: str) -> np.float64:
    """One loss's value."""
    return np.float64(accs[name].result(reduction))


def grad_scale(accs: AccumulatorSet, name: str, reduction: str) -> float:
    """The factor of the in-memory gradient: ``1 / denominator`` (1 for ``"sum"``)."""
    acc = accs[name]
    if reduction == "sum":
        return 1.0
    den = acc.mean_denominator() if reduction == "mean" else float(acc.rows)
    with np.errstate(divide="ignore"):
        return float(np.float64(1.0) / np.float64(den))


def grad_block(
    name: str,
    params: Mapping[str, Any],
    scale: float,
    pred: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None,
) -> np.ndarray:
    """The in-memory gradient's rows for one chunk, bit for bit.

    The kernels scale each element's derivative ``d`` as ``d * (w * scale)`` (``d * scale``
    unweighted) with ``scale`` the first argument's dtype; a ``"sum"`` call multiplies by
    ``w * 1``. So the weights ``w * scale`` (or ``scale``), rounded to that dtype, reproduce it.
    """
    use_worker_threads()
    info = resolve(name)
    dtype = np.dtype(np.float32 if pred.dtype == np.float32 else np.float64)
    if scale != 1.0:
        s = np.asarray(scale, dtype=dtype)  # rounded to the dtype first, as the kernel does
        if weight is None:
            shape = pred.shape if info.kind == "elementwise" else pred.shape[:-1]
            weight = np.full(shape, s, dtype=dtype)
        else:
            weight = np.multiply(np.asarray(weight, dtype=dtype), s, dtype=dtype)
    _, grad = info.kernel(pred, target, weight=weight, reduction="sum", with_grad=True, **params)
    result: np.ndarray = grad
    return result
