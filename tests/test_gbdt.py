"""losscore.gbdt against the real XGBoost and LightGBM: the frameworks' own objectives trained
side by side with losscore's (same data, seed and parameters), both calling conventions, the
multi-class layouts, losses the frameworks lack, and errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import losscore.gbdt as gbdt
from losscore import _core
from losscore.errors import ParameterError, ParameterTypeError, ShapeError, TargetError

xgb = pytest.importorskip("xgboost")
lgb = pytest.importorskip("lightgbm")

N, ROUNDS, C = 600, 50, 3


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(N, 5))
    return {
        "X": X,
        "w": rng.uniform(0.5, 2.0, N),
        "reg": X[:, 0] + np.sin(X[:, 1]) + 0.3 * rng.normal(size=N),
        "bin": (X[:, 0] + 0.5 * X[:, 2] + 0.5 * rng.normal(size=N) > 0).astype(float),
        "cls": np.digitize(X[:, 0] + 0.3 * X[:, 1], [-0.5, 0.5]).astype(float),
        "count": rng.poisson(np.exp(0.5 * X[:, 0])).astype(float),
    }


# Tolerance of the parity tests. Both frameworks keep gradients and Hessians in float32, and
# losscore's closed forms round differently from the built-ins' (their own exp/sigmoid), so
# per-sample inputs agree to ~1e-7 relative. Each leaf value is a ratio of sums of them, so a
# tree moves a prediction by ~1e-7 of its leaf size; over 50 trees that stays below ~5e-6 of
# the margins' scale. 2e-5 of the largest margin leaves room for that and is still far below
# what a single different split would change (leaf values here are ~0.1 to 1).
def assert_parity(ours, theirs):
    atol = 2e-5 * max(1.0, float(np.abs(theirs).max()))
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=atol)


XGB_BASE = {"tree_method": "hist", "max_depth": 3, "eta": 0.3, "seed": 0, "nthread": 1}


def xgb_margins(data, label, params, obj=None, classes=None):
    """Margins after ``ROUNDS`` rounds, starting from margin 0 (``base_margin``) either way."""
    margin0 = np.zeros((N, classes) if classes else N)
    d = xgb.DMatrix(data["X"], label=data[label], weight=data["w"], base_margin=margin0)
    booster = xgb.train({**XGB_BASE, **params}, d, ROUNDS, obj=obj)
    return booster.predict(d, output_margin=True)


@pytest.mark.parametrize(
    ("label", "builtin", "loss", "ours_params"),
    [
        # reg:squarederror is half the squared error: scale=0.5 gives its gradient x - y.
        ("reg", {"objective": "reg:squarederror"}, gbdt.xgboost_objective("mse", scale=0.5), {}),
        (
            "bin",
            {"objective": "binary:logistic"},
            gbdt.xgboost_objective("binary_cross_entropy_with_logits"),
            {},
        ),
        # count:poisson inflates its Hessian by exp(max_delta_step); 0 turns that off.
        (
            "count",
            {"objective": "count:poisson", "max_delta_step": 0.0},
            gbdt.xgboost_objective("poisson_nll"),
            {"max_delta_step": 0.0},
        ),
    ],
    ids=["mse", "bce_with_logits", "poisson_nll"],
)
def test_xgboost_parity_with_builtin_objectives(data, label, builtin, loss, ours_params):
    assert_parity(xgb_margins(data, label, ours_params, loss), xgb_margins(data, label, builtin))


def test_xgboost_parity_multiclass(data):
    # multi:softprob uses the Hessian 2 p (1 - p), twice cross-entropy's p (1 - p): its leaf
    # -G / (2H + lambda) equals ours, -G / (H + lambda/2), times 1/2. So the built-in with
    # (eta, lambda, min_child_weight) = (0.3, 1, 1) is ours with (0.15, 0.5, 0.5).
    theirs = xgb_margins(data, "cls", {"objective": "multi:softprob", "num_class": C}, classes=C)
    ours = xgb_margins(
        data,
        "cls",
        {"num_class": C, "eta": 0.15, "lambda": 0.5, "min_child_weight": 0.5},
        gbdt.xgboost_objective("cross_entropy"),
        classes=C,
    )
    assert ours.shape == (N, C)
    assert_parity(ours, theirs)


LGB_BASE = {
    "num_leaves": 8,
    "learning_rate": 0.3,
    "seed": 0,
    "num_threads": 1,
    "deterministic": True,
    "verbose": -1,
    # Custom objectives start from score 0; so must the built-ins.
    "boost_from_average": False,
}


def lgb_scores(data, label, params):
    ds = lgb.Dataset(data["X"], label=data[label], weight=data["w"])
    booster = lgb.train({**LGB_BASE, **params}, ds, ROUNDS)
    return booster.predict(data["X"], raw_score=True)


@pytest.mark.parametrize(
    ("label", "builtin", "ours"),
    [
        (
            "reg",
            {"objective": "regression"},
            {"objective": gbdt.lightgbm_objective("mse", scale=0.5)},
        ),
        (
            "bin",
            {"objective": "binary"},
            {"objective": gbdt.lightgbm_objective("binary_cross_entropy_with_logits")},
        ),
        # LightGBM's poisson Hessian is exp(score + poisson_max_delta_step); the step must be
        # positive, 1e-12 changes the Hessian by 1e-12 relative.
        (
            "count",
            {"objective": "poisson", "poisson_max_delta_step": 1e-12},
            {"objective": gbdt.lightgbm_objective("poisson_nll")},
        ),
    ],
    ids=["mse", "bce_with_logits", "poisson_nll"],
)
def test_lightgbm_parity_with_builtin_objectives(data, label, builtin, ours):
    assert_parity(lgb_scores(data, label, ours), lgb_scores(data, label, builtin))


def test_lightgbm_parity_multiclass(data):
    # LightGBM's multiclass Hessian is C/(C-1) p (1 - p) (no lambda_l2 by default): the
    # built-in with learning_rate 0.3 is ours with 0.3 (C-1)/C, min_sum_hessian scaled alike.
    f = C / (C - 1)
    theirs = lgb_scores(data, "cls", {"objective": "multiclass", "num_class": C})
    ours = lgb_scores(
        data,
        "cls",
        {
            "objective": gbdt.lightgbm_objective("cross_entropy"),
            "num_class": C,
            "learning_rate": 0.3 / f,
            "min_sum_hessian_in_leaf": 1e-3 / f,
        },
    )
    assert ours.shape == (N, C)
    assert_parity(ours, theirs)


def test_xgboost_sklearn_convention_matches_builtin_and_native(data):
    X, y, w = data["X"], data["reg"], data["w"]
    kw = {"n_estimators": 20, "max_depth": 3, "learning_rate": 0.3, "base_score": 0.0, "n_jobs": 1}
    ours = xgb.XGBRegressor(objective=gbdt.xgboost_objective("mse", scale=0.5), **kw)
    theirs = xgb.XGBRegressor(objective="reg:squarederror", **kw)
    ours.fit(X, y, sample_weight=w)
    theirs.fit(X, y, sample_weight=w)
    assert_parity(ours.predict(X), theirs.predict(X))
    # Multi-class through XGBClassifier: the same model as the native interface.
    obj = gbdt.xgboost_objective("cross_entropy", label_smoothing=0.05)
    clf = xgb.XGBClassifier(
        objective=obj, n_estimators=10, max_depth=3, learning_rate=0.3, n_jobs=1
    )
    y_cls = data["cls"].astype(int)
    clf.fit(X, y_cls, sample_weight=w, base_margin=np.zeros((N, C)))
    native = xgb.train(
        {"num_class": C, "max_depth": 3, "eta": 0.3, "nthread": 1},
        xgb.DMatrix(X, label=y_cls, weight=w, base_margin=np.zeros((N, C))),
        10,
        obj=obj,
    )
    dm = xgb.DMatrix(X, base_margin=np.zeros((N, C)))
    np.testing.assert_array_equal(
        clf.get_booster().predict(dm, output_margin=True), native.predict(dm, output_margin=True)
    )
    assert (clf.predict(X) == y_cls).mean() > 0.9


def test_lightgbm_sklearn_convention_matches_native(data):
    X, w, y = data["X"], data["w"], data["cls"].astype(int)
    obj = gbdt.lightgbm_objective("cross_entropy", class_weight=np.array([1.0, 2.0, 0.5]))
    clf = lgb.LGBMClassifier(
        objective=obj, n_estimators=10, learning_rate=0.3, n_jobs=1, verbose=-1
    )
    clf.fit(X, y, sample_weight=w)
    params = {"objective": obj, "num_class": C, "learning_rate": 0.3, "num_threads": 1}
    params["verbose"] = -1
    native = lgb.train(params, lgb.Dataset(X, label=y, weight=w), 10)
    np.testing.assert_allclose(
        clf.predict(X, raw_score=True), native.predict(X, raw_score=True), rtol=0, atol=1e-12
    )
    reg = lgb.LGBMRegressor(
        objective=gbdt.lightgbm_objective("mse", scale=0.5), n_estimators=10, n_jobs=1, verbose=-1
    )
    reg.fit(X, data["reg"], sample_weight=w)
    builtin = lgb.LGBMRegressor(
        objective="regression", boost_from_average=False, n_estimators=10, n_jobs=1, verbose=-1
    )
    builtin.fit(X, data["reg"], sample_weight=w)
    assert_parity(reg.predict(X), builtin.predict(X))


def _decreasing_every_few_rounds(history, every=5):
    checkpoints = [*history[::every], history[-1]]
    assert all(b < a for a, b in itertools.pairwise(checkpoints)), checkpoints


def test_xgboost_trains_sigmoid_focal_and_lowers_its_metric(data):
    rng = np.random.default_rng(1)
    X = data["X"]
    y = (X[:, 0] + 0.5 * rng.normal(size=N) > 1.2).astype(float)  # ~13% positives
    d = xgb.DMatrix(X, label=y, base_margin=np.zeros(N))
    history = {}
    xgb.train(
        {"max_depth": 3, "eta": 0.3, "disable_default_eval_metric": 1, "nthread": 1},
        d,
        30,
        obj=gbdt.xgboost_objective("sigmoid_focal", alpha=0.75, gamma=2.0),
        custom_metric=gbdt.xgboost_metric("sigmoid_focal", alpha=0.75, gamma=2.0),
        evals=[(d, "train")],
        evals_result=history,
        verbose_eval=False,
    )
    _decreasing_every_few_rounds(history["train"]["sigmoid_focal"])


def test_lightgbm_trains_log_cosh_and_lowers_its_metric(data):
    ds = lgb.Dataset(data["X"], label=data["reg"], weight=data["w"])
    history = {}
    lgb.train(
        {**LGB_BASE, "objective": gbdt.lightgbm_objective("log_cosh"), "metric": "None"},
        ds,
        30,
        valid_sets=[ds],
        valid_names=["train"],
        feval=gbdt.lightgbm_metric("log_cosh"),
        callbacks=[lgb.record_evaluation(history)],
    )
    _decreasing_every_few_rounds(history["train"]["log_cosh"])


def test_per_sample_gradients_are_weighted_floored_and_keep_float32(rng):
    x = rng.normal(size=50).astype(np.float32) * 3
    y = rng.normal(size=50).astype(np.float32)
    w = rng.uniform(0.5, 2.0, 50).astype(np.float32)
    d = xgb.DMatrix(np.zeros((50, 1)), label=y, weight=w)
    g, h = gbdt.xgboost_objective("huber", delta=0.5)(x, d)
    assert g.dtype == np.float32 and h.dtype == np.float32
    r = x.astype(np.float64) - y
    # Per sample, unreduced, times the weight; huber's floor is 1 (w * 1 outside the zone).
    np.testing.assert_allclose(g, w * np.clip(r, -0.5, 0.5), rtol=1e-6)
    np.testing.assert_array_equal(h, w)
    g, h = gbdt.xgboost_objective("huber", delta=0.5, hess_floor=0.25)(x, d)
    np.testing.assert_allclose(h, np.where(np.abs(r) < 0.5, w, 0.25 * w), rtol=1e-6)
    # The scikit-learn convention, with and without weights.
    g2, _ = gbdt.xgboost_objective("huber", delta=0.5)(y, x, sample_weight=w)
    np.testing.assert_array_equal(g2, gbdt.xgboost_objective("huber", delta=0.5)(x, d)[0])
    g3, h3 = gbdt.lightgbm_objective("mae")(y, x, None)
    np.testing.assert_allclose(g3, np.sign(r), rtol=0)
    np.testing.assert_array_equal(h3, np.ones(50, dtype=np.float32))


def test_metrics_are_weighted_means(rng):
    x, y, w = rng.normal(size=40), rng.normal(size=40), rng.uniform(0.5, 2.0, 40)
    want = float(np.sum(w * np.abs(x - y)) / np.sum(w))
    d = xgb.DMatrix(np.zeros((40, 1)), label=y, weight=w)
    name, v = gbdt.xgboost_metric("mae")(x.astype(np.float32), d)
    assert name == "mae" and v == pytest.approx(want, rel=1e-6)
    assert gbdt.xgboost_metric("mae")(y, x, sample_weight=w) == pytest.approx(want, rel=1e-14)
    ds = lgb.Dataset(np.zeros((40, 1)), label=y, weight=w).construct()
    name, v, higher = gbdt.lightgbm_metric("mae")(x, ds)
    assert (name, higher) == ("mae", False) and v == pytest.approx(want, rel=1e-6)
    logits = rng.normal(size=(40, C))
    labels = rng.integers(0, C, 40)
    lse = np.log(np.exp(logits).sum(axis=1))
    want = float(np.mean(lse - logits[np.arange(40), labels]))
    assert gbdt.lightgbm_metric("cross_entropy")(labels.astype(float), logits, None)[1] == (
        pytest.approx(want, rel=1e-12)
    )


def test_errors():
    with pytest.raises(ParameterError, match="unknown losscore loss 'squared_error'"):
        gbdt.xgboost_objective("squared_error")
    with pytest.raises(ParameterError, match="second derivative"):
        gbdt.lightgbm_objective("get_num_threads")
    with pytest.raises(ParameterTypeError, match="loss"):
        gbdt.xgboost_metric(3)
    with pytest.raises(ParameterTypeError, match="loss"):
        gbdt.xgboost_objective(np.mean)
    with pytest.raises(ParameterError, match="delta"):
        gbdt.xgboost_objective("huber", delta=-1.0)
    with pytest.raises(ParameterTypeError, match="detla"):
        gbdt.lightgbm_objective("huber", detla=1.0)
    with pytest.raises(ParameterError, match="reduction"):
        gbdt.lightgbm_objective("huber", reduction="sum")
    with pytest.raises(ParameterError, match="hess_floor"):
        gbdt.xgboost_objective("mse", hess_floor=-1.0)
    with pytest.raises(ParameterTypeError, match="scale"):
        gbdt.xgboost_objective("mse", scale="half")
    margins = np.zeros((4, C), dtype=np.float32)
    labels = xgb.DMatrix(np.zeros((4, 1)), label=np.array([0.0, 1.0, 2.0, 1.0]))
    # Class labels with one margin per class, given to a regression loss.
    with pytest.raises(ShapeError, match="cross_entropy"):
        gbdt.xgboost_objective("mse")(margins, labels)
    # A class loss with one margin per sample (no num_class).
    with pytest.raises(ShapeError, match="num_class"):
        gbdt.lightgbm_objective("cross_entropy")(np.array([0.0, 1.0, 2.0, 1.0]), np.zeros(4), None)
    with pytest.raises(TargetError, match="class index 3"):
        gbdt.xgboost_objective("cross_entropy")(
            margins, xgb.DMatrix(np.zeros((4, 1)), label=np.array([0.0, 1.0, 3.0, 1.0]))
        )
    with pytest.raises(TargetError, match="class indices"):
        gbdt.lightgbm_objective("cross_entropy")(np.array([0.0, 0.5, 2.0, 1.0]), margins, None)
    with pytest.raises(TargetError, match="-1 or \\+1"):
        gbdt.xgboost_objective("hinge")(np.array([0.0, 1.0]), np.zeros(2, dtype=np.float32))


def test_adapter_calls_match_the_fused_kernel(rng):
    """The adapter is the kernel with reduction="none" (no other arithmetic than the floor)."""
    x = rng.normal(size=(30, 4))
    y = rng.integers(0, 4, 30)
    w = rng.uniform(0.5, 2.0, 30)
    g, h = gbdt.lightgbm_objective("cross_entropy", hess_floor=0.0)(y.astype(float), x, w)
    _, g0, h0 = _core.cross_entropy(x, y, weight=w, reduction="none", with_hess=True)
    np.testing.assert_array_equal(g, g0)
    np.testing.assert_array_equal(h, h0)


@pytest.mark.parametrize("script", ["xgboost_focal.py", "lightgbm_huber.py"])
def test_examples_run(script, tmp_path):
    import os
    import pathlib
    import subprocess
    import sys

    root = pathlib.Path(__file__).resolve().parent.parent
    # One OpenMP thread: on a busy 2-core runner spinning threads only contend.
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-W", "error", str(root / "examples" / script)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
