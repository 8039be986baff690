"""Every losscore optimizer as a ``torch.optim.Optimizer`` whose step is losscore's fused kernel.

Parameter groups, ``zero_grad``, ``add_param_group``, hooks and ``state_dict`` come from
``torch.optim.Optimizer``; torch's ``foreach=`` and ``fused=`` are accepted and ignored (the step
is always fused), ``capturable=True`` and ``differentiable=True`` are refused. ``step`` updates
each parameter's memory in place with ONE call into Rust per group (per set of parameters
sharing a step count, if some were skipped earlier).
Hyperparameters, defaults and update rules are those of :mod:`losscore.optim` (``torch.optim``'s
rules; ``Lion`` as optax's ``lion``).

State layout (``optimizer.state[p]``, ``torch.optim`` names): ``"step"`` (a 0-d float32 tensor),
the optimizer's buffers (``"exp_avg"``, ``"exp_avg_sq"``, ``"momentum_buffer"``, ...) of the
parameter's shape and dtype, and ``"mu_product"`` for ``NAdam``. The buffers of a group's
parameters are views into one flat array per dtype, which is what the kernel updates; a state
that was replaced (``load_state_dict``) is copied into new flat arrays at the next step.

>>> import torch
>>> from losscore.torch.optim import SGD
>>> w = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
>>> opt = SGD([w], lr=0.1, momentum=0.9)
>>> w.grad = torch.tensor([1.0, -1.0])
>>> opt.step()
>>> w.data
tensor([0.9000, 2.1000])
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

import numpy as np
import torch
from torch.autograd.graph import increment_version

from .. import _core
from .. import optim as _numpy_optim
from ..errors import DTypeError, ParameterError, ParameterTypeError, ShapeError
from ._tensors import FLOAT_DTYPES, as_numpy, check_device

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Lion",
    "NAdam",
    "RAdam",
    "RMSprop",
]

_BOOLS = frozenset({"amsgrad", "centered", "decoupled_weight_decay", "maximize", "nesterov"})


def _hyper(name: str, value: Any) -> Any:
    """A hyperparameter as the kernels take it (bools and strings are not numbers)."""
    if name == "betas":
        try:
            b1, b2 = value
        except (TypeError, ValueError):
            raise ParameterTypeError(f"betas: expected a pair of floats, got {value!r}") from None
        return (_hyper("betas[0]", b1), _hyper("betas[1]", b2))
    if name in _BOOLS:
        if not isinstance(value, bool | np.bool_):
            raise ParameterTypeError(f"{name}: expected a bool, got {value!r}")
        return bool(value)
    if isinstance(value, torch.Tensor) and value.numel() == 1 and value.is_floating_point():
        return float(value.item())
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ParameterTypeError(f"{name}: expected a number, got {value!r}")
    return float(value)


class _Layout:
    """The flat state arrays of one set of parameters, and the tensors handed out as views."""

    __slots__ = ("extra", "flats", "handed_out", "names", "step")

    def __init__(self) -> None:
        self.names: tuple[str, ...] = ()
        self.flats: list[list[np.ndarray]] = []
        self.handed_out: list[tuple[dict[str, Any], str, torch.Tensor]] = []
        self.step = np.zeros(0, dtype=np.float32)
        self.extra = np.zeros(0, dtype=np.float64)

    def intact(self, state: dict[torch.Tensor, dict[str, Any]]) -> bool:
        return all(s.get(name) is t for s, name, t in self.handed_out)


class _FusedOptimizer(torch.optim.Optimizer):
    """Base of the bridge optimizers (not used directly)."""

    #: The NumPy-level optimizer whose hyperparameters and defaults this one takes.
    _numpy: ClassVar[type]
    #: Optimizer-level scalars torch keeps per parameter (``"mu_product"`` for NAdam).
    _extra_name: ClassVar[str | None] = None

    def __init__(self, params: Iterable[Any], **hyper: Any) -> None:
        # torch's implementation switches: the step is always losscore's fused kernel.
        for switch in ("foreach", "fused"):
            hyper.pop(switch, None)
        for unsupported in ("capturable", "differentiable"):
            if hyper.pop(unsupported, False):
                raise ParameterError(
                    f"{unsupported}: not supported by losscore's optimizers (CPU, no autograd "
                    "through the step)"
                )
        defaults = _defaults(type(self)._numpy)
        unknown = sorted(set(hyper) - set(defaults))
        if unknown:
            raise TypeError(
                f"{type(self).__name__}() got unexpected keyword argument(s) {unknown}; "
                f"it takes {sorted(defaults)}"
            )
        defaults.update(hyper)
        self._layouts: dict[int, dict[tuple[int, ...], _Layout]] = {}
        # id(group) -> (the raw values last seen, their checked form)
        self._checked: dict[int, tuple[list[Any], dict[str, Any]]] = {}
        super().__init__(params, defaults)

    # ---- what a subclass provides -----------------------------------------------------------

    @staticmethod
    def _state_names(h: dict[str, Any]) -> tuple[str, ...]:
        raise NotImplementedError

    @staticmethod
    def _initial_value(name: str, h: dict[str, Any]) -> float:
        return 0.0

    @staticmethod
    def _call(
        params: list[np.ndarray],
        grads: list[np.ndarray],
        states: list[list[np.ndarray]],
        h: dict[str, Any],
        step: int,
        fresh: bool,
        extra: float,
    ) -> Any:
        """The one kernel call (``step`` is 1-based)."""
        raise NotImplementedError

    # ---- torch.optim.Optimizer API ------------------------------------------------------------

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group (torch semantics), checking its parameters and hyperparameters.

        Raises
        ------
        losscore.errors.DTypeError, losscore.errors.DeviceError
            If a parameter is not a float32/float64 CPU tensor.
        losscore.errors.ParameterError, losscore.errors.ParameterTypeError
            If a hyperparameter is outside its domain or not a number (bool).
        """
        super().add_param_group(param_group)
        group = self.param_groups[-1]
        try:
            for i, p in enumerate(group["params"]):
                check_device(f"params[{i}]", p)
                if p.dtype not in FLOAT_DTYPES:
                    raise DTypeError(
                        f"params[{i}]: losscore optimizers update float32 or float64 "
                        f"parameters, got {p.dtype}"
                    )
            h = self._group_hyper(group)
            self._call([], [], [[] for _ in self._state_names(h)], h, 1, False, 1.0)
        except Exception:
            self.param_groups.pop()
            raise

    @torch.no_grad()
    def step(self, closure: Callable[[], Any] | None = None) -> Any:  # type: ignore[override]
        """One update of every parameter that has a gradient; returns ``closure()`` if given."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for index, group in enumerate(self.param_groups):
            active = [p for p in group["params"] if p.grad is not None]
            if not active:
                continue
            h = self._group_hyper(group)
            names = self._state_names(h)
            previous = self._layouts.get(index, {})
            current: dict[tuple[int, ...], _Layout] = {}
            key = tuple(map(id, active))
            layout = previous.get(key)
            if layout is not None and layout.names == names and layout.intact(self.state):
                current[key] = layout
                self._run(active, layout, h, fresh=False)
            else:
                for members in self._partition(active):
                    layout, fresh = self._build(members, names, h)
                    current[tuple(map(id, members))] = layout
                    self._run(members, layout, h, fresh)
            self._layouts[index] = current
        return loss

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """torch's ``load_state_dict``; the loaded buffers are copied at the next step."""
        super().load_state_dict(state_dict)
        self._layouts = {}
        self._checked = {}

    # ---- helpers ---------------------------------------------------------------------------

    def _group_hyper(self, group: dict[str, Any]) -> dict[str, Any]:
        """The group's hyperparameters, checked; reused while the group holds the same values."""
        keys = _hyper_names(type(self)._numpy)
        raw = [group[k] for k in keys]
        cached = self._checked.get(id(group))
        if cached is not None and all(a is b for a, b in zip(cached[0], raw, strict=True)):
            return cached[1]
        h = {k: _hyper(k, v) for k, v in zip(keys, raw, strict=True)}
        self._checked[id(group)] = (raw, h)
        return h

    def _partition(self, params: list[torch.Tensor]) -> list[list[torch.Tensor]]:
        """Parameters sharing a step count (and the state they hold): one kernel call each."""
        parts: dict[tuple[Any, ...], list[torch.Tensor]] = {}
        for p in params:
            s = self.state[p]
            step = float(s.get("step", 0))
            extra = float(s.get(self._extra_name, 1.0)) if self._extra_name else 1.0
            parts.setdefault((step, extra, frozenset(s)), []).append(p)
        return list(parts.values())

    def _build(
        self, params: list[torch.Tensor], names: tuple[str, ...], h: dict[str, Any]
    ) -> tuple[_Layout, bool]:
        """New flat arrays for ``params``; existing state is copied in, the rest initialized."""
        layout = _Layout()
        layout.names = names
        states = [self.state[p] for p in params]
        fresh = False
        for name in names:
            fill = self._initial_value(name, h)
            flats = []
            for dtype in FLOAT_DTYPES:
                members = [i for i, p in enumerate(params) if p.dtype == dtype]
                if not members:
                    continue
                flat = np.empty(sum(params[i].numel() for i in members), dtype=_NUMPY[dtype])
                offset = 0
                for i in members:
                    size = params[i].numel()
                    view = flat[offset : offset + size].reshape(tuple(params[i].shape))
                    offset += size
                    old = states[i].get(name)
                    if old is None:
                        view.fill(fill)
                        fresh = True
                    else:
                        old = torch.as_tensor(old)
                        if tuple(old.shape) != view.shape:
                            raise ShapeError(
                                f"state[{name!r}]: has shape {tuple(old.shape)}, the parameter "
                                f"has shape {view.shape}"
                            )
                        view[...] = as_numpy(f"state[{name!r}]", old)
                    tensor = torch.from_numpy(view)
                    states[i][name] = tensor
                    layout.handed_out.append((states[i], name, tensor))
                flats.append(flat)
            layout.flats.append(flats)
        # Step counts and per-parameter scalars: 0-d tensors over one array, bumped at once.
        first = states[0]
        layout.step = np.full(len(params), float(first.get("step", 0)), dtype=np.float32)
        scalars: list[tuple[str, np.ndarray]] = [("step", layout.step)]
        if self._extra_name:
            layout.extra = np.full(len(params), float(first.get(self._extra_name, 1.0)))
            scalars.append((self._extra_name, layout.extra))
        for name, values in scalars:
            for i, s in enumerate(states):
                tensor = torch.from_numpy(values[i : i + 1]).view(())
                s[name] = tensor
                layout.handed_out.append((s, name, tensor))
        return layout, fresh

    def _run(
        self, params: list[torch.Tensor], layout: _Layout, h: dict[str, Any], fresh: bool
    ) -> None:
        views = []
        staged = []
        grads = []
        for i, p in enumerate(params):
            grad = p.grad
            assert grad is not None  # only parameters with gradients are passed
            if grad.layout is not torch.strided:
                raise DTypeError(
                    f"params[{i}]: gradients of layout {grad.layout} are not supported"
                )
            if p.is_contiguous():
                views.append(p.detach().numpy())
            else:  # updated in a contiguous copy, written back below
                copy = p.detach().contiguous()
                staged.append((p, copy))
                views.append(copy.numpy())
            grads.append(grad.detach().contiguous().numpy())
        step = int(layout.step[0]) + 1
        extra = float(layout.extra[0]) if self._extra_name else 1.0
        result = self._call(views, grads, layout.flats, h, step, fresh, extra)
        layout.step += 1
        if self._extra_name:
            layout.extra[...] = result
        for p, copy in staged:
            p.detach().copy_(copy)
        increment_version(params)  # the memory changed behind autograd's back


