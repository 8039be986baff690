"""losscore inside PyTorch code: every loss on CPU tensors with a fused autograd backward, and
every optimizer as a ``torch.optim.Optimizer`` taking losscore's fused step.

Tensors are shared with losscore without copies (float32/float64, CPU). A torch CPU training loop
switches by changing two imports:

>>> import torch
>>> import losscore.torch as lct
>>> torch.manual_seed(0)  # doctest: +ELLIPSIS
<torch._C.Generator object at ...>
>>> model = torch.nn.Linear(4, 3)
>>> opt = lct.optim.AdamW(model.parameters(), lr=1e-2)
>>> x, y = torch.randn(32, 4), torch.randint(0, 3, (32,))
>>> first = lct.cross_entropy(model(x), y).item()
>>> for _ in range(50):
...     opt.zero_grad()
...     loss = lct.cross_entropy(model(x), y)
...     loss.backward()
...     opt.step()
>>> loss.item() < first
True
"""

from __future__ import annotations

try:
    import torch as _torch  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without torch
    raise ImportError("losscore.torch needs PyTorch: pip install 'losscore[torch]'") from exc

from typing import Any

from . import losses, optim
from .losses import *  # noqa: F403
from .losses import __all__ as _losses

__all__ = ["losses", "optim", *_losses]


def __getattr__(name: str) -> Any:
    """Only for type checkers, which cannot see the generated losses re-exported above."""
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
