"""The Tweedie deviances (``poisson_deviance``, ``gamma_deviance``, ``tweedie_deviance``):
against float64 NumPy formulas written here from scikit-learn's documentation, against
scikit-learn's ``mean_*_deviance`` themselves, finite differences for the gradient and the
Hessian, every reduction and weights, float32, chunked evaluation, ISA/thread bit equality,
domain errors."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
from sklearn.metrics import mean_gamma_deviance, mean_poisson_deviance, mean_tweedie_deviance

import losscore
from losscore import _core
from losscore.errors import ParameterError, ParameterTypeError, TargetError

POWERS = [-1.5, -1.0, 0.0, 1.0, 1.2, 1.5, 1.9, 2.0, 2.5, 3.0]


def ref_unit_deviance(mu, t, power):
    """scikit-learn's documented unit deviance, term by term, with the size of its terms."""
    mu, t = np.asarray(mu, np.float64), np.asarray(t, np.float64)
    if power == 0:
        d = (t - mu) ** 2
        return d, d
    if power == 1:
        safe_t = np.where(t > 0, t, 1.0)
        tlog = np.where(t > 0, t * np.log(safe_t / mu), 0.0)  # xlogy(t, t/mu)
        return 2 * (tlog - t + mu), 2 * (np.abs(tlog) + t + mu)
    if power == 2:
        a, b = np.log(mu / t), t / mu
        return 2 * (a + b - 1), 2 * (np.abs(a) + b + 1)
    p = power
    tpos = np.where(t > 0, t, 0.0)
    terms = [
        tpos ** (2 - p) / ((1 - p) * (2 - p)),
        -t * mu ** (1 - p) / (1 - p),
        mu ** (2 - p) / (2 - p),
    ]
    return 2 * sum(terms), 2 * sum(np.abs(x) for x in terms)


def ref_grad_hess(mu, t, power):
    """``d/dmu`` and ``d^2/dmu^2`` of the unit deviance, derived by hand."""
    mu, t = np.asarray(mu, np.float64), np.asarray(t, np.float64)
    p = power
    return 2 * mu**-p * (mu - t), 2 * mu ** (-p - 1) * (p * t + (1 - p) * mu)


def data(power, rng, n):
    mu = rng.uniform(0.05, 6.0, n)
    if power >= 2:
        t = rng.uniform(0.05, 6.0, n)
    elif power >= 1:
        t = rng.poisson(2.0, n).astype(np.float64)  # many zeros and ones
    else:
        t = rng.normal(1.0, 2.0, n)
    return mu, t


def call(power, mu, t, **kw):
    if power == 1:
        return losscore.poisson_deviance(mu, t, **kw)
    if power == 2:
        return losscore.gamma_deviance(mu, t, **kw)
    return losscore.tweedie_deviance(mu, t, power=power, **kw)


def fn_and_params(power):
    if power == 1:
        return losscore.poisson_deviance, {}
    if power == 2:
        return losscore.gamma_deviance, {}
    return losscore.tweedie_deviance, {"power": power}


@pytest.mark.parametrize("power", POWERS)
def test_per_element_values_match_the_documented_formula(power, rng):
    mu, t = data(power, rng, 2000)
    got = call(power, mu, t, reduction="none")
    want, scale = ref_unit_deviance(mu, t, power)
    assert got.dtype == np.float64
    np.testing.assert_array_less(np.abs(got - want), 1e-13 * scale + 1e-300)


@pytest.mark.parametrize("power", POWERS)
@pytest.mark.parametrize("weighted", [False, True])
def test_mean_matches_scikit_learn(power, weighted, rng):
    mu, t = data(power, rng, 5000)
    w = rng.uniform(0, 3, mu.size) if weighted else None
    ours = call(power, mu, t, weight=w)
    theirs = mean_tweedie_deviance(t, mu, sample_weight=w, power=power)
    assert ours == pytest.approx(theirs, rel=1e-12)
    if power == 1:
        assert ours == pytest.approx(mean_poisson_deviance(t, mu, sample_weight=w), rel=1e-12)
    if power == 2:
        assert ours == pytest.approx(mean_gamma_deviance(t, mu, sample_weight=w), rel=1e-12)