_NUMPY = {torch.float32: np.float32, torch.float64: np.float64}
_DEFAULTS: dict[type, dict[str, Any]] = {}


def _defaults(numpy_cls: type) -> dict[str, Any]:
    """The hyperparameters and defaults of a NumPy-level optimizer's constructor."""
    cached = _DEFAULTS.get(numpy_cls)
    if cached is None:
        sig = inspect.signature(numpy_cls)  # the constructor's, without self
        cached = {
            name: p.default
            for name, p in sig.parameters.items()
            if name != "params" and p.default is not inspect.Parameter.empty
        }
        _DEFAULTS[numpy_cls] = cached
    return dict(cached)


@functools.cache
def _hyper_names(numpy_cls: type) -> tuple[str, ...]:
    return tuple(_defaults(numpy_cls))


def _pop_betas(h: dict[str, Any]) -> dict[str, Any]:
    h = dict(h)
    h["beta1"], h["beta2"] = h.pop("betas")
    return h


class SGD(_FusedOptimizer):
    """``losscore.optim.SGD`` (torch's rule) as a ``torch.optim.Optimizer``.

    Arguments: ``params`` (tensors or parameter groups) and the hyperparameters of
    :class:`losscore.optim.SGD`: ``lr=1e-3, momentum=0, dampening=0, weight_decay=0,
    nesterov=False, maximize=False``.
    """

    _numpy: ClassVar[type] = _numpy_optim.SGD

    @staticmethod
    def _state_names(h: dict[str, Any]) -> tuple[str, ...]:
        return ("momentum_buffer",) if h["momentum"] != 0 else ()

    @staticmethod
    def _call(params, grads, states, h, step, fresh, extra):  # type: ignore[no-untyped-def]
        return _core.sgd_step(params, grads, states, fresh_buffers=fresh, **h)


