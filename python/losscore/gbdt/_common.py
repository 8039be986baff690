"""What the XGBoost and LightGBM adapters share: loss lookup, label checks and the per-sample
kernel call (derivatives only, scale and Hessian floor inside the kernel's pass)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import DTypeError, ParameterError, ParameterTypeError, ShapeError, TargetError

# Losses over a class axis: margins (n, C), one class index per sample.
# Losses whose second derivative is 0 on whole regions (piecewise linear, linear in the margin,
# or linear outside a quadratic zone): their default Hessian floor is 1. A Newton step on
# samples without curvature is bounded only by the leaf regularizer; with the floor they take
# unit-curvature (gradient) steps, and huber gets LightGBM's constant Hessian 1.
_UNIT_FLOOR = frozenset({"mae", "pinball", "hinge", "kl_div", "nll_loss", "huber", "smooth_l1"})
DEFAULT_HESS_FLOOR = 1e-16  # the floor of XGBoost's own logistic and softmax objectives
# Arguments of the kernels that the adapters set themselves.
_CALL_ARGS = frozenset(
    {
        "weight", "reduction", "out", "with_grad", "with_hess", "hess_out", "partials", "offset",
        "_objective",
    }
)


@dataclass(frozen=True)
class Loss:
    """A resolved loss: its name, its fused kernel and its layout."""

    name: str
    kernel: Any
    rows: bool
    #: The loss's own keyword parameters (``delta``, ``class_weight``, ...).
    hyperparameters: tuple[str, ...]


def _resolve(loss: Any) -> Loss:
    """The loss named ``loss`` (or the losscore loss function ``loss`` itself), from the
    registry."""
    from ..losses import registry

    if isinstance(loss, str):
        spec = registry.get(loss)
        if spec is None:
            import losscore

            if callable(getattr(losscore, loss, None)):  # a losscore function, not a loss
                raise ParameterError(
                    f"loss: {loss!r} is not a losscore loss with a second derivative (Hessian)"
                )
            raise ParameterError(f"loss: unknown losscore loss {loss!r}")
    elif callable(loss):
        spec = next((s for s in registry.values() if s.function is loss), None)
        if spec is None:
            raise ParameterTypeError(f"loss must be a losscore loss name or function, got {loss!r}")
    else:
        raise ParameterTypeError(
            f"loss must be a losscore loss name or function, got {type(loss).__name__}"
        )
    if len(spec.arrays) != 2:
        raise ParameterError(
            f"loss: {spec.name!r} takes {len(spec.arrays)} arrays ({', '.join(spec.arrays)}); "
            "a boosting objective is a loss of (prediction, label)"
        )
    if not spec.hess:
        raise ParameterError(f"loss: {spec.name!r} has no second derivative (Hessian)")
    return Loss(
        name=spec.name,
        kernel=spec.kernel,
        rows=spec.kind == "rows",
        hyperparameters=spec.hyperparameters,
    )


@dataclass(frozen=True)
class Objective:
    """A loss with its hyperparameters and the adapter's settings, checked once."""

    loss: Loss
    params: dict[str, Any]
    hess_floor: float
    scale: float

    @property
    def derivatives(self) -> tuple[float, float]:
        """The kernels' internal ``_objective=(scale, hess_floor)`` argument."""
        return (self.scale, self.hess_floor)


def make(loss: Any, params: dict[str, Any]) -> Objective:
    """Resolves ``loss`` and splits the adapter's own parameters from the loss's."""
    spec = _resolve(loss)
    params = dict(params)
    floor = params.pop("hess_floor", None)
    scale = params.pop("scale", 1.0)
    if floor is None:
        zero = spec.name in _UNIT_FLOOR
        zero |= spec.name == "multi_margin" and params.get("p", 1) == 1
        floor = 1.0 if zero else DEFAULT_HESS_FLOOR
    for name, value in (("hess_floor", floor), ("scale", scale)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)):
            raise ParameterTypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not (np.isfinite(floor) and floor >= 0):
        raise ParameterError(f"hess_floor: must be finite and non-negative, got {floor}")
    if not (np.isfinite(scale) and scale > 0):
        raise ParameterError(f"scale: must be finite and positive, got {scale}")
    known = spec.hyperparameters
    for key in params:
        if key in _CALL_ARGS:
            raise ParameterError(f"{key}: set by the adapter, not a parameter of the objective")
        if key not in known:
            raise ParameterTypeError(f"{spec.name}() got an unexpected parameter {key!r}")
    # Check the scalar hyperparameters now rather than in the first boosting round.
    # Array parameters (class_weight, pos_weight: default None) need the data's shape; any
    # other parameter must be a scalar, so a list there is refused now too.
    from ..losses import registry

    defaults = registry[spec.name].defaults
    scalars = {
        k: v
        for k, v in params.items()
        if np.ndim(v) == 0 or defaults.get(k) is not None
    }
    probe_x = np.zeros((1, 2) if spec.rows else 1)
    probe_t = np.zeros(1, dtype=np.int64) if spec.rows else np.ones(1)
    spec.kernel(probe_x, probe_t, reduction="sum", **scalars)
    return Objective(loss=spec, params=params, hess_floor=float(floor), scale=float(scale))


