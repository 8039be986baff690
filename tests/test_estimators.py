"""losscore.estimators: the scikit-learn estimator API (checked with scikit-learn's own
check_estimator), accuracy on bundled data sets, and error cases. scikit-learn is a test-only
dependency: the estimators must not import it."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", minversion="1.6")  # estimator tags API

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits, make_friedman1, make_regression  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import check_estimator  # noqa: E402

from losscore.errors import ParameterError, ShapeError, TargetError  # noqa: E402
from losscore.estimators import (  # noqa: E402
    LinearClassifier,
    LinearRegressor,
    MLPClassifier,
    MLPRegressor,
)

ALL = [LinearRegressor, LinearClassifier, MLPRegressor, MLPClassifier]


# "does not inherit from sklearn.base.BaseEstimator" (by design: no run-time scikit-learn) and
# "pandas is not installed" skip notices are UserWarnings; everything else stays an error.
@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize("cls", ALL, ids=lambda c: c.__name__)
def test_check_estimator(cls):
    check_estimator(cls())


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    return train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)


def test_mlp_classifier_digits(digits):
    X_train, X_test, y_train, y_test = digits
    clf = MLPClassifier(random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.95
    assert clf.classes_.tolist() == list(range(10))
    assert clf.n_features_in_ == 64 and 1 <= clf.n_iter_ <= 200
    proba = clf.predict_proba(X_test)
    d = clf.decision_function(X_test)
    e = np.exp(d - d.max(axis=1, keepdims=True))
    np.testing.assert_allclose(proba, e / e.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_array_equal(clf.predict(X_test), np.argmax(d, axis=1))


def test_linear_classifier_digits(digits):
    X_train, X_test, y_train, y_test = digits
    clf = LinearClassifier(random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.93


def test_linear_regressor_approaches_least_squares():
    X, y = make_regression(n_samples=600, n_features=5, noise=5.0, random_state=0)
    y = y / 50.0
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    reg = LinearRegressor(epochs=200, random_state=0).fit(X_train, y_train)
    assert reg.score(X_test, y_test) >= 0.98
    A = np.column_stack([X_train, np.ones(len(X_train))])
    ols = np.linalg.lstsq(A, y_train, rcond=None)[0]
    np.testing.assert_allclose(reg.model_.weight[:, 0], ols[:5], atol=0.05)
    # R^2 from its definition
    pred = reg.predict(X_test)
    r2 = 1 - np.sum((y_test - pred) ** 2) / np.sum((y_test - y_test.mean()) ** 2)
    assert reg.score(X_test, y_test) == pytest.approx(r2, rel=1e-12)


def test_mlp_regressor_friedman():
    X, y = make_friedman1(n_samples=2000, noise=0.1, random_state=0)
    y = (y - y.mean()) / y.std()
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(64,), lr=3e-3, epochs=100, random_state=0)
    reg.fit(X_train, y_train)
    assert reg.score(X_test, y_test) >= 0.9


def test_multi_output_regression_and_column_targets():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    Y = np.column_stack([X @ [1.0, 2.0, 0.0], X @ [0.0, -1.0, 1.0]])
    reg = LinearRegressor(epochs=100, random_state=0).fit(X, Y)
    assert reg.predict(X).shape == (200, 2) and reg.n_outputs_ == 2
    assert reg.score(X, Y) > 0.99
    assert LinearRegressor(epochs=5, random_state=0).fit(X, Y[:, :1]).predict(X).shape == (200, 1)


def test_binary_string_labels_probabilities():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(300, 2))
    y = np.where(X[:, 0] - X[:, 1] > 0, "cat", "dog")
    clf = LinearClassifier(random_state=0).fit(X, y)
    assert clf.classes_.tolist() == ["cat", "dog"]
    d = clf.decision_function(X)
    assert d.shape == (300,)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba[:, 1], 1 / (1 + np.exp(-d)), rtol=1e-12)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_array_equal(clf.predict(X), np.where(d > 0, "dog", "cat"))
    assert clf.score(X, y) > 0.95


def test_hinge_loss_classifiers():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 2))
    y2 = (X[:, 0] > 0).astype(int)
    clf = LinearClassifier(loss="hinge", random_state=0).fit(X, y2)
    assert clf.score(X, y2) > 0.95
    assert not hasattr(clf, "predict_proba")
    y3 = np.digitize(X[:, 0], [-0.5, 0.5])
    clf3 = MLPClassifier(loss="hinge", hidden_layer_sizes=(16,), random_state=0).fit(X, y3)
    assert clf3.score(X, y3) > 0.9


def test_random_state_determinism_and_pickle():
    X, y = load_digits(return_X_y=True)
    X, y = X[:300] / 16, y[:300]
    a = MLPClassifier(hidden_layer_sizes=(16,), epochs=5, random_state=3).fit(X, y)
    b = MLPClassifier(hidden_layer_sizes=(16,), epochs=5, random_state=3).fit(X, y)
    c = MLPClassifier(hidden_layer_sizes=(16,), epochs=5, random_state=4).fit(X, y)
    np.testing.assert_array_equal(a.decision_function(X), b.decision_function(X))
    assert not np.array_equal(a.decision_function(X), c.decision_function(X))
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict_proba(X), a.predict_proba(X))


def test_params_clone_repr_pipeline_and_grid_search():
    est = MLPRegressor(hidden_layer_sizes=(8, 4), activation="tanh", l2=1e-3)
    params = est.get_params()
    assert params["hidden_layer_sizes"] == (8, 4) and params["activation"] == "tanh"
    twin = clone(est)
    assert twin.get_params() == params and twin is not est
    assert est.set_params(lr=0.5) is est and est.lr == 0.5
    assert repr(est) == (
        "MLPRegressor(activation='tanh', hidden_layer_sizes=(8, 4), l2=0.001, lr=0.5)"
    )
    with pytest.raises(ParameterError, match="Invalid parameter 'alpha'"):
        est.set_params(alpha=1.0)
    X, y = make_regression(n_samples=120, n_features=3, noise=1.0, random_state=0)
    y = y / y.std()
    grid = GridSearchCV(make_pipeline(StandardScaler(), LinearRegressor(epochs=30)),
                        {"linearregressor__lr": [0.001, 0.05]}, cv=2)
    grid.fit(X, y)
    assert grid.best_params_ == {"linearregressor__lr": 0.05}


def test_early_stopping_and_verbose(capsys):
    X, y = load_digits(return_X_y=True)
    X = X / 16
    clf = MLPClassifier(hidden_layer_sizes=(32,), lr=0.01, epochs=200, early_stopping=3,
                        tol=None, random_state=0, verbose=True).fit(X, y)
    assert clf.n_iter_ < 200
    assert "val_loss" in clf.history_.history and clf.history_.best_epoch is not None
    out = capsys.readouterr().out
    assert out.count("\n") == clf.n_iter_ and "epoch 1/200" in out
    h = clf.history_.history
    assert clf.history_.best_epoch == int(np.argmin(h["val_loss"]))


def test_feature_names_from_dataframes():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(3)
    df = pd.DataFrame(rng.normal(size=(50, 3)), columns=["a", "b", "c"])
    y = df["a"].to_numpy() * 2
    reg = LinearRegressor(epochs=5, random_state=0).fit(df, y)
    assert reg.feature_names_in_.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(reg.predict(df), reg.predict(df.to_numpy()))
    with pytest.raises(ParameterError, match="feature names"):
        reg.predict(df[["c", "b", "a"]])
    reg.fit(df.to_numpy(), y)
    assert not hasattr(reg, "feature_names_in_")


def test_input_errors():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.arange(20) % 2
    for cls in ALL:
        est = cls(epochs=2)
        with pytest.raises(ShapeError, match="inconsistent numbers of samples"):
            est.fit(X, y[:-1])
        Xn = X.copy()
        Xn[3, 2] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            est.fit(Xn, y)
        with pytest.raises(ValueError, match="not fitted"):
            est.predict(X)
        with pytest.raises(AttributeError):  # NotFittedError is also an AttributeError
            est.predict(X)
        with pytest.raises(ParameterError, match="loss"):
            cls(loss="squared_error").fit(X, y)
        with pytest.raises(ShapeError, match="Reshape your data"):
            est.fit(X[:, 0], y)
        est.fit(X, y)
        with pytest.raises(ShapeError, match=r"X has 2 features, but \w+ is expecting 3"):
            est.predict(X[:, :2])
        with pytest.raises(ValueError, match="NaN"):
            est.predict(Xn)
        with pytest.raises(ParameterError, match="epochs"):
            cls(epochs=0).fit(X, y)
        with pytest.raises(ParameterError, match="optimizer"):
            cls(optimizer="adamax2").fit(X, y)
    for cls in (LinearClassifier, MLPClassifier):
        with pytest.raises(TargetError, match="Unknown label type: continuous"):
            cls().fit(X, X[:, 0])
        with pytest.raises(TargetError, match="one class"):
            cls().fit(X, np.ones(20))
        with pytest.raises(TargetError, match="1d array"):
            cls().fit(X, np.ones((20, 2)))
        with pytest.raises(TargetError, match="y is None"):
            cls().fit(X, None)
    with pytest.raises(TargetError, match="NaN"):
        LinearRegressor().fit(X, np.full(20, np.nan))
    with pytest.raises(ParameterError, match="hidden_layer_sizes"):
        MLPRegressor(hidden_layer_sizes=(0,)).fit(X, y)
    with pytest.raises(ParameterError, match="activation"):
        MLPRegressor(activation="swish").fit(X, y)


def test_no_scikit_learn_import_at_run_time():
    code = (
        "import sys, numpy as np\n"
        "from losscore.estimators import MLPClassifier\n"
        "X = np.random.default_rng(0).normal(size=(40, 2)); y = (X[:, 0] > 0).astype(int)\n"
        "clf = MLPClassifier(hidden_layer_sizes=(4,), epochs=2).fit(X, y)\n"
        "clf.predict_proba(X); clf.score(X, y)\n"
        "try:\n    MLPClassifier().predict(X)\nexcept ValueError:\n    pass\n"
        "assert not any(m == 'sklearn' or m.startswith('sklearn.') for m in sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
