"""losscore.estimators: scikit-learn's own check_estimator, accuracy against scikit-learn's
estimators on bundled data sets, sample weights against weighted least squares, meta-estimators
(AdaBoost, Bagging, GridSearchCV with processes), metadata routing, partial_fit / warm_start,
pickling, and error cases."""

from __future__ import annotations

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", minversion="1.6")

import scipy.sparse  # noqa: E402
from scipy.special import log_expit, log_softmax  # noqa: E402
from sklearn.base import clone  # noqa: E402
from sklearn.datasets import (  # noqa: E402
    load_diabetes,
    load_digits,
    make_classification,
    make_regression,
)
from sklearn.ensemble import (  # noqa: E402
    AdaBoostClassifier,
    BaggingClassifier,
    BaggingRegressor,
)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.exceptions import NotFittedError as SklearnNotFittedError  # noqa: E402
from sklearn.linear_model import LinearRegression  # noqa: E402
from sklearn.model_selection import (  # noqa: E402
    GridSearchCV,
    KFold,
    cross_validate,
    train_test_split,
)
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from losscore.errors import (  # noqa: E402
    DataError,
    DTypeError,
    LosscoreError,
    ParameterError,
    TargetError,
)
from losscore.estimators import (  # noqa: E402
    LinearClassifier,
    LinearRegressor,
    MLPClassifier,
    MLPRegressor,
    NotFittedError,
)

ALL = [LinearRegressor, LinearClassifier, MLPRegressor, MLPClassifier]

# Mini-batch SGD cannot make an integer weight equal to repeating the row: the batches differ.
EXPECTED_FAILURES = {
    "check_sample_weight_equivalence_on_dense_data": (
        "mini-batch training: a weight of 2 and a repeated row land in different batches"
    ),
}


# check_estimator's data are tiny random sets on which the loss keeps falling for the whole
# budget: the ConvergenceWarning is right there, and pytest would turn it into an error.
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("epochs", [None, 10], ids=["default", "epochs10"])
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_check_estimator(cls, epochs):
    est = cls() if epochs is None else cls(epochs=epochs)
    results = check_estimator(est, expected_failed_checks=EXPECTED_FAILURES, on_fail=None,
                              on_skip=None)
    failed = [(r["check_name"], repr(r["exception"])) for r in results if r["status"] == "failed"]
    assert failed == []
    passed = [r for r in results if r["status"] == "passed"]
    assert len(passed) >= 50
    # the only skip is the array-API check, which needs SCIPY_ARRAY_API=1 and a namespace
    skipped = {r["check_name"] for r in results if r["status"] == "skipped"}
    assert skipped <= {"check_array_api_input"}


# ---- the figures: against scikit-learn on the same split ----


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def test_linear_regressor_diabetes_matches_least_squares(diabetes):
    X_train, X_test, y_train, y_test = diabetes
    ols = LinearRegression().fit(X_train, y_train).score(X_test, y_test)
    reg = LinearRegressor(random_state=0).fit(X_train, y_train)  # defaults, no warning
    assert reg.score(X_test, y_test) >= ols - 0.02
    # R^2 from its definition
    pred = reg.predict(X_test)
    r2 = 1 - np.sum((y_test - pred) ** 2) / np.sum((y_test - y_test.mean()) ** 2)
    assert reg.score(X_test, y_test) == pytest.approx(r2, rel=1e-12)
    assert 1 <= reg.n_iter_ < 200 and len(reg.loss_curve_) == reg.n_iter_


