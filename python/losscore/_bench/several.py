"""Benchmark cases for the losses of several inputs: the value and the gradient of every input
in one fused pass, against PyTorch's functional loss with autograd (its best peer: scikit-learn
and NumPy have none of these) and a careful NumPy version of the same closed forms."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import losscore

from .timing import Case


def _torch_vg(name: str, inputs: list[np.ndarray], label: np.ndarray | None,
              **kw: object) -> Callable[[], object] | None:
    try:
        import torch
    except Exception:
        return None
    f = getattr(torch.nn.functional, name)
    xs = [torch.from_numpy(a).clone().requires_grad_(True) for a in inputs]
    args = [*xs[:2], torch.from_numpy(label), *xs[2:]] if label is not None else xs

    def run() -> object:
        for x in xs:
            x.grad = None
        loss = f(*args, **kw)
        loss.backward()
        return float(loss.detach()), [x.grad for x in xs]

    return run


def _gaussian_numpy(p: np.ndarray, t: np.ndarray, v: np.ndarray) -> Callable[[], object]:
    d, r, g_var = np.empty_like(p), np.empty_like(p), np.empty_like(p)
    n = p.size

    def careful() -> object:
        np.subtract(p, t, out=d)
        np.divide(d, v, out=r)  # d / v: the pred gradient before the 1/n
        value = 0.5 * (float(np.log(v).sum(dtype=np.float64)) + float(
            np.dot(d.astype(np.float64), r.astype(np.float64)))) / n
        np.multiply(d, r, out=g_var)
        np.subtract(1.0, g_var, out=g_var)
        np.divide(g_var, v, out=g_var)
        np.multiply(g_var, 0.5 / n, out=g_var)
        return value, r / n, -r / n, g_var

    return careful


def cases(quick: bool) -> list[Case]:
    """The cases; ``quick`` shrinks the sizes about tenfold."""
    rng = np.random.default_rng(0)
    dtype = np.float32
    out: list[Case] = []
    vg = losscore.value_and_grad
    n = 1_000_000 if quick else 10_000_000
    p, t = (rng.standard_normal(n).astype(dtype) for _ in range(2))
    var = rng.uniform(0.1, 2.0, n).astype(dtype)
    fused = vg(losscore.gaussian_nll, argnums=(0, 1, 2))
    bufs = tuple(np.empty_like(p) for _ in range(3))
    contenders: dict[str, Callable[[], object]] = {
        "losscore": lambda: fused(p, t, var, out=bufs),
        "numpy-careful": _gaussian_numpy(p, t, var),
    }
    if (tv := _torch_vg("gaussian_nll_loss", [p, t, var], None)) is not None:
        contenders["torch"] = tv
    out.append(Case("several", "gaussian_nll value+3 grads", "float32", n, contenders,
                    baseline="torch"))

    y = np.where(rng.random(n) < 0.5, -1.0, 1.0).astype(dtype)
    ranking = vg(losscore.margin_ranking, argnums=(0, 1))
    pair_bufs = (np.empty_like(p), np.empty_like(p))
    contenders = {"losscore": lambda: ranking(p, t, y, margin=0.1, out=pair_bufs)}
    if (tv := _torch_vg("margin_ranking_loss", [p, t], y, margin=0.1)) is not None:
        contenders["torch"] = tv
    out.append(Case("several", "margin_ranking value+2 grads", "float32", n, contenders,
                    baseline="torch"))

    rows, dim = (100_000, 10) if quick else (1_000_000, 10)
    a, b, c = (rng.standard_normal((rows, dim)).astype(dtype) for _ in range(3))
    labels = np.where(rng.random(rows) < 0.5, -1.0, 1.0).astype(dtype)
    cosine = vg(losscore.cosine_embedding, argnums=(0, 1))
    row_bufs = tuple(np.empty_like(a) for _ in range(3))
    contenders = {"losscore": lambda: cosine(a, b, labels, out=row_bufs[:2])}
    if (tv := _torch_vg("cosine_embedding_loss", [a, b], labels)) is not None:
        contenders["torch"] = tv
    out.append(Case("several", f"cosine_embedding ({rows}, {dim}) value+2 grads", "float32",
                    a.size, contenders, baseline="torch"))

    triplet = vg(losscore.triplet_margin, argnums=(0, 1, 2))
    contenders = {"losscore": lambda: triplet(a, b, c, out=row_bufs)}
    if (tv := _torch_vg("triplet_margin_loss", [a, b, c], None)) is not None:
        contenders["torch"] = tv
    out.append(Case("several", f"triplet_margin ({rows}, {dim}) value+3 grads", "float32",
                    a.size, contenders, baseline="torch"))
    return out
