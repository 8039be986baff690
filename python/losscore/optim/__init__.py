"""Optimizers: in-place, fused update steps over lists of NumPy arrays (``torch.optim`` rules).

>>> import numpy as np, losscore
>>> w = np.zeros(3)
>>> opt = losscore.optim.SGD([w], lr=0.5)
>>> opt.step([np.ones(3)])
>>> w
array([-0.5, -0.5, -0.5])
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