class Adam(_FusedOptimizer):
    """``losscore.optim.Adam`` as a ``torch.optim.Optimizer``.

    Hyperparameters of :class:`losscore.optim.Adam`: ``lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0, amsgrad=False, maximize=False, decoupled_weight_decay=False``.
    """

    _numpy: ClassVar[type] = _numpy_optim.Adam

    @staticmethod
    def _state_names(h: dict[str, Any]) -> tuple[str, ...]:
        names = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")
        return names if h["amsgrad"] else names[:2]

    @staticmethod
    def _call(params, grads, states, h, step, fresh, extra):  # type: ignore[no-untyped-def]
        h = {"decoupled_weight_decay": False, **_pop_betas(h)}
        return _core.adam_step(params, grads, states, step=step, **h)


class AdamW(Adam):
    """``losscore.optim.AdamW`` (decoupled weight decay, default 1e-2) as a
    ``torch.optim.Optimizer``.

    Hyperparameters of :class:`losscore.optim.AdamW`: ``lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=1e-2, amsgrad=False, maximize=False``.
    """

    _numpy: ClassVar[type] = _numpy_optim.AdamW

    @staticmethod
    def _call(params, grads, states, h, step, fresh, extra):  # type: ignore[no-untyped-def]
        h = {**_pop_betas(h), "decoupled_weight_decay": True}
        return _core.adam_step(params, grads, states, step=step, **h)


