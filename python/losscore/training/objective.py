"""The objective :func:`losscore.fit` minimises: one loss, or one loss per model output.

Multi-task training: a model returns a tuple of outputs, ``loss`` gives one loss per output and
``y`` one target per output (tuples, or dicts keyed by task name). The objective is

- fixed weights (``loss_weights=(w_0, w_1, ...)``, default all 1): ``sum_i w_i * L_i``;
- ``loss_weights="uncertainty"`` (homoscedastic uncertainty weighting, Kendall, Gal and Cipolla,
  2018): ``sum_i exp(-s_i) * L_i + s_i``, where ``s_i = log(sigma_i**2)`` starts at 0 and is
  trained by the same optimizer as the model (``d/ds_i = 1 - exp(-s_i) * L_i``, so ``s_i``
  settles at ``log L_i``);

with ``L_i`` the mean loss of output ``i`` over the batch. Tasks are named by the dict keys, or
``"0"``, ``"1"``, ... for tuples; the history gets ``loss_<name>`` (``L_i`` averaged over the
epoch), ``val_loss_<name>``, ``<metric>_<name>``, ``val_<metric>_<name>`` and, with learned
weights, ``log_var_<name>`` (``s_i`` after the epoch); ``loss`` / ``val_loss`` are the
objective above.

Sample weights (``fit(sample_weight=w)``, any loss): the weights are divided by their mean over
the training set, and the batch loss is ``sum_j w_j * l_j / m`` over the batch's ``m`` loss
elements (``l`` the ``reduction="none"`` losses; one per sample for class losses), an unbiased
estimate of the weighted mean ``sum w l / sum w`` over the training set.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ParameterError, ShapeError

__all__ = ["Objective", "Task", "split_tasks", "task_metrics"]


@dataclass(frozen=True)
class Task:
    """One model output: its name, its loss, and the loss's fused value and gradient."""

    name: str
    loss_fn: Callable[..., Any]
    loss_name: str | None
    fused: Callable[..., Any]


def _is_multi(loss: Any) -> bool:
    return isinstance(loss, tuple | list | Mapping)


def split_tasks(loss: Any, y: Any) -> tuple[list[str], list[Any], list[Any]] | None:
    """``(names, losses, targets)`` for several losses, or None for a single loss.

    ``loss`` is a tuple/list (tasks ``"0"``, ``"1"``, ...) or a dict (tasks named by its keys);
    ``y`` then has one target per loss: a tuple/list in the same order, or a dict with the same
    keys.
    """
    if not _is_multi(loss):
        return None
    if isinstance(loss, Mapping):
        names = list(loss.keys())
        if not all(isinstance(k, str) and k for k in names):
            raise ParameterError(f"loss: task names must be non-empty strings, got {names!r}")
        losses = list(loss.values())
    else:
        losses = list(loss)
        names = [str(i) for i in range(len(losses))]
    if not losses:
        raise ParameterError("loss: expected at least one loss, got an empty sequence")
    return names, losses, per_task(y, names, "y")


def per_task(values: Any, names: list[str], what: str) -> list[Any]:
    """One entry per task from a tuple/list in task order or a dict keyed by task name."""
    if isinstance(values, Mapping):
        if set(values.keys()) != set(names):
            raise ParameterError(
                f"{what}: expected the task names {names}, got keys {list(values.keys())}"
            )
        return [values[k] for k in names]
    if isinstance(values, np.ndarray) or not isinstance(values, tuple | list):
        raise ShapeError(
            f"{what}: {len(names)} losses need {len(names)} targets (a tuple or a dict), "
            f"got {type(values).__name__}"
        )
    if len(values) != len(names):
        raise ShapeError(
            f"{what}: {len(names)} losses need {len(names)} targets, got {len(values)}"
        )
    return list(values)


def resolve_loss_weights(loss_weights: Any, names: list[str] | None) -> np.ndarray | str | None:
    """None (all 1), ``"uncertainty"``, or a float64 array with one weight >= 0 per task."""
    if loss_weights is None:
        return None
    if names is None:
        raise ParameterError(
            "loss_weights: only for several losses (loss=(...) and a model with several "
            f"outputs), got {loss_weights!r}"
        )
    if isinstance(loss_weights, str):
        if loss_weights != "uncertainty":
            raise ParameterError(
                f"loss_weights: expected a sequence of numbers or 'uncertainty', "
                f"got {loss_weights!r}"
            )
        return "uncertainty"
    try:
        values = per_task(loss_weights, names, "loss_weights")
    except ShapeError as exc:
        raise ParameterError(str(exc).replace("targets", "weights")) from None
    out = np.empty(len(values))
    for i, w in enumerate(values):
        if isinstance(w, bool) or not isinstance(w, int | float | np.integer | np.floating):
            raise ParameterError(f"loss_weights[{names[i]!r}]: expected a number, got {w!r}")
        if not (math.isfinite(w) and w >= 0):
            raise ParameterError(
                f"loss_weights[{names[i]!r}]: expected a finite number >= 0, got {w!r}"
            )
        out[i] = float(w)
    return out


