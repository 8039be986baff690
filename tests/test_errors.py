"""Bad input raises a clear ``losscore.errors`` exception naming the argument and the offending
shape or value; nothing is modified when a call fails; no input makes the Rust code panic."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from reference import DEFAULT_CASES

import losscore
from losscore import errors
from losscore.errors import (
    DTypeError,
    LosscoreError,
    OutputError,
    ParameterError,
    ParameterTypeError,
    ShapeError,
    TargetError,
    WeightError,
)

LOSSES = [case.fn for case in DEFAULT_CASES]
ids = [case.name for case in DEFAULT_CASES]


def _call(fn, *args, grad=False, **kwargs):
    if grad:
        return losscore.value_and_grad(fn)(*args, **kwargs)
    return fn(*args, **kwargs)


def test_exception_hierarchy():
    for cls, builtin in [
        (ShapeError, ValueError),
        (DTypeError, TypeError),
        (ParameterError, ValueError),
        (WeightError, ValueError),
        (TargetError, ValueError),
        (OutputError, ValueError),
    ]:
        assert issubclass(cls, LosscoreError)
        assert issubclass(cls, builtin)
    for name in errors.__all__:
        assert issubclass(getattr(errors, name), LosscoreError)


@pytest.mark.parametrize("grad", [False, True], ids=["loss", "value_and_grad"])
@pytest.mark.parametrize("fn", LOSSES, ids=ids)
def test_shape_mismatch(fn, grad):
    for p_shape, t_shape in [
        ((5,), (4,)),
        ((2, 3), (3, 2)),
        ((5,), (1,)),
        ((3, 1), (3,)),
        ((), (1,)),
    ]:
        with pytest.raises(ShapeError) as info:
            _call(fn, np.ones(p_shape), np.ones(t_shape), grad=grad)
        assert isinstance(info.value, ValueError)
        message = str(info.value)
        for shape in (p_shape, t_shape):
            assert str(shape) in message, message
        assert "target" in message


@pytest.mark.parametrize("fn", LOSSES, ids=ids)
def test_weight_of_wrong_shape(fn):
    for w_shape in [(4,), (5, 1), (1,), ()]:
        with pytest.raises(ShapeError) as info:
            fn(np.ones(5), np.zeros(5), weight=np.ones(w_shape))
        message = str(info.value)
        assert "weight" in message and str(w_shape) in message and "(5,)" in message


# float16 and bfloat16 are computed in float32 chunk by chunk (test_half_precision.py).
BAD_DTYPES = [np.complex64, np.complex128, "U3"]


@pytest.mark.parametrize("bad", BAD_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("fn", LOSSES, ids=ids)
def test_unsupported_dtypes(fn, bad):
    good = np.ones(4)
    for argument in ("pred", "target", "weight"):
        arrays = {"pred": good, "target": good, "weight": good}
        arrays[argument] = np.ones(4, dtype=bad)
        with pytest.raises(DTypeError) as info:
            fn(arrays["pred"], arrays["target"], weight=arrays["weight"])
        assert isinstance(info.value, TypeError)
        assert argument in str(info.value)
    with pytest.raises(DTypeError):
        losscore.value_and_grad(fn)(np.ones(4, dtype=bad), good)


@pytest.mark.parametrize(
    "bad",
    [
        "abc",
        ["a", "b"],
        None,
        [object(), object()],
        np.array([1, 2], dtype=object),
        np.array(["2020-01-01", "2021-01-01"], dtype="M8[D]"),
        np.array([1, 2], dtype="m8[s]"),
        [[1.0, 2.0], [3.0]],
        {"a": 1},
    ],
    ids=[
        "str",
        "strs",
        "none",
        "objects",
        "object_array",
        "datetime",
        "timedelta",
        "ragged",
        "dict",
    ],
)
@pytest.mark.parametrize("fn", LOSSES, ids=ids)
def test_non_numeric_inputs(fn, bad):
    with pytest.raises(DTypeError, match="pred"):
        fn(bad, np.ones(2))
    with pytest.raises(DTypeError, match="target"):
        fn(np.ones(2), bad)
    if bad is not None:  # weight=None means unweighted
        with pytest.raises(DTypeError, match="weight"):
            fn(np.ones(2), np.ones(2), weight=bad)


@pytest.mark.parametrize("fn", LOSSES, ids=ids)
def test_unknown_reduction(fn):
    for name in ["avg", "MEAN", "", "batchmean", "mean "]:
        with pytest.raises(ParameterError) as info:
            fn(np.ones(3), np.zeros(3), reduction=name)
        message = str(info.value)
        assert "reduction" in message and repr(name)[1:-1] in message, message
        with pytest.raises(ParameterError):
            losscore.value_and_grad(fn)(np.ones(3), np.zeros(3), reduction=name)


@pytest.mark.parametrize("fn", LOSSES, ids=ids)
def test_negative_weight_names_the_index(fn):
    w = np.ones((3, 4))
    w[1, 2] = -0.5
    with pytest.raises(WeightError) as info:
        fn(np.ones((3, 4)), np.zeros((3, 4)), weight=w)
    message = str(info.value)
    assert "weight" in message and "6" in message and "-0.5" in message, message
    # -0.0 is not negative.
    fn(np.ones(3), np.zeros(3), weight=np.array([1.0, -0.0, 2.0]))


BAD_PARAMETERS = [
    (losscore.huber, "delta", [0.0, -1.0, np.nan, np.inf, -np.inf]),
    (losscore.smooth_l1, "beta", [-1e-9, -1.0, np.nan, np.inf]),
    (losscore.pinball, "quantile", [-0.1, 1.0000001, 2.0, np.nan, np.inf]),
    (losscore.poisson_nll, "eps", [-1e-8, np.nan, np.inf]),
]


@pytest.mark.parametrize(
    ("fn", "name", "values"), BAD_PARAMETERS, ids=[b[1] for b in BAD_PARAMETERS]
)
def test_bad_hyperparameters(fn, name, values):
    for value in values:
        for grad in (False, True):
            with pytest.raises(ParameterError) as info:
                _call(fn, np.ones(3), np.zeros(3), grad=grad, **{name: value})
            message = str(info.value)
            assert name in message, message
            shown = float(message.rsplit("got ", 1)[1].split()[0])  # "... got <value>"
            assert shown == value or (np.isnan(shown) and np.isnan(value)), message


@pytest.mark.parametrize(
    ("fn", "kwargs"),
    [
        (losscore.mse, {"reduction": 5}),
        (losscore.mse, {"reduction": None}),
        (losscore.huber, {"delta": "1.0"}),
        (losscore.smooth_l1, {"beta": None}),
        (losscore.pinball, {"quantile": [0.5]}),
        (losscore.poisson_nll, {"log_input": "yes"}),
        (losscore.poisson_nll, {"eps": "small"}),
    ],
    ids=[
        "reduction-int",
        "reduction-none",
        "delta-str",
        "beta-none",
        "quantile-list",
        "log_input-str",
        "eps-str",
    ],
)
def test_hyperparameters_of_the_wrong_type(fn, kwargs):
    """DESIGN §3: bad input raises a ValueError/TypeError *subclass from losscore.errors*."""
    with pytest.raises(TypeError) as info:
        fn(np.ones(3), np.zeros(3), **kwargs)
    assert isinstance(info.value, LosscoreError), f"{type(info.value)}: {info.value}"
    assert next(iter(kwargs)) in str(info.value)


@pytest.mark.parametrize("fn", LOSSES, ids=ids)
def test_keyword_only_parameters(fn):
    with pytest.raises(TypeError):
        fn(np.ones(3), np.zeros(3), None)


# --- out= -------------------------------------------------------------------------------------


def _out_cases(dtype):
    """(description, expected error class, call kwargs builder)."""
    other = np.float32 if dtype == np.float64 else np.float64
    readonly = np.zeros((4, 5), dtype)
    readonly.setflags(write=False)
    return [
        ("read-only", OutputError, lambda p, t, w: readonly),
        ("aliases pred", OutputError, lambda p, t, w: p),
        ("aliases target", OutputError, lambda p, t, w: t),
        ("aliases weight", OutputError, lambda p, t, w: w),
        ("wrong shape", ShapeError, lambda p, t, w: np.zeros((5, 4), dtype)),
        ("flat", ShapeError, lambda p, t, w: np.zeros(20, dtype)),
        ("wrong dtype", DTypeError, lambda p, t, w: np.zeros((4, 5), other)),
        ("list", DTypeError, lambda p, t, w: np.zeros((4, 5)).tolist()),
        ("non-contiguous", OutputError, lambda p, t, w: np.zeros((4, 10), dtype)[:, ::2]),
        ("fortran", OutputError, lambda p, t, w: np.zeros((5, 4), dtype).T),
    ]


def _misaligned_zeros(shape, dtype):
    buf = np.zeros(int(np.prod(shape)) * np.dtype(dtype).itemsize + 1, np.uint8)
    return buf[1:].view(dtype).reshape(shape)


@pytest.mark.parametrize("fn", LOSSES, ids=ids)
def test_bad_out(fn, dtype):
    rng = np.random.default_rng(0)
    for what, cls, make in _out_cases(dtype):
        p = rng.uniform(0.5, 2.0, (4, 5)).astype(dtype)
        t = rng.uniform(0.5, 2.0, (4, 5)).astype(dtype)
        w = rng.uniform(0.5, 2.0, (4, 5)).astype(dtype)
        out = make(p, t, w)
        saved = [a.copy() for a in (p, t, w)]
        saved_out = np.array(out, copy=True)
        for reduction in ("mean", "none"):
            with pytest.raises(cls) as info:
                losscore.value_and_grad(fn)(p, t, weight=w, reduction=reduction, out=out)
            assert "out" in str(info.value), f"{what}: {info.value}"
            with pytest.raises(cls):
                losscore.grad(fn)(p, t, weight=w, reduction=reduction, out=out)
        for a, b in zip((p, t, w), saved, strict=True):
            np.testing.assert_array_equal(a, b, err_msg=what)
        np.testing.assert_array_equal(np.asarray(out), saved_out, err_msg=what)


def test_misaligned_out():
    # C-contiguous but not aligned to its itemsize (e.g. a buffer or memory map at an odd offset).
    for fn in LOSSES:
        for dtype in (np.float32, np.float64):
            out = _misaligned_zeros((4, 5), dtype)
            p = np.ones((4, 5), dtype)
            with pytest.raises(OutputError) as info:
                losscore.value_and_grad(fn)(p, np.zeros((4, 5), dtype), out=out)
            assert "out" in str(info.value), f"{fn.__name__}: {info.value}"
            assert np.all(out == 0)


@pytest.mark.parametrize("fn", LOSSES, ids=ids)
def test_failed_call_modifies_nothing(fn, dtype):
    n = 100_003  # several blocks, so a late error would come after earlier blocks were written
    rng = np.random.default_rng(1)
    p = rng.uniform(0.5, 2.0, n).astype(dtype)
    t = rng.uniform(0.5, 2.0, n).astype(dtype)
    w = rng.uniform(0.5, 2.0, n).astype(dtype)
    w_bad = w.copy()
    w_bad[-1] = -1.0
    saved = [a.copy() for a in (p, t, w, w_bad)]
    failing = [
        (WeightError, {"weight": w_bad}),
        (ParameterError, {"weight": w, "reduction": "avg"}),
    ]
    for case in DEFAULT_CASES:
        if case.fn is fn and case.name in {"huber", "smooth_l1", "pinball", "poisson_nll"}:
            bad = {
                "huber": {"delta": -1.0},
                "smooth_l1": {"beta": -1.0},
                "pinball": {"quantile": 2.0},
                "poisson_nll": {"eps": -1.0},
            }[case.name]
            failing.append((ParameterError, {"weight": w, **bad}))
    for cls, kwargs in failing:
        for reduction in ("mean", "sum", "none"):
            kw = {"reduction": reduction, **kwargs}
            out = np.full(n, 7.0, dtype)
            with pytest.raises(cls):
                losscore.value_and_grad(fn)(p, t, out=out, **kw)
            assert np.all(out == 7.0), f"{cls.__name__}: out was written"
            with pytest.raises(cls):
                fn(p, t, **kw)
    # Shape errors with a valid out as well.
    out = np.full(n, 7.0, dtype)
    with pytest.raises(ShapeError):
        losscore.value_and_grad(fn)(p, t[:-1], out=out)
    with pytest.raises(ShapeError):
        losscore.value_and_grad(fn)(p, t, weight=w[:-1], out=out)
    assert np.all(out == 7.0)
    for a, b in zip((p, t, w, w_bad), saved, strict=True):
        np.testing.assert_array_equal(a, b)


def test_messages_name_the_argument():
    with pytest.raises(ShapeError, match=re.escape("pred shape (2,) and target shape (3,)")):
        losscore.mse(np.ones(2), np.ones(3))
    with pytest.raises(DTypeError, match="complex"):
        losscore.mse(np.ones(2), np.ones(2, np.complex128))


# --- fuzz -------------------------------------------------------------------------------------

ODD_DTYPES = [
    np.float16,
    np.float32,
    np.float64,
    np.int8,
    np.int64,
    np.uint32,
    np.bool_,
    np.complex64,
    np.longdouble,
    ">f4",
    ">f8",
]
REDUCTION_NAMES = ["mean", "sum", "none", "batchmean", "avg", ""]


@st.composite
def odd_arrays(draw, shape):
    dtype = np.dtype(draw(st.sampled_from(ODD_DTYPES)))
    if dtype.kind == "b":
        elements = st.booleans()
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        elements = st.integers(int(info.min), int(info.max))
    elif dtype.kind == "c":
        elements = st.complex_numbers(allow_nan=True, allow_infinity=True, width=64)
    elif dtype == np.longdouble:
        elements = st.floats(allow_nan=True, allow_infinity=True)
    else:
        elements = st.floats(allow_nan=True, allow_infinity=True, width=dtype.itemsize * 8)
    arr = draw(hnp.arrays(dtype, shape, elements=elements))
    layout = draw(st.sampled_from(["c", "f", "strided", "list"]))
    if layout == "f":
        return np.asfortranarray(arr)
    if layout == "strided" and arr.ndim:
        return np.repeat(arr, 2, axis=0)[::2]
    if layout == "list":
        return arr.tolist()
    return arr


@st.composite
def odd_calls(draw):
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    other = draw(st.one_of(st.just(shape), hnp.array_shapes(min_dims=0, max_dims=3, max_side=5)))
    pred = draw(odd_arrays(shape))
    target = draw(odd_arrays(draw(st.sampled_from([shape, other]))))
    weight = draw(st.one_of(st.none(), odd_arrays(draw(st.sampled_from([shape, other])))))
    case = draw(st.sampled_from(DEFAULT_CASES))
    params = {}
    number = st.floats(allow_nan=True, allow_infinity=True)
    if case.name == "huber":
        params["delta"] = draw(number)
    elif case.name == "smooth_l1":
        params["beta"] = draw(number)
    elif case.name == "pinball":
        params["quantile"] = draw(number)
    elif case.name == "poisson_nll":
        params = {
            "log_input": draw(st.booleans()),
            "full": draw(st.booleans()),
            "eps": draw(number),
        }
    reduction = draw(st.sampled_from(REDUCTION_NAMES))
    mode = draw(st.sampled_from(["loss", "value_and_grad", "grad", "out"]))
    return case.fn, pred, target, weight, params, reduction, mode


@settings(deadline=None, max_examples=400)
@given(odd_calls())
def test_fuzz_never_panics(call):
    """Anything goes in; either a result or a losscore error comes out (a PanicException is a
    BaseException and would escape the ``except``)."""
    fn, pred, target, weight, params, reduction, mode = call
    saved = [
        np.array(a, copy=True) if isinstance(a, np.ndarray) else None
        for a in (pred, target, weight)
    ]
    try:
        with np.errstate(all="ignore"):
            if mode == "loss":
                fn(pred, target, weight=weight, reduction=reduction, **params)
            elif mode == "value_and_grad":
                losscore.value_and_grad(fn)(
                    pred, target, weight=weight, reduction=reduction, **params
                )
            elif mode == "grad":
                losscore.grad(fn)(pred, target, weight=weight, reduction=reduction, **params)
            else:
                out = np.zeros(np.shape(pred), dtype=np.float32)
                losscore.grad(fn)(
                    pred, target, weight=weight, reduction=reduction, out=out, **params
                )
    except LosscoreError:
        pass
    for a, b in zip((pred, target, weight), saved, strict=True):
        if b is not None:
            np.testing.assert_array_equal(a, b)


def test_not_fitted_error_lives_in_errors_and_is_what_estimators_raise():
    from losscore.estimators import LinearRegressor
    from losscore.estimators._base import NotFittedError as ReExported

    assert issubclass(ReExported, errors.NotFittedError)
    assert issubclass(errors.NotFittedError, (LosscoreError, ValueError, AttributeError))
    with pytest.raises(errors.NotFittedError, match="fit"):
        LinearRegressor().predict(np.zeros((2, 3)))


# ---- optimizer hyperparameters assigned as attributes (issue 11, item 8) --------------------


def _one_sgd_step(**hyper):
    """torch's SGD rule written out: g += weight_decay * p; p -= lr * g (no momentum)."""
    p, g = np.array([1.0, -2.0, 3.0]), np.array([0.5, 0.25, -1.0])
    return p - hyper["lr"] * (g + hyper["weight_decay"] * p), p, g