def test_linear_regressor_make_regression_and_coef():
    X, y = make_regression(n_samples=1000, n_features=20, n_informative=10, noise=1.0,
                           random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    reg = LinearRegressor(random_state=0).fit(X_train, y_train)
    assert reg.score(X_test, y_test) >= 0.99
    A = np.column_stack([X_train, np.ones(len(X_train))])
    ols = np.linalg.lstsq(A, y_train, rcond=None)[0]
    scale = np.abs(ols[:-1]).max()
    np.testing.assert_allclose(reg.coef_, ols[:-1], atol=0.01 * scale)
    assert reg.intercept_ == pytest.approx(ols[-1], abs=0.01 * scale)
    np.testing.assert_allclose(reg.predict(X_test), X_test @ reg.coef_ + reg.intercept_,
                               rtol=1e-10, atol=1e-8 * scale)


def test_mlp_regressor_make_regression_and_diabetes(diabetes):
    X, y = make_regression(n_samples=1000, n_features=20, n_informative=10, noise=1.0,
                           random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
    assert MLPRegressor(random_state=0).fit(X_train, y_train).score(X_test, y_test) >= 0.99
    X_train, X_test, y_train, y_test = diabetes
    with pytest.warns(ConvergenceWarning):  # 331 rows: the training loss keeps falling
        reg = MLPRegressor(random_state=0).fit(X_train, y_train)
    assert reg.score(X_test, y_test) > 0.25


@pytest.mark.parametrize("cls", [LinearClassifier, MLPClassifier], ids=lambda c: c.__name__)
def test_classifiers_digits(cls, digits):
    X_train, X_test, y_train, y_test = digits
    clf = cls(random_state=0).fit(X_train, y_train)  # defaults: no ConvergenceWarning
    assert clf.score(X_test, y_test) >= 0.95
    assert clf.classes_.tolist() == list(range(10))
    assert clf.n_features_in_ == 64 and 1 <= clf.n_iter_ < 200
    d = clf.decision_function(X_test)
    np.testing.assert_allclose(clf.predict_log_proba(X_test), log_softmax(d, axis=1),
                               rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(clf.predict_proba(X_test), np.exp(log_softmax(d, axis=1)),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(clf.predict(X_test), np.argmax(d, axis=1))


def test_linear_classifier_coef_in_original_units(digits):
    X_train, X_test, y_train, _ = digits
    clf = LinearClassifier(epochs=20, tol=None, random_state=0).fit(X_train, y_train)
    assert clf.coef_.shape == (10, 64) and clf.intercept_.shape == (10,)
    np.testing.assert_allclose(clf.decision_function(X_test),
                               X_test @ clf.coef_.T + clf.intercept_, rtol=1e-9, atol=1e-9)
    y2 = (y_train > 4).astype(int)
    binary = LinearClassifier(epochs=20, tol=None, random_state=0).fit(X_train, y2)
    assert binary.coef_.shape == (1, 64) and binary.intercept_.shape == (1,)
    np.testing.assert_allclose(binary.decision_function(X_test),
                               X_test @ binary.coef_[0] + binary.intercept_[0], rtol=1e-9,
                               atol=1e-9)


def test_binary_string_labels_probabilities():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    y = np.where(X[:, 0] - X[:, 1] + 0.3 * rng.normal(size=300) > 0, "cat", "dog")
    clf = LinearClassifier(random_state=0).fit(X, y)
    assert clf.classes_.tolist() == ["cat", "dog"]
    d = clf.decision_function(X)
    assert d.shape == (300,)
    logp = clf.predict_log_proba(X)
    np.testing.assert_allclose(logp[:, 1], log_expit(d), rtol=1e-12)
    np.testing.assert_allclose(logp[:, 0], log_expit(-d), rtol=1e-12)
    np.testing.assert_allclose(clf.predict_proba(X).sum(axis=1), 1.0, rtol=1e-14)
    np.testing.assert_array_equal(clf.predict(X), np.where(d > 0, "dog", "cat"))
    assert clf.score(X, y) > 0.85


def test_hinge_loss_classifiers_have_no_probabilities():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 2))
    y2 = (X[:, 0] > 0).astype(int)
    clf = LinearClassifier(loss="hinge", random_state=0).fit(X, y2)
    assert clf.score(X, y2) > 0.95
    assert not hasattr(clf, "predict_proba") and not hasattr(clf, "predict_log_proba")
    y3 = np.digitize(X[:, 0], [-0.5, 0.5])
    clf3 = MLPClassifier(loss="hinge", hidden_layer_sizes=(16,), epochs=60, tol=None,
                         random_state=0).fit(X, y3)
    assert clf3.score(X, y3) > 0.9


def test_multi_output_regression_standardises_each_target():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    Y = np.column_stack([X @ [1.0, 2.0, 0.0] * 1000.0 + 5e4, X @ [0.0, -1.0, 1.0] * 1e-3])
    reg = LinearRegressor(random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (300, 2) and reg.n_outputs_ == 2
    assert reg.coef_.shape == (2, 3) and reg.intercept_.shape == (2,)
    ols = np.linalg.lstsq(np.column_stack([X, np.ones(300)]), Y, rcond=None)[0]
    for k in range(2):  # each target in its own units
        scale = np.abs(ols[:3, k]).max()
        np.testing.assert_allclose(reg.coef_[k], ols[:3, k], atol=1e-2 * scale)
        assert reg.intercept_[k] == pytest.approx(ols[3, k], abs=1e-2 * scale)
    assert reg.score(X, Y) > 0.999


def test_mlp_regressor_learns_a_curve_in_any_units():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(600, 1)) * 1e3  # feature and target far from unit scale
    y = np.sin(2e-3 * X[:, 0]) * 1e4 + 3e4
    reg = MLPRegressor(hidden_layer_sizes=(32,), activation="tanh", lr=0.01, random_state=0)
    assert reg.fit(X, y).score(X, y) > 0.95


def test_poisson_regressor_predicts_rates():
    rng = np.random.default_rng(8)
    X = rng.normal(size=(2000, 2))
    rate = np.exp(X @ [0.5, -0.3] + 1.0)
    y = rng.poisson(rate).astype(float)
    reg = LinearRegressor(loss="poisson_nll", random_state=0).fit(X, y)
    pred = reg.predict(X)
    assert pred.min() > 0
    np.testing.assert_allclose(pred, rate, rtol=0.1)
    # coef_ / intercept_ are those of the log-rate, as for a Poisson GLM
    np.testing.assert_allclose(reg.coef_, [0.5, -0.3], atol=0.05)
    assert reg.intercept_ == pytest.approx(1.0, abs=0.05)


# ---- sample weights ----


def test_sample_weight_gives_weighted_least_squares():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 3))
    y = X @ [1.0, -1.0, 2.0] + rng.normal(size=400) * (1 + 2 * (X[:, 0] > 0))
    w = rng.uniform(0.1, 3.0, size=400)
    reg = LinearRegressor(lr=1e-3, epochs=300, tol=None, random_state=0)
    reg.fit(X, y, sample_weight=w)
    A = np.column_stack([X, np.ones(400)]) * np.sqrt(w)[:, None]
    wls = np.linalg.lstsq(A, y * np.sqrt(w), rcond=None)[0]
    ols = np.linalg.lstsq(np.column_stack([X, np.ones(400)]), y, rcond=None)[0]
    # weights matter here (WLS and OLS differ), and the fit finds the weighted solution
    assert np.max(np.abs(wls - ols)) > 0.15
    np.testing.assert_allclose(reg.coef_, wls[:3], atol=0.02)
    assert reg.intercept_ == pytest.approx(wls[3], abs=0.02)
    # score(sample_weight=) is the weighted R^2
    pred = reg.predict(X)
    ybar = np.average(y, weights=w)
    r2 = 1 - np.sum(w * (y - pred) ** 2) / np.sum(w * (y - ybar) ** 2)
    assert reg.score(X, y, sample_weight=w) == pytest.approx(r2, rel=1e-12)


