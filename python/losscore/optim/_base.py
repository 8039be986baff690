"""The optimizer base class: parameter groups, their hyperparameters and the state arrays.

Parameters are organised in ``torch.optim``-style groups (``param_groups``: dicts holding
``"params"`` and that group's hyperparameters). A step is ONE call into Rust for every group:
``_core.<name>_step(params, grads, states, groups)`` with the parameters of all groups in order
and the ``param_groups`` dicts themselves (plus each group's step count where the rule needs
one); the Rust side reads and type-checks every group's hyperparameters, checks, borrows and
updates all arrays in place with the GIL released. Each state buffer is
one flat array per dtype holding every parameter's buffer back to back (the per-parameter arrays
are views into it), so a step borrows two arrays per parameter instead of four.

``foreach``, ``fused``, ``capturable`` and ``differentiable`` are accepted for compatibility
with ``torch.optim`` and have no effect: every step is already one fused pass over all
parameters, there is no device to capture for, and no autograd graph to differentiate through.
"""

from __future__ import annotations

import difflib
import inspect
import threading
from collections.abc import Iterable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, ClassVar

import numpy as np

from .. import _core
from ..errors import DTypeError, ParameterError, ParameterTypeError, ShapeError
from .clip import _number as _clip_number

__all__ = ["Optimizer", "hyperparameter"]

_BOOLS = frozenset({"amsgrad", "centered", "decoupled_weight_decay", "maximize", "nesterov"})
_STEP_ENTRY = threading.Lock()
_OVERLAP = (
    "step: another thread is running a step of this optimizer; the steps of one optimizer "
    "must not overlap (serialize them, e.g. with a lock)"
)
_NO_OP_FLAGS = frozenset({"foreach", "fused", "capturable", "differentiable"})
_NATIVE_FLOATS = frozenset({np.dtype(np.float32).str, np.dtype(np.float64).str})
#: Keys schedulers keep in a group besides the hyperparameters (``torch.optim`` names).
_SCHEDULER_KEYS = frozenset({"initial_lr", "max_lr", "min_lr", "max_momentum", "base_momentum"})


def _canonical(where: str, name: str, value: Any) -> Any:
    """A hyperparameter as the kernels take it: float, bool, or ``betas`` a float pair.

    ``where`` names the value in messages (``"lr"``, ``"param_groups[1]['lr']"``).
    """
    if name == "betas":
        if isinstance(value, str | bytes) or not isinstance(value, Sequence | np.ndarray):
            raise ParameterTypeError(f"{where}: expected a pair of floats, got {value!r}")
        if len(value) != 2:
            raise ParameterError(f"{where}: expected a pair of floats, got {value!r}")
        return tuple(_canonical(f"{where}[{i}]", "", v) for i, v in enumerate(value))
    if name in _BOOLS:
        if not isinstance(value, bool | np.bool_):
            raise ParameterTypeError(f"{where}: expected a bool, got {value!r}")
        return bool(value)
    if isinstance(value, bool | np.bool_) or not isinstance(
        value, int | float | np.integer | np.floating
    ):
        raise ParameterTypeError(f"{where}: expected a number, got {value!r}")
    try:
        return float(value)
    except OverflowError:
        raise ParameterError(
            f"{where}: an integer of {int(value).bit_length()} bits is too large for a float"
        ) from None


def _check_no_ops(flags: dict[str, Any]) -> None:
    for name, value in flags.items():
        if value is not None and not isinstance(value, bool):
            raise ParameterTypeError(f"{name}: expected a bool or None, got {value!r}")


def hyperparameter(name: str, doc: str) -> property:
    """An attribute for ``name`` over every group: reading gives the first group's value (the
    constructor default before parameters are bound); setting validates and sets every group
    and the default."""

    def get(self: Optimizer) -> Any:
        groups = self.param_groups
        return groups[0][name] if groups else self.defaults[name]

    def set_(self: Optimizer, value: Any) -> None:
        self._assign_hyper(name, value)

    return property(get, set_, doc=doc)