def test_assigning_weight_decay_applies_to_every_group():
    expected, p, g = _one_sgd_step(lr=0.1, weight_decay=0.5)
    w1, w2 = p.copy(), p.copy()
    opt = losscore.optim.SGD([{"params": [w1]}, {"params": [w2], "lr": 0.1}], lr=0.1)
    opt.weight_decay = 0.5
    assert opt.weight_decay == 0.5
    assert [grp["weight_decay"] for grp in opt.param_groups] == [0.5, 0.5]
    opt.step([g, g])
    np.testing.assert_allclose(w1, expected, rtol=1e-15)
    np.testing.assert_allclose(w2, expected, rtol=1e-15)


@pytest.mark.parametrize(
    "cls, name, value",
    [
        (losscore.optim.Adam, "eps", 1e-3),
        (losscore.optim.Adam, "weight_decay", 0.1),
        (losscore.optim.Adam, "amsgrad", True),
        (losscore.optim.AdamW, "maximize", True),
        (losscore.optim.RMSprop, "alpha", 0.5),
        (losscore.optim.RMSprop, "centered", True),
        (losscore.optim.Adagrad, "lr_decay", 0.1),
        (losscore.optim.Adadelta, "rho", 0.5),
        (losscore.optim.NAdam, "momentum_decay", 0.01),
        (losscore.optim.RAdam, "decoupled_weight_decay", True),
        (losscore.optim.Lion, "weight_decay", 0.3),
        (losscore.optim.SGD, "dampening", 0.2),
    ],
)
def test_assigning_any_hyperparameter_equals_constructing_with_it(cls, name, value):
    """The independent reference: an optimizer constructed with the value from the start."""
    rng = np.random.default_rng(4)
    start, grads = rng.standard_normal(6), [rng.standard_normal(6) for _ in range(3)]
    assigned, built = start.copy(), start.copy()
    opt = cls([assigned], lr=0.01)
    setattr(opt, name, value)
    ref = cls([built], lr=0.01, **{name: value})
    for g in grads:
        opt.step([g])
        ref.step([g])
    assert getattr(opt, name) == value
    np.testing.assert_array_equal(assigned, built)
    assert opt.state_dict()["param_groups"] == ref.state_dict()["param_groups"]