def task_metrics(metrics: Any, tasks: list[Task], resolve: Callable[..., dict]) -> dict:
    """Metric functions ``(outputs, targets) -> float`` named ``<metric>_<task>``.

    ``metrics`` is a list of names for every task, or one entry (a name or a list) per task as
    a tuple/list in task order or a dict keyed by task name."""
    names = [t.name for t in tasks]
    if isinstance(metrics, str):
        metrics = [metrics]
    if isinstance(metrics, Mapping):
        spec = {k: metrics.get(k, ()) for k in names}
        unknown = sorted(set(metrics) - set(names))
        if unknown:
            raise ParameterError(f"metrics: unknown task names {unknown}; tasks: {names}")
    else:
        try:
            items = list(metrics)
        except TypeError:
            raise ParameterError(f"metrics: expected a list of names, got {metrics!r}") from None
        if all(isinstance(m, str) for m in items):
            spec = dict.fromkeys(names, items)
        elif len(items) != len(names):
            raise ParameterError(
                f"metrics: expected one entry per task ({len(names)}), got {len(items)}"
            )
        else:
            spec = dict(zip(names, items, strict=True))
    resolved: dict[str, Callable[[Any, Any], float]] = {}
    for i, task in enumerate(tasks):
        for metric, fn in resolve(spec[task.name] or (), task.loss_name).items():

            def pick(out: Any, y: Any, fn: Callable = fn, i: int = i) -> float:
                return fn(out[i], y[i])

            resolved[f"{metric}_{task.name}"] = pick
    return resolved


def _weighted(fused: Callable[..., Any], out: np.ndarray, target: np.ndarray,
              w: np.ndarray) -> tuple[float, np.ndarray]:
    """``sum_j w_j l_j / m`` over the ``m`` loss elements and its gradient."""
    losses, g = fused(out, target, reduction="none")
    losses = np.asarray(losses)
    denom = max(losses.size, 1)
    wl = w.reshape((-1,) + (1,) * (losses.ndim - 1))
    value = float(np.sum(losses * wl, dtype=np.float64)) / denom
    g *= (w / denom).astype(g.dtype, copy=False).reshape((-1,) + (1,) * (g.ndim - 1))
    return value, g