def test_zero_weights_ignore_samples():
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 2))
    y = (X[:, 0] > 0).astype(int)
    y_flipped = y.copy()
    y_flipped[:100] = 1 - y_flipped[:100]  # corrupt a third, then weigh it out
    w = np.ones(300)
    w[:100] = 0.0
    clf = LinearClassifier(random_state=0).fit(X, y_flipped, sample_weight=w)
    assert clf.score(X[100:], y[100:]) > 0.95
    plain = LinearClassifier(random_state=0).fit(X, y_flipped)
    assert plain.score(X[100:], y[100:]) < clf.score(X[100:], y[100:])


def test_adaboost_and_bagging_with_sample_weight():
    X, y = make_classification(n_samples=400, n_features=6, random_state=0)
    boost = AdaBoostClassifier(LinearClassifier(epochs=20, random_state=0), n_estimators=4,
                               random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        boost.fit(X, y)
    assert len(boost.estimators_) >= 2
    assert boost.score(X, y) > 0.85
    # AdaBoost reweights: the later estimators were trained on other weights
    first, second = boost.estimators_[:2]
    assert not np.allclose(first.coef_, second.coef_)

    w = np.random.default_rng(0).uniform(0.5, 2.0, size=400)
    bag = BaggingClassifier(LinearClassifier(epochs=20, tol=None, random_state=0),
                            n_estimators=3, random_state=0).fit(X, y, sample_weight=w)
    assert bag.score(X, y, sample_weight=w) > 0.85
    Xr, yr = make_regression(n_samples=300, n_features=4, noise=1.0, random_state=0)
    bag_r = BaggingRegressor(LinearRegressor(random_state=0), n_estimators=3,
                             random_state=0).fit(Xr, yr, sample_weight=w[:300])
    assert bag_r.score(Xr, yr) > 0.99


def test_metadata_routing_passes_sample_weight():
    X, y = make_regression(n_samples=120, n_features=3, noise=5.0, random_state=1)
    w = np.random.default_rng(1).uniform(0.2, 2.0, size=120)
    cv = KFold(3)
    with sklearn.config_context(enable_metadata_routing=True):
        est = LinearRegressor(epochs=30, tol=None, random_state=0)
        est.set_fit_request(sample_weight=True).set_score_request(sample_weight=True)
        res = cross_validate(est, X, y, cv=cv, params={"sample_weight": w})
    by_hand = []
    for train, test in cv.split(X):
        fold = LinearRegressor(epochs=30, tol=None, random_state=0)
        fold.fit(X[train], y[train], sample_weight=w[train])
        by_hand.append(fold.score(X[test], y[test], sample_weight=w[test]))
    np.testing.assert_allclose(res["test_score"], by_hand, rtol=1e-12)


# ---- scikit-learn machinery ----


def test_grid_search_with_processes_matches_one_process():
    X, y = make_classification(n_samples=200, n_features=5, random_state=0)
    grid = {"lr": [1e-4, 0.05], "l2": [1e-4, 1e-2]}
    est = LinearClassifier(epochs=15, tol=None, random_state=0)
    one = GridSearchCV(est, grid, cv=2, n_jobs=1).fit(X, y)
    two = GridSearchCV(est, grid, cv=2, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(one.cv_results_["mean_test_score"],
                                  two.cv_results_["mean_test_score"])
    assert two.best_params_["lr"] == 0.05
    np.testing.assert_array_equal(one.predict(X), two.predict(X))


def test_pipeline_set_output_pandas_and_feature_names():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    df = pd.DataFrame(rng.normal(size=(80, 3)), columns=["a", "b", "c"])
    y = df["a"].to_numpy() * 2 - df["c"].to_numpy()
    pipe = make_pipeline(StandardScaler(), LinearRegressor(random_state=0))
    pipe.set_output(transform="pandas").fit(df, y)
    reg = pipe[-1]
    assert reg.feature_names_in_.tolist() == ["a", "b", "c"]
    assert pipe.score(df, y) > 0.999
    with pytest.raises(DataError, match="feature names"):
        reg.predict(df[["c", "b", "a"]])


def test_repr_html_and_params():
    est = MLPRegressor(hidden_layer_sizes=(8, 4), activation="relu", l2=1e-3)
    assert repr(est) == "MLPRegressor(activation='relu', hidden_layer_sizes=(8, 4), l2=0.001)"
    html = est._repr_html_()
    assert "MLPRegressor" in html and "hidden_layer_sizes" in html
    twin = clone(est)
    assert twin.get_params() == est.get_params() and twin is not est
    assert est.set_params(lr=0.5) is est and est.lr == 0.5
    with pytest.raises(ValueError, match="Invalid parameter 'alpha'"):
        est.set_params(alpha=1.0)
    assert est.__sklearn_tags__().target_tags.multi_output
    assert not MLPClassifier().__sklearn_tags__().target_tags.multi_output


def test_pickle_round_trip_and_continued_training():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300], y[:300]
    a = MLPClassifier(hidden_layer_sizes=(16,), epochs=5, tol=None, random_state=3).fit(X, y)
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict_proba(X), a.predict_proba(X))
    a.partial_fit(X, y)
    restored.partial_fit(X, y)  # optimizer state travelled with the pickle
    np.testing.assert_array_equal(restored.predict_proba(X), a.predict_proba(X))