def test_assigned_hyperparameters_are_validated_and_change_nothing_on_error():
    opt = losscore.optim.Adam([np.zeros(3)], lr=0.01)
    with pytest.raises(ParameterTypeError, match="eps"):
        opt.eps = "1e-8"
    with pytest.raises(ParameterTypeError, match="weight_decay"):
        opt.weight_decay = True
    with pytest.raises(ParameterError, match="eps"):
        opt.eps = -1.0
    assert opt.eps == 1e-8 and opt.param_groups[0]["eps"] == 1e-8
    sgd = losscore.optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(ParameterError, match="Nesterov"):
        sgd.nesterov = True  # needs momentum > 0
    assert sgd.nesterov is False


def test_unknown_hyperparameter_attributes():
    """Decision: another optimizer's hyperparameter, or a near miss of one of ours, raises
    AttributeError (it would be silently ignored); other attributes behave as in Python."""
    opt = losscore.optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(AttributeError, match="SGD has no hyperparameter 'betas'"):
        opt.betas = (0.9, 0.99)
    with pytest.raises(AttributeError, match="did you mean 'weight_decay'"):
        opt.weight_deacy = 0.5
    with pytest.raises(AttributeError, match="'eps'"):
        _ = opt.eps
    opt.tag = "run-1"  # an unrelated attribute is kept, as on any Python object
    assert opt.tag == "run-1"
    assert "betas" not in vars(opt) and "weight_deacy" not in vars(opt)


