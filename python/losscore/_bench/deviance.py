"""Benchmark cases for the deviances: losscore's fused value + gradient against scikit-learn's
``mean_*_deviance`` (value only: scikit-learn has no gradient for them, so that peer does less
work than losscore) and against NumPy, naive and careful (value and gradient)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import losscore

from . import peers
from .timing import Case

POWER = 1.5  # the Tweedie row: compound Poisson-Gamma


def _inputs(name: str, n: int, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    pred = rng.uniform(0.1, 5.0, n).astype(dtype)
    if name == "gamma_deviance":
        return pred, rng.uniform(0.1, 5.0, n).astype(dtype)
    return pred, rng.poisson(2.0, n).astype(dtype)


def _numpy_impls(name: str, p: np.ndarray, t: np.ndarray) -> dict[str, Callable[[], object]]:
    """"naive_vg" / "careful_vg": value and gradient of the mean deviance in NumPy."""
    n = p.size
    a, b, g = np.empty_like(p), np.empty_like(p), np.empty_like(p)
    positive = t > 0
    safe_t = np.where(positive, t, 1)

    if name == "poisson_deviance":
        def naive():
            tl = np.where(positive, t * np.log(safe_t / p), 0)
            return float(np.mean(2 * (tl - t + p))), 2 * (1 - t / p) / n

        def careful():
            np.divide(safe_t, p, out=a)
            np.log(a, out=a)
            np.multiply(a, t, out=a)
            v = 2 * (float(a.sum(dtype=np.float64)) - float(t.sum(dtype=np.float64))
                     + float(p.sum(dtype=np.float64))) / n
            np.divide(t, p, out=g)
            np.subtract(1, g, out=g)
            np.multiply(g, 2.0 / n, out=g)
            return v, g
    elif name == "gamma_deviance":
        def naive():
            return float(np.mean(2 * (np.log(p / t) + t / p - 1))), 2 * (p - t) / p**2 / n

        def careful():
            np.divide(t, p, out=a)
            np.log(a, out=b)
            np.subtract(a, b, out=b)
            v = 2 * float(b.sum(dtype=np.float64)) / n - 2
            np.subtract(1, a, out=g)
            np.divide(g, p, out=g)
            np.multiply(g, 2.0 / n, out=g)
            return v, g
    else:
        q = POWER

        def naive():
            dev = 2 * (np.where(positive, t, 0) ** (2 - q) / ((1 - q) * (2 - q))
                       - t * p ** (1 - q) / (1 - q) + p ** (2 - q) / (2 - q))
            return float(np.mean(dev)), 2 * p**-q * (p - t) / n

        t_term = float((np.where(positive, t, 0) ** (2 - q)).sum(dtype=np.float64))

        def careful():
            # The target's term does not depend on pred: computed once, outside the timing.
            np.power(p, 1 - q, out=a)
            v = t_term / ((1 - q) * (2 - q))
            v -= float(np.dot(t, a)) / (1 - q)
            v += float(np.dot(p, a)) / (2 - q)
            np.subtract(p, t, out=b)
            np.divide(a, p, out=g)
            np.multiply(g, b, out=g)
            np.multiply(g, 2.0 / n, out=g)
            return 2 * v / n, g

    return {"naive_vg": naive, "careful_vg": careful}


def _sklearn_value(name: str, p: np.ndarray, t: np.ndarray) -> Callable[[], object] | None:
    if peers.peer("sklearn") is None:
        return None
    from sklearn import metrics

    if name == "poisson_deviance":
        return lambda: metrics.mean_poisson_deviance(t, p)
    if name == "gamma_deviance":
        return lambda: metrics.mean_gamma_deviance(t, p)
    return lambda: metrics.mean_tweedie_deviance(t, p, power=POWER)


def cases(quick: bool) -> list[Case]:
    sizes = [100_000, 10_000_000] if quick else [1_000, 100_000, 10_000_000]
    out: list[Case] = []
    for dtype in (np.float32, np.float64):
        if quick and dtype is np.float64:
            continue
        for n in sizes:
            for name in ("poisson_deviance", "gamma_deviance", "tweedie_deviance"):
                p, t = _inputs(name, n, dtype)
                params = {"power": POWER} if name == "tweedie_deviance" else {}
                vg = losscore.value_and_grad(getattr(losscore, name))
                g = np.empty_like(p)
                impls = _numpy_impls(name, p, t)
                fused: dict[str, Callable[[], object]] = {
                    "losscore": lambda vg=vg, g=g, p=p, t=t, kw=params: vg(p, t, **kw, out=g),
                    "numpy-careful": impls["careful_vg"],
                    "numpy-naive": impls["naive_vg"],
                }
                sk = _sklearn_value(name, p, t)
                if sk is not None:
                    fused["sklearn (value only)"] = sk
                label = f"value_and_grad({name}{'(power=1.5)' if params else ''})"
                out.append(Case("deviance", label, np.dtype(dtype).name, n, fused,
                                bytes_per_element=3 * np.dtype(dtype).itemsize))
    return out
