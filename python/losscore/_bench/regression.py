"""Benchmark cases for the regression losses: losscore vs NumPy written naively and carefully.

"naive" is NumPy as users usually write it (``np.mean((p - t)**2)``); "careful" reuses
preallocated buffers, in-place ufuncs and BLAS dot products.
"""

from __future__ import annotations

import numpy as np

import losscore

from .timing import Case

LN2 = float(np.log(2.0))


def _inputs(n: int, dtype: type, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    pred = rng.standard_normal(n).astype(dtype)
    target = rng.standard_normal(n).astype(dtype)
    return pred, target


def _numpy_impls(p: np.ndarray, t: np.ndarray) -> dict[str, dict[str, object]]:
    """name -> {"naive": f, "careful": f, "naive_vg": f, "careful_vg": f}."""
    n = p.size
    d = np.empty_like(p)
    a = np.empty_like(p)
    g = np.empty_like(p)

    def mse_careful():
        np.subtract(p, t, out=d)
        return float(np.dot(d, d)) / n

    def mse_careful_vg():
        np.subtract(p, t, out=d)
        v = float(np.dot(d, d)) / n
        np.multiply(d, 2.0 / n, out=g)
        return v, g

    def mae_careful():
        np.subtract(p, t, out=d)
        np.abs(d, out=d)
        return float(d.sum()) / n

    def mae_careful_vg():
        np.subtract(p, t, out=d)
        np.sign(d, out=g)
        np.abs(d, out=d)
        v = float(d.sum()) / n
        np.multiply(g, 1.0 / n, out=g)
        return v, g

    def huber_careful_vg():
        # huber(d) = |c| (|d| - |c|/2) with c = clip(d, -1, 1); the gradient is c.
        np.subtract(p, t, out=d)
        np.clip(d, -1.0, 1.0, out=g)
        np.abs(d, out=d)
        np.abs(g, out=a)
        v = (float(np.dot(a, d)) - 0.5 * float(np.dot(a, a))) / n
        np.multiply(g, 1.0 / n, out=g)
        return v, g

    def huber_careful():
        return huber_careful_vg()[0]

    def log_cosh_careful_vg():
        np.subtract(p, t, out=d)
        np.tanh(d, out=g)
        np.abs(d, out=d)
        np.multiply(d, -2.0, out=a)
        np.exp(a, out=a)
        np.log1p(a, out=a)
        np.add(a, d, out=a)
        v = float(a.sum()) / n - LN2
        np.multiply(g, 1.0 / n, out=g)
        return v, g

    def log_cosh_careful():
        np.subtract(p, t, out=d)
        np.abs(d, out=d)
        np.multiply(d, -2.0, out=a)
        np.exp(a, out=a)
        np.log1p(a, out=a)
        np.add(a, d, out=a)
        return float(a.sum()) / n - LN2

    def poisson_careful_vg():
        np.exp(p, out=a)
        v = (float(a.sum()) - float(np.dot(t, p))) / n
        np.subtract(a, t, out=g)
        np.multiply(g, 1.0 / n, out=g)
        return v, g

    def poisson_careful():
        np.exp(p, out=a)
        return (float(a.sum()) - float(np.dot(t, p))) / n

    def huber_naive_vg():
        dd = p - t
        ad = np.abs(dd)
        v = np.mean(np.where(ad < 1.0, 0.5 * dd**2, ad - 0.5))
        return v, np.clip(dd, -1.0, 1.0) / n

    def log_cosh_naive_vg():
        dd = p - t
        return np.mean(np.log(np.cosh(dd))), np.tanh(dd) / n

    return {
        "mse": {
            "naive": lambda: np.mean((p - t) ** 2),
            "careful": mse_careful,
            "naive_vg": lambda: (np.mean((p - t) ** 2), 2 * (p - t) / n),
            "careful_vg": mse_careful_vg,
        },
        "mae": {
            "naive": lambda: np.mean(np.abs(p - t)),
            "careful": mae_careful,
            "naive_vg": lambda: (np.mean(np.abs(p - t)), np.sign(p - t) / n),
            "careful_vg": mae_careful_vg,
        },
        "huber": {
            "naive": lambda: huber_naive_vg()[0],
            "careful": huber_careful,
            "naive_vg": huber_naive_vg,
            "careful_vg": huber_careful_vg,
        },
        "log_cosh": {
            "naive": lambda: np.mean(np.log(np.cosh(p - t))),
            "careful": log_cosh_careful,
            "naive_vg": log_cosh_naive_vg,
            "careful_vg": log_cosh_careful_vg,
        },
        "poisson_nll": {
            "naive": lambda: np.mean(np.exp(p) - t * p),
            "careful": poisson_careful,
            "naive_vg": lambda: (np.mean(np.exp(p) - t * p), (np.exp(p) - t) / n),
            "careful_vg": poisson_careful_vg,
        },
    }


def cases(quick: bool) -> list[Case]:
    sizes = [10, 100_000, 10_000_000]
    dtypes = [np.float32] if quick else [np.float32, np.float64]
    out: list[Case] = []
    for dtype in dtypes:
        for n in sizes:
            p, t = _inputs(n, dtype)
            impls = _numpy_impls(p, t)
            for name, np_fns in impls.items():
                fn = getattr(losscore, name)
                vg = losscore.value_and_grad(fn)
                g = np.empty_like(p)
                dt = np.dtype(dtype).name
                out.append(
                    Case(
                        "regression",
                        name,
                        dt,
                        n,
                        {
                            "losscore": lambda fn=fn, p=p, t=t: fn(p, t),
                            "numpy-careful": np_fns["careful"],
                            "numpy-naive": np_fns["naive"],
                        },
                    )
                )
                out.append(
                    Case(
                        "regression",
                        f"value_and_grad({name})",
                        dt,
                        n,
                        {
                            "losscore": lambda vg=vg, g=g, p=p, t=t: vg(p, t, out=g),
                            "numpy-careful": np_fns["careful_vg"],
                            "numpy-naive": np_fns["naive_vg"],
                        },
                    )
                )
    return out