class RMSprop(_FusedOptimizer):
    """``losscore.optim.RMSprop`` as a ``torch.optim.Optimizer``.

    Hyperparameters of :class:`losscore.optim.RMSprop`: ``lr=1e-2, alpha=0.99, eps=1e-8,
    weight_decay=0, momentum=0, centered=False, maximize=False``.
    """

    _numpy: ClassVar[type] = _numpy_optim.RMSprop

    @staticmethod
    def _state_names(h: dict[str, Any]) -> tuple[str, ...]:
        names = ["square_avg"]
        if h["momentum"] > 0:
            names.append("momentum_buffer")
        if h["centered"]:
            names.append("grad_avg")
        return tuple(names)

    @staticmethod
    def _call(params, grads, states, h, step, fresh, extra):  # type: ignore[no-untyped-def]
        return _core.rmsprop_step(params, grads, states, **h)


class Adagrad(_FusedOptimizer):
    """``losscore.optim.Adagrad`` as a ``torch.optim.Optimizer``.

    Hyperparameters of :class:`losscore.optim.Adagrad`: ``lr=1e-2, lr_decay=0, weight_decay=0,
    initial_accumulator_value=0, eps=1e-10, maximize=False``.
    """

    _numpy: ClassVar[type] = _numpy_optim.Adagrad

    @staticmethod
    def _state_names(h: dict[str, Any]) -> tuple[str, ...]:
        return ("sum",)

    @staticmethod
    def _initial_value(name: str, h: dict[str, Any]) -> float:
        return float(h["initial_accumulator_value"])

    @staticmethod
    def _call(params, grads, states, h, step, fresh, extra):  # type: ignore[no-untyped-def]
        return _core.adagrad_step(params, grads, states, step=step, **h)