# ---- hyperparameter values past what a float holds, degenerate schedules (item 7) -----------


@pytest.mark.parametrize("value", [10**400, -(10**400)])
def test_integer_hyperparameters_too_large_for_a_float(value):
    with pytest.raises(ParameterError, match="lr: an integer of 1329 bits"):
        losscore.optim.SGD([np.zeros(3)], lr=value)
    opt = losscore.optim.Adam([np.zeros(3)])
    with pytest.raises(ParameterError, match="weight_decay"):
        opt.weight_decay = value


@pytest.mark.parametrize(
    "total_steps, pct_start, three_phase",
    [(10, 0.1, False), (10, 0.1, True), (20, 0.05, False), (2, 0.5, False)],
)
def test_one_cycle_with_a_zero_step_phase_is_a_parameter_error(total_steps, pct_start,
                                                               three_phase):
    opt = losscore.optim.SGD([np.zeros(3)], lr=0.1, momentum=0.9)
    with pytest.raises(ParameterError, match="pct_start"):
        losscore.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=1.0, total_steps=total_steps, pct_start=pct_start,
            three_phase=three_phase,
        )


# ---- defects the fuzz test found (each with its case) ----------------------------------------


@pytest.mark.parametrize(
    "loss, params",
    [("smooth_l1", {"beta": True}), ("hinge", {"margin": [1.0]}), ("huber", {"delta": "1"}),
     ("cross_entropy", {"label_smoothing": None})],
)
def test_accumulator_checks_hyperparameters_before_any_batch(loss, params):
    # A stream whose batches all fail must not finish with a value for refused parameters.
    with pytest.raises(LosscoreError):
        losscore.Accumulator(loss, **params)
    with pytest.raises(LosscoreError):
        losscore.evaluate(loss, np.zeros(0), np.zeros(0), **params)


