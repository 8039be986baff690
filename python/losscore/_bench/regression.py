"""Benchmark cases for the regression losses: losscore vs NumPy written naively and carefully.

"naive" is NumPy as users usually write it (``np.mean((p - t)**2)``); "careful" reuses
preallocated buffers, in-place ufuncs and BLAS dot products.
"""

from __future__ import annotations

import numpy as np

import losscore

from . import peers
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


def _torch_impls(p: np.ndarray, t: np.ndarray) -> dict[str, tuple[object, object]]:
    torch = peers.peer("torch")
    if torch is None:
        return {}
    f = torch.nn.functional
    pt, tt = torch.from_numpy(p), torch.from_numpy(t)
    leaf = pt.clone().requires_grad_(True)

    def log_cosh(x, y):
        a = (x - y).abs()
        return (a + torch.log1p(torch.exp(-2 * a)) - LN2).mean()

    formulas = {
        "mse": f.mse_loss,
        "mae": f.l1_loss,
        "huber": f.huber_loss,
        "log_cosh": log_cosh,
        "poisson_nll": f.poisson_nll_loss,
    }

    def make(formula):
        def value():
            with torch.no_grad():
                return formula(pt, tt).item()

        def value_and_grad():
            leaf.grad = None
            loss = formula(leaf, tt)
            loss.backward()
            return loss.item(), leaf.grad

        return value, value_and_grad

    return {name: make(formula) for name, formula in formulas.items()}


def _jax_impls(p: np.ndarray, t: np.ndarray) -> dict[str, tuple[object, object]]:
    jax = peers.peer("jax")
    if jax is None:
        return {}
    jnp = jax.numpy
    pj, tj = jnp.asarray(p), jnp.asarray(t)

    def huber(x, y):
        a = jnp.abs(x - y)
        return jnp.mean(jnp.where(a < 1.0, 0.5 * a * a, a - 0.5))

    formulas = {
        "mse": lambda x, y: jnp.mean((x - y) ** 2),
        "mae": lambda x, y: jnp.mean(jnp.abs(x - y)),
        "huber": huber,
        "log_cosh": lambda x, y: jnp.mean(jnp.logaddexp(x - y, y - x) - LN2),
        "poisson_nll": lambda x, y: jnp.mean(jnp.exp(x) - y * x),
    }

    def make(formula):
        value = jax.jit(formula)
        value_and_grad = jax.jit(jax.value_and_grad(formula))
        return (
            lambda: value(pj, tj).block_until_ready(),
            lambda: jax.block_until_ready(value_and_grad(pj, tj)),
        )

    return {name: make(formula) for name, formula in formulas.items()}


def _sklearn_impls(p: np.ndarray, t: np.ndarray) -> dict[str, tuple[object, object]]:
    if peers.peer("sklearn") is None:
        return {}
    from sklearn._loss import loss as sk

    import losscore

    threads = losscore.get_num_threads()
    classes = {
        "mse": sk.HalfSquaredError(),
        "mae": sk.AbsoluteError(),
        "poisson_nll": sk.HalfPoissonLoss(),
    }
    loss_out, grad_out = np.empty_like(p), np.empty_like(p)

    def make(obj):
        def value():
            obj.loss(y_true=t, raw_prediction=p, loss_out=loss_out, n_threads=threads)
            return float(loss_out.mean())

        def value_and_grad():
            obj.loss_gradient(y_true=t, raw_prediction=p, loss_out=loss_out,
                              gradient_out=grad_out, n_threads=threads)
            return float(loss_out.mean()), grad_out

        return value, value_and_grad

    return {name: make(obj) for name, obj in classes.items()}


def cases(quick: bool) -> list[Case]:
    sizes = [10, 100_000, 10_000_000] if quick else [10, 1_000, 100_000, 10_000_000]
    out: list[Case] = []
    for dtype in (np.float32, np.float64):
        if quick and dtype is np.float64:
            continue
        for n in sizes:
            p, t = _inputs(n, dtype)
            impls = _numpy_impls(p, t)
            peer_impls = {"torch": _torch_impls(p, t), "jax": _jax_impls(p, t),
                          "sklearn": _sklearn_impls(p, t)}
            item = np.dtype(dtype).itemsize
            dt = np.dtype(dtype).name
            for name, np_fns in impls.items():
                fn = getattr(losscore, name)
                vg = losscore.value_and_grad(fn)
                g = np.empty_like(p)
                value = {
                    "losscore": lambda fn=fn, p=p, t=t: fn(p, t),
                    "numpy-careful": np_fns["careful"],
                    "numpy-naive": np_fns["naive"],
                }
                fused = {
                    "losscore": lambda vg=vg, g=g, p=p, t=t: vg(p, t, out=g),
                    "numpy-careful": np_fns["careful_vg"],
                    "numpy-naive": np_fns["naive_vg"],
                }
                for peer_name, table in peer_impls.items():
                    if name in table:
                        value[peer_name], fused[peer_name] = table[name]
                out.append(Case("regression", name, dt, n, value, bytes_per_element=2 * item))
                out.append(
                    Case("regression", f"value_and_grad({name})", dt, n, fused,
                         bytes_per_element=3 * item)
                )
    return out