class Adadelta(_FusedOptimizer):
    """``losscore.optim.Adadelta`` as a ``torch.optim.Optimizer``.

    Hyperparameters of :class:`losscore.optim.Adadelta`: ``lr=1.0, rho=0.9, eps=1e-6,
    weight_decay=0, maximize=False``.
    """

    _numpy: ClassVar[type] = _numpy_optim.Adadelta

    @staticmethod
    def _state_names(h: dict[str, Any]) -> tuple[str, ...]:
        return ("square_avg", "acc_delta")

    @staticmethod
    def _call(params, grads, states, h, step, fresh, extra):  # type: ignore[no-untyped-def]
        return _core.adadelta_step(params, grads, states, **h)


class Adamax(_FusedOptimizer):
    """``losscore.optim.Adamax`` as a ``torch.optim.Optimizer``.

    Hyperparameters of :class:`losscore.optim.Adamax`: ``lr=2e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0, maximize=False``.
    """

    _numpy: ClassVar[type] = _numpy_optim.Adamax

    @staticmethod
    def _state_names(h: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_inf")

    @staticmethod
    def _call(params, grads, states, h, step, fresh, extra):  # type: ignore[no-untyped-def]
        return _core.adamax_step(params, grads, states, step=step, **_pop_betas(h))


class NAdam(_FusedOptimizer):
    """``losscore.optim.NAdam`` as a ``torch.optim.Optimizer`` (``state["mu_product"]`` kept per
    parameter, as torch does).

    Hyperparameters of :class:`losscore.optim.NAdam`: ``lr=2e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0, momentum_decay=4e-3, decoupled_weight_decay=False, maximize=False``.
    """

    _numpy: ClassVar[type] = _numpy_optim.NAdam
    _extra_name = "mu_product"

    @staticmethod
    def _state_names(h: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq")

    @staticmethod
    def _call(params, grads, states, h, step, fresh, extra):  # type: ignore[no-untyped-def]
        return _core.nadam_step(params, grads, states, step=step, mu_product=extra, **_pop_betas(h))


class RAdam(_FusedOptimizer):
    """``losscore.optim.RAdam`` as a ``torch.optim.Optimizer``.

    Hyperparameters of :class:`losscore.optim.RAdam`: ``lr=1e-3, betas=(0.9, 0.999), eps=1e-8,
    weight_decay=0, decoupled_weight_decay=False, maximize=False``.
    """

    _numpy: ClassVar[type] = _numpy_optim.RAdam

    @staticmethod
    def _state_names(h: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg", "exp_avg_sq")

    @staticmethod
    def _call(params, grads, states, h, step, fresh, extra):  # type: ignore[no-untyped-def]
        return _core.radam_step(params, grads, states, step=step, **_pop_betas(h))


class Lion(_FusedOptimizer):
    """``losscore.optim.Lion`` (the Lion paper's update, as optax's ``lion``) as a
    ``torch.optim.Optimizer``.

    Hyperparameters of :class:`losscore.optim.Lion`: ``lr=1e-4, betas=(0.9, 0.99),
    weight_decay=0``.
    """

    _numpy: ClassVar[type] = _numpy_optim.Lion

    @staticmethod
    def _state_names(h: dict[str, Any]) -> tuple[str, ...]:
        return ("exp_avg",)

    @staticmethod
    def _call(params, grads, states, h, step, fresh, extra):  # type: ignore[no-untyped-def]
        return _core.lion_step(params, grads, states, **_pop_betas(h))


def _signature(cls: type[_FusedOptimizer]) -> inspect.Signature:
    """``(params, <the NumPy optimizer's hyperparameters>)`` for introspection and help()."""
    sig = inspect.signature(cls._numpy)
    params = inspect.Parameter(
        "params", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation="Iterable[Tensor | dict]"
    )
    rest = [p for name, p in sig.parameters.items() if name != "params"]
    return sig.replace(parameters=[params, *rest], return_annotation=inspect.Signature.empty)


for _cls in (SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta, Adamax, NAdam, RAdam, Lion):
    _cls.__signature__ = _signature(_cls)  # type: ignore[union-attr]
del _cls