@pytest.mark.parametrize("maker", ["xgboost_objective", "xgboost_metric", "lightgbm_objective",
                                   "lightgbm_metric"])
def test_gbdt_adapters_refuse_what_is_not_numbers(maker):
    import losscore.gbdt as gbdt

    fn = getattr(gbdt, maker)("huber")
    for y_true, y_pred in [(None, None), ("abc", np.zeros(3)), (np.zeros(3), object()),
                           (2.0, np.zeros(3)), (np.array(["x"]), np.zeros(1))]:
        with pytest.raises(LosscoreError):
            fn(y_true, y_pred)
    with pytest.raises(ParameterTypeError, match="margin"):
        getattr(gbdt, maker)("hinge", margin=[1.0])


def test_jax_losses_take_big_endian_arrays_and_refuse_strings():
    import jax.numpy as jnp

    import losscore.jax as lcj

    x = jnp.array([1.0, 2.0, 3.0])
    big_endian = np.zeros(3, dtype=">f8")
    assert float(lcj.mse(x, big_endian)) == pytest.approx((1 + 4 + 9) / 3, rel=1e-6)
    with pytest.raises(DTypeError):
        lcj.mse(np.array(["x", "y", "z"]), big_endian)
    with pytest.raises(DTypeError):
        lcj.mse("xyz", "uvw")
    with pytest.raises(DTypeError):
        lcj.mse(x, [2**40, 0, 0])


