"""Optimizers: in-place, fused update steps over lists of NumPy arrays (``torch.optim`` rules).

Parameter groups follow the ``torch.optim`` layout: each group overrides some hyperparameters,
one ``step`` updates every group in one call into Rust, and the state dict is torch's.

Examples
--------
>>> import numpy as np, losscore
>>> w = np.zeros(3)
>>> opt = losscore.optim.SGD([w], lr=0.5)
>>> opt.step([np.ones(3)])
>>> w
array([-0.5, -0.5, -0.5])

>>> W, b = np.ones((2, 2)), np.ones(2)
>>> opt = losscore.optim.AdamW([{"params": [W]}, {"params": [b], "weight_decay": 0.0}],
...                            lr=0.1, weight_decay=0.5)
>>> [g["weight_decay"] for g in opt.param_groups]
[0.5, 0.0]
>>> opt.step([np.zeros((2, 2)), np.zeros(2)])  # zero gradients: only W decays
>>> float(W[0, 0]), float(b[0])
(0.95, 1.0)
>>> sorted(opt.state_dict()), opt.state_dict()["param_groups"][1]["params"]
(['param_groups', 'state'], [1])
"""

from __future__ import annotations

from . import lr_scheduler
from ._base import Optimizer
from .adadelta import Adadelta
from .adagrad import Adagrad
from .adam import Adam, AdamW
from .adamax import Adamax
from .clip import clip_grad_norm, clip_grad_value, grad_norm
from .lion import Lion
from .nadam import NAdam
from .radam import RAdam
from .rmsprop import RMSprop
from .sgd import SGD

__all__ = [
    "SGD",
    "Adadelta",
    "Adagrad",
    "Adam",
    "AdamW",
    "Adamax",
    "Lion",
    "NAdam",
    "Optimizer",
    "RAdam",
    "RMSprop",
    "clip_grad_norm",
    "clip_grad_value",
    "grad_norm",
    "lr_scheduler",
]
