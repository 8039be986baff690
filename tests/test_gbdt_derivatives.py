"""The derivatives-only path of the boosting objectives (``_core.<loss>(...,
_objective=(scale, hess_floor))``, what ``losscore.gbdt`` calls): bit for bit the gradient and
Hessian of the normal fused pass (``losscore.value_grad_hess``) with the scale and the Hessian
floor applied by the NumPy formula written here, for every loss with a Hessian, float32 and
float64, weighted and unweighted, on every ISA and thread count; the adapters' results against
the same formula and against the previous formula ``(w g) * scale``; bad labels and arguments
raise losscore errors and leave the caller's buffers alone."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import isa, threads
from test_hessians import CASES

import losscore
from losscore import _core
from losscore.errors import ParameterError, ParameterTypeError, TargetError
from losscore.losses import registry

SETTINGS = [(1.0, 0.0), (1.0, 1e-16), (0.5, 0.7), (0.3, 0.05), (1.7, 2.5)]
ISAS = losscore.available_isas()


def _bits(a: np.ndarray) -> np.ndarray:
    return a.view(np.uint32 if a.dtype == np.float32 else np.uint64)


def _assert_bitwise(got: np.ndarray, want: np.ndarray, what: str) -> None:
    assert got.dtype == want.dtype and got.shape == want.shape, what
    bad = np.flatnonzero(_bits(got).ravel() != _bits(want).ravel())
    assert bad.size == 0, f"{what}: {bad.size} entries differ, first at {bad[0]}: " + (
        f"{got.ravel()[bad[0]]!r} vs {want.ravel()[bad[0]]!r}"
    )


def _cast(x, t, params, dtype):
    x = np.asarray(x, dtype=dtype)
    if np.asarray(t).dtype.kind == "f":
        t = np.asarray(t, dtype=dtype)
    params = {k: (v.astype(dtype) if isinstance(v, np.ndarray) else v) for k, v in params.items()}
    return x, t, params


def _sample_shape(name: str, x: np.ndarray) -> tuple[int, ...]:
    return x.shape[:-1] if registry[name].kind == "rows" else x.shape


def reference(name, x, t, w, params, scale, floor):
    """The normal fused pass (``losscore.value_grad_hess``, reduction "sum": the per-sample
    derivatives) with the scale carried by the weight, ``w * scale`` (``scale`` unweighted) in
    the margins' dtype: the kernel's per-sample gradient factor is ``w * scale``, as with its
    "mean" reduction. Then the floor ``max(h, hess_floor * w)`` (``hess_floor`` unweighted)."""
    dtype = x.dtype.type
    fn = getattr(losscore, name)
    ones = np.ones(_sample_shape(name, x), dtype=dtype)
    weight = (ones if w is None else w) * dtype(scale)
    _, g, h = losscore.value_grad_hess(fn)(x, t, weight=weight, reduction="sum", **params)
    if floor > 0:
        fw = dtype(floor) if w is None else dtype(floor) * w
        if registry[name].kind == "rows" and w is not None:
            fw = fw[..., None]
        h = np.maximum(h, fw)
    return g, h


def fast(name, x, t, w, params, scale, floor, **kw):
    return registry[name].kernel(x, t, weight=w, _objective=(scale, floor), **params, **kw)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_derivatives_only_is_the_fused_pass_scaled_and_floored(case, dtype, weighted):
    _, name, x, t, params = case
    x, t, params = _cast(x, t, params, dtype)
    rng = np.random.default_rng(3)
    w = rng.uniform(0.2, 2.0, _sample_shape(name, x)).astype(dtype) if weighted else None
    if w is not None:
        w.ravel()[:2] = 0.0  # zero weights: gradient 0, floor 0
    for scale, floor in SETTINGS:
        g, h = fast(name, x, t, w, params, scale, floor)
        gw, hw = reference(name, x, t, w, params, scale, floor)
        _assert_bitwise(g, gw, f"grad scale={scale} floor={floor}")
        _assert_bitwise(h, hw, f"hess scale={scale} floor={floor}")


def _large(name: str, dtype, rng):
    block = _core.block_size()
    if name == "binary_cross_entropy_with_logits":
        n = 3 * block + 77
        x = rng.normal(size=n) * 4
        x[:3] = [0.0, 80.0, -80.0]  # exp under/overflow of the value's ln_1p
        return x.astype(dtype), rng.integers(0, 2, n).astype(dtype), {}
    classes = int(name.split("-C")[1])
    rows = 3 * block // classes + 41
    x = (rng.normal(size=(rows, classes)) * 3).astype(dtype)
    x[0, 0], x[1, :] = np.inf, -np.inf  # the limit rows
    y = rng.integers(0, classes, rows)
    return x, y, {"label_smoothing": 0.1} if classes > 16 else {}


@pytest.mark.parametrize("case", ["binary_cross_entropy_with_logits", "ce-C10", "ce-C40"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_derivatives_only_is_bitwise_the_same_on_every_isa_and_thread_count(case, dtype):
    name = "cross_entropy" if case.startswith("ce") else case
    rng = np.random.default_rng(11)
    x, t, params = _large(case, dtype, rng)
    w = rng.uniform(0.2, 2.0, _sample_shape(name, x)).astype(dtype)
    with isa("scalar"), threads(1):
        want = fast(name, x, t, w, params, 0.3, 0.05)
    for isa_name in ISAS:
        for n in (1, 2, 3):
            with isa(isa_name), threads(n):
                got = fast(name, x, t, w, params, 0.3, 0.05)
                ref = reference(name, x, t, w, params, 0.3, 0.05)
            for k in range(2):
                what = f"{isa_name} threads={n} output {k}"
                _assert_bitwise(got[k], want[k], what)
                _assert_bitwise(got[k], ref[k], what + " vs the fused pass")


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
def test_nan_propagates_through_the_floor(dtype):
    x = np.array([np.nan, 0.0, 1.0, -2.0], dtype=dtype)
    t = np.array([1.0, 0.0, 1.0, 0.0], dtype=dtype)
    w = np.array([1.0, 2.0, np.nan, 0.5], dtype=dtype)
    g, h = fast("binary_cross_entropy_with_logits", x, t, w, {}, 0.5, 1.0)
    assert np.isnan(g[[0, 2]]).all() and np.isnan(h[[0, 2]]).all()
    assert np.isfinite(g[[1, 3]]).all()
    np.testing.assert_array_equal(h[[1, 3]], dtype(1.0) * w[[1, 3]])  # floored
    logits = np.zeros((3, 4), dtype=dtype)
    logits[1, 2] = np.nan
    g, h = fast("cross_entropy", logits, np.array([0, 1, 2]), None, {}, 1.0, 1.0)
    assert np.isnan(g[1]).all() and np.isnan(h[1]).all()
    np.testing.assert_array_equal(h[[0, 2]], np.ones((2, 4), dtype=dtype))


def _binary(rng, n, dtype):
    return rng.normal(size=n).astype(dtype) * 2, rng.integers(0, 2, n).astype(np.float32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize("weighted", [False, True], ids=["unweighted", "weighted"])
def test_adapters_match_the_formula_binary_and_multiclass(dtype, weighted):
    xgb = pytest.importorskip("xgboost")
    import losscore.gbdt as gbdt

    rng = np.random.default_rng(5)
    n, c = 500, 5
    w = rng.uniform(0.2, 2.0, n).astype(np.float32) if weighted else None
    x, y = _binary(rng, n, dtype)
    logits = (rng.normal(size=(n, c)) * 2).astype(dtype)
    yc = rng.integers(0, c, n).astype(np.float32)
    for scale, floor in SETTINGS:
        dm = xgb.DMatrix(np.zeros((n, 1)), label=y, weight=w)
        g, h = gbdt.xgboost_objective(
            "binary_cross_entropy_with_logits", scale=scale, hess_floor=floor
        )(x, dm)
        assert g.dtype == dtype and h.dtype == dtype
        wd = None if w is None else w.astype(dtype)
        gw, hw = reference("binary_cross_entropy_with_logits", x, y.astype(dtype), wd, {},
                           scale, floor)
        _assert_bitwise(g, gw, "xgboost binary grad")
        _assert_bitwise(h, hw, "xgboost binary hess")
        dm = xgb.DMatrix(np.zeros((n, 1)), label=yc, weight=w)
        g, h = gbdt.xgboost_objective("cross_entropy", scale=scale, hess_floor=floor)(
            logits, dm
        )
        gw, hw = reference("cross_entropy", logits, yc.astype(np.int64), wd, {}, scale, floor)
        _assert_bitwise(g, gw, "xgboost softmax grad")
        _assert_bitwise(h, hw, "xgboost softmax hess")
        g, h = gbdt.lightgbm_objective("cross_entropy", scale=scale, hess_floor=floor)(
            yc, logits, w
        )
        _assert_bitwise(g, gw, "lightgbm softmax grad")
        _assert_bitwise(h, hw, "lightgbm softmax hess")


def test_adapters_against_the_previous_formula():
    """Before, the adapters scaled the weighted derivatives afterwards, ``(w g) * scale``: the
    same bits for ``scale = 1`` and powers of two, within 2 ulp otherwise (two roundings each)."""
    import losscore.gbdt as gbdt

    rng = np.random.default_rng(9)
    x, y = _binary(rng, 400, np.float32)
    w = rng.uniform(0.2, 2.0, 400).astype(np.float32)
    _, g0, h0 = losscore.value_grad_hess(losscore.binary_cross_entropy_with_logits)(
        x, y, weight=w, reduction="sum"
    )
    for scale in (1.0, 0.5, 4.0, 0.3):
        g, h = gbdt.lightgbm_objective("binary_cross_entropy_with_logits", scale=scale)(y, x, w)
        gp = g0 * np.float32(scale)
        hp = np.maximum(h0 * np.float32(scale), np.float32(1e-16) * w)
        if scale in (1.0, 0.5, 4.0):
            _assert_bitwise(g, gp, f"grad scale={scale}")
            _assert_bitwise(h, hp, f"hess scale={scale}")
        else:
            np.testing.assert_array_max_ulp(g, gp, maxulp=2)
            np.testing.assert_array_max_ulp(h, hp, maxulp=2)


def test_bad_labels_raise_and_leave_buffers_alone():
    x = np.array([0.5, -1.0, 2.0])
    out, hess_out = np.full(3, 7.0), np.full(3, 9.0)
    with pytest.raises(TargetError, match="-1 or \\+1"):
        _core.hinge(x, np.array([1.0, 0.5, -1.0]), _objective=(1.0, 1.0), out=out,
                    hess_out=hess_out)
    assert (out == 7.0).all() and (hess_out == 9.0).all()
    logits = np.zeros((4, 3))
    gout, hout = np.full((4, 3), 7.0), np.full((4, 3), 9.0)
    with pytest.raises(TargetError, match="class index 3"):
        _core.cross_entropy(logits, np.array([0, 1, 3, 2]), _objective=(1.0, 0.0), out=gout,
                            hess_out=hout)
    assert (gout == 7.0).all() and (hout == 9.0).all()
    with pytest.raises(TargetError, match="probabilities must be in"):
        _core.binary_cross_entropy(np.array([0.5, 1.5]), np.array([0.0, 1.0]),
                                   _objective=(1.0, 0.0))


def test_adapter_errors_are_the_same_as_before():
    import losscore.gbdt as gbdt

    y = np.array([1.0, 0.5, -1.0])
    x = np.zeros(3, dtype=np.float32)
    keep = x.copy()
    with pytest.raises(TargetError, match="-1 or \\+1"):
        gbdt.lightgbm_objective("hinge")(y, x, None)
    np.testing.assert_array_equal(x, keep)
    with pytest.raises(TargetError, match="class index 3"):
        gbdt.lightgbm_objective("cross_entropy")(
            np.array([0.0, 3.0]), np.zeros((2, 3), dtype=np.float32), None
        )
    with pytest.raises(ParameterError, match="_objective"):
        gbdt.xgboost_objective("mse", _objective=(1.0, 0.0))


def test_objective_argument_errors():
    x, t = np.zeros(3), np.zeros(3)
    with pytest.raises(ParameterTypeError, match="_objective"):
        _core.mse(x, t, _objective=1.0)
    with pytest.raises(ParameterTypeError, match="_objective"):
        _core.mse(x, t, _objective=(1.0, 0.0, 2.0))
    with pytest.raises(ParameterTypeError, match="_objective scale"):
        _core.mse(x, t, _objective=("1", 0.0))
    with pytest.raises(ParameterTypeError, match="_objective hess_floor"):
        _core.mse(x, t, _objective=(1.0, True))
    for bad in [(0.0, 0.0), (-1.0, 0.0), (np.inf, 0.0), (np.nan, 0.0)]:
        with pytest.raises(ParameterError, match="scale must be finite and positive"):
            _core.mse(x, t, _objective=bad)
    for bad in [(1.0, -1.0), (1.0, np.inf), (1.0, np.nan)]:
        with pytest.raises(ParameterError, match="hess_floor must be finite"):
            _core.mse(x, t, _objective=bad)
    with pytest.raises(ParameterError, match="partials"):
        _core.mse(x, t, _objective=(1.0, 0.0), partials=True)


def test_caller_buffers_are_filled_and_returned():
    rng = np.random.default_rng(1)
    x = rng.normal(size=50)
    t = rng.integers(0, 2, 50).astype(np.float64)
    out, hess_out = np.empty(50), np.empty(50)
    g, h = _core.binary_cross_entropy_with_logits(
        x, t, _objective=(0.5, 0.1), out=out, hess_out=hess_out
    )
    assert g is out and h is hess_out
    gw, hw = reference("binary_cross_entropy_with_logits", x, t, None, {}, 0.5, 0.1)
    _assert_bitwise(g, gw, "grad")
    _assert_bitwise(h, hw, "hess")
