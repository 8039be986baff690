"""The training layer: :func:`fit`, :class:`History`, callbacks and early stopping.

Examples
--------
>>> from losscore.training import fit, History, EarlyStopping
>>> EarlyStopping(patience=3).patience
3
"""

from __future__ import annotations

from .callbacks import Callback, EarlyStopping, GradientMonitor, PrintProgress
from .fit import fit
from .history import History

__all__ = ["Callback", "EarlyStopping", "GradientMonitor", "History", "PrintProgress", "fit"]