def test_a_step_racing_another_threads_step_says_so():
    """Steps of one optimizer overlapping in two threads are refused with a message that says
    what happened (it used to report that params[0] shares memory with another parameter)."""
    import threading

    w = np.zeros(1 << 20)
    opt = losscore.optim.SGD([w], lr=1.0)
    grads = [np.ones(1 << 20)]
    messages: list[str] = []
    done = [0]

    def run():
        for _ in range(30):
            try:
                opt.step(grads)
                done[0] += 1
            except LosscoreError as exc:
                messages.append(str(exc))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all("another thread is running a step of this optimizer" in m for m in messages)
    # Every step that ran was whole: w = -lr * (number of completed steps) everywhere.
    np.testing.assert_array_equal(w, np.full(1 << 20, -float(done[0])))
    assert opt.steps == done[0] and done[0] + len(messages) == 120


# (loss, kwargs, argument, the position's bad value, a good (pred, target) pair)
DOMAIN_CHECKS = [
    (losscore.poisson_deviance, {}, "pred", -1.0, (1.5, 2.0)),
    (losscore.poisson_deviance, {}, "target", -1.0, (1.5, 2.0)),
    (losscore.tweedie_deviance, {"power": 1.5}, "target", -2.0, (1.5, 2.0)),
    (losscore.binary_cross_entropy, {}, "target", 1.5, (0.5, 0.25)),
    (losscore.margin_ranking, {}, "target", 0.5, None),
]


