"""Metrics logged by :func:`losscore.fit`: ``accuracy``, ``mse``, ``mae`` and any loss name."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..errors import ParameterError

__all__ = ["MARGIN_LOSSES", "resolve_metrics"]

#: Binary losses whose targets are -1/+1 labels.
MARGIN_LOSSES = frozenset({"hinge", "squared_hinge", "soft_margin"})

Metric = Callable[[np.ndarray, np.ndarray], float]


def accuracy_for(loss_name: str | None) -> Metric:
    """Accuracy of outputs against targets, read the way ``loss_name`` reads them.

    Several outputs per sample: ``argmax`` against integer labels (or the ``argmax`` of one-hot /
    probability targets). One output: positive when ``> 0.5`` for ``binary_cross_entropy``
    (probabilities), ``> 0`` otherwise (logits, margins); targets positive when ``> 0`` for the
    -1/+1 margin losses and ``> 0.5`` otherwise.
    """
    pred_threshold = 0.5 if loss_name == "binary_cross_entropy" else 0.0
    target_threshold = 0.0 if loss_name in MARGIN_LOSSES else 0.5

    def accuracy(out: np.ndarray, y: np.ndarray) -> float:
        if out.ndim >= 2 and out.shape[-1] > 1:
            pred = np.argmax(out, axis=-1)
            true = y if y.ndim == pred.ndim else np.argmax(y, axis=-1)
            return float(np.mean(pred == true)) if pred.size else float("nan")
        o = out.reshape(-1)
        t = np.asarray(y).reshape(-1)
        if o.size == 0:
            return float("nan")
        return float(np.mean((o > pred_threshold) == (t > target_threshold)))

    return accuracy


def _loss_metric(fn: Callable[..., Any]) -> Metric:
    def metric(out: np.ndarray, y: np.ndarray) -> float:
        return float(fn(out, y))

    return metric


def resolve_metrics(
    metrics: Any, loss_name: str | None, losses: dict[str, Callable[..., Any]]
) -> dict[str, Metric]:
    """Map each requested metric name to ``f(output, target) -> float``."""
    if isinstance(metrics, str):
        metrics = [metrics]
    try:
        names = list(metrics)
    except TypeError:
        raise ParameterError(f"metrics: expected a list of names, got {metrics!r}") from None
    resolved: dict[str, Metric] = {}
    for name in names:
        if name in ("accuracy", "acc"):
            resolved["accuracy"] = accuracy_for(loss_name)
        elif isinstance(name, str) and name in losses:
            resolved[name] = _loss_metric(losses[name])
        else:
            known = ", ".join(["accuracy", *sorted(losses)])
            raise ParameterError(f"metrics: unknown metric {name!r}; known: {known}")
    return resolved