def numeric(value: Any, name: str) -> np.ndarray:
    """``value`` as a NumPy array of numbers with a sample axis (what a framework passes)."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):  # ragged sequences
        raise DTypeError(f"{name}: expected a numeric array, got {type(value).__name__}") from None
    if arr.dtype.kind not in "biuf":
        raise DTypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    if arr.ndim == 0:
        raise ShapeError(f"{name}: expected one entry per sample, got a scalar {value!r}")
    return arr


def margins(obj: Objective, pred: Any, n: int, framework: str) -> np.ndarray:
    """The framework's raw margins as a C-contiguous array (float32/float64 kept), checked
    against the loss's layout: ``(n,)`` for element-wise losses, ``(n, C)`` for class losses."""
    arr = numeric(pred, "pred")
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    name = obj.loss.name
    if obj.loss.rows:
        if arr.ndim != 2 or arr.shape[0] != n:
            raise ShapeError(
                f"{name} needs one margin per class, shape ({n}, C); got {arr.shape} from "
                f"{framework} (train a multi-class model: num_class / objective for C classes)"
            )
    else:
        if arr.ndim == 2 and arr.shape[1] == 1:
            arr = arr[:, 0]
        if arr.shape != (n,):
            raise ShapeError(
                f"{name} takes one margin per sample, shape ({n},); got {arr.shape} from "
                f"{framework}: class labels with several margins per sample need a class loss "
                "such as cross_entropy"
            )
    return np.ascontiguousarray(arr)


def labels(obj: Objective, y: Any, n_classes: int | None) -> np.ndarray:
    """Labels for the loss: class indices (int64, checked) for class losses, values otherwise."""
    y = numeric(y, "label")
    if not obj.loss.rows:
        return y
    if y.dtype.kind == "f":
        bad = np.flatnonzero(y != np.round(y))
        if bad.size:
            i = int(bad[0])
            raise TargetError(
                f"label: {obj.loss.name} takes class indices, got {y[i]!r} at index {i}"
            )
    idx = y.astype(np.int64)
    if n_classes is not None and idx.size:
        bad = np.flatnonzero((idx < 0) | (idx >= n_classes))
        if bad.size:
            i = int(bad[0])
            raise TargetError(
                f"label: class index {idx[i]} at index {i} is outside [0, {n_classes})"
            )
    return idx


def weights(w: Any) -> np.ndarray | None:
    """Sample weights as the frameworks report them (``None`` or empty: unweighted)."""
    if w is None:
        return None
    w = numeric(w, "weight")
    return w if w.size else None


class Adapter:
    """What each framework's objective and metric callables share: the checked objective (the
    callable is named after its loss) and the conversion of the framework's margins and
    labels for the kernel."""

    def __init__(self, loss: Any, params: dict[str, Any]) -> None:
        self._obj = make(loss, params)
        self.__name__ = self._obj.loss.name

    def _inputs(self, pred: Any, label: Any, framework: str) -> tuple[np.ndarray, np.ndarray]:
        """``(margins, labels)`` checked against the loss's layout (see :func:`margins`)."""
        n = numeric(label, "label").shape[0]
        x = margins(self._obj, pred, n, framework)
        classes = x.shape[1] if x.ndim == 2 else None
        return x, labels(self._obj, label, classes)


def grad_hess(
    obj: Objective, pred: np.ndarray, target: np.ndarray, weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample gradient and Hessian diagonal of ``weight * loss`` in one pass of the kernel,
    which computes no loss value:
    ``g = dl * (w * scale)``, ``h = max(d2l * (w * scale), hess_floor * w)`` in the margins'
    dtype (NaN kept; no floor when ``hess_floor`` is 0; ``w = 1`` unweighted). These are the
    unreduced per-sample derivatives of ``reduction="none"`` times ``scale``."""
    g, h = obj.loss.kernel(
        pred, target, weight=weight, _objective=obj.derivatives, **obj.params
    )
    return g, h


def value(obj: Objective, pred: np.ndarray, target: np.ndarray, weight: np.ndarray | None) -> float:
    """The loss's "mean" over the samples (weighted by the sample weights)."""
    return float(obj.loss.kernel(pred, target, weight=weight, reduction="mean", **obj.params))
