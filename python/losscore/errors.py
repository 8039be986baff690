"""Exceptions raised by losscore.

Every error is a :class:`LosscoreError` and also a built-in ``ValueError`` or ``TypeError``, so
``except ValueError`` keeps working. Messages name the argument and the offending shape or value.
"""

from __future__ import annotations

__all__ = [
    "DTypeError",
    "DataError",
    "DeviceError",
    "GradientWarning",
    "LosscoreError",
    "NonFiniteError",
    "NotFittedError",
    "OutputError",
    "ParameterError",
    "ParameterTypeError",
    "ShapeError",
    "TargetError",
    "WeightError",
]


class LosscoreError(Exception):
    """Base class of every exception raised by losscore."""


class ShapeError(LosscoreError, ValueError):
    """Arrays that must agree in shape do not (no silent broadcasting)."""


class DTypeError(LosscoreError, TypeError):
    """An array has an unsupported dtype (float16, complex, object, ...)."""


class DataError(LosscoreError, ValueError):
    """Input data are unusable as given (NaN or infinity in features, ...)."""


class ParameterError(LosscoreError, ValueError):
    """A hyperparameter or option is outside its domain (unknown reduction, delta <= 0, ...)."""


class ParameterTypeError(LosscoreError, TypeError):
    """A hyperparameter has the wrong type (``delta="1"``, ``reduction=None``, ...)."""


class WeightError(LosscoreError, ValueError):
    """A weight is negative."""


class TargetError(LosscoreError, ValueError):
    """A target value is not allowed (class index out of range, label not in {-1, 1}, ...)."""


class NonFiniteError(LosscoreError, ValueError):
    """A result that must be finite is not (``clip_grad_norm(..., error_if_nonfinite=True)``)."""


class OutputError(LosscoreError, ValueError):
    """An ``out=`` buffer is read-only, non-contiguous, or shares memory with an input."""


class NotFittedError(LosscoreError, ValueError, AttributeError):
    """An estimator is used before ``fit`` (scikit-learn's class is mixed in when loaded)."""


class DeviceError(LosscoreError, TypeError):
    """A framework tensor lives on a device losscore cannot read (losscore computes on the CPU)."""
class GradientWarning(LosscoreError, UserWarning):
    """Gradient norms exploded (too large or non-finite) or vanished during training
    (:class:`losscore.training.callbacks.GradientMonitor`)."""
