"""Tensors in and out of NumPy without copies: CPU only, checked once, named in every error."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..errors import DeviceError, DTypeError

__all__ = ["FLOAT_DTYPES", "as_numpy", "check_device", "float_view"]

FLOAT_DTYPES = (torch.float32, torch.float64)


def check_device(name: str, t: torch.Tensor) -> None:
    """losscore reads host memory: anything but a CPU tensor is refused, naming its device."""
    if not t.is_cpu:
        raise DeviceError(
            f"{name}: losscore computes on the CPU, got a tensor on device '{t.device}'; "
            "move it with .cpu() first"
        )


def as_numpy(name: str, t: torch.Tensor) -> np.ndarray:
    """A NumPy view of a CPU tensor's memory (strides kept; no copy)."""
    if not t.is_cpu:
        check_device(name, t)
    if t.layout is not torch.strided:
        raise DTypeError(f"{name}: expected a dense (strided) tensor, got layout {t.layout}")
    try:
        return t.detach().numpy()
    except RuntimeError:
        # A lazily negated or conjugated view has no NumPy equivalent: materialize it.
        return t.detach().resolve_neg().resolve_conj().numpy()
    except TypeError:
        raise DTypeError(f"{name}: losscore cannot read tensors of dtype {t.dtype}") from None


def float_view(name: str, t: Any) -> np.ndarray:
    """The NumPy view of a float32/float64 CPU tensor (the differentiated argument)."""
    if not isinstance(t, torch.Tensor):
        raise DTypeError(f"{name}: expected a torch.Tensor, got {type(t).__name__}")
    if not t.is_cpu:
        check_device(name, t)
    if t.dtype not in FLOAT_DTYPES:
        raise DTypeError(f"{name}: expected a float32 or float64 tensor, got {t.dtype}")
    return as_numpy(name, t)
