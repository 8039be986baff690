"""Gradient-boosting objectives: losscore's fused gradient + Hessian against NumPy, and whole
XGBoost training runs with the losscore objective against the built-in one.

1. One objective call (what XGBoost runs once per boosting round), labels read from the
   DMatrix in both: binary logistic on 10^6 rows (``binary_cross_entropy_with_logits`` against
   the NumPy objective of XGBoost's custom-objective demo: sigmoid, ``p - y``, ``p (1 - p)``)
   and softmax on 10^5 rows x 10 classes (``cross_entropy`` against the same math vectorized in
   NumPy, and against the row loop of XGBoost's custom-softmax demo, timed once).
2. 100 rounds of ``tree_method="hist"`` training with ``obj=losscore...`` against the
   built-in ``binary:logistic`` / ``multi:softprob`` (same data and parameters; each round also
   predicts margins and copies gradients into XGBoost, which the built-in does not).

Best of ``--repeats`` runs. ``--threads`` (default 1) is both losscore's and XGBoost's thread
count: NumPy is single-threaded, and on a shared machine OpenMP's spinning makes multi-threaded
XGBoost timings meaningless (20 rounds took 0.09 s with 1 thread, 2.5 s with 2 on a loaded
2-core box). Run: python benchmarks/bench_gbdt.py [--quick] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import xgboost as xgb

import losscore
import losscore.gbdt


def best_of(fn, repeats: int) -> float:
    fn()  # warm up (first-call allocations, page faults)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def numpy_logistic(predt: np.ndarray, dtrain: xgb.DMatrix) -> tuple[np.ndarray, np.ndarray]:
    """XGBoost's custom-objective demo, as written there."""
    labels = dtrain.get_label()
    p = 1.0 / (1.0 + np.exp(-predt))
    grad = p - labels
    hess = p * (1.0 - p)
    return grad, hess