def test_random_state_determinism():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300], y[:300]
    kw = dict(hidden_layer_sizes=(16,), epochs=5, tol=None)
    a = MLPClassifier(random_state=3, **kw).fit(X, y)
    b = MLPClassifier(random_state=3, **kw).fit(X, y)
    c = MLPClassifier(random_state=4, **kw).fit(X, y)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    assert not np.array_equal(a.decision_function(X), c.decision_function(X))


# ---- partial_fit, warm_start, convergence ----


@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_partial_fit_equals_one_epoch_of_fit(cls):
    X, y = make_classification(n_samples=150, n_features=4, n_informative=3, n_redundant=0,
                               n_classes=3, random_state=0)
    w = np.random.default_rng(0).uniform(0.5, 1.5, size=150)
    kw = dict(hidden_layer_sizes=(8,)) if cls.__name__.startswith("MLP") else {}
    fitted = cls(epochs=1, tol=None, random_state=7, **kw).fit(X, y, sample_weight=w)
    inc = cls(random_state=7, **kw)
    if cls.__name__.endswith("Classifier"):
        inc.partial_fit(X, y, classes=[0, 1, 2], sample_weight=w)
    else:
        inc.partial_fit(X, y, sample_weight=w)
    np.testing.assert_array_equal(inc.predict(X), fitted.predict(X))
    for a, b in zip(inc.model_.parameters(), fitted.model_.parameters(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert inc.n_iter_ == 1 and inc.loss_curve_ == fitted.loss_curve_
    inc.partial_fit(X, y, sample_weight=w)
    assert inc.n_iter_ == 2 and len(inc.loss_curve_) == 2
    assert inc.loss_curve_[1] < inc.loss_curve_[0]


def test_warm_start_continues_from_the_previous_weights():
    X, y = make_regression(n_samples=200, n_features=3, noise=1.0, random_state=0)
    cold = LinearRegressor(epochs=3, tol=None, random_state=0).fit(X, y)
    first_cold = cold.loss_curve_[0]
    cold.fit(X, y)
    assert cold.loss_curve_[0] == first_cold  # a fresh start every time
    warm = LinearRegressor(epochs=3, tol=None, warm_start=True, random_state=0).fit(X, y)
    before = warm.loss_curve_[-1]
    warm.fit(X, y)
    assert warm.loss_curve_[0] < before  # starts where the last fit ended


def test_convergence_warning_only_when_still_improving(digits):
    X_train, _, y_train, _ = digits
    with pytest.warns(ConvergenceWarning, match="maximum of 3 epochs"):
        MLPClassifier(epochs=3, random_state=0).fit(X_train, y_train)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        MLPClassifier(epochs=3, tol=None, random_state=0).fit(X_train, y_train)  # no criterion


def test_early_stopping_and_verbose(capsys, digits):
    X_train, _, y_train, _ = digits
    clf = MLPClassifier(hidden_layer_sizes=(32,), lr=0.01, epochs=200, early_stopping=3,
                        tol=None, random_state=0, verbose=True).fit(X_train, y_train)
    assert clf.n_iter_ < 200
    h = clf.history_.history
    assert "val_loss" in h and clf.history_.best_epoch == int(np.argmin(h["val_loss"]))
    out = capsys.readouterr().out
    assert out.count("\n") == clf.n_iter_ and "epoch 1/200" in out


# ---- imports ----


def test_import_losscore_does_not_import_scikit_learn():
    code = (
        "import sys, losscore\n"
        "assert not any(m == 'sklearn' or m.startswith('sklearn.') for m in sys.modules)\n"
        "losscore.estimators.LinearRegressor\n"
        "assert 'sklearn' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_estimators_without_scikit_learn_name_the_extra():
    code = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'sklearn' or name.startswith('sklearn.'):\n"
        "            raise ImportError('No module named ' + repr(name))\n"
        "sys.meta_path.insert(0, Block())\n"
        "import losscore\n"
        "try:\n"
        "    import losscore.estimators\n"
        "except ImportError as exc:\n"
        "    assert \"pip install 'losscore[sklearn]'\" in str(exc), exc\n"
        "else:\n"
        "    raise SystemExit('imported without scikit-learn')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---- errors ----


def test_input_errors():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.arange(20) % 2
    for cls in ALL:
        est = cls(epochs=2, tol=None)
        with pytest.raises(NotFittedError, match="not fitted"):
            est.predict(X)
        with pytest.raises(SklearnNotFittedError):
            est.predict(X)
        with pytest.raises(DataError, match="inconsistent numbers of samples"):
            est.fit(X, y[:-1])
        Xn = X.copy()
        Xn[3, 2] = np.nan
        with pytest.raises(DataError, match="NaN"):
            est.fit(Xn, y)
        with pytest.raises(ParameterError, match="loss"):
            cls(loss="squared_error").fit(X, y)
        with pytest.raises(DataError, match="Reshape your data"):
            est.fit(X[:, 0], y)
        with pytest.raises(DTypeError, match=r"[Ss]parse"):
            est.fit(scipy.sparse.csr_matrix(X), y)
        with pytest.raises(DataError, match=r"[Nn]egative"):
            est.fit(X, y, sample_weight=-np.ones(20))
        with pytest.raises(DataError, match="sample_weight"):
            est.fit(X, y, sample_weight=np.ones(19))
        est.fit(X, y)
        with pytest.raises(DataError, match=r"X has 2 features, but \w+ is expecting 3"):
            est.predict(X[:, :2])
        with pytest.raises(DataError, match="NaN"):
            est.predict(Xn)
        for bad in (dict(epochs=0), dict(epochs=2.5), dict(batch_size=0), dict(lr=-1.0),
                    dict(lr="0.1"), dict(optimizer="adamax2"), dict(tol=-1.0),
                    dict(n_iter_no_change=0), dict(early_stopping="yes"), dict(l2=-1.0),
                    dict(l1=float("nan"))):
            name = next(iter(bad))
            with pytest.raises(ParameterError, match=name):
                cls(**bad).fit(X, y)
            # a failed fit leaves a fitted estimator as it was
            before = est.predict(X)
            with pytest.raises(ParameterError, match=name):
                est.set_params(**bad).fit(X * 10.0, y)
            est.set_params(**cls(epochs=2, tol=None).get_params())
            np.testing.assert_array_equal(est.predict(X), before)
        assert isinstance(NotFittedError("x"), LosscoreError | ValueError | AttributeError)
    for cls in (LinearClassifier, MLPClassifier):
        with pytest.raises(DataError, match="Unknown label type"):
            cls().fit(X, X[:, 0])
        with pytest.raises(TargetError, match="one class"):
            cls().fit(X, np.ones(20))
        with pytest.raises(DataError, match="y"):
            cls().fit(X, np.ones((20, 2)))
        with pytest.raises(DataError, match="requires y"):
            cls().fit(X, None)
        with pytest.raises(ParameterError, match="classes"):
            cls().partial_fit(X, y)
        clf = cls(epochs=2, tol=None).partial_fit(X, y, classes=[0, 1])
        with pytest.raises(TargetError, match=r"labels \[7\] are not in classes_"):
            clf.partial_fit(X, np.full(20, 7))
        with pytest.raises(ParameterError, match="differs from the first call"):
            clf.partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(DataError, match="NaN"):
        LinearRegressor().fit(X, np.full(20, np.nan))
    reg = LinearRegressor(epochs=2, tol=None).partial_fit(X, X[:, 0])
    with pytest.raises(TargetError, match="outputs"):
        reg.partial_fit(X, X[:, :2])
    with pytest.raises(ParameterError, match="hidden_layer_sizes"):
        MLPRegressor(hidden_layer_sizes=(0,)).fit(X, y)
    with pytest.raises(ParameterError, match="hidden_layer_sizes"):
        MLPRegressor(hidden_layer_sizes=(True,)).fit(X, y)
    with pytest.raises(ParameterError, match="activation"):
        MLPRegressor(activation="swish").fit(X, y)
    with pytest.raises(DataError, match="non-zero"):
        LinearRegressor().fit(X, y, sample_weight=np.zeros(20))
