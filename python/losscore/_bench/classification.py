"""Benchmark cases for the classification losses: losscore vs NumPy written naively and carefully.

"naive" is NumPy as users usually write it (temporaries everywhere, still the stable formulas so
that it is correct); "careful" preallocates every buffer, uses in-place ufuncs, one shared
``exp(-|x|)`` and ``np.logaddexp``-free stable forms. PyTorch (CPU autograd) joins when importable.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import losscore

from .timing import Case


def _torch():
    try:
        import torch
    except Exception:
        return None
    return torch


def _bce_logits_numpy(x: np.ndarray, t: np.ndarray) -> dict[str, Callable[[], object]]:
    n = x.size
    e = np.empty_like(x)
    a = np.empty_like(x)
    b = np.empty_like(x)
    g = np.empty_like(x)
    neg = x < 0

    def careful_value() -> float:
        np.abs(x, out=e)
        np.negative(e, out=e)
        np.exp(e, out=e)
        np.log1p(e, out=a)
        np.maximum(x, 0, out=b)
        np.add(a, b, out=a)
        np.multiply(x, t, out=b)
        np.subtract(a, b, out=a)
        return float(a.sum(dtype=np.float64)) / n

    def careful_vg() -> tuple[float, np.ndarray]:
        v = careful_value()
        # sigmoid from the shared e = exp(-|x|): 1/(1+e) for x >= 0, 1 - 1/(1+e) below.
        np.add(e, 1, out=g)
        np.reciprocal(g, out=g)
        np.subtract(1, g, out=g, where=neg)
        np.subtract(g, t, out=g)
        np.multiply(g, 1.0 / n, out=g)
        return v, g

    def naive_value() -> float:
        return float(np.mean(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))))

    def naive_vg() -> tuple[float, np.ndarray]:
        v = naive_value()
        s = np.where(x >= 0, 1 / (1 + np.exp(-np.abs(x))), np.exp(-np.abs(x)) /
                     (1 + np.exp(-np.abs(x))))
        return v, (s - t) / n

    return {"careful": careful_value, "careful_vg": careful_vg, "naive": naive_value,
            "naive_vg": naive_vg}


def _focal_numpy(x: np.ndarray, t: np.ndarray) -> dict[str, Callable[[], object]]:
    n = x.size
    alpha, dtype = 0.25, x.dtype
    e, ce, s, q, a, b, g = (np.empty_like(x) for _ in range(7))
    at = (alpha * t + (1 - alpha) * (1 - t)).astype(dtype)
    one_two_t = (1 - 2 * t).astype(dtype)
    neg = x < 0

    def careful_vg() -> tuple[float, np.ndarray]:
        np.abs(x, out=e)
        np.negative(e, out=e)
        np.exp(e, out=e)
        np.log1p(e, out=ce)
        np.maximum(x, 0, out=a)
        np.add(ce, a, out=ce)
        np.multiply(x, t, out=a)
        np.subtract(ce, a, out=ce)
        np.add(e, 1, out=s)
        np.reciprocal(s, out=s)
        np.subtract(1, s, out=s, where=neg)
        # q = 1 - p_t = s + t - 2 s t
        np.multiply(s, one_two_t, out=q)
        np.add(q, t, out=q)
        np.multiply(q, q, out=a)  # q^2
        np.multiply(ce, a, out=b)
        np.multiply(b, at, out=b)
        v = float(b.sum(dtype=np.float64)) / n
        # grad = at (q^2 (s - t) + 2 ce q s (1 - s) (1 - 2t))
        np.subtract(s, t, out=g)
        np.multiply(g, a, out=g)
        np.subtract(1, s, out=b)
        np.multiply(b, s, out=b)
        np.multiply(b, q, out=b)
        np.multiply(b, ce, out=b)
        np.multiply(b, one_two_t, out=b)
        np.multiply(b, 2, out=b)
        np.add(g, b, out=g)
        np.multiply(g, at, out=g)
        np.multiply(g, 1.0 / n, out=g)
        return v, g

    def naive_vg() -> tuple[float, np.ndarray]:
        p = 1 / (1 + np.exp(-x))
        ce_ = np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x)))
        p_t = p * t + (1 - p) * (1 - t)
        loss = at * ce_ * (1 - p_t) ** 2
        dq = p * (1 - p) * (1 - 2 * t)
        grad = at * ((1 - p_t) ** 2 * (p - t) + 2 * ce_ * (1 - p_t) * dq) / n
        return float(np.mean(loss)), grad

    return {"careful_vg": careful_vg, "naive_vg": naive_vg}


def _ce_numpy(x: np.ndarray, y: np.ndarray) -> dict[str, Callable[[], object]]:
    n = x.shape[0]
    rows = np.arange(n)
    m = np.empty((n, 1), x.dtype)
    z = np.empty_like(x)
    e = np.empty_like(x)
    s = np.empty((n, 1), x.dtype)
    g = np.empty_like(x)

    def careful_value() -> float:
        np.max(x, axis=1, out=m, keepdims=True)
        np.subtract(x, m, out=z)
        np.exp(z, out=e)
        np.sum(e, axis=1, out=s, keepdims=True)
        np.log(s, out=s)
        total = float(s.sum(dtype=np.float64)) - float(z[rows, y].sum(dtype=np.float64))
        return total / n

    def careful_vg() -> tuple[float, np.ndarray]:
        np.max(x, axis=1, out=m, keepdims=True)
        np.subtract(x, m, out=z)
        np.exp(z, out=e)
        np.sum(e, axis=1, out=s, keepdims=True)
        np.divide(e, s, out=g)
        np.log(s, out=s)
        total = float(s.sum(dtype=np.float64)) - float(z[rows, y].sum(dtype=np.float64))
        g[rows, y] -= 1
        np.multiply(g, 1.0 / n, out=g)
        return total / n, g

    def naive_value() -> float:
        zz = x - x.max(axis=1, keepdims=True)
        lse = np.log(np.exp(zz).sum(axis=1))
        return float(np.mean(lse - zz[rows, y]))

    def naive_vg() -> tuple[float, np.ndarray]:
        zz = x - x.max(axis=1, keepdims=True)
        lse = np.log(np.exp(zz).sum(axis=1))
        p = np.exp(zz - lse[:, None])
        p[rows, y] -= 1
        return float(np.mean(lse - zz[rows, y])), p / n

    return {"careful": careful_value, "careful_vg": careful_vg, "naive": naive_value,
            "naive_vg": naive_vg}


def _torch_vg(fn_name: str, x: np.ndarray, t: np.ndarray, grad: bool, **kw):
    torch = _torch()
    if torch is None:
        return None
    f = getattr(torch.nn.functional, fn_name)
    xt = torch.from_numpy(x)
    tt = torch.from_numpy(t)
    if not grad:
        def run() -> object:
            with torch.no_grad():
                return float(f(xt, tt, **kw))
        return run
    xg = xt.clone().requires_grad_(True)

    def run_grad() -> object:
        xg.grad = None
        loss = f(xg, tt, **kw)
        loss.backward()
        return float(loss.detach()), xg.grad

    return run_grad


def _torch_focal_vg(x: np.ndarray, y: np.ndarray, gamma: float):
    """Softmax focal loss as a torch user writes it (log_softmax, gather, autograd)."""
    torch = _torch()
    if torch is None:
        return None
    xg = torch.from_numpy(x).clone().requires_grad_(True)
    yt = torch.from_numpy(y)[:, None]

    def run_grad() -> object:
        xg.grad = None
        lp = torch.log_softmax(xg, dim=-1).gather(1, yt).squeeze(1)
        loss = (-((-torch.expm1(lp)) ** gamma) * lp).mean()
        loss.backward()
        return float(loss.detach()), xg.grad

    return run_grad


def cases(quick: bool) -> list[Case]:
    """The classification cases; ``quick`` shrinks the sizes about tenfold."""
    rng = np.random.default_rng(0)
    out: list[Case] = []
    vg = losscore.value_and_grad
    dtype = np.float32
    name = "float32"

    # Element-wise: BCE with logits and sigmoid focal, 10^7 elements.
    n = 1_000_000 if quick else 10_000_000
    x = (rng.standard_normal(n) * 3).astype(dtype)
    t = (rng.uniform(size=n) > 0.5).astype(dtype)
    bce = _bce_logits_numpy(x, t)
    bce_out = np.empty_like(x)
    contenders = {
        "losscore": lambda: vg(losscore.binary_cross_entropy_with_logits)(x, t, out=bce_out),
        "numpy-naive": bce["naive_vg"],
        "numpy-careful": bce["careful_vg"],
    }
    tv = _torch_vg("binary_cross_entropy_with_logits", x, t, True)
    if tv is not None:
        contenders["torch"] = tv
    out.append(Case("classification", "bce_with_logits value+grad", name, n, contenders))
    contenders = {
        "losscore": lambda: losscore.binary_cross_entropy_with_logits(x, t),
        "numpy-naive": bce["naive"],
        "numpy-careful": bce["careful"],
    }
    tv = _torch_vg("binary_cross_entropy_with_logits", x, t, False)
    if tv is not None:
        contenders["torch"] = tv
    out.append(Case("classification", "bce_with_logits value", name, n, contenders))

    focal = _focal_numpy(x, t)
    focal_out = np.empty_like(x)
    out.append(Case("classification", "sigmoid_focal value+grad", name, n, {
        "losscore": lambda: vg(losscore.sigmoid_focal)(x, t, out=focal_out),
        "numpy-naive": focal["naive_vg"],
        "numpy-careful": focal["careful_vg"],
    }))

    # Cross-entropy with integer targets: many classes and few classes.
    for rows, c in ((100_000, 100), (1_000_000, 10)):
        if quick:
            rows //= 10
        xs = (rng.standard_normal((rows, c)) * 2).astype(dtype)
        ys = rng.integers(0, c, size=rows)
        ce = _ce_numpy(xs, ys)
        g_out = np.empty_like(xs)
        label = f"cross_entropy ({rows}, {c})"
        contenders = {
            "losscore": lambda xs=xs, ys=ys, g_out=g_out: vg(losscore.cross_entropy)(
                xs, ys, out=g_out
            ),
            "numpy-naive": ce["naive_vg"],
            "numpy-careful": ce["careful_vg"],
        }
        tv = _torch_vg("cross_entropy", xs, ys, True)
        if tv is not None:
            contenders["torch"] = tv
        out.append(Case("classification", f"{label} value+grad", name, xs.size, contenders))
        contenders = {
            "losscore": lambda xs=xs, ys=ys: losscore.cross_entropy(xs, ys),
            "numpy-naive": ce["naive"],
            "numpy-careful": ce["careful"],
        }
        tv = _torch_vg("cross_entropy", xs, ys, False)
        if tv is not None:
            contenders["torch"] = tv
        out.append(Case("classification", f"{label} value", name, xs.size, contenders))

    # softmax_focal and multilabel_soft_margin at 10^6 rows x 10 classes, against torch autograd.
    rows, c = (100_000, 10) if quick else (1_000_000, 10)
    xs = (rng.standard_normal((rows, c)) * 2).astype(dtype)
    ys = rng.integers(0, c, size=rows)
    g_out = np.empty_like(xs)
    contenders = {
        "losscore": lambda xs=xs, ys=ys, g_out=g_out: vg(losscore.softmax_focal)(
            xs, ys, out=g_out
        ),
    }
    tv = _torch_focal_vg(xs, ys, gamma=2.0)
    if tv is not None:
        contenders["torch"] = tv
    peer = "torch" if "torch" in contenders else "losscore"
    out.append(Case("classification", f"softmax_focal ({rows}, {c}) value+grad", name, xs.size,
                    contenders, baseline=peer))
    tl = (rng.uniform(size=xs.shape) > 0.5).astype(dtype)
    contenders = {
        "losscore": lambda xs=xs, tl=tl, g_out=g_out: vg(losscore.multilabel_soft_margin)(
            xs, tl, out=g_out
        ),
    }
    tv = _torch_vg("multilabel_soft_margin_loss", xs, tl, True)
    if tv is not None:
        contenders["torch"] = tv
    peer = "torch" if "torch" in contenders else "losscore"
    out.append(Case("classification", f"multilabel_soft_margin ({rows}, {c}) value+grad", name,
                    xs.size, contenders, baseline=peer))

    # Small calls: per-call overhead dominates.
    xs = rng.standard_normal((10, 10)).astype(dtype)
    ys = rng.integers(0, 10, size=10)
    ce = _ce_numpy(xs, ys)
    out.append(Case("classification-small", "cross_entropy (10, 10) value+grad", name, xs.size, {
        "losscore": lambda: vg(losscore.cross_entropy)(xs, ys),
        "numpy-naive": ce["naive_vg"],
        "numpy-careful": ce["careful_vg"],
    }))
    xb = rng.standard_normal(10).astype(dtype)
    tb = (xb > 0).astype(dtype)
    bce = _bce_logits_numpy(xb, tb)
    out.append(Case("classification-small", "bce_with_logits (10,) value", name, 10, {
        "losscore": lambda: losscore.binary_cross_entropy_with_logits(xb, tb),
        "numpy-naive": bce["naive"],
        "numpy-careful": bce["careful"],
    }))
    return out
