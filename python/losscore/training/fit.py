"""``losscore.fit``: mini-batch training of any model over NumPy arrays."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .. import _core
from .._progress import ProgressBar, progress_enabled
from ..errors import DTypeError, ParameterError, ParameterTypeError, ShapeError
from ..losses._registry import fused_of, registry, resolve_loss
from .callbacks import EarlyStopping
from .history import History
from .metrics import resolve_metrics
from .objective import (
    Objective,
    Task,
    per_task,
    resolve_loss_weights,
    split_tasks,
    stack_outputs,
    task_metrics,
)

__all__ = ["fit"]

# Rows per forward call when evaluating validation data (bounds the hidden-layer buffers).
_EVAL_CHUNK = 8192


def known_losses() -> dict[str, Callable[..., Any]]:
    """Every losscore loss with a fused gradient, by name."""
    return {name: spec.function for name, spec in registry.items() if spec.grad}


def _takes_class_indices(loss_name: str | None) -> bool:
    spec = registry.get(loss_name) if loss_name is not None else None
    return spec is not None and spec.class_target


def _check_pair(name: str | None) -> None:
    """fit trains a model's prediction against a target: losses of (pred, target) only."""
    spec = registry.get(name) if name is not None else None
    if spec is not None and len(spec.arrays) != 2:
        raise ParameterError(
            f"loss: {spec.name} takes {len(spec.arrays)} arrays ({', '.join(spec.arrays)}); fit "
            "trains with a loss of (prediction, target)"
        )


def training_loss(loss: Any) -> tuple[Callable[..., Any], str | None, Callable[..., Any]]:
    """A loss name, a losscore loss, or a ``functools.partial`` of one (fixing parameters such as
    ``delta`` or ``class_weight``) -> (loss function, its name, fused value-and-gradient)."""
    named = loss if isinstance(loss, str) else getattr(
        loss.func if isinstance(loss, functools.partial) else loss, "__name__", None
    )
    _check_pair(named if isinstance(named, str) else None)
    if isinstance(loss, str):
        spec = resolve_loss(loss)
        return spec.function, spec.name, spec.fused
    if isinstance(loss, functools.partial):
        if loss.keywords.get("reduction", "mean") != "mean":
            raise ParameterError(
                f"loss: fit minimises the mean loss; got reduction={loss.keywords['reduction']!r}"
            )
        try:
            partial_fused = functools.partial(fused_of(loss.func), *loss.args, **loss.keywords)
        except TypeError as exc:
            raise ParameterError(f"loss: {exc}") from None
        return loss, getattr(loss.func, "__name__", None), partial_fused
    if callable(loss):
        try:
            fused = fused_of(loss)
        except TypeError as exc:
            raise ParameterError(f"loss: {exc}") from None
        return loss, getattr(loss, "__name__", None), fused
    raise ParameterError(f"loss: expected a loss name or a losscore loss, got {loss!r}")


def _optim_module() -> Any:
    try:
        from .. import optim
    except ImportError as exc:  # pragma: no cover - optim ships with losscore
        raise ParameterError(f"optimizer: losscore.optim is not available ({exc})") from None
    return optim


def resolve_optimizer(optimizer: Any, lr: float | None = None) -> Any:
    """None -> Adam(lr=1e-3); a name -> that class; an optimizer object -> itself."""
    if optimizer is None:
        optimizer = "adam"
    if isinstance(optimizer, str):
        optim = _optim_module()
        classes = {
            name.lower(): obj
            for name, obj in vars(optim).items()
            if isinstance(obj, type) and hasattr(obj, "step") and name != "Optimizer"
        }
        cls = classes.get(optimizer.lower())
        if cls is None:
            raise ParameterError(
                f"optimizer: unknown optimizer {optimizer!r}; known: {', '.join(sorted(classes))}"
            )
        return cls(lr=1e-3 if lr is None else lr)
    if not hasattr(optimizer, "step"):
        raise ParameterError(
            f"optimizer: expected a name or an optimizer with step(grads), got {optimizer!r}"
        )
    return optimizer


