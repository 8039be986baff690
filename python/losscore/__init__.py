"""losscore: fast, deterministic loss functions, fused gradients and optimizer steps for NumPy.

The kernels are Rust (SIMD chosen at run time, multithreaded, GIL released); results are bitwise
identical for any thread count.

>>> import numpy as np, losscore
>>> losscore.mse(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
2.0
"""

from __future__ import annotations

from . import errors, estimators, models, optim
from ._core import __version__
from .accumulator import Accumulator
from .classification import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    hinge,
    kl_div,
    multi_margin,
    nll_loss,
    sigmoid_focal,
    soft_margin,
    squared_hinge,
)
from .evaluation import evaluate
from .gradients import grad, value_and_grad
from .regression import huber, log_cosh, mae, mse, pinball, poisson_nll, smooth_l1
from .runtime import available_isas, get_num_threads, isa, set_num_threads
from .training import History, fit

__all__ = [
    "Accumulator",
    "History",
    "__version__",
    "available_isas",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "errors",
    "estimators",
    "evaluate",
    "fit",
    "get_num_threads",
    "grad",
    "hinge",
    "huber",
    "isa",
    "kl_div",
    "log_cosh",
    "mae",
    "models",
    "mse",
    "multi_margin",
    "nll_loss",
    "optim",
    "pinball",
    "poisson_nll",
    "set_num_threads",
    "sigmoid_focal",
    "smooth_l1",
    "soft_margin",
    "squared_hinge",
    "value_and_grad",
]
