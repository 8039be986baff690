"""losscore: fast, deterministic loss functions, fused gradients and optimizer steps for NumPy.

The kernels are Rust (SIMD chosen at run time, multithreaded, GIL released); results are bitwise
identical for any thread count.

>>> import numpy as np, losscore
>>> losscore.mse(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
2.0
"""

from __future__ import annotations

from . import errors, gbdt, losses, models, optim
from ._core import __version__
from .accumulator import Accumulator
from .evaluation import evaluate
from .gradients import grad, grad_hess, value_and_grad, value_grad_hess

# The loss functions: each family module's __all__ lists its losses.
from .losses.binary import *  # noqa: F403
from .losses.classification import *  # noqa: F403
from .losses.deviance import *  # noqa: F403
from .losses.focal import *  # noqa: F403
from .losses.gaussian import *  # noqa: F403
from .losses.multilabel import *  # noqa: F403
from .losses.ranking import *  # noqa: F403
from .losses.regression import *  # noqa: F403
from .losses.softmax import *  # noqa: F403
from .runtime import available_isas, get_num_threads, isa, set_num_threads
from .training import History, fit


def __getattr__(name: str) -> object:
    # ``losscore.estimators`` needs scikit-learn: imported on first use, not with losscore.
    if name == "estimators":
        import importlib

        return importlib.import_module(".estimators", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = [
    "Accumulator",
    "History",
    "__version__",
    "available_isas",
    "errors",
    "evaluate",
    "fit",
    "gbdt",
    "get_num_threads",
    "grad",
    "grad_hess",
    "isa",
    "losses",
    "models",
    "optim",
    "set_num_threads",
    "value_and_grad",
    "value_grad_hess",
]
__all__ += losses.binary.__all__
__all__ += losses.classification.__all__
__all__ += losses.gaussian.__all__
__all__ += losses.ranking.__all__
__all__ += losses.focal.__all__
__all__ += losses.multilabel.__all__
__all__ += losses.deviance.__all__
__all__ += losses.regression.__all__
__all__ += losses.softmax.__all__