def numpy_softmax(predt: np.ndarray, dtrain: xgb.DMatrix) -> tuple[np.ndarray, np.ndarray]:
    """Softmax cross-entropy gradient and Hessian diagonal, vectorized NumPy."""
    labels = dtrain.get_label().astype(np.int64)
    e = np.exp(predt - predt.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    grad = p.copy()
    grad[np.arange(len(labels)), labels] -= 1.0
    hess = np.maximum(p * (1.0 - p), 1e-16)
    return grad, hess


def numpy_softmax_demo_loop(predt: np.ndarray, dtrain: xgb.DMatrix):
    """The row-by-row loop of XGBoost's custom-softmax demo (timed once: it is slow)."""
    labels = dtrain.get_label()
    rows, classes = predt.shape
    grad = np.zeros((rows, classes), dtype=float)
    hess = np.zeros((rows, classes), dtype=float)
    for r in range(rows):
        e = np.exp(predt[r] - predt[r].max())
        p = e / e.sum()
        for c in range(classes):
            grad[r, c] = p[c] - 1.0 if c == labels[r] else p[c]
            hess[r, c] = max(p[c] * (1.0 - p[c]), 1e-16)
    return grad, hess


def objective_calls(repeats: int, rows_binary: int, rows_multi: int, classes: int) -> list[dict]:
    rng = np.random.default_rng(0)
    out = []
    # Binary: margins as XGBoost hands them over (float32).
    predt = rng.normal(size=rows_binary).astype(np.float32)
    d = xgb.DMatrix(np.zeros((rows_binary, 1), np.float32), label=rng.integers(0, 2, rows_binary))
    ours = losscore.gbdt.xgboost_objective("binary_cross_entropy_with_logits")
    np.testing.assert_allclose(ours(predt, d)[0], numpy_logistic(predt, d)[0], atol=1e-6)
    t_ours = best_of(lambda: ours(predt, d), repeats)
    t_np = best_of(lambda: numpy_logistic(predt, d), repeats)
    out.append(
        {
            "case": f"binary logistic, {rows_binary} rows",
            "losscore_ms": t_ours * 1e3,
            "numpy_ms": t_np * 1e3,
            "speedup": t_np / t_ours,
        }
    )
    # Multi-class.
    predt = rng.normal(size=(rows_multi, classes)).astype(np.float32)
    d = xgb.DMatrix(
        np.zeros((rows_multi, 1), np.float32), label=rng.integers(0, classes, rows_multi)
    )
    ours = losscore.gbdt.xgboost_objective("cross_entropy")
    np.testing.assert_allclose(ours(predt, d)[0], numpy_softmax(predt, d)[0], atol=1e-6)
    t_ours = best_of(lambda: ours(predt, d), repeats)
    t_np = best_of(lambda: numpy_softmax(predt, d), repeats)
    t0 = time.perf_counter()
    numpy_softmax_demo_loop(predt, d)
    t_loop = time.perf_counter() - t0
    out.append(
        {
            "case": f"softmax, {rows_multi} rows x {classes} classes",
            "losscore_ms": t_ours * 1e3,
            "numpy_ms": t_np * 1e3,
            "speedup": t_np / t_ours,
            "numpy_demo_loop_ms": t_loop * 1e3,
            "speedup_vs_demo_loop": t_loop / t_ours,
        }
    )
    return out


def training(repeats: int, rows: int, rounds: int, classes: int, threads: int) -> list[dict]:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(rows, 20)).astype(np.float32)
    out = []
    for kind in ("binary", "multiclass"):
        if kind == "binary":
            y = (X[:, 0] + X[:, 1] * X[:, 2] + rng.normal(size=rows) > 0).astype(np.float32)
            builtin = {"objective": "binary:logistic"}
            ours = {}
            obj = losscore.gbdt.xgboost_objective("binary_cross_entropy_with_logits")
            margin0 = np.zeros(rows)
        else:
            y = np.digitize(X[:, 0] + 0.5 * X[:, 1], np.linspace(-2, 2, classes - 1))
            builtin = {"objective": "multi:softprob", "num_class": classes}
            ours = {"num_class": classes}
            obj = losscore.gbdt.xgboost_objective("cross_entropy")
            margin0 = np.zeros((rows, classes))
        d = xgb.DMatrix(X, label=y, base_margin=margin0)
        base = {"tree_method": "hist", "max_depth": 6, "eta": 0.3, "seed": 0, "nthread": threads}
        t_builtin, t_ours = [], []
        for _ in range(repeats):
            t0 = time.perf_counter()
            xgb.train({**base, **builtin}, d, rounds)
            t_builtin.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            xgb.train({**base, **ours}, d, rounds, obj=obj)
            t_ours.append(time.perf_counter() - t0)
        out.append(
            {
                "case": f"xgboost hist, {kind}, {rows} rows, {rounds} rounds",
                "builtin_s": min(t_builtin),
                "losscore_s": min(t_ours),
                "ratio": min(t_ours) / min(t_builtin),
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="losscore and XGBoost threads")
    parser.add_argument("--calls-only", action="store_true", help="skip the training runs")
    parser.add_argument("--json", default=None, help="write the results to this file")
    args = parser.parse_args()
    losscore.set_num_threads(args.threads)
    repeats = args.repeats or (3 if args.quick else 10)
    if args.quick:
        calls = objective_calls(repeats, 10**5, 10**4, 10)
        train = [] if args.calls_only else training(1, 20_000, 20, 10, args.threads)
    else:
        calls = objective_calls(repeats, 10**6, 10**5, 10)
        train = (
            []
            if args.calls_only
            else training(max(1, repeats // 5), 200_000, 100, 10, args.threads)
        )
    print(
        f"{platform.processor() or platform.machine()}, isa={losscore.isa()}, "
        f"threads={losscore.get_num_threads()}, xgboost {xgb.__version__}"
    )
    for r in calls:
        line = (
            f"{r['case']:<40} losscore {r['losscore_ms']:8.2f} ms   numpy "
            f"{r['numpy_ms']:8.2f} ms   speedup {r['speedup']:5.1f}x"
        )
        if "numpy_demo_loop_ms" in r:
            line += f"   (demo loop {r['numpy_demo_loop_ms']:.0f} ms: "
            line += f"{r['speedup_vs_demo_loop']:.0f}x)"
        print(line)
    for r in train:
        print(
            f"{r['case']:<52} built-in {r['builtin_s']:6.2f} s   losscore objective "
            f"{r['losscore_s']:6.2f} s   ratio {r['ratio']:.2f}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"objective_calls": calls, "training": train}, f, indent=2)


if __name__ == "__main__":
    main()
