"""Streaming loss accumulators: batches in, the in-memory value out, bit for bit.

An :class:`Accumulator` keeps the mergeable reduction state of the kernels (``_core.Partials``):
one float64 partial per reduction block plus the per-unit terms of at most two blocks that the
rows seen so far cover only in part. Blocks sit at fixed offsets of the whole array, so the state
after any sequence of batches, cut anywhere, finishes exactly like one call on the concatenated
data. It never keeps the data.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ._loss_lookup import LossInfo, check_params, check_reduction, resolve
from .errors import DTypeError, ParameterError, ParameterTypeError, ShapeError

__all__ = ["Accumulator", "AccumulatorSet"]

# What a batch fixes: its rows, the row shape, the dtype, whether it is weighted.
_Layout = tuple[int, tuple[int, ...], np.dtype[Any], bool]


def _check_offset(offset: Any) -> int:
    if isinstance(offset, bool) or not isinstance(offset, (int, np.integer)):
        raise ParameterTypeError(f"offset must be an int, got {type(offset).__name__}")
    if offset < 0:
        raise ParameterError(f"offset must be non-negative, got {offset}")
    return int(offset)


def _same_params(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    if a.keys() != b.keys():
        return False
    for k, v in a.items():
        w = b[k]
        if isinstance(v, np.ndarray) or isinstance(w, np.ndarray):
            if not np.array_equal(np.asarray(v), np.asarray(w)):
                return False
        elif v != w:
            return False
    return True


class Accumulator:
    """Accumulates a loss over batches of rows; ``result()`` equals the in-memory call bit for bit.

    Batches are consecutive slices along the leading axis of the whole data, of any sizes. For
    ``"mean"`` the value is ``sum_i w_i l_i / sum_i w_i`` (the count without weights; for
    ``cross_entropy``/``nll_loss`` with class indices ``sum_i w_i c_{y_i}`` over rows that are
    not ignored), ``"sum"`` is ``sum_i w_i l_i``, ``"batchmean"`` (``kl_div``) divides the sum by
    the number of rows. Sums are the kernels' fixed-block float64 partials combined exactly, so
    the batch sizes do not change a bit of the result.

    Parameters
    ----------
    loss : str or callable
        A losscore loss or its name (``"mse"``, ``"cross_entropy"``, ...). Class-axis losses take
        batches of ``(rows, ..., C)`` with per-sample targets and weights.
    offset : int, default 0
        The row (along the leading axis of the whole data) at which this accumulator's first
        batch starts: set it when accumulating a later part of the data separately, to
        :meth:`merge` it after the accumulator of the rows before.
    reduction : str, optional
        The default of :meth:`result`; the loss's own default (``"mean"``; ``"batchmean"`` for
        ``kl_div``) if not given.
    **params
        The loss's parameters (``delta=0.5``, ``class_weight=...``, ``label_smoothing=0.1``).

    Examples
    --------
    >>> import numpy as np, losscore
    >>> acc = losscore.Accumulator("mse")
    >>> acc.update(np.array([1.0, 2.0, 3.0]), np.zeros(3))
    >>> acc.update(np.array([4.0]), np.zeros(1))
    >>> acc.result(), acc.result("sum"), acc.rows
    (7.5, 30.0, 4)

    Batches cut anywhere give the bits of one call over everything:

    >>> rng = np.random.default_rng(0)
    >>> logits, labels = rng.standard_normal((1000, 5)), rng.integers(0, 5, 1000)
    >>> acc = losscore.Accumulator("cross_entropy", label_smoothing=0.1)
    >>> for lo, hi in [(0, 1), (1, 333), (333, 1000)]:
    ...     acc.update(logits[lo:hi], labels[lo:hi])
    >>> whole = losscore.Accumulator("cross_entropy", label_smoothing=0.1)
    >>> whole.update(logits, labels)
    >>> acc.result() == whole.result()
    True
    """

    def __init__(
        self,
        loss: Any,
        *,
        offset: int = 0,
        reduction: str | None = None,
        **params: Any,
    ) -> None:
        self._info: LossInfo = resolve(loss, pairs=False)
        self._params = check_params(self._info, params)
        self._given = dict(params)
        self._reduction = check_reduction(self._info, reduction)
        self._offset = _check_offset(offset)
        self.reset()

    # -- state ---------------------------------------------------------------------------------

    def reset(self) -> None:
        """Forget every batch (the loss, its parameters and ``offset`` stay).

        Examples
        --------
        >>> import numpy as np, losscore
        >>> acc = losscore.Accumulator("mae")
        >>> acc.update(np.ones(3), np.zeros(3))
        >>> acc.reset()
        >>> acc.rows, acc.result("sum")
        (0, 0.0)
        """
        self._partials: Any = None
        self._rows = 0
        self._row_shape: tuple[int, ...] | None = None
        self._dtype: np.dtype[Any] | None = None
        self._weighted: bool | None = None

    @property
    def loss(self) -> str:
        """The loss's name."""
        return self._info.name

    @property
    def params(self) -> dict[str, Any]:
        """The loss parameters given."""
        return dict(self._given)

    @property
    def offset(self) -> int:
        """The row of the whole data at which the first batch starts."""
        return self._offset

    @property
    def rows(self) -> int:
        """Rows (leading-axis entries) accumulated so far."""
        return self._rows

    @property
    def partials(self) -> Any:
        """A copy of the reduction state (``_core.Partials``), or ``None`` before any batch."""
        return None if self._partials is None else self._partials.copy()

    # -- batches -------------------------------------------------------------------------------

    def _check_batch(self, pred: np.ndarray, weighted: bool) -> tuple[tuple[int, ...], np.dtype]:
        """The row shape and dtype of a batch, checked against the batches before."""
        least = 2 if self._info.kind == "rows" else 1
        if pred.ndim < least:
            axes = "a leading (sample) axis and the class axis" if least == 2 else "a leading axis"
            raise ShapeError(
                f"pred: a batch of {self._info.name} needs {axes}, got shape {pred.shape}"
            )
        row_shape = pred.shape[1:]
        if self._row_shape is not None and row_shape != self._row_shape:
            raise ShapeError(
                f"pred: batches must share the shape after the leading axis: got a batch of "
                f"shape {pred.shape} after batches of rows of shape {self._row_shape}"
            )
        if self._dtype is not None and pred.dtype != self._dtype:
            raise DTypeError(
                f"pred: batches must share one dtype, got {pred.dtype} after {self._dtype}"
            )
        if self._weighted is not None and weighted != self._weighted:
            given = "given" if weighted else "not given"
            before = "were not" if weighted else "were"
            raise ParameterError(
                f"weight: {given} for this batch but the batches before {before} weighted"
            )
        return row_shape, pred.dtype

    def _arrays(self, arrays: tuple[Any, ...], weight: Any) -> tuple[tuple[Any, ...], Any]:
        """The batch's arrays (the loss's array arguments, then optionally the weight)."""
        n = len(self._info.arrays)
        if len(arrays) == n + 1 and weight is None:
            return arrays[:n], arrays[n]
        if len(arrays) != n:
            raise ParameterTypeError(
                f"update: {self._info.name} takes {n} arrays ({', '.join(self._info.arrays)}) "
                f"and optionally weight, got {len(arrays)} positional arguments"
            )
        return arrays, weight

    def _chunk(self, arrays: tuple[Any, ...], weight: Any, offset: int) -> tuple[Any, _Layout]:
        """The partials of one batch starting at row ``offset``, and what it fixes."""
        pred = arrays[0]
        if not isinstance(pred, np.ndarray):
            pred = np.asarray(pred)
        row_shape, dtype = self._check_batch(pred, weight is not None)
        partials = self._info.kernel(
            pred,
            *arrays[1:],
            weight=weight,
            reduction="sum",
            partials=True,
            offset=offset,
            **self._params,
        )
        return partials, (pred.shape[0], row_shape, dtype, weight is not None)

    def _absorb(self, partials: Any, fixed: _Layout) -> None:
        rows, row_shape, dtype, weighted = fixed
        if self._partials is None:
            self._partials = partials
        else:
            self._partials.merge(partials)
        self._rows += rows
        self._row_shape, self._dtype, self._weighted = row_shape, dtype, weighted

    def update(self, *arrays: Any, weight: Any = None) -> None:
        """Add the next batch of rows (any number, 0 included).

        Parameters
        ----------
        *arrays : array_like
            The loss's array arguments, as for the loss itself (``pred, target``; ``pred,
            target, var`` for ``gaussian_nll``; ``x1, x2, target`` for ``margin_ranking``), then
            optionally the weight: the rows right after those seen so far. Every batch has the
            same shape after the leading axis and the same dtype.
        weight : array_like, optional
            Weights are given for all batches or for none.

        Examples
        --------
        >>> import numpy as np, losscore
        >>> acc = losscore.Accumulator("huber", delta=1.0)
        >>> acc.update(np.array([0.5, 3.0]), np.zeros(2), weight=np.array([2.0, 1.0]))
        >>> acc.result()  # (2 * 0.125 + 2.5) / 3
        0.9166666666666666
        """
        arrays, weight = self._arrays(arrays, weight)
        pred = arrays[0]
        if type(pred) is not np.ndarray:
            pred = np.asarray(pred)
        if (
            self._partials is None
            or self._row_shape is None
            or pred.ndim != len(self._row_shape) + 1
            or pred.shape[1:] != self._row_shape
            or pred.dtype != self._dtype
            or (weight is not None) is not self._weighted
        ):
            partials, fixed = self._chunk((pred, *arrays[1:]), weight, self._offset + self._rows)
            self._absorb(partials, fixed)
            return
        # The common case, kept short (batches of a few rows cost little more than the loss).
        self._partials.merge(
            self._info.kernel(
                pred,
                *arrays[1:],
                weight=weight,
                reduction="sum",
                partials=True,
                offset=self._offset + self._rows,
                **self._params,
            )
        )
        self._rows += pred.shape[0]

    def merge(self, other: Accumulator) -> Accumulator:
        """Append ``other``, which covers the rows right after this accumulator's; returns self.

        ``other`` was created with ``offset=self.offset + self.rows`` (or is empty) and is left
        as it is. Merging in order, in any tree, gives the bits of one pass over all batches.

        Examples
        --------
        >>> import numpy as np, losscore
        >>> first, second = losscore.Accumulator("mse"), losscore.Accumulator("mse", offset=2)
        >>> first.update(np.array([1.0, 2.0]), np.zeros(2))
        >>> second.update(np.array([3.0]), np.zeros(1))
        >>> first.merge(second).result("sum")
        14.0
        """
        if not isinstance(other, Accumulator):
            raise ParameterTypeError(f"other must be an Accumulator, got {type(other).__name__}")
        if other._info.name != self._info.name or not _same_params(other._given, self._given):
            raise ParameterError(
                f"other: accumulates {other._info.name} with {other._given}, "
                f"not {self._info.name} with {self._given}"
            )
        if other._partials is None:
            return self
        end = self._offset + self._rows
        if other._offset != end:
            raise ParameterError(
                f"other: starts at row {other._offset} but this accumulator ends at row {end}; "
                f"merge accumulators in order (create the next one with offset={end})"
            )
        if self._partials is not None:
            if other._row_shape != self._row_shape:
                raise ShapeError(
                    f"other: rows of shape {other._row_shape}, this accumulator's are "
                    f"{self._row_shape}"
                )
            if other._dtype != self._dtype:
                raise DTypeError(
                    f"other: dtype {other._dtype}, this accumulator's is {self._dtype}"
                )
            if other._weighted != self._weighted:
                raise ParameterError("other: weighted and unweighted batches cannot be merged")
        # Set together with the partials by the first batch.
        assert other._row_shape is not None and other._dtype is not None
        layout = (other._rows, other._row_shape, other._dtype, bool(other._weighted))
        self._absorb(other._partials.copy(), layout)
        return self

    def result(self, reduction: str | None = None) -> float:
        """The loss over every row so far: the in-memory call's value, bit for bit.

        Parameters
        ----------
        reduction : {"mean", "sum", "batchmean"}, optional
            Default: the one given at construction, else the loss's own. With no rows,
            ``"sum"`` is 0 and the means are nan, as in memory.

        Returns
        -------
        float
        """
        reduction = self._reduction if reduction is None else check_reduction(self._info, reduction)
        if self._partials is None:
            return 0.0 if reduction == "sum" else math.nan
        return float(self._partials.finish(reduction))

    def mean_denominator(self) -> float:
        """What ``"mean"`` divides by: the count, ``sum(w)``, or ``sum(w * class_weight[y])``.

        Exactly the in-memory call's denominator (its float64 block partials combined exactly),
        e.g. to scale per-chunk gradients like the in-memory ``"mean"`` gradient.

        Examples
        --------
        >>> import numpy as np, losscore
        >>> acc = losscore.Accumulator("mse")
        >>> acc.update(np.zeros(3), np.ones(3), weight=np.array([0.5, 1.0, 2.0]))
        >>> acc.mean_denominator()
        3.5
        """
        if self._partials is None:
            return 0.0
        # The state holds the denominator's block partials next to the loss's; a state with
        # them in the loss's place finishes ("sum") as the core finishes the denominator.
        (sizes, _, denominator, (_, head), (_, tail)) = self._partials.__reduce__()[1][0]
        if denominator is None:
            return float(sizes[0])
        totals = type(self._partials)._from_state(
            (sizes, denominator, None, (head, []), (tail, []))
        )
        return float(totals.finish("sum"))

    def copy(self) -> Accumulator:
        """An independent copy."""
        new = Accumulator.__new__(Accumulator)
        new.__dict__.update(self.__dict__)
        new._given = dict(self._given)
        new._partials = self.partials
        return new

    # -- pickling: the loss by name ------------------------------------------------------------

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_info"] = self._info.name
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        state["_info"] = resolve(state["_info"])
        self.__dict__.update(state)

    def __repr__(self) -> str:
        params = "".join(f", {k}={v!r}" for k, v in self._given.items())
        return f"Accumulator({self._info.name!r}{params}, offset={self._offset}, rows={self._rows})"

    @staticmethod
    def many(losses: Mapping[str, Mapping[str, Any]], *, offset: int = 0) -> AccumulatorSet:
        """Several losses over the same batches: one :class:`AccumulatorSet`.

        Parameters
        ----------
        losses : mapping
            Loss name -> its parameters (``{"mse": {}, "huber": {"delta": 0.5}}``); a
            ``"reduction"`` entry sets that loss's default reduction.
        offset : int, default 0
            As for :class:`Accumulator`.

        Examples
        --------
        >>> import numpy as np, losscore
        >>> accs = losscore.Accumulator.many({"mse": {}, "mae": {}})
        >>> accs.update(np.array([1.0, -3.0]), np.zeros(2))
        >>> accs.result()
        {'mse': 5.0, 'mae': 2.0}
        """
        return AccumulatorSet(losses, offset=offset)