@pytest.mark.parametrize(
    ("fn", "kwargs", "arg", "bad", "good"), DOMAIN_CHECKS,
    ids=[f"{c[0].__name__}-{c[2]}" for c in DOMAIN_CHECKS],
)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_first_bad_position_before_out_is_written(fn, kwargs, arg, bad, good, dtype):
    """With ``out=``, the domain is checked before anything is written; the error names the
    first bad position (not the first of a span, a thread's piece or a later one) on every ISA
    and thread count, and ``out`` stays untouched."""
    from conftest import isa, threads

    n = 300_007  # several scan pieces per thread
    for first in (0, 255, 256, 131_072, n - 1):
        if good is None:  # margin_ranking(x1, x2, target)
            inputs = [np.full(n, 0.5, dtype), np.full(n, 0.25, dtype), np.ones(n, dtype)]
            at = 2
        else:
            inputs = [np.full(n, good[0], dtype), np.full(n, good[1], dtype)]
            at = 0 if arg == "pred" else 1
        inputs[at][first] = bad
        inputs[at][min(first + 3, n - 1)] = bad  # later bad values do not hide the first
        inputs[at][n - 1] = bad
        for name in losscore.available_isas():
            for count in (1, 2):
                out = np.full(n, 7.0, dtype)
                with isa(name), threads(count), pytest.raises(errors.TargetError) as info:
                    losscore.value_and_grad(fn)(*inputs, out=out, **kwargs)
                assert re.search(rf"index {first}\b", str(info.value)), (name, count, info.value)
                assert np.all(out == 7.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_first_negative_weight_on_every_isa_and_thread_count(dtype):
    from conftest import isa, threads

    n = 300_007
    for first in (0, 300, 200_000, n - 1):
        w = np.ones(n, dtype)
        w[first] = -0.5
        w[n - 1] = -2.0
        for name in losscore.available_isas():
            for count in (1, 2):
                with isa(name), threads(count), pytest.raises(WeightError) as info:
                    losscore.mse(np.ones(n, dtype), np.zeros(n, dtype), weight=w)
                message = str(info.value)
                assert re.search(rf"index {first}\b", message), message