class Objective:
    """Value and output gradient of the minimised objective for one batch.

    Single task: ``objective(out, y, w) -> (value, grad)``; several: ``outs`` and ``ys`` are
    tuples and ``grad`` a tuple. ``parameters()`` are the objective's own trained arrays (the
    log-variances ``s`` with ``loss_weights="uncertainty"``), updated by the model's optimizer
    after the model's parameters.

    Examples
    --------
    Two squared errors ``L = (1, 9)`` with learned weights, ``s = 0``: the total is
    ``sum exp(-s) L + s = 10`` and ``d total / d s = 1 - exp(-s) L = (0, -8)``.

    >>> import numpy as np
    >>> from losscore.training.fit import training_loss
    >>> from losscore.training.objective import Objective, Task
    >>> tasks = [Task("a", *training_loss("mse")), Task("b", *training_loss("mse"))]
    >>> objective = Objective(tasks, True, "uncertainty", np.dtype(np.float64))
    >>> total, grads = objective((np.array([[1.0]]), np.array([[3.0]])),
    ...                          (np.array([[0.0]]), np.array([[0.0]])))
    >>> total, [g.tolist() for g in grads]
    (10.0, [[[2.0]], [[6.0]]])
    >>> objective.wrap_backward(lambda g: [])(grads)[0].tolist()
    [0.0, -8.0]
    """

    def __init__(self, tasks: list[Task], multi: bool, weights: np.ndarray | str | None,
                 dtype: np.dtype) -> None:
        self.tasks = tasks
        self.multi = multi
        self.uncertainty = isinstance(weights, str)
        self.weights = None if isinstance(weights, str) else weights
        n = len(tasks)
        self.log_vars = np.zeros(n, dtype=dtype) if self.uncertainty else None
        self._grad_log_vars = np.zeros(n, dtype=dtype) if self.uncertainty else None
        self._gbufs: list[dict[tuple[int, ...], np.ndarray]] = [{} for _ in tasks]
        self._sums = np.zeros(n)
        self._count = 0

    def parameters(self) -> list[np.ndarray]:
        return [] if self.log_vars is None else [self.log_vars]

    def wrap_backward(self, backward: Callable[[Any], list]) -> Callable[[Any], list]:
        """``model.backward`` followed by the gradients of :meth:`parameters`."""
        if self._grad_log_vars is None:
            return backward
        extra = self._grad_log_vars

        def with_objective_params(g: Any) -> list:
            return [*backward(g), extra]

        return with_objective_params

    def _task_value_and_grad(self, i: int, out: np.ndarray, target: np.ndarray,
                             w: np.ndarray | None) -> tuple[float, np.ndarray]:
        fused = self.tasks[i].fused
        if w is not None:
            return _weighted(fused, out, target, w)
        gbuf = self._gbufs[i].get(out.shape)
        if gbuf is None or gbuf.dtype != out.dtype:
            gbuf = self._gbufs[i][out.shape] = np.empty_like(out)
        return fused(out, target, out=gbuf)

    def outputs(self, out: Any) -> list[np.ndarray]:
        """The model's outputs as a list, checked against the number of tasks."""
        if not self.multi:
            if isinstance(out, tuple | list):
                raise ParameterError(
                    f"loss: the model returns a tuple of {len(out)} output(s); give one loss "
                    "per output, e.g. loss=('cross_entropy', 'mse'), and one target per output"
                )
            return [out]
        if not isinstance(out, tuple | list):
            raise ParameterError(
                f"loss: {len(self.tasks)} losses given, but the model returns one output "
                f"({type(out).__name__}); it must return a tuple of {len(self.tasks)} arrays"
            )
        if len(out) != len(self.tasks):
            raise ParameterError(
                f"loss: {len(self.tasks)} losses given, but the model returns {len(out)} outputs"
            )
        return list(out)

    def __call__(self, out: Any, y: Any, w: np.ndarray | None = None) -> tuple[float, Any]:
        n_rows = (out[0] if self.multi else out).shape[0]
        self._count += n_rows
        if not self.multi:
            value, g = self._task_value_and_grad(0, out, y, w)
            return value, g
        total = 0.0
        grads = []
        for i in range(len(self.tasks)):
            value, g = self._task_value_and_grad(i, out[i], y[i], w)
            self._sums[i] += value * n_rows
            if self.log_vars is not None and self._grad_log_vars is not None:
                precision = math.exp(-float(self.log_vars[i]))
                total += precision * value + float(self.log_vars[i])
                self._grad_log_vars[i] = 1.0 - precision * value
                g *= precision
            else:
                scale = 1.0 if self.weights is None else float(self.weights[i])
                total += scale * value
                if scale != 1.0:
                    g *= scale
            grads.append(g)
        return total, tuple(grads)

    def evaluate(self, outs: Any, ys: Any) -> tuple[float, dict[str, float]]:
        """The objective (without penalty) and ``{"loss_<task>": L_i}`` over whole arrays."""
        if not self.multi:
            return float(self.tasks[0].loss_fn(outs, ys)), {}
        total = 0.0
        per = {}
        for i, task in enumerate(self.tasks):
            value = float(task.loss_fn(outs[i], ys[i]))
            per[f"loss_{task.name}"] = value
            total += self._combine(i, value)
        return total, per

    def _combine(self, i: int, value: float) -> float:
        if self.log_vars is not None:
            s = float(self.log_vars[i])
            return math.exp(-s) * value + s
        return value * (1.0 if self.weights is None else float(self.weights[i]))

    def epoch_logs(self) -> dict[str, float]:
        """Per-task mean losses since the last call (and the log-variances), then reset."""
        logs: dict[str, float] = {}
        if self.multi and self._count:
            for i, task in enumerate(self.tasks):
                logs[f"loss_{task.name}"] = float(self._sums[i] / self._count)
        if self.log_vars is not None:
            for i, task in enumerate(self.tasks):
                logs[f"log_var_{task.name}"] = float(self.log_vars[i])
        self._sums[:] = 0.0
        self._count = 0
        return logs


def stack_outputs(parts: Sequence[Any]) -> Any:
    """Concatenate chunked forward results (arrays, or tuples of arrays) along rows."""
    if isinstance(parts[0], tuple | list):
        return tuple(np.concatenate([p[j] for p in parts]) for j in range(len(parts[0])))
    return np.concatenate(parts)
