"""Shared helpers of the models: dtype and input checks, initializers, state dicts."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import DTypeError, ParameterError, ShapeError


def model_dtype(dtype: Any) -> np.dtype:
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise DTypeError(f"dtype: expected float32 or float64, got {dtype!r}") from None
    if dt not in (np.float32, np.float64):
        raise DTypeError(f"dtype: expected float32 or float64, got {dt}")
    return dt


def positive_int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ParameterError(f"{name}: expected a positive integer, got {value!r}")
    return int(value)


def as_input(X: Any, in_features: int, dtype: np.dtype) -> np.ndarray:
    """``X`` as a C-contiguous 2-D array of ``dtype`` with ``in_features`` columns."""
    X = np.asarray(X)
    if X.dtype != dtype or not X.flags.c_contiguous:
        if X.dtype.kind not in "biuf":
            raise DTypeError(f"X: expected a numeric array, got dtype {X.dtype}")
        X = np.ascontiguousarray(X, dtype=dtype)
    if X.ndim != 2 or X.shape[1] != in_features:
        raise ShapeError(
            f"X must have shape (n_samples, {in_features}), got shape {X.shape}"
        )
    return X


def uniform_init(
    rng: np.random.Generator, fan_in: int, fan_out: int, scheme: str, dtype: np.dtype
) -> np.ndarray:
    """He-uniform (``limit = sqrt(6 / fan_in)``) or Glorot-uniform
    (``limit = sqrt(6 / (fan_in + fan_out))``) weights of shape ``(fan_in, fan_out)``."""
    denom = fan_in if scheme == "he" else fan_in + fan_out
    limit = np.sqrt(6.0 / denom)
    return np.ascontiguousarray(rng.uniform(-limit, limit, size=(fan_in, fan_out)), dtype=dtype)


def load_into(params: dict[str, np.ndarray], state: Any) -> None:
    """Copy ``state[name]`` into each parameter in place (so optimizers keep their binding)."""
    if not hasattr(state, "keys"):
        raise ParameterError(f"state_dict: expected a mapping, got {type(state).__name__}")
    missing = sorted(set(params) - set(state.keys()))
    extra = sorted(set(state.keys()) - set(params))
    if missing or extra:
        raise ParameterError(
            f"state_dict: keys do not match the model (missing {missing}, unexpected {extra})"
        )
    arrays = {}
    for name, p in params.items():
        value = np.asarray(state[name])
        if value.shape != p.shape:
            raise ShapeError(
                f"state_dict[{name!r}] must have shape {p.shape}, got shape {value.shape}"
            )
        if value.dtype.kind not in "biuf":
            raise DTypeError(f"state_dict[{name!r}]: expected numbers, got dtype {value.dtype}")
        arrays[name] = value
    for name, p in params.items():  # everything checked: now write
        np.copyto(p, arrays[name], casting="unsafe")