def bind_optimizer(
    opt: Any, params: list[np.ndarray], weight_idx: list[int] | None = None
) -> list[int] | None:
    """Attach the model's parameters unless the optimizer already holds exactly these arrays.

    An unbound losscore optimizer with a non-zero ``weight_decay`` gets two groups: the weights
    (``weight_idx``), and the other parameters (biases) with ``weight_decay=0``. Returns the
    model indices of the optimizer's parameters in its order, or None when that is the model's
    order (the gradients are then passed as they come).
    """
    bound = list(getattr(opt, "params", None) or [])
    if not bound:
        if not hasattr(opt, "bind"):
            raise ParameterError(
                "optimizer: has no parameters and no bind() method to attach the model's"
            )
        opt.bind(_default_groups(opt, params, weight_idx))
        bound = list(opt.params)
    position = {id(p): i for i, p in enumerate(params)}
    order = [position.get(id(p), -1) for p in bound]
    if len(bound) == len(params) and sorted(order) == list(range(len(params))):
        return None if order == list(range(len(params))) else order
    if hasattr(opt, "bind"):
        opt.bind(params)  # raises: the optimizer holds other arrays
    raise ParameterError(
        "optimizer: holds other parameters than the model's; create a new optimizer"
    )


def _default_groups(opt: Any, params: list[np.ndarray], weight_idx: list[int] | None) -> Any:
    """Weights, then biases without weight decay, when the optimizer decays and has groups."""
    decay = getattr(opt, "defaults", {}).get("weight_decay", 0.0)
    if weight_idx is None or not decay or not hasattr(opt, "add_param_group"):
        return params
    weights = [params[i] for i in weight_idx]
    others = [p for i, p in enumerate(params) if i not in set(weight_idx)]
    if not weights or not others:
        return params
    return [{"params": weights}, {"params": others, "weight_decay": 0.0}]


def _clips_in_step(opt: Any) -> bool:
    """Whether ``opt.step(grads, max_grad_norm=...)`` is losscore's fused clip-and-step."""
    from ..optim._base import Optimizer

    return isinstance(opt, Optimizer)


def _is_plateau(scheduler: Any) -> bool:
    """``losscore.optim.lr_scheduler.ReduceLROnPlateau``, or any class of that name."""
    if type(scheduler).__name__ == "ReduceLROnPlateau":
        return True
    try:
        from ..optim.lr_scheduler import ReduceLROnPlateau
    except ImportError:  # pragma: no cover - optim ships with losscore
        return False
    return isinstance(scheduler, ReduceLROnPlateau)


def resolve_scheduler(lr_scheduler: Any, opt: Any) -> Any:
    """A scheduler object (``step()``), or a factory ``optimizer -> scheduler``."""
    if lr_scheduler is None or hasattr(lr_scheduler, "step"):
        return lr_scheduler
    if callable(lr_scheduler):
        sched = lr_scheduler(opt)
        if not hasattr(sched, "step"):
            raise ParameterError(
                "lr_scheduler: the factory must return a scheduler with step(), "
                f"got {sched!r}"
            )
        return sched
    raise ParameterError(
        f"lr_scheduler: expected a scheduler or a function optimizer -> scheduler, "
        f"got {lr_scheduler!r}"
    )


def _check_model(model: Any) -> list[np.ndarray]:
    for method in ("parameters", "forward", "backward"):
        if not callable(getattr(model, method, None)):
            raise ParameterError(
                f"model: needs parameters(), forward(X) and backward(grad_output); "
                f"{type(model).__name__} has no {method}()"
            )
    params = list(model.parameters())
    if not params or not all(isinstance(p, np.ndarray) for p in params):
        raise ParameterError("model: parameters() must return a non-empty list of ndarrays")
    return params


def _weight_indices(model: Any, params: list[np.ndarray]) -> list[int]:
    mask = getattr(model, "weight_mask", None)
    flags = list(mask()) if callable(mask) else [p.ndim >= 2 for p in params]
    if len(flags) != len(params):
        raise ParameterError(
            f"model: weight_mask() has {len(flags)} entries for {len(params)} parameters"
        )
    return [i for i, w in enumerate(flags) if w]


def _check_nonneg(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}: expected a non-negative number, got {value!r}") from None
    if not (math.isfinite(v) and v >= 0):
        raise ParameterError(f"{name}: expected a finite non-negative number, got {value!r}")
    return v