def _all_hyper_names() -> frozenset[str]:
    """Every hyperparameter any optimizer takes (to refuse one this optimizer lacks)."""
    names: set[str] = set()
    todo = list(Optimizer.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        names.update(inspect.signature(cls.__init__).parameters)
    return frozenset(names - {"self", "params", *_NO_OP_FLAGS})


class Optimizer:
    """Base of losscore's optimizers (not used directly).

    ``params`` is a list of float32/float64, C-contiguous, writable NumPy arrays updated in
    place, or a list of parameter groups (dicts with ``"params"`` and any hyperparameter to
    override for that group); they may be given later with :meth:`bind`. State arrays
    (``torch.optim`` names) are created at the first step that needs them, in each parameter's
    dtype. Each group counts its own steps (bias corrections use the group's count).
    """

    #: Every state buffer name the optimizer may keep, in the kernel's buffer order.
    _STATE_NAMES: ClassVar[tuple[str, ...]] = ()
    #: Whether ``state_dict`` lists ``step`` per parameter (torch's SGD keeps no step: a
    #: parameter has an entry only once it has a buffer).
    _STEP_IN_STATE: ClassVar[bool] = True
    #: Per-group scalars kept besides the step count, with their initial values.
    _GROUP_SCALARS: ClassVar[dict[str, float]] = {}

    def __init__(
        self,
        params: Iterable[Any] | None,
        *,
        foreach: bool | None = None,
        fused: bool | None = None,
        capturable: bool | None = False,
        differentiable: bool | None = False,
        **defaults: Any,
    ) -> None:
        _check_no_ops(
            {
                "foreach": foreach,
                "fused": fused,
                "capturable": capturable,
                "differentiable": differentiable,
            }
        )
        self.defaults: dict[str, Any] = {k: _canonical(k, k, v) for k, v in defaults.items()}
        # What the kernel reads; a scheduler may add keys of its own to defaults and groups.
        self._hyper_keys: tuple[str, ...] = tuple(self.defaults)
        self._check_hyper(self.defaults)
        #: ``torch.optim`` layout: one dict per group, ``"params"`` plus its hyperparameters.
        self.param_groups: list[dict[str, Any]] = []
        self._params: list[np.ndarray] = []
        # Per group: "step", the buffers it has used ("buffers"), and _GROUP_SCALARS.
        self._group_state: list[dict[str, Any]] = []
        # name -> per-parameter views; name -> the flat arrays behind them (one per dtype).
        self._state: dict[str, list[np.ndarray]] = {}
        self._flat: dict[str, list[np.ndarray]] = {}
        # The kernel's ``states`` argument: the flat buffers of each state, in kernel order.
        self._states_arg: list[list[np.ndarray]] = [[] for _ in self._STATE_NAMES]
        self._step = 0
        self._pending: dict[str, Any] | None = None
        if params is not None:
            self.bind(params)

    # ---- hyperparameters as attributes ---------------------------------------------------

    def __getattr__(self, name: str) -> Any:
        # Only reached when normal lookup fails: a hyperparameter without its own property
        # (opt.weight_decay, opt.eps) reads the first group's value, like opt.lr.
        hyper = self.__dict__.get("_hyper_keys", ())
        if name in hyper:
            groups = self.__dict__["param_groups"]
            return groups[0][name] if groups else self.__dict__["defaults"][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __setattr__(self, name: str, value: Any) -> None:
        hyper = self.__dict__.get("_hyper_keys")
        if hyper is not None and not name.startswith("_"):
            if name in hyper:
                # Every hyperparameter assigned on the optimizer sets every group (as lr does).
                self._assign_hyper(name, value)
                return
            if name not in self.__dict__ and not hasattr(type(self), name):
                self._refuse_unknown(name, hyper)
        object.__setattr__(self, name, value)

    def _refuse_unknown(self, name: str, hyper: tuple[str, ...]) -> None:
        """A hyperparameter of another optimizer, or a near miss of one of ours, would be
        silently ignored as a plain attribute: refused. Other new attributes are allowed."""
        kind = type(self).__name__
        if name in _all_hyper_names():
            raise AttributeError(
                f"{kind} has no hyperparameter {name!r} (its hyperparameters: {list(hyper)})"
            )
        close = difflib.get_close_matches(name, hyper, n=1, cutoff=0.8)
        if close:
            raise AttributeError(
                f"{kind} has no hyperparameter {name!r}; did you mean {close[0]!r}?"
            )

    def _assign_hyper(self, name: str, value: Any) -> None:
        """Validate ``value`` against every group (with that group's other hyperparameters),
        then set it in every group and in the defaults."""
        value = _canonical(name, name, value)
        self._check_hyper({**self.defaults, name: value})
        for group in self.param_groups:
            self._check_hyper({**{k: group[k] for k in self._hyper_keys}, name: value})
        self.defaults[name] = value
        for group in self.param_groups:
            group[name] = value

    # ---- what a subclass provides -------------------------------------------------------

    #: ``_core.<name>_step``.
    _kernel: ClassVar[Any]
    #: The kernel's ``grad_scale`` while a clipped step runs (empty otherwise).
    _scaling: Mapping[str, float] = MappingProxyType({})

    def _state_names(self, group: dict[str, Any]) -> tuple[str, ...]:
        """The buffers a group with these hyperparameters needs, in the kernel's order."""
        return self._STATE_NAMES

    def _initial_value(self, name: str, group: dict[str, Any]) -> float:
        """The value a new state buffer starts from for a parameter of ``group``."""
        return 0.0

    def _call(
        self,
        params: list[np.ndarray],
        grads: list[Any],
        states: list[list[np.ndarray]],
        groups: list[dict[str, Any]],
        gstates: list[dict[str, Any]],
    ) -> Any:
        """The one kernel call. The kernel reads each group dict as it is (hyperparameters by
        name, type-checked in Rust); this default passes the step each group is about to take."""
        steps = [g["step"] + 1 for g in gstates]
        return self._kernel(params, grads, states, groups, steps, **self._scaling)

    def _after_step(self, result: Any) -> None:
        pass

    # ---- public API ------------------------------------------------------------------------

    lr = hyperparameter("lr", "Learning rate of every group (settable; sets every group).")

    @property
    def params(self) -> list[np.ndarray]:
        """The bound parameter arrays of all groups, in order (updated in place by :meth:`step`)."""
        return list(self._params)

    @property
    def hyper(self) -> dict[str, Any]:
        """A copy of the default hyperparameters (what a new group gets)."""
        return {k: self.defaults[k] for k in self._hyper_keys}

    @property
    def steps(self) -> int:
        """Number of steps taken."""
        return self._step

    def bind(self, params: Iterable[Any]) -> None:
        """Attach the parameters (once): a list of arrays, or a list of parameter groups.
        Binding the same arrays again does nothing.

        Raises
        ------
        losscore.errors.ParameterError
            If the optimizer already holds other parameters, ``params`` is empty, a group has an
            unknown key, or an array appears twice.
        losscore.errors.DTypeError, losscore.errors.OutputError
            If a parameter is not a float32/float64 array, not C-contiguous, read-only, or
            shares memory with another parameter.
        """
        if isinstance(params, np.ndarray):
            raise ParameterError("params: expected a list of arrays, got one array; pass [array]")
        if isinstance(params, dict):
            raise ParameterError("params: expected a list of arrays or of groups; pass [group]")
        items = list(params)
        if self._params:
            flat = _flatten(items)
            if len(flat) == len(self._params) and all(
                a is b for a, b in zip(flat, self._params, strict=True)
            ):
                return
            raise ParameterError(
                f"params: this optimizer already holds {len(self._params)} parameter arrays; "
                "create a new optimizer for other parameters"
            )
        if not items:
            raise ParameterError("params: got an empty list of parameters")
        if not all(isinstance(g, dict) for g in items):
            if any(isinstance(g, dict) for g in items):
                raise ParameterError("params: mixes arrays and parameter groups")
            items = self._split_like_pending(items)
        groups: list[dict[str, Any]] = []
        offset = 0
        for i, g in enumerate(items):
            groups.append(self._new_group(g, i, offset))
            offset += len(groups[-1]["params"])
        flat = [p for g in groups for p in g["params"]]
        _check_distinct(groups)
        if not flat:
            raise ParameterError("params: got an empty list of parameters")
        _core.optim_check_params(flat)
        self.param_groups = groups
        self._params = flat
        self._group_state = [self._fresh_group_state() for _ in groups]
        if self._pending is not None:
            pending, self._pending = self._pending, None
            try:
                self.load_state_dict(pending)
            except Exception:
                self.param_groups, self._params, self._group_state = [], [], []
                self._pending = pending
                raise

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group: ``{"params": [arrays], <hyperparameter>: value, ...}``; the missing
        hyperparameters take the constructor's values. Existing state is kept.

        Raises
        ------
        losscore.errors.ParameterError
            On an unknown key, or an array already in a group.
        """
        if not isinstance(param_group, dict):
            raise ParameterTypeError(
                f"param_group: expected a dict with 'params', got {type(param_group).__name__}"
            )
        index = len(self.param_groups)
        group = self._new_group(param_group, index, len(self._params))
        flat = self._params + group["params"]
        _check_distinct([*self.param_groups, group])
        _core.optim_check_params(flat)
        # Grow the flat state buffers: the old parameters keep their values.
        flats: dict[str, list[np.ndarray]] = {}
        views: dict[str, list[np.ndarray]] = {}
        fills = self._fills([*self.param_groups, group])
        for name, old in self._state.items():
            flats[name], views[name] = _allocate(flat, fills[name])
            for i, arr in enumerate(old):
                views[name][i][...] = arr
        self.param_groups.append(group)
        self._params = flat
        self._group_state.append(self._fresh_group_state())
        self._set_state(flats, views)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Nothing to do: gradients are passed to :meth:`step` (kept for ``torch.optim``
        compatibility)."""

    def step(
        self, grads: Sequence[np.ndarray], *, max_grad_norm: float | None = None
    ) -> float | None:
        """Update every parameter in place from its gradient (the order of all groups'
        parameters, same shapes and dtypes). One call into Rust for all groups.

        With ``max_grad_norm``, the gradients are clipped to that global L2 norm as
        :func:`losscore.optim.clip_grad_norm` does (``g * min(max_norm / (norm + 1e-6), 1)``),
        fused into the update: one read pass for the norm, then the update pass reads ``g``
        and scales it on the fly, bitwise equal to ``clip_grad_norm(grads, max_grad_norm)``
        followed by ``step(grads)``, and the gradients are left as they are. Returns the
        total norm (before clipping) then, else ``None``.

        Steps of one optimizer must not overlap: a step started while another thread's step of
        the same optimizer runs raises :class:`~losscore.errors.ParameterError` saying so.
        """
        with _STEP_ENTRY:  # check-and-set as one: a racing step is told, never mislabelled
            if self.__dict__.get("_stepping"):
                raise ParameterError(_OVERLAP)
            self._stepping = True
        try:
            return self._step_once(grads, max_grad_norm)
        finally:
            self._stepping = False

    def _step_once(
        self, grads: Sequence[np.ndarray], max_grad_norm: float | None
    ) -> float | None:
        params = self._params
        if not params:
            raise ParameterError(
                "no parameters: pass params to the constructor or call bind(params) first"
            )
        if isinstance(grads, np.ndarray):
            raise ParameterError("grads: expected a list of arrays, got one array; pass [array]")
        if not isinstance(grads, list):
            grads = list(grads)
        groups = self.param_groups
        used = [self._state_names(g) for g in groups]
        flat = self._flat
        created: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
        for names in used:
            for name in names:
                if name not in flat and name not in created:
                    created[name] = _allocate(params, self._fills(groups)[name])
        if created:
            states = [
                flat[n] if n in flat else created[n][0] if n in created else []
                for n in self._STATE_NAMES
            ]
        else:
            states = self._states_arg
        norm: float | None = None
        if max_grad_norm is not None:
            max_norm = _clip_number("max_grad_norm", max_grad_norm)
            if not max_norm >= 0.0:
                raise ParameterError(f"max_grad_norm: must be non-negative, got {max_norm}")
            norm = _core.grad_norm(grads)
            coef = max_norm / (norm + 1e-6)  # the coefficient of clip_grad_norm, in float64
            if not coef >= 1.0:  # NaN too: clipping by a NaN norm gives NaN, as in torch
                self._scaling = {"grad_scale": coef}
        try:
            result = self._call(params, grads, states, groups, self._group_state)
        finally:
            self.__dict__.pop("_scaling", None)
        # Only now: a failed call leaves no half-made state behind.
        if created:
            self._set_state(
                {**flat, **{n: c[0] for n, c in created.items()}},
                {**self._state, **{n: c[1] for n, c in created.items()}},
            )
        for state, names in zip(self._group_state, used, strict=True):
            state["step"] += 1
            state["buffers"].update(names)
        self._step += 1
        self._after_step(result)
        return norm

    def state_dict(self) -> dict[str, Any]:
        """The ``torch.optim`` layout, with copies of the state arrays.

        ``{"state": {index: {"step": t, <buffer>: array, ...}}, "param_groups": [{<hyper>,
        "params": [index, ...]}, ...]}``: parameters are numbered across the groups in order;
        a parameter whose group has not stepped yet has no entry.
        """
        if not self._params and self._pending is not None:
            return _copy_state_dict(self._pending)
        state: dict[int, dict[str, Any]] = {}
        groups = []
        index = 0
        for group, gstate in zip(self.param_groups, self._group_state, strict=True):
            names = [n for n in self._STATE_NAMES if n in gstate["buffers"]]
            start = index
            listed = gstate["step"] > 0 if self._STEP_IN_STATE else bool(names)
            for _ in group["params"]:
                if listed:
                    entry: dict[str, Any] = {"step": gstate["step"]} if self._STEP_IN_STATE else {}
                    for name in self._GROUP_SCALARS:
                        entry[name] = gstate[name]
                    for name in names:
                        entry[name] = self._state[name][index].copy()
                    state[index] = entry
                index += 1
            saved = {k: v for k, v in group.items() if k != "params"}
            if "betas" in saved:
                saved["betas"] = tuple(saved["betas"])
            saved["params"] = list(range(start, index))
            groups.append(saved)
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (arrays are copied). Nothing changes if it is rejected.
        Before parameters are bound, it is kept and applied by :meth:`bind`.

        Raises
        ------
        losscore.errors.ParameterError
            If its layout does not match this optimizer's groups, or a value is invalid.
        losscore.errors.ShapeError
            If its state arrays do not match the parameters.
        """
        if not isinstance(state_dict, dict):
            raise ParameterTypeError(
                f"state_dict: expected a dict, got {type(state_dict).__name__}"
            )
        missing = {"state", "param_groups"} - set(state_dict)
        if missing:
            raise ParameterError(
                f"state_dict: missing key(s) {sorted(missing)}; expected torch's layout "
                "{'state': {...}, 'param_groups': [...]}"
            )
        saved_groups = state_dict["param_groups"]
        state = state_dict["state"]
        if not isinstance(saved_groups, list | tuple) or not all(
            isinstance(g, dict) for g in saved_groups
        ):
            raise ParameterError("state_dict: param_groups must be a list of dicts")
        if not isinstance(state, dict):
            raise ParameterError("state_dict: state must be a dict {parameter index: {...}}")
        hypers = []
        for i, g in enumerate(saved_groups):
            keys = set(g) - {"params"}
            hyper_keys = set(self._hyper_keys)
            if (
                not hyper_keys <= keys
                or not keys - hyper_keys <= _SCHEDULER_KEYS
                or "params" not in g
            ):
                raise ParameterError(
                    f"state_dict: param_groups[{i}] must have the keys "
                    f"{sorted([*self._hyper_keys, 'params'])} (and optionally "
                    f"{sorted(_SCHEDULER_KEYS)}), got {sorted(g)}"
                )
            hyper = {k: _canonical(f"param_groups[{i}]['{k}']", k, g[k]) for k in self._hyper_keys}
            self._check_hyper(hyper)
            hyper.update({k: g[k] for k in keys - hyper_keys})
            hypers.append(hyper)
        if not self._params:
            self._pending = _copy_state_dict(state_dict)
            if hypers:
                # Until parameters are bound, the saved first group stands for the defaults.
                self.defaults.update(hypers[0])
            return
        if len(saved_groups) != len(self.param_groups):
            raise ParameterError(
                f"state_dict: has {len(saved_groups)} parameter groups, the optimizer has "
                f"{len(self.param_groups)}"
            )
        index = 0
        group_states = []
        for i, (g, group) in enumerate(zip(saved_groups, self.param_groups, strict=True)):
            n = len(group["params"])
            if list(g["params"]) != list(range(index, index + n)):
                raise ParameterError(
                    f"state_dict: param_groups[{i}]['params'] must be the indices "
                    f"{list(range(index, index + n))} (the group holds {n} parameters), "
                    f"got {g['params']!r}"
                )
            group_states.append(self._group_state_from(state, range(index, index + n), i))
            index += n
        unknown = set(state) - set(range(index))
        if unknown:
            raise ParameterError(f"state_dict: state for unknown parameter indices {unknown}")
        names = {n for gs in group_states for n in gs["buffers"]}
        fills = self._fills(self.param_groups)
        flats: dict[str, list[np.ndarray]] = {}
        views: dict[str, list[np.ndarray]] = {}
        for name in names:
            flats[name], views[name] = _allocate(self._params, fills[name])
        for i, p in enumerate(self._params):
            for name, arr in state.get(i, {}).items():
                if name in names:
                    views[name][i][...] = _state_array(arr, name, i, p)
        for group, hyper in zip(self.param_groups, hypers, strict=True):
            group.update(hyper)
        self._group_state = group_states
        self._set_state(flats, views)
        self._step = max((gs["step"] for gs in group_states), default=0)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={self.defaults[k]!r}" for k in self._hyper_keys)
        groups = f", groups={len(self.param_groups)}" if len(self.param_groups) > 1 else ""
        return f"{type(self).__name__}({args}{groups})"

    # ---- helpers -------------------------------------------------------------------------------

    def _check_hyper(self, hyper: dict[str, Any]) -> None:
        """The kernel checks the hyperparameters (same rules as a real step) on no arrays."""
        self._call([], [], [], [{**hyper, "params": []}], [self._fresh_group_state()])

    def _set_state(
        self, flats: dict[str, list[np.ndarray]], views: dict[str, list[np.ndarray]]
    ) -> None:
        self._flat, self._state = flats, views
        self._states_arg = [flats.get(n, []) for n in self._STATE_NAMES]

    def _fresh_group_state(self) -> dict[str, Any]:
        return {"step": 0, "buffers": set(), **self._GROUP_SCALARS}

    def _new_group(self, spec: dict[str, Any], index: int, offset: int) -> dict[str, Any]:
        """A checked group: its params as a list, every hyperparameter filled in. ``offset``:
        the index of its first parameter across all groups (named in messages)."""
        if "params" not in spec:
            raise ParameterError(f"param_groups[{index}]: missing the key 'params'")
        unknown = set(spec) - {"params", *self._hyper_keys, *_SCHEDULER_KEYS}
        if unknown:
            raise ParameterError(
                f"param_groups[{index}]: unknown key(s) {sorted(unknown)} for "
                f"{type(self).__name__} (known: {sorted(self._hyper_keys)})"
            )
        params = spec["params"]
        if isinstance(params, np.ndarray):
            params = [params]
        elif isinstance(params, set | frozenset):
            raise ParameterTypeError(
                f"param_groups[{index}]['params']: a set has no order; pass a list"
            )
        params = list(params)
        for j, p in enumerate(params):
            if not isinstance(p, np.ndarray) or p.dtype.str not in _NATIVE_FLOATS:
                what = f"dtype {p.dtype}" if isinstance(p, np.ndarray) else type(p).__name__
                # Half-precision parameters would lose the small updates: keep a float32 master.
                half = isinstance(p, np.ndarray) and p.dtype.itemsize == 2 and p.dtype.kind in "fV"
                hint = (
                    "; keep a float32 master copy of half-precision parameters, step it, and "
                    "cast it to the half dtype for the forward pass"
                    if half
                    else ""
                )
                raise DTypeError(
                    f"params[{offset + j}] (param_groups[{index}]['params'][{j}]): expected a "
                    f"numpy array of dtype float32 or float64 (native byte order), got {what}"
                    f"{hint}"
                )
        group: dict[str, Any] = {"params": params}
        for k, default in self.defaults.items():
            if k in spec:
                where = f"param_groups[{index}]['{k}']"
                group[k] = _canonical(where, k, spec[k]) if k in self._hyper_keys else spec[k]
            else:
                group[k] = default
        for k in set(spec) & _SCHEDULER_KEYS - set(self.defaults):
            group[k] = _canonical(f"param_groups[{index}]['{k}']", k, spec[k])
        self._check_hyper(group)
        return group

    def _split_like_pending(self, params: list[Any]) -> list[dict[str, Any]]:
        """A plain list of arrays is one group, unless a state dict loaded before binding
        describes several groups covering exactly these arrays."""
        pending = self._pending
        if pending is not None and len(pending["param_groups"]) > 1:
            sizes = [len(g["params"]) for g in pending["param_groups"]]
            if sum(sizes) == len(params):
                out, start = [], 0
                for size in sizes:
                    out.append({"params": params[start : start + size]})
                    start += size
                return out
        return [{"params": params}]

    def _fills(self, groups: list[dict[str, Any]]) -> dict[str, list[float]]:
        """Per buffer name, the initial value of each parameter (from its group)."""
        return {
            name: [self._initial_value(name, g) for g in groups for _ in g["params"]]
            for name in self._STATE_NAMES
        }

    def _group_state_from(
        self, state: dict[Any, Any], indices: range, group_index: int
    ) -> dict[str, Any]:
        """A group's step count, scalars and buffers from the saved per-parameter entries."""
        found = [state.get(i) for i in indices]
        out = self._fresh_group_state()
        if all(e is None for e in found):
            return out
        entries: list[dict[str, Any]] = [e for e in found if isinstance(e, dict)]
        if len(entries) != len(found):
            raise ParameterError(
                f"state_dict: parameter group {group_index} has state for some parameters "
                "only (each must be a dict)"
            )
        first = entries[0]
        keys = set(first)
        for i, e in zip(indices, entries, strict=True):
            if set(e) != keys:
                raise ParameterError(
                    f"state_dict: parameter {i} has state {sorted(e)}, parameter "
                    f"{indices[0]} of the same group has {sorted(keys)}"
                )
            for name in ("step", *self._GROUP_SCALARS):
                if e.get(name) != first.get(name):
                    raise ParameterError(
                        f"state_dict: the parameters of group {group_index} must share "
                        f"{name!r}; parameter {i} has {e.get(name)!r}"
                    )
        buffers = keys - {"step", *self._GROUP_SCALARS}
        unknown = buffers - set(self._STATE_NAMES)
        if unknown:
            raise ParameterError(
                f"state_dict: unknown state {sorted(unknown)} for {type(self).__name__} "
                f"(expected some of {list(self._STATE_NAMES)})"
            )
        step: Any = first.get("step", 0 if not self._STEP_IN_STATE else None)
        if isinstance(step, np.ndarray | np.generic) and np.ndim(step) == 0:
            step = step.item()
        if isinstance(step, float) and step.is_integer():
            step = int(step)
        if isinstance(step, bool) or not isinstance(step, int | np.integer) or step < 0:
            raise ParameterError(
                f"state_dict: step of group {group_index} must be a non-negative int, got {step!r}"
            )
        out["step"] = int(step)
        out["buffers"] = set(buffers)
        for name in self._GROUP_SCALARS:
            out[name] = self._check_scalar(name, first.get(name))
        return out

    def _check_scalar(self, name: str, value: Any) -> float:
        """A saved group scalar (overridden where one exists)."""
        return float(value)


def _flatten(items: list[Any]) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, dict):
            params = item.get("params", [])
            out.extend([params] if isinstance(params, np.ndarray) else list(params))
        else:
            out.append(item)
    return out


def _check_distinct(groups: list[dict[str, Any]]) -> None:
    """An array may belong to one group only (the same array twice in one group is caught by
    the aliasing check of the binding, naming its index)."""
    where: dict[int, int] = {}
    for gi, group in enumerate(groups):
        for p in group["params"]:
            prev = where.get(id(p))
            if prev is not None and prev != gi:
                raise ParameterError(
                    f"param_groups[{gi}]: a parameter (shape {p.shape}) is already in "
                    f"param_groups[{prev}]; each array may belong to one group only"
                )
            where[id(p)] = gi


def _allocate(
    params: list[np.ndarray], fills: list[float]
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """One flat buffer per dtype present, and each parameter's view into it."""
    flats: list[np.ndarray] = []
    views: list[np.ndarray] = [np.empty(0)] * len(params)
    for dtype in (np.float32, np.float64):
        idx = [i for i, p in enumerate(params) if p.dtype == dtype]
        if not idx:
            continue
        flat = np.empty(sum(params[i].size for i in idx), dtype=dtype)
        offset = 0
        for i in idx:
            size = params[i].size
            flat[offset : offset + size] = fills[i]
            views[i] = flat[offset : offset + size].reshape(params[i].shape)
            offset += size
        flats.append(flat)
    return flats, views


def _state_array(arr: Any, name: str, index: int, param: np.ndarray) -> np.ndarray:
    arr = np.asarray(arr)
    if arr.dtype.kind not in "fiu":
        raise DTypeError(f"state_dict: state {name!r} of parameter {index} has dtype {arr.dtype}")
    if arr.shape != param.shape:
        raise ShapeError(
            f"state_dict: state {name!r} of parameter {index} has shape {arr.shape}, "
            f"the parameter has shape {param.shape}"
        )
    return arr


def _copy_state_dict(sd: dict[str, Any]) -> dict[str, Any]:
    state = sd["state"]
    return {
        "state": {
            k: {
                n: (np.array(v, copy=True) if isinstance(v, np.ndarray) else v)
                for n, v in entry.items()
            }
            if isinstance(entry, dict)
            else entry
            for k, entry in state.items()
        },
        "param_groups": [dict(g, params=list(g.get("params", []))) for g in sd["param_groups"]],
    }
