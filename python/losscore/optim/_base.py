"""The optimizer base class: parameters, hyperparameters and per-parameter state arrays.

A subclass names its state buffers and makes ONE call into Rust per step, covering every
parameter (``_core.<name>_step(params, grads, states, **hyperparameters)``); the Rust side
checks, borrows and updates all arrays in place with the GIL released. Each state buffer is one
flat array per dtype holding every parameter's buffer back to back (the per-parameter arrays
are views into it), so a step borrows two arrays per parameter instead of four.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, ClassVar

import numpy as np

from .. import _core
from ..errors import DTypeError, ParameterError, ShapeError

__all__ = ["Optimizer", "hyperparameter"]

_BOOLS = frozenset({"amsgrad", "centered", "decoupled_weight_decay", "maximize", "nesterov"})


def _canonical(name: str, value: Any) -> Any:
    """Hyperparameter values as the kernels take them: floats, bools, ``betas`` a float pair."""
    if name == "betas":
        try:
            b1, b2 = value
            return (float(b1), float(b2))
        except (TypeError, ValueError):
            raise ParameterError(f"betas: expected a pair of floats, got {value!r}") from None
    if name in _BOOLS:
        if not isinstance(value, bool | np.bool_):
            raise ParameterError(f"{name}: expected a bool, got {value!r}")
        return bool(value)
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise ParameterError(f"{name}: expected a number, got {value!r}")
    return float(value)


def hyperparameter(name: str, doc: str) -> property:
    """A settable attribute backed by ``self._hyper[name]``, validated by the kernel on set."""

    def get(self: Optimizer) -> Any:
        return self._hyper[name]

    def set_(self: Optimizer, value: Any) -> None:
        hyper = dict(self._hyper)
        hyper[name] = _canonical(name, value)
        self._validate(hyper)
        self._hyper = hyper

    return property(get, set_, doc=doc)


class Optimizer:
    """Base of losscore's optimizers (not used directly).

    Parameters are a list of float32/float64, C-contiguous, writable NumPy arrays updated in
    place; they may be given later with :meth:`bind`. State arrays (``torch.optim`` names) are
    created at the first step that needs them, in each parameter's dtype.
    """

    #: Every state buffer name the optimizer may keep.
    _STATE_NAMES: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Iterable[np.ndarray] | None, **hyper: Any) -> None:
        self._hyper: dict[str, Any] = {k: _canonical(k, v) for k, v in hyper.items()}
        self._params: list[np.ndarray] = []
        # name -> per-parameter views; name -> the flat arrays behind them (one per dtype).
        self._state: dict[str, list[np.ndarray]] = {}
        self._flat: dict[str, list[np.ndarray]] = {}
        self._step = 0
        self._pending: list[dict[str, np.ndarray]] | None = None
        self._validate(self._hyper)
        if params is not None:
            self.bind(params)

    # ---- what a subclass provides -------------------------------------------------------

    def _state_names(self) -> tuple[str, ...]:
        """The buffers the current hyperparameters need, in the kernel's order."""
        raise NotImplementedError

    def _initial_value(self, name: str) -> float:
        """The value a new state buffer starts from."""
        return 0.0

    def _call(
        self,
        params: list[np.ndarray],
        grads: list[Any],
        states: list[list[np.ndarray]],
        hyper: dict[str, Any],
        step: int,
        fresh: bool,
    ) -> Any:
        """The one kernel call; ``fresh``: some buffers were just created."""
        raise NotImplementedError

    def _extra_state(self) -> dict[str, Any]:
        return {}

    def _load_extra(self, state_dict: dict[str, Any]) -> dict[str, Any]:
        """Checked optimizer-level scalars from a state dict, applied by ``_apply_extra``."""
        return {}

    def _apply_extra(self, extra: dict[str, Any]) -> None:
        pass

    def _after_step(self, result: Any) -> None:
        pass

    # ---- public API ------------------------------------------------------------------------

    lr = hyperparameter("lr", "Learning rate (settable; schedulers change it).")

    @property
    def params(self) -> list[np.ndarray]:
        """The bound parameter arrays (updated in place by :meth:`step`)."""
        return list(self._params)

    @property
    def hyper(self) -> dict[str, Any]:
        """A copy of the hyperparameters."""
        return dict(self._hyper)

    @property
    def steps(self) -> int:
        """Number of steps taken."""
        return self._step

    def bind(self, params: Iterable[np.ndarray]) -> None:
        """Attach the parameter arrays (once). Binding the same arrays again does nothing.

        Raises
        ------
        losscore.errors.ParameterError
            If the optimizer already holds other parameters, or ``params`` is empty.
        losscore.errors.DTypeError, losscore.errors.OutputError
            If a parameter is not a float32/float64 array, not C-contiguous, read-only, or
            shares memory with another parameter.
        """
        if isinstance(params, np.ndarray):
            raise ParameterError("params: expected a list of arrays, got one array; pass [array]")
        params = list(params)
        if self._params:
            if len(params) == len(self._params) and all(
                a is b for a, b in zip(params, self._params, strict=True)
            ):
                return
            raise ParameterError(
                f"params: this optimizer already holds {len(self._params)} parameter arrays; "
                "create a new optimizer for other parameters"
            )
        if not params:
            raise ParameterError("params: got an empty list of parameters")
        _core.optim_check_params(params)
        if self._pending is not None:
            self._flat, self._state = self._buffers_from(self._pending, params)
            self._pending = None
        self._params = params

    def step(self, grads: Sequence[np.ndarray]) -> None:
        """Update every parameter in place from its gradient (same order, shapes and dtypes)."""
        params = self._params
        if not params:
            raise ParameterError(
                "no parameters: pass params to the constructor or call bind(params) first"
            )
        if isinstance(grads, np.ndarray):
            raise ParameterError("grads: expected a list of arrays, got one array; pass [array]")
        if not isinstance(grads, list):
            grads = list(grads)
        names = self._state_names()
        states = []
        created = {}
        for name in names:
            flats = self._flat.get(name)
            if flats is None:
                flats, views = created[name] = self._allocate(name, params)
            states.append(flats)
        result = self._call(params, grads, states, self._hyper, self._step + 1, bool(created))
        # Only now: a failed call leaves no half-made state behind.
        for name, (flats, views) in created.items():
            self._flat[name] = flats
            self._state[name] = views
        self._step += 1
        self._after_step(result)

    def state_dict(self) -> dict[str, Any]:
        """A copy of the hyperparameters, step count and state arrays.

        ``{"optimizer": class name, "hyper": {...}, "step": int, "state": [{name: array}, ...]}``
        (one dict per parameter, ``torch.optim`` buffer names), plus optimizer-level scalars.
        """
        if self._params:
            state = [
                {name: buffers[i].copy() for name, buffers in self._state.items()}
                for i in range(len(self._params))
            ]
        else:
            state = [{k: v.copy() for k, v in s.items()} for s in self._pending or []]
        return {
            "optimizer": type(self).__name__,
            "hyper": dict(self._hyper),
            "step": self._step,
            "state": state,
            **self._extra_state(),
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore a :meth:`state_dict` (arrays are copied). Nothing changes if it is rejected.

        Raises
        ------
        losscore.errors.ParameterError
            If it comes from another optimizer class or its hyperparameters are invalid.
        losscore.errors.ShapeError
            If its state arrays do not match the parameters.
        """
        if not isinstance(state_dict, dict):
            raise ParameterError(f"state_dict: expected a dict, got {type(state_dict).__name__}")
        kind = state_dict.get("optimizer")
        if kind != type(self).__name__:
            raise ParameterError(
                f"state_dict: saved from optimizer {kind!r}, cannot load into {type(self).__name__}"
            )
        for key in ("hyper", "step", "state"):
            if key not in state_dict:
                raise ParameterError(f"state_dict: missing key {key!r}")
        raw = state_dict["hyper"]
        if not isinstance(raw, dict) or set(raw) != set(self._hyper):
            raise ParameterError(
                f"state_dict: hyperparameters must have the keys {sorted(self._hyper)}"
            )
        hyper = {k: _canonical(k, v) for k, v in raw.items()}
        self._validate(hyper)
        step = state_dict["step"]
        if isinstance(step, bool) or not isinstance(step, int | np.integer) or step < 0:
            raise ParameterError(f"state_dict: step must be a non-negative int, got {step!r}")
        state = state_dict["state"]
        if not isinstance(state, list | tuple) or not all(isinstance(s, dict) for s in state):
            raise ParameterError("state_dict: state must be a list of dicts, one per parameter")
        extra = self._load_extra(state_dict)
        if self._params:
            flats, views = self._buffers_from(state, self._params)
            pending = None
        else:
            self._check_names(state)
            pending = [{k: np.array(v, copy=True) for k, v in s.items()} for s in state]
            flats, views = {}, {}
        self._hyper = hyper
        self._step = int(step)
        self._flat, self._state = flats, views
        self._pending = pending
        self._apply_extra(extra)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._hyper.items())
        return f"{type(self).__name__}({args})"

    # ---- helpers -------------------------------------------------------------------------------

    def _validate(self, hyper: dict[str, Any]) -> None:
        """The kernel checks the hyperparameters (same rules as a real step) on no arrays."""
        names = self._state_names_for(hyper)
        self._call([], [], [[] for _ in names], hyper, 1, False)

    def _state_names_for(self, hyper: dict[str, Any]) -> tuple[str, ...]:
        saved = self._hyper
        self._hyper = hyper
        try:
            return self._state_names()
        finally:
            self._hyper = saved

    def _check_names(self, state: Sequence[dict[str, Any]]) -> set[str]:
        names = set(state[0]) if state else set()
        for i, s in enumerate(state):
            if set(s) != names:
                raise ParameterError(
                    f"state_dict: parameter {i} has state {sorted(s)}, parameter 0 has "
                    f"{sorted(names)}"
                )
        unknown = names - set(self._STATE_NAMES)
        if unknown:
            raise ParameterError(
                f"state_dict: unknown state {sorted(unknown)} for {type(self).__name__} "
                f"(expected some of {list(self._STATE_NAMES)})"
            )
        return names

    def _allocate(
        self, name: str, params: list[np.ndarray]
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """One flat buffer per dtype present, and each parameter's view into it."""
        fill = self._initial_value(name)
        flats: list[np.ndarray] = []
        views: list[np.ndarray] = [np.empty(0)] * len(params)
        for dtype in (np.float32, np.float64):
            idx = [i for i, p in enumerate(params) if p.dtype == dtype]
            if not idx:
                continue
            flat = np.full(sum(params[i].size for i in idx), fill, dtype=dtype)
            offset = 0
            for i in idx:
                size = params[i].size
                views[i] = flat[offset : offset + size].reshape(params[i].shape)
                offset += size
            flats.append(flat)
        return flats, views

    def _buffers_from(
        self, state: Sequence[dict[str, Any]], params: list[np.ndarray]
    ) -> tuple[dict[str, list[np.ndarray]], dict[str, list[np.ndarray]]]:
        if len(state) != len(params):
            raise ShapeError(
                f"state_dict: holds state for {len(state)} parameters, the optimizer has "
                f"{len(params)}"
            )
        names = self._check_names(state)
        flats: dict[str, list[np.ndarray]] = {}
        views: dict[str, list[np.ndarray]] = {}
        for name in names:
            flats[name], views[name] = self._allocate(name, params)
        for i, (s, p) in enumerate(zip(state, params, strict=True)):
            for name in names:
                arr = np.asarray(s[name])
                if arr.dtype.kind not in "fiu":
                    raise DTypeError(
                        f"state_dict: state {name!r} of parameter {i} has dtype {arr.dtype}"
                    )
                if arr.shape != p.shape:
                    raise ShapeError(
                        f"state_dict: state {name!r} of parameter {i} has shape {arr.shape}, "
                        f"the parameter has shape {p.shape}"
                    )
                views[name][i][...] = arr
        return flats, views
