"""Valid inputs for every loss, shared by the framework-bridge tests (float64 NumPy)."""

from __future__ import annotations

import numpy as np

N, C = 6, 4


def _signs(rng, shape):
    return np.where(rng.random(shape) < 0.5, -1.0, 1.0)


def _log_softmax(x):
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


# Valid inputs for every loss: (first argument, target, keyword arguments), float64 NumPy.
RECIPES = {
    "mse": lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C)), {}),
    "mae": lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C)), {}),
    "huber": lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C)), {"delta": 0.7}),
    "smooth_l1": lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C)), {"beta": 0.5}),
    "log_cosh": lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C)), {}),
    "pinball": lambda r: (r.normal(size=(N, C)), r.normal(size=(N, C)), {"quantile": 0.3}),
    "poisson_nll": lambda r: (r.normal(size=(N, C)), r.poisson(2.0, size=(N, C)) * 1.0, {}),
    "poisson_deviance": lambda r: (
        r.uniform(0.1, 3.0, size=(N, C)),
        r.poisson(2.0, size=(N, C)) * 1.0,
        {},
    ),
    "gamma_deviance": lambda r: (
        r.uniform(0.1, 3.0, size=(N, C)),
        r.uniform(0.1, 3.0, size=(N, C)),
        {},
    ),
    "tweedie_deviance": lambda r: (
        r.uniform(0.1, 3.0, size=(N, C)),
        r.poisson(2.0, size=(N, C)) * 1.0,
        {"power": 1.5},
    ),
    "binary_cross_entropy": lambda r: (
        r.uniform(0.05, 0.95, size=(N, C)),
        r.random((N, C)),
        {},
    ),
    "binary_cross_entropy_with_logits": lambda r: (
        r.normal(size=(N, C)),
        r.random((N, C)),
        {"pos_weight": r.uniform(0.5, 2.0, size=C)},
    ),
    "cross_entropy": lambda r: (
        r.normal(size=(N, C)),
        r.integers(0, C, size=N),
        {"label_smoothing": 0.1, "class_weight": r.uniform(0.5, 2.0, size=C)},
    ),
    "nll_loss": lambda r: (_log_softmax(r.normal(size=(N, C))), r.integers(0, C, size=N), {}),
    "kl_div": lambda r: (
        _log_softmax(r.normal(size=(N, C))),
        np.exp(_log_softmax(r.normal(size=(N, C)))),
        {},
    ),
    "hinge": lambda r: (r.normal(size=(N, C)), _signs(r, (N, C)), {}),
    "squared_hinge": lambda r: (r.normal(size=(N, C)), _signs(r, (N, C)), {}),
    "multi_margin": lambda r: (r.normal(size=(N, C)), r.integers(0, C, size=N), {"margin": 0.8}),
    "sigmoid_focal": lambda r: (r.normal(size=(N, C)), r.random((N, C)), {"gamma": 1.5}),
    "soft_margin": lambda r: (r.normal(size=(N, C)), _signs(r, (N, C)), {}),
    "softmax_focal": lambda r: (
        r.normal(size=(N, C)),
        r.integers(0, C, size=N),
        {"gamma": 1.5, "alpha": r.uniform(0.25, 1.0, size=C)},
    ),
    "multilabel_soft_margin": lambda r: (
        r.normal(size=(N, C)),
        r.random((N, C)),
        {"class_weight": r.uniform(0.5, 2.0, size=C)},
    ),
}


# Valid arguments of the losses of several inputs, in call order: (arrays, keyword arguments).
SEVERAL = {
    "gaussian_nll": lambda r: (
        [r.normal(size=(N, C)), r.normal(size=(N, C)), r.uniform(0.2, 2.0, (N, C))], {}
    ),
    "margin_ranking": lambda r: (
        [r.normal(size=(N, C)), r.normal(size=(N, C)), _signs(r, (N, C))], {"margin": 0.2}
    ),
    "cosine_embedding": lambda r: (
        [r.normal(size=(N, C)), r.normal(size=(N, C)), _signs(r, (N,))], {"margin": -0.3}
    ),
    "triplet_margin": lambda r: (
        [r.normal(size=(N, C)), r.normal(size=(N, C)), r.normal(size=(N, C))], {"swap": True}
    ),
}


def inputs(name, dtype, seed=0):
    """``(first argument, target, keyword arguments)`` of ``name`` in ``dtype``."""
    pred, target, kwargs = RECIPES[name](np.random.default_rng(seed))
    pred = pred.astype(dtype)
    if target.dtype.kind == "f":
        target = target.astype(dtype)
    kwargs = {k: v.astype(dtype) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    return pred, target, kwargs
