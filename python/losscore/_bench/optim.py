"""Benchmark cases for the optimizers: one ``step`` on pre-built arrays.

Contenders: ``losscore`` (one fused Rust pass over all parameters), ``numpy-naive`` (the
textbook expressions, allocating temporaries), ``numpy-careful`` (in-place ufuncs into one
preallocated scratch buffer, the best plain NumPy can do), and ``torch`` (``fused=True``) when
PyTorch is installed.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from .. import optim
from .timing import Case

__all__ = ["cases"]

LR, B1, B2, EPS = 1e-3, 0.9, 0.999, 1e-8


def _arrays(sizes: list[int], dtype: str, seed: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(n).astype(dtype) for n in sizes]
    grads = [rng.standard_normal(n).astype(dtype) for n in sizes]
    return params, grads


def _adam_numpy(sizes: list[int], dtype: str, careful: bool) -> Callable[[], object]:
    params, grads = _arrays(sizes, dtype, 1)
    ms = [np.zeros_like(p) for p in params]
    vs = [np.zeros_like(p) for p in params]
    scratch = [np.empty_like(p) for p in params]
    t = 10  # a fixed step: bias corrections are scalars either way
    bc1, bc2 = 1 - B1**t, 1 - B2**t
    step_size, inv_bc2 = LR / bc1, 1 / math.sqrt(bc2)

    def naive() -> None:
        for p, g, m, v in zip(params, grads, ms, vs, strict=True):
            m[:] = B1 * m + (1 - B1) * g
            v[:] = B2 * v + (1 - B2) * g * g
            p -= LR * (m / bc1) / (np.sqrt(v / bc2) + EPS)

    def careful() -> None:
        for p, g, m, v, tmp in zip(params, grads, ms, vs, scratch, strict=True):
            m *= B1
            np.multiply(g, 1 - B1, out=tmp)
            m += tmp
            v *= B2
            np.multiply(g, g, out=tmp)
            tmp *= 1 - B2
            v += tmp
            np.sqrt(v, out=tmp)
            tmp *= inv_bc2
            tmp += EPS
            np.divide(m, tmp, out=tmp)
            tmp *= step_size
            p -= tmp

    return careful if careful else naive


def _adam_losscore(sizes: list[int], dtype: str) -> Callable[[], object]:
    params, grads = _arrays(sizes, dtype, 1)
    opt = optim.Adam(params, lr=LR)
    return lambda: opt.step(grads)


def _adam_torch(sizes: list[int], dtype: str) -> Callable[[], object] | None:
    try:
        import torch
    except ImportError:
        return None
    params, grads = _arrays(sizes, dtype, 1)
    tp = [torch.nn.Parameter(torch.from_numpy(p)) for p in params]
    for p, g in zip(tp, grads, strict=True):
        p.grad = torch.from_numpy(g)
    opt = torch.optim.Adam(tp, lr=LR, fused=True)
    return opt.step


def _sgd(sizes: list[int], dtype: str) -> dict[str, Callable[[], object]]:
    mu = 0.9
    lp, lg = _arrays(sizes, dtype, 2)
    opt = optim.SGD(lp, lr=LR, momentum=mu)
    opt.step(lg)  # past the first step: the buffer update is the steady-state one

    params, grads = _arrays(sizes, dtype, 2)
    bufs = [g.copy() for g in grads]
    scratch = [np.empty_like(p) for p in params]

    def naive() -> None:
        for p, g, b in zip(params, grads, bufs, strict=True):
            b[:] = mu * b + g
            p -= LR * b

    def careful() -> None:
        for p, g, b, tmp in zip(params, grads, bufs, scratch, strict=True):
            b *= mu
            b += g
            np.multiply(b, LR, out=tmp)
            p -= tmp

    out: dict[str, Callable[[], object]] = {
        "losscore": lambda: opt.step(lg),
        "numpy-naive": naive,
        "numpy-careful": careful,
    }
    try:
        import torch
    except ImportError:
        return out
    tparams, tgrads = _arrays(sizes, dtype, 2)
    tp = [torch.nn.Parameter(torch.from_numpy(p)) for p in tparams]
    for p, g in zip(tp, tgrads, strict=True):
        p.grad = torch.from_numpy(g)
    topt = torch.optim.SGD(tp, lr=LR, momentum=mu)
    topt.step()
    out["torch"] = topt.step
    return out


def _clip(sizes: list[int], dtype: str) -> dict[str, Callable[[], object]]:
    _, grads = _arrays(sizes, dtype, 3)

    def careful() -> float:
        total = math.sqrt(sum(float(np.dot(g, g)) for g in grads))
        coef = min(1e9 / (total + 1e-6), 1.0)  # never clips: the grads stay as they are
        if coef < 1.0:
            for g in grads:
                g *= coef
        return total

    def naive() -> float:
        return float(np.sqrt(sum(np.sum(g.astype(np.float64) ** 2) for g in grads)))

    return {
        "losscore": lambda: optim.clip_grad_norm(grads, 1e9),
        "numpy-naive": naive,
        "numpy-careful": careful,
    }


def _adam_case(name: str, sizes: list[int], dtype: str) -> Case:
    contenders: dict[str, Callable[[], object]] = {
        "losscore": _adam_losscore(sizes, dtype),
        "numpy-naive": _adam_numpy(sizes, dtype, careful=False),
        "numpy-careful": _adam_numpy(sizes, dtype, careful=True),
    }
    torch_step = _adam_torch(sizes, dtype)
    if torch_step is not None:
        contenders["torch"] = torch_step
    # parameter, gradient, m, v read; parameter, m, v written
    return Case("optim", name, dtype, sum(sizes), contenders, bytes_per_element=7 * 4)


def cases(quick: bool) -> list[Case]:
    """Adam on one big array and on many small ones, SGD momentum, and the clip norm."""
    big = 10**6 if quick else 10**7
    many = [1000] * 200
    dtype = "float32"
    return [
        _adam_case(f"adam {big:.0e}", [big], dtype),
        _adam_case("adam 200x1000", many, dtype),
        # parameter, gradient, momentum read; parameter, momentum written
        Case("optim", f"sgd-momentum {big:.0e}", dtype, big, _sgd([big], dtype),
             bytes_per_element=5 * 4),
        Case("optim", f"clip_grad_norm {big:.0e}", dtype, big, _clip([big], dtype)),
    ]