def _check_clip(value: Any, name: str) -> float | None:
    """None, or a finite non-negative number (bools and strings are not numbers)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ParameterTypeError(f"{name}: expected a number or None, got {value!r}")
    return _check_nonneg(value, name)


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < minimum:
        raise ParameterError(f"{name}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def prepare_data(
    X: Any, y: Any, dtype: np.dtype, loss_name: str | None, names: tuple[str, str] = ("X", "y")
) -> tuple[np.ndarray, np.ndarray]:
    """C-contiguous ``X`` of the model's dtype; ``y`` of the same dtype, or integer class
    indices kept as integers for the class-index losses. Checks lengths and finiteness."""
    xn, yn = names
    X = np.asarray(X)
    y = np.asarray(y)
    for arr, name in ((X, xn), (y, yn)):
        if arr.dtype.kind not in "biuf":
            raise DTypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
        if arr.ndim == 0:
            raise ShapeError(f"{name}: expected at least one dimension, got a scalar")
    if X.shape[0] != y.shape[0]:
        raise ShapeError(
            f"{xn} and {yn} must have the same number of samples, "
            f"got {xn} shape {X.shape} and {yn} shape {y.shape}"
        )
    X = np.ascontiguousarray(X, dtype=dtype)
    if not np.isfinite(X).all():
        row = int(np.argwhere(~np.isfinite(X))[0][0])
        raise ParameterError(f"{xn} contains NaN or infinity (first at row {row})")
    class_target = _takes_class_indices(loss_name)
    if class_target and y.ndim == 1 and y.dtype.kind == "f":
        # 1-D float labels (0.0, 1.0, ...) are class indices, not probabilities.
        if np.all(np.isfinite(y)) and np.all(y == np.round(y)):
            y = y.astype(np.int64)
    if class_target and y.dtype.kind in "biu":
        y = np.ascontiguousarray(y, dtype=np.int64)
    else:
        y = np.ascontiguousarray(y, dtype=dtype)
    return X, y


def _copy_output(out: Any) -> Any:
    if isinstance(out, tuple | list):
        return tuple(np.array(o, copy=True) for o in out)
    return np.array(out, copy=True)


def _forward_all(model: Any, X: np.ndarray) -> Any:
    n = X.shape[0]
    if n <= _EVAL_CHUNK:
        return _copy_output(model.forward(X))
    parts = [_copy_output(model.forward(X[s : s + _EVAL_CHUNK])) for s in range(0, n, _EVAL_CHUNK)]
    return stack_outputs(parts)


def _check_sample_weight(sample_weight: Any, n: int) -> np.ndarray | None:
    """Per-sample weights >= 0 of shape ``(n,)`` divided by their mean; None when constant."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight)
    if w.dtype.kind not in "biuf" or w.dtype.kind == "b":
        raise DTypeError(f"sample_weight: expected numbers, got dtype {w.dtype}")
    if w.shape != (n,):
        raise ShapeError(f"sample_weight: expected shape ({n},) (one per sample), got {w.shape}")
    w = w.astype(np.float64)
    if not np.isfinite(w).all() or (w < 0).any():
        raise ParameterError("sample_weight: expected finite weights >= 0")
    mean = w.mean()
    if not mean > 0:
        raise ParameterError("sample_weight: the weights sum to 0")
    if np.all(w == w[0]):
        return None  # constant weights are no weights after normalisation
    return w / mean


class _Batches:
    """Rows ``perm[s:e]`` (or ``s:e``) of ``X`` and of every per-row array, gathered into
    buffers reused across batches."""

    def __init__(self, arrays: list[np.ndarray], bs: int, shuffle: bool) -> None:
        self.arrays = arrays
        self.bufs = (
            [np.empty((bs, *a.shape[1:]), dtype=a.dtype) for a in arrays] if shuffle else None
        )

    def take(self, perm: np.ndarray | None, s: int, e: int) -> list[np.ndarray]:
        if perm is None or self.bufs is None:
            return [a[s:e] for a in self.arrays]
        idx = perm[s:e]
        out = []
        for a, buf in zip(self.arrays, self.bufs, strict=True):
            b = buf[: e - s]
            # mode="clip": indices are valid, and "raise" would buffer the output
            a.take(idx, axis=0, out=b, mode="clip")
            out.append(b)
        return out