def test_the_issue_example_is_the_poisson_deviance_not_the_nll():
    rng = np.random.default_rng(3)
    mu = rng.uniform(0.5, 4, 1000)
    t = rng.poisson(mu).astype(np.float64)
    assert losscore.poisson_deviance(mu, t) == pytest.approx(mean_poisson_deviance(t, mu))
    assert losscore.poisson_deviance(mu, t) != pytest.approx(
        losscore.poisson_nll(mu, t, log_input=False)
    )


@pytest.mark.parametrize("power", POWERS)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradient_and_hessian_match_formulas_and_finite_differences(power, reduction, rng):
    mu, t = data(power, rng, 300)
    w = rng.uniform(0, 2, mu.size)
    fn, params = fn_and_params(power)
    value, g, h = losscore.value_grad_hess(fn)(mu, t, **params, weight=w, reduction=reduction)
    k = {"mean": 1 / w.sum(), "sum": 1.0, "none": 1.0}[reduction] * w
    gref, href = ref_grad_hess(mu, t, power)
    np.testing.assert_allclose(g, k * gref, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(h, k * href, rtol=1e-12, atol=1e-14 * np.abs(k * href).max())
    # Central differences of the loss (each element's own term) and of the gradient.
    step = 1e-6 * mu

    def per_element(m):
        return np.asarray(call(power, m, t, reduction="none"))

    fd_g = (per_element(mu + step) - per_element(mu - step)) / (2 * step)
    np.testing.assert_allclose(g, k * fd_g, rtol=1e-6, atol=1e-8 * np.abs(k * fd_g).max())
    vg = losscore.value_and_grad(fn)
    gu = vg(mu + step, t, **params, weight=w, reduction=reduction)[1]
    gd = vg(mu - step, t, **params, weight=w, reduction=reduction)[1]
    fd_h = (gu - gd) / (2 * step)
    np.testing.assert_allclose(h, fd_h, rtol=1e-5, atol=1e-7 * np.abs(fd_h).max())
    if reduction != "none":
        assert value == pytest.approx(
            math.fsum(w * ref_unit_deviance(mu, t, power)[0]) * k[0] / w[0], rel=1e-12
        )


@pytest.mark.parametrize("power", POWERS)
def test_float32_stays_float32_and_is_accurate(power, rng):
    mu, t = data(power, rng, 3000)
    mu32, t32 = mu.astype(np.float32), t.astype(np.float32)
    fn, params = fn_and_params(power)
    loss, g = losscore.value_and_grad(fn)(mu32, t32, **params, reduction="none")
    assert loss.dtype == np.float32 and g.dtype == np.float32
    want, scale = ref_unit_deviance(mu32, t32, power)
    np.testing.assert_array_less(np.abs(loss - want), 2e-6 * scale + 1e-30)
    gref, _ = ref_grad_hess(mu32, t32, power)
    np.testing.assert_allclose(g, gref, rtol=2e-6, atol=1e-6 * np.abs(gref).max())
    total = call(power, mu32, t32, reduction="sum")
    assert total == pytest.approx(math.fsum(np.asarray(loss, np.float64)), rel=1e-6)


def _phi(x: mpmath.mpf) -> mpmath.mpf:
    return x - mpmath.log1p(x)


def test_near_equal_prediction_and_target_the_deviances_keep_their_bits():
    # Where mu ~ t the documented formula cancels; ours is within a few ulp of the exact value.
    mpmath.mp.dps = 60
    rng = np.random.default_rng(5)
    t = rng.uniform(0.1, 10, 400)
    mu = t * (1 + rng.uniform(-0.5, 1.0, 400) * 10.0 ** rng.uniform(-12, 0, 400))
    pois = losscore.poisson_deviance(mu, t, reduction="none")
    gam = losscore.gamma_deviance(mu, t, reduction="none")
    worst = 0.0
    for i in range(t.size):
        m, y = mpmath.mpf(mu[i]), mpmath.mpf(t[i])
        exact_pois = 2 * y * _phi(m / y - 1)
        exact_gam = 2 * _phi(y / m - 1)
        for got, exact in ((pois[i], exact_pois), (gam[i], exact_gam)):
            ulp = np.spacing(abs(float(exact)))
            worst = max(worst, float(abs(mpmath.mpf(got) - exact)) / ulp)
    assert worst <= 4.0


@pytest.mark.parametrize("power", POWERS)
def test_every_isa_and_thread_count_gives_the_same_bits(power, use_isa, use_threads):
    rng = np.random.default_rng(8)
    mu, t = data(power, rng, 20_011)
    w = rng.uniform(0, 2, mu.size)
    fn, params = fn_and_params(power)

    def run():
        value, g, h = losscore.value_grad_hess(fn)(mu, t, **params, weight=w)
        return value, g.tobytes(), h.tobytes(), call(power, mu, t, reduction="sum")

    with use_isa("scalar"), use_threads(1):
        reference = run()
    for name in losscore.available_isas():
        for n in (1, 2):
            with use_isa(name), use_threads(n):
                assert run() == reference, (name, n)


@pytest.mark.parametrize("power", [1.0, 2.0, 1.5, -1.0])
def test_chunked_evaluation_and_accumulators_equal_the_in_memory_call(power, rng):
    mu, t = data(power, rng, 30_000)
    w = rng.uniform(0, 2, mu.size)
    fn, params = fn_and_params(power)
    whole = fn(mu, t, **params, weight=w)
    assert losscore.evaluate(fn, mu, t, chunk_size=7_000, weight=w, **params) == whole
    acc = losscore.Accumulator(fn, **params)
    for lo in range(0, mu.size, 9_000):
        acc.update(mu[lo : lo + 9_000], t[lo : lo + 9_000], weight=w[lo : lo + 9_000])
    assert acc.result(reduction="mean") == whole
    part = _core.tweedie_deviance(mu, t, power, w, "sum", partials=True)
    assert part.finish("mean") == whole


@pytest.mark.parametrize("power", [-1.0, 1.0, 2.0, 1.5, 3.0])
def test_infinite_and_nan_inputs(power):
    mu = np.array([np.nan, 1.0, np.inf])
    t = np.array([1.0, np.nan, 2.0])
    out = call(power, mu, t, reduction="none")
    assert np.isnan(out[0]) and np.isnan(out[1])
    # The limit at mu = +inf: +inf, except for p > 2 where mu^(2-p) and mu^(1-p) vanish.
    limit = np.inf if power <= 2 else 2 * 2.0 ** (2 - power) / ((1 - power) * (2 - power))
    assert out[2] == pytest.approx(limit)


def test_zero_targets_are_the_xlogy_limit():
    mu = np.array([0.5, 3.0, 1e-300, 1e300])
    t = np.zeros(4)
    np.testing.assert_array_equal(losscore.poisson_deviance(mu, t, reduction="none"), 2 * mu)
    # A target far below the prediction (mu/t overflows): the limit 2 mu, not nan.
    assert losscore.poisson_deviance(np.array([1e10]), np.array([1e-300])) == 2e10
    # Equal prediction and target: +0.0.
    for loss in (losscore.poisson_deviance, losscore.gamma_deviance):
        v = loss(np.array([2.5, 1e-3]), np.array([2.5, 1e-3]), reduction="none")
        assert np.signbit(v).tolist() == [False, False] and v.tolist() == [0.0, 0.0]


BAD_INPUTS = [
    # (loss, params, pred, target, argument named, flat index)
    (losscore.poisson_deviance, {}, [1.0, 0.0, 1.0], [1.0, 1.0, 1.0], "pred", 1),
    (losscore.poisson_deviance, {}, [1.0, 1.0, -2.0], [1.0, 1.0, 1.0], "pred", 2),
    (losscore.poisson_deviance, {}, [1.0, 1.0, 1.0], [0.0, -1.0, 1.0], "target", 1),
    (losscore.gamma_deviance, {}, [1.0, 1.0, 1.0], [1.0, 1.0, 0.0], "target", 2),
    (losscore.gamma_deviance, {}, [-1.0, 1.0, 1.0], [1.0, 1.0, 1.0], "pred", 0),
    (losscore.tweedie_deviance, {"power": 1.5}, [1.0, 1.0], [0.0, -0.5], "target", 1),
    (losscore.tweedie_deviance, {"power": 3.0}, [1.0, 1.0], [1.0, 0.0], "target", 1),
    (losscore.tweedie_deviance, {"power": -1.0}, [1.0, 0.0], [-3.0, 1.0], "pred", 1),
    (losscore.tweedie_deviance, {"power": 1.0}, [1.0, 1.0], [1.0, -1.0], "target", 1),
    (losscore.tweedie_deviance, {"power": 2.0}, [0.0, 1.0], [1.0, 1.0], "pred", 0),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=lambda c: f"{c[0].__name__}{c[1]}-{c[4]}")
@pytest.mark.parametrize("mode", ["loss", "grad", "hess", "none"])
def test_domain_errors_name_the_argument_and_first_position(case, mode):
    fn, params, pred, target, name, index = case
    pred, target = np.array(pred), np.array(target)
    saved = pred.copy(), target.copy()
    out = np.full(pred.shape, 7.0)
    with pytest.raises(TargetError, match=rf"^{name}: .*at flat index {index}\)") as info:
        if mode == "loss":
            fn(pred, target, **params)
        elif mode == "none":
            fn(pred, target, **params, reduction="none")
        elif mode == "grad":
            losscore.grad(fn)(pred, target, **params, out=out)
        else:
            losscore.value_grad_hess(fn)(pred, target, **params)
    assert isinstance(info.value, ValueError)
    np.testing.assert_array_equal(pred, saved[0])
    np.testing.assert_array_equal(target, saved[1])
    np.testing.assert_array_equal(out, 7.0)


def test_scikit_learn_rejects_the_same_inputs():
    # The same domain as scikit-learn: what it rejects, we reject.
    for fn, params, pred, target, _, _ in BAD_INPUTS:
        power = {losscore.poisson_deviance: 1.0, losscore.gamma_deviance: 2.0}.get(
            fn, params.get("power")
        )
        with pytest.raises(ValueError):
            mean_tweedie_deviance(target, pred, power=power)


def test_domain_messages():
    with pytest.raises(TargetError, match=r"predictions must be positive, got 0\.0"):
        losscore.poisson_deviance(np.array([0.0]), np.array([1.0]))
    with pytest.raises(TargetError, match="targets must be non-negative"):
        losscore.tweedie_deviance(np.array([1.0]), np.array([-1.0]), power=1.2)
    with pytest.raises(TargetError, match="targets must be positive"):
        losscore.tweedie_deviance(np.array([1.0]), np.array([0.0]), power=2.5)
    # power <= 0: targets are free (scikit-learn's rule); power 0: predictions too.
    assert losscore.tweedie_deviance(np.array([1.0]), np.array([-4.0]), power=-2.0) > 0
    assert losscore.tweedie_deviance(np.array([-1.0]), np.array([-4.0])) == 9.0


@pytest.mark.parametrize("power", [0.5, 0.01, 0.99, math.inf, -math.inf, math.nan])
def test_power_outside_the_domain_is_a_parameter_error(power):
    with pytest.raises(ParameterError, match="power"):
        losscore.tweedie_deviance(np.ones(3), np.ones(3), power=power)


@pytest.mark.parametrize("power", ["1", True, None, [1.0]])
def test_power_must_be_a_number(power):
    with pytest.raises(ParameterTypeError, match="power"):
        losscore.tweedie_deviance(np.ones(3), np.ones(3), power=power)


def test_shapes_dtypes_and_empty_inputs():
    from losscore.errors import DTypeError, ShapeError

    with pytest.raises(ShapeError):
        losscore.gamma_deviance(np.ones(3), np.ones(4))
    with pytest.raises(DTypeError):
        losscore.poisson_deviance(np.ones(3, np.complex64), np.ones(3))
    assert math.isnan(losscore.poisson_deviance(np.ones(0), np.ones(0)))
    assert losscore.poisson_deviance(np.ones(0), np.ones(0), reduction="sum") == 0.0
    ints = losscore.poisson_deviance([1, 2, 3], [1, 0, 2], reduction="none")
    assert ints.dtype == np.float64
    nc = np.linspace(0.5, 3, 20)[::2]
    assert losscore.gamma_deviance(nc, nc[::-1]) == losscore.gamma_deviance(
        nc.copy(), nc[::-1].copy()
    )
