"""Class-target conversion that the compiled binding calls off its fast path.

The loss functions themselves live in :mod:`losscore.losses`. This module only keeps
``_class_target`` where the current extension looks it up (``losscore.classification``); it goes
away once the binding converts class targets itself.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import DTypeError, TargetError

__all__: list[str] = []

_INT64_MAX = np.iinfo(np.int64).max


def _class_target(obj: Any) -> np.ndarray:
    """Class targets off the fast path: integers become int64, floats pass (probabilities).

    Called by the binding when ``target`` is not already a C-contiguous int64 array.
    """
    try:
        arr = np.asarray(obj)
    except Exception as exc:  # ragged lists and the like
        raise DTypeError(f"target: cannot be converted to an array ({exc})") from None
    kind = arr.dtype.kind
    if kind in "iu":
        if kind == "u" and arr.dtype.itemsize == 8 and arr.size and arr.max() > _INT64_MAX:
            flat = arr.reshape(-1)
            index = int(np.argmax(flat > _INT64_MAX))
            raise TargetError(
                f"target: class index {flat[index]} is out of range (at flat index {index})"
            )
        # np.ascontiguousarray would turn a 0-d target into shape (1,).
        return np.asarray(arr, dtype=np.int64, order="C")
    if kind == "b":
        raise DTypeError("target: boolean class targets are not supported, use integers")
    return arr
