"""Optional peers for ``losscore bench``: PyTorch (CPU), JAX (jitted), scikit-learn's loss module.

Each is used only when importable; the bench prints which were skipped. Peers are imported
lazily so that ``losscore bench`` never pays for them when they are absent.
"""

from __future__ import annotations

import importlib
from functools import cache
from types import ModuleType

PEERS = ("torch", "jax", "sklearn")


@cache
def peer(name: str) -> ModuleType | None:
    """The imported module of a peer, or None when it is not installed."""
    try:
        module = importlib.import_module(name)
        if name == "jax":
            importlib.import_module("jax.numpy")
            module.config.update("jax_enable_x64", True)
        if name == "sklearn":
            importlib.import_module("sklearn._loss.loss")
        return module
    except Exception:
        return None


def missing() -> list[str]:
    return [name for name in PEERS if peer(name) is None]


def set_threads(n: int) -> None:
    """Give the peers that have a thread knob the same thread count as losscore."""
    torch = peer("torch")
    if torch is not None:
        torch.set_num_threads(n)


def versions() -> dict[str, str]:
    """Installed peers and their versions."""
    out = {}
    for name in PEERS:
        module = peer(name)
        if module is not None:
            out[name] = str(getattr(module, "__version__", "?"))
    return out
