"""Dtype rules for inputs that are not already C-contiguous float32/float64 arrays.

The Rust binding calls these only when its fast path does not apply (lists, integer arrays,
non-contiguous views, other byte orders), so they may be plain and careful rather than fast.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import DTypeError


def _checked(obj: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(obj)
    except Exception as exc:  # ragged lists and the like
        raise DTypeError(f"{name}: cannot be converted to an array ({exc})") from None
    kind = arr.dtype.kind
    if arr.dtype == np.float16:
        raise DTypeError(f"{name}: float16 is not supported, use float32 or float64")
    if kind == "c":
        raise DTypeError(f"{name}: complex dtype {arr.dtype} is not supported")
    if kind not in "biuf":
        raise DTypeError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
    return arr


def as_float_array(obj: Any, name: str) -> np.ndarray:
    """float32 and float64 stay; other numbers become float64; C-contiguous, aligned, native."""
    arr = _checked(obj, name)
    dtype = np.float32 if (arr.dtype.kind == "f" and arr.dtype.itemsize == 4) else np.float64
    return np.require(arr, dtype=dtype, requirements=["C", "A"])


def as_dtype(obj: Any, name: str, dtype: np.dtype) -> np.ndarray:
    """Cast a second input to the first input's dtype, C-contiguous and aligned."""
    return np.require(_checked(obj, name), dtype=dtype, requirements=["C", "A"])