def _validate_targets(loss_fn: Callable[..., Any], out_shape: tuple[int, ...], y: np.ndarray,
                      dtype: np.dtype) -> None:
    """Run the loss once over every target against zero predictions, so a bad label or a target
    of the wrong shape fails before the first update instead of half-way through an epoch."""
    n = y.shape[0]
    chunk = max(1, min(n, 65536))
    zeros = np.zeros((chunk, *out_shape[1:]), dtype=dtype)
    for s in range(0, n, chunk):
        t = y[s : s + chunk]
        loss_fn(zeros[: t.shape[0]], t)


def _match_target(out_shape: tuple[int, ...], y: np.ndarray, loss_name: str | None) -> np.ndarray:
    """A 1-D target for a model with one output column becomes a column (n, 1)."""
    if (
        len(out_shape) == 2
        and out_shape[1] == 1
        and y.ndim == 1
        and not _takes_class_indices(loss_name)
    ):
        return y.reshape(-1, 1)
    return y


def fit(
    model: Any,
    X: Any,
    y: Any,
    *,
    loss: Any,
    loss_weights: Any = None,
    optimizer: Any = None,
    epochs: int = 10,
    batch_size: int = 32,
    shuffle: bool = True,
    seed: int | None = None,
    sample_weight: Any = None,
    l1: float = 0.0,
    l2: float = 0.0,
    validation_data: tuple[Any, Any] | None = None,
    metrics: Any = (),
    lr_scheduler: Any = None,
    early_stopping: Any = None,
    callbacks: Any = (),
    progress: bool = True,
    clip_grad_norm: float | None = None,
    clip_grad_value: float | None = None,
) -> History:
    """Train ``model`` on ``(X, y)`` with mini-batch gradient descent.

    Each step gathers a batch (rows of a per-epoch permutation, copied into a reused buffer),
    runs ``model.forward``, the fused loss value and gradient (``losscore.value_and_grad(loss)``
    with ``reduction="mean"``), ``model.backward``, adds the regularization gradient and calls
    ``optimizer.step(grads)``. The minimised objective is
    ``mean_batch_loss + l1 * sum|w| + l2 / 2 * sum w**2`` over the weights (parameters flagged
    by ``model.weight_mask()``, else arrays with ``ndim >= 2``; biases are not regularized).

    Parameters
    ----------
    model : object
        ``parameters()``, ``forward(X)``, ``backward(grad_output)``
        (e.g. :class:`losscore.models.MLP`).
    X, y : array_like
        Inputs (cast once to the parameters' dtype) and targets (integer class indices stay
        integers for ``cross_entropy``, ``nll_loss``, ``multi_margin``). A 1-D ``y`` for a model
        with one output column is used as a column.
    loss : str, callable, tuple or dict
        A losscore loss name (``"mse"``, ``"cross_entropy"``, ...) or function, or a
        ``functools.partial`` of one fixing its parameters
        (``partial(losscore.cross_entropy, label_smoothing=0.1)``). Multi-task: one loss per
        model output, a tuple (tasks ``"0"``, ``"1"``, ...) or a dict keyed by task name; the
        model then returns a tuple of outputs and ``y`` (and ``y_val``) holds one target per
        task, as a tuple or a dict with the same keys. See :mod:`losscore.training.objective`.
    loss_weights : sequence of float, dict, "uncertainty" or None
        Multi-task only. Fixed weights: the objective is ``sum_i w_i * L_i`` (default all 1).
        ``"uncertainty"``: ``sum_i exp(-s_i) * L_i + s_i`` with learned log-variances ``s_i``
        (Kendall et al., 2018) trained by ``optimizer`` after the model's parameters.
    optimizer : optimizer, str or None
        An optimizer built without parameters (``losscore.optim.Adam(lr=1e-3)``; ``fit`` binds the
        model's), a name (``"sgd"``, ``"adam"``, ... with ``lr=1e-3``), or None for Adam(lr=1e-3).
        When such an optimizer has a non-zero ``weight_decay``, ``fit`` binds two parameter
        groups: the weights, and the biases (the other parameters) with ``weight_decay=0``, the
        usual practice (``l1``/``l2`` below are unaffected). An optimizer already holding the
        model's parameters, in any groups and order, is used as it is.
    epochs, batch_size : int
    shuffle : bool
        Permute the rows every epoch (``numpy.random.default_rng(seed)``).
    seed : int or None
    sample_weight : array_like of shape (n_samples,), optional
        Non-negative weights, divided by their mean; each batch minimises
        ``sum_j w_j * l_j / m`` over its ``m`` loss elements (the losses' ``reduction="none"``
        values), so the epoch loss is the weighted mean ``sum w l / sum w``.
    l1, l2 : float
        Regularization strengths (see above).
    validation_data : (X_val, y_val), optional
        Evaluated after every epoch: ``val_loss`` (with the same penalty) and ``val_<metric>``.
    metrics : sequence of str
        ``"accuracy"``, ``"mse"``, ``"mae"`` or any loss name; the training value is the
        sample-weighted mean over the epoch's batches (before each update).
    lr_scheduler : scheduler or callable, optional
        A ``losscore.optim.lr_scheduler`` object, or a function ``optimizer -> scheduler`` (handy
        when ``optimizer`` is a name). Stepped once per epoch; ``ReduceLROnPlateau`` gets
        ``val_loss`` (or ``loss``).
    early_stopping : int, dict or callback, optional
        Patience (monitoring ``val_loss``, or ``loss`` without validation data), a dict of
        :class:`~losscore.training.callbacks.EarlyStopping` arguments, or such an object. The best
        epoch's weights are restored at the end.
    callbacks : sequence
        Objects with ``on_epoch_end(epoch, logs)``; returning True (or setting
        ``stop_training = True``) stops training. Optional ``on_train_begin(model)`` and
        ``on_train_end(model)``.
    progress : bool
        A progress bar per epoch with the running loss (tqdm when installed), shown only when
        stdout is a terminal.
    clip_grad_norm : float, optional
        Scale each step's gradients (after the regularization term) so that their global L2
        norm is at most this (:func:`losscore.optim.clip_grad_norm`).
    clip_grad_value : float, optional
        Clamp each step's gradients to ``[-clip_grad_value, clip_grad_value]`` (applied before
        ``clip_grad_norm`` when both are given).

    Returns
    -------
    History
        ``history.history["loss"]``, ``["val_loss"]``, ``["lr"]``, metrics..., and ``epoch``;
        ``["grad_norm_mean"]`` and ``["grad_norm_max"]``: the mean and the maximum over the
        epoch's steps of the global L2 norm of the gradients, before clipping.
        Multi-task runs add ``loss_<task>``, ``val_loss_<task>``, ``<metric>_<task>``,
        ``val_<metric>_<task>`` and, with ``loss_weights="uncertainty"``, ``log_var_<task>``.

    Examples
    --------
    >>> import numpy as np, losscore
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(256, 3)); y = X @ np.array([1.0, -2.0, 0.5]) + 0.3
    >>> model = losscore.models.Linear(3, 1, seed=0, dtype=np.float64)
    >>> h = losscore.fit(model, X, y, loss="mse", optimizer=losscore.optim.SGD(lr=0.05),
    ...                  epochs=20, batch_size=16, seed=0, progress=False)
    >>> h.history["loss"][-1] < 1e-6 < 1.0 < h.history["loss"][0]
    True
    >>> model.weight.ravel().round(3).tolist(), model.bias.round(3).tolist()
    ([1.0, -2.0, 0.5], [0.3])

    Two tasks on a shared trunk (class and value), the second weighted by one half:

    >>> labels = (X[:, 0] > 0).astype(int); value = X[:, 1:2] * 2.0
    >>> net = losscore.models.MLP([3, 16], heads=[2, 1], seed=0)
    >>> h = losscore.fit(net, X, (labels, value), loss=("cross_entropy", "mse"),
    ...                  loss_weights=(1.0, 0.5), optimizer=losscore.optim.Adam(lr=0.01),
    ...                  epochs=30, metrics=(["accuracy"], ["mae"]), seed=0, progress=False)
    >>> h.history["accuracy_0"][-1] > 0.95, h.history["loss_1"][-1] < 0.05
    (True, True)
    >>> sorted(h.history)
    ['accuracy_0', 'grad_norm_max', 'grad_norm_mean', 'loss', 'loss_0', 'loss_1', 'lr', 'mae_1']
    """
    params = _check_model(model)
    dtype = params[0].dtype
    if dtype not in (np.float32, np.float64):
        raise DTypeError(f"model: parameters must be float32 or float64, got {dtype}")
    split = split_tasks(loss, y)
    if split is None and (
        isinstance(y, Mapping)
        or (isinstance(y, tuple) and len(y) > 1 and all(isinstance(t, np.ndarray) for t in y))
    ):
        raise ParameterError(
            f"loss: {len(y)} targets need one loss each, e.g. loss=('cross_entropy', 'mse'); "
            f"got loss={loss!r}"
        )
    names, losses, ys = split if split is not None else (["0"], [loss], [y])
    tasks = [Task(name, *training_loss(spec)) for name, spec in zip(names, losses, strict=True)]
    weighting = resolve_loss_weights(loss_weights, names if split is not None else None)
    epochs = _check_int(epochs, "epochs", 0)
    batch_size = _check_int(batch_size, "batch_size", 1)
    l1 = _check_nonneg(l1, "l1")
    l2 = _check_nonneg(l2, "l2")
    metric_fns: dict[str, Callable[[Any, Any], float]]
    if split is None:
        metric_fns = resolve_metrics(metrics, tasks[0].loss_name, known_losses())
    else:
        metric_fns = task_metrics(
            metrics, tasks, lambda m, name: resolve_metrics(m, name, known_losses())
        )
    y_names = ["y"] if split is None else [f"y[{name!r}]" for name in names]
    for i, task in enumerate(tasks):
        X, ys[i] = prepare_data(X, ys[i], dtype, task.loss_name, ("X", y_names[i]))
    n = X.shape[0]
    if n == 0:
        raise ShapeError("X: needs at least one sample, got shape " + str(X.shape))
    weights_n = _check_sample_weight(sample_weight, n)
    val = None
    if validation_data is not None:
        try:
            Xv, yv = validation_data
        except (TypeError, ValueError):
            raise ParameterError("validation_data: expected a pair (X_val, y_val)") from None
        yvs = [yv] if split is None else per_task(yv, names, "validation_data[1]")
        for i, task in enumerate(tasks):
            v_name = "y_val" if split is None else f"y_val[{names[i]!r}]"
            Xv, yvs[i] = prepare_data(Xv, yvs[i], dtype, task.loss_name, ("X_val", v_name))
        val = (Xv, yvs)
    callbacks = list(callbacks) if callbacks else []
    for cb in callbacks:
        if not callable(getattr(cb, "on_epoch_end", None)):
            raise ParameterError(f"callbacks: {cb!r} has no on_epoch_end(epoch, logs)")
    if early_stopping is not None:
        callbacks.append(EarlyStopping.from_spec(early_stopping, val is not None))
    objective = Objective(tasks, split is not None, weighting, dtype)
    max_norm = _check_clip(clip_grad_norm, "clip_grad_norm")
    max_value = _check_clip(clip_grad_value, "clip_grad_value")
    opt = resolve_optimizer(optimizer)
    # The learned task weights (if any) follow the model's parameters, outside the decay group.
    order = bind_optimizer(opt, params + objective.parameters(), _weight_indices(model, params))
    scheduler = resolve_scheduler(lr_scheduler, opt)
    plateau = scheduler is not None and _is_plateau(scheduler)

    # One probe row settles the target layout (column targets for one-output models).
    probes = [np.asarray(p) for p in objective.outputs(model.forward(X[:1]))]
    for i, (task, probe) in enumerate(zip(tasks, probes, strict=True)):
        ys[i] = _match_target(probe.shape, ys[i], task.loss_name)
        _validate_targets(task.loss_fn, probe.shape, ys[i], probe.dtype)
        if val is not None:
            val[1][i] = _match_target(probe.shape, val[1][i], task.loss_name)
            _validate_targets(task.loss_fn, probe.shape, val[1][i], probe.dtype)
    n_tasks = len(tasks)
    single = split is None

    weight_idx = _weight_indices(model, params)
    weights = [params[i] for i in weight_idx]
    regularize = bool(weight_idx) and (l1 > 0.0 or l2 > 0.0)
    forward, backward, step = model.forward, objective.wrap_backward(model.backward), opt.step
    penalty = _core.penalty
    norm_of, clip_norm, clip_value = _core.grad_norm, _core.clip_grad_norm, _core.clip_grad_value
    # losscore's optimizers clip inside the step (two passes over the gradients, not three).
    fused_clip = max_norm is not None and max_value is None and _clips_in_step(opt)
    rng = np.random.default_rng(seed)
    bs = min(batch_size, n)
    n_batches = -(-n // bs)
    batches = _Batches([X, *ys] + ([] if weights_n is None else [weights_n]), bs, shuffle)
    show = progress_enabled(progress)
    history = History()

    for cb in callbacks:
        if hasattr(cb, "on_train_begin"):
            cb.on_train_begin(model)
    try:
        for epoch in range(epochs):
            lr_now = getattr(opt, "lr", float("nan"))
            perm = rng.permutation(n) if shuffle else None
            bar = ProgressBar(n_batches, epoch, epochs) if show else None
            total = 0.0
            norm_sum, norm_max = 0.0, -math.inf
            metric_sums = dict.fromkeys(metric_fns, 0.0)
            for b in range(n_batches):
                s = b * bs
                e = min(s + bs, n)
                xb, *cols = batches.take(perm, s, e)
                yb = cols[0] if single else tuple(cols[:n_tasks])
                wb = cols[n_tasks] if weights_n is not None else None
                out = forward(xb)
                value, g = objective(out, yb, wb)
                for name, fn in metric_fns.items():
                    metric_sums[name] += fn(out, yb) * (e - s)
                grads = backward(g)
                if regularize:
                    value += penalty(weights, [grads[i] for i in weight_idx], l1, l2)
                if order is not None:
                    grads = [grads[i] for i in order]
                if max_value is not None:
                    norm = norm_of(grads)
                    clip_value(grads, max_value)
                    if max_norm is not None:
                        clip_norm(grads, max_norm)
                elif fused_clip:
                    # The norm pass, then the update reading the gradients scaled on the fly.
                    norm = step(grads, max_grad_norm=max_norm)
                elif max_norm is not None:
                    norm = clip_norm(grads, max_norm)
                else:
                    norm = norm_of(grads)
                norm_sum += norm
                if norm > norm_max or math.isnan(norm):  # a NaN norm stays the maximum
                    norm_max = norm if not math.isnan(norm_max) else norm_max
                if not fused_clip:
                    step(grads)
                total += value * (e - s)
                if bar is not None:
                    bar.update(b + 1, total / e)
            logs = {"loss": total / n, **objective.epoch_logs()}
            logs["grad_norm_mean"] = norm_sum / n_batches
            logs["grad_norm_max"] = norm_max
            for name in metric_fns:
                logs[name] = metric_sums[name] / n
            if val is not None:
                out_v = _forward_all(model, val[0])
                yv_all = val[1][0] if single else tuple(val[1])
                pen = penalty(weights, None, l1, l2) if regularize else 0.0
                val_total, val_tasks = objective.evaluate(out_v, yv_all)
                logs["val_loss"] = val_total + pen
                for key, value in val_tasks.items():
                    logs[f"val_{key}"] = value
                for name, fn in metric_fns.items():
                    logs[f"val_{name}"] = fn(out_v, yv_all)
            logs["lr"] = float(lr_now)
            if bar is not None:
                bar.close(logs)
            history.append(epoch, logs)
            if scheduler is not None:
                if plateau:
                    scheduler.step(logs.get("val_loss", logs["loss"]))
                else:
                    scheduler.step()
            stop = False
            for cb in callbacks:
                ret = cb.on_epoch_end(epoch, dict(logs))
                if (ret is not None and bool(ret)) or getattr(cb, "stop_training", False):
                    stop = True
            if stop:
                history.stopped_epoch = epoch
                break
    finally:
        for cb in callbacks:
            if hasattr(cb, "on_train_end"):
                cb.on_train_end(model)
    for cb in callbacks:
        if isinstance(cb, EarlyStopping) and cb.restore_best_weights:
            history.best_epoch = cb.best_epoch
    return history