class AccumulatorSet:
    """Accumulators of several losses updated from one pass over each batch.

    Built by :meth:`Accumulator.many`; ``update``, ``merge``, ``result`` and ``reset`` act on
    every loss (``result`` returns a dict, name -> value). An update either changes every
    accumulator or, when any loss refuses the batch, none.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> accs = losscore.Accumulator.many({"mse": {}, "huber": {"delta": 0.5}})
    >>> accs.update(np.array([0.25, 2.0]), np.zeros(2))
    >>> accs.result(), accs["huber"].rows
    ({'mse': 2.03125, 'huber': 0.453125}, 2)
    """

    def __init__(self, losses: Mapping[str, Mapping[str, Any]], *, offset: int = 0) -> None:
        if not isinstance(losses, Mapping) or not losses:
            raise ParameterTypeError(
                f"losses must be a non-empty mapping of loss name -> parameters, got {losses!r}"
            )
        self._accs: dict[str, Accumulator] = {}
        for name, params in losses.items():
            if not isinstance(params, Mapping):
                raise ParameterTypeError(
                    f"losses[{name!r}]: parameters must be a mapping, got {type(params).__name__}"
                )
            self._accs[name] = Accumulator(name, offset=offset, **params)

    def __getitem__(self, name: str) -> Accumulator:
        return self._accs[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._accs)

    def __len__(self) -> int:
        return len(self._accs)

    @property
    def rows(self) -> int:
        """Rows accumulated so far."""
        return next(iter(self._accs.values())).rows

    def update(self, *arrays: Any, weight: Any = None) -> None:
        """Add the next batch to every loss (see :meth:`Accumulator.update`)."""
        if arrays and not isinstance(arrays[0], np.ndarray):
            arrays = (np.asarray(arrays[0]), *arrays[1:])
        # Every loss's partials first: a refused batch leaves every accumulator as it was.
        chunks = [
            acc._chunk(*acc._arrays(arrays, weight), acc._offset + acc._rows)
            for acc in self._accs.values()
        ]
        for acc, (partials, fixed) in zip(self._accs.values(), chunks, strict=True):
            acc._absorb(partials, fixed)

    def merge(self, other: AccumulatorSet) -> AccumulatorSet:
        """Append ``other`` (the same losses, the rows that follow); returns self."""
        if not isinstance(other, AccumulatorSet) or other._accs.keys() != self._accs.keys():
            raise ParameterError(f"other: expected an AccumulatorSet of {list(self._accs)}")
        merged = {name: acc.copy() for name, acc in self._accs.items()}
        for name, acc in merged.items():
            acc.merge(other._accs[name])
        self._accs = merged
        return self

    def result(self, reduction: str | None = None) -> dict[str, float]:
        """Each loss's value (see :meth:`Accumulator.result`)."""
        return {name: acc.result(reduction) for name, acc in self._accs.items()}

    def reset(self) -> None:
        """Forget every batch."""
        for acc in self._accs.values():
            acc.reset()

    def copy(self) -> AccumulatorSet:
        """An independent copy."""
        new = AccumulatorSet.__new__(AccumulatorSet)
        new._accs = {name: acc.copy() for name, acc in self._accs.items()}
        return new

    def __repr__(self) -> str:
        return f"AccumulatorSet({list(self._accs)}, rows={self.rows})"
