"""Fuzz every registered loss through every entry point with generated, mostly bad, inputs.

Whatever goes in, a result or a ``losscore.errors`` exception (or ``MemoryError``) comes out,
never a foreign exception, a ``PanicException`` (a ``BaseException``) or a crash, and no input
is modified. ``LOSSCORE_FUZZ_EXAMPLES`` sets the number of cases per test (default 150; a longer
run: ``LOSSCORE_FUZZ_EXAMPLES=20000 pytest tests/test_fuzz.py``).
"""

from __future__ import annotations

import os

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import losscore
from losscore.errors import LosscoreError
from losscore.losses import registry

EXAMPLES = int(os.environ.get("LOSSCORE_FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    deadline=None,
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DTYPES = [np.float16, np.float32, np.float64, np.int8, np.int64, np.uint64, np.bool_,
          np.complex64, ">f8", "U3", object]
ODD_SCALARS = [0.0, -1.0, 0.5, 2.0, 1e308, -np.inf, np.inf, np.nan, 0, 1, 2, -100, 2**63,
               True, False, None, "1", b"1", "mean", [1.0], np.float32(0.3), np.int64(1)]
REDUCTIONS = ["mean", "sum", "none", "batchmean", "avg", "", None, 1, True]


@st.composite
def arrays(draw, shape):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    if dtype.kind in "USO":
        arr = np.full(shape, "x", dtype=dtype)
    elif dtype.kind == "b":
        arr = draw(hnp.arrays(dtype, shape, elements=st.booleans()))
    elif dtype.kind in "iu":
        info = np.iinfo(dtype)
        arr = draw(hnp.arrays(dtype, shape, elements=st.integers(int(info.min), int(info.max))))
    elif dtype.kind == "c":
        arr = draw(hnp.arrays(dtype, shape))
    else:
        floats = st.floats(allow_nan=True, allow_infinity=True, width=dtype.itemsize * 8)
        arr = draw(hnp.arrays(dtype, shape, elements=floats))
    layout = draw(st.sampled_from(["c", "f", "strided", "list", "readonly"]))
    if layout == "f":
        return np.asfortranarray(arr)
    if layout == "strided" and arr.ndim:
        return np.repeat(arr, 2, axis=0)[::2]
    if layout == "list":
        return arr.tolist()
    if layout == "readonly":
        arr.flags.writeable = False
    return arr


@st.composite
def calls(draw):
    spec = registry[draw(st.sampled_from(sorted(registry)))]
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    other = draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    sample = shape[:-1] if shape else shape
    first = draw(arrays(shape))
    target = draw(arrays(draw(st.sampled_from([shape, sample, other]))))
    weight = draw(st.one_of(st.none(), arrays(draw(st.sampled_from([shape, sample, other])))))
    params = {
        name: draw(st.sampled_from([*ODD_SCALARS, default]))
        for name, default in spec.defaults.items()
        if name != "reduction" and draw(st.booleans())
    }
    for per_class in ("class_weight", "alpha"):
        if per_class in params and draw(st.booleans()):
            params[per_class] = draw(arrays((draw(st.integers(0, 6)),)))
    reduction = draw(st.sampled_from([*REDUCTIONS, spec.defaults["reduction"]]))
    mode = draw(st.sampled_from(["loss", "grad", "hess", "out", "aliased_out", "partials"]))
    offset = draw(st.sampled_from([0, 1, 8191, -1, 2**62, "0", 1.5]))
    return spec, first, target, weight, params, reduction, mode, offset


def _snapshot(*objs):
    return [np.array(o, copy=True) if isinstance(o, np.ndarray) else None for o in objs]


def _unchanged(objs, saved):
    for a, b in zip(objs, saved, strict=True):
        if b is not None:
            assert a.dtype == b.dtype and a.shape == b.shape
            assert a.tobytes() == b.tobytes()


def _call(spec, first, target, weight, params, reduction, mode, offset):
    kw = dict(params, weight=weight, reduction=reduction)
    fn = spec.function
    if mode == "loss":
        return fn(first, target, **kw)
    if mode == "grad":
        return losscore.value_and_grad(fn)(first, target, **kw)
    if mode == "hess":
        return losscore.value_grad_hess(fn)(first, target, **kw)
    if mode in ("out", "aliased_out"):
        out = first if mode == "aliased_out" else np.zeros(np.shape(first), dtype=np.float64)
        return losscore.grad(fn)(first, target, out=out, **kw)
    return spec.kernel(first, target, **kw, partials=True, offset=offset)


@FUZZ
@given(calls())
def test_every_loss_and_entry_point_fails_cleanly(call):
    spec, first, target, weight, params, reduction, mode, offset = call
    inputs = [first, target, weight, *params.values()]
    saved = _snapshot(*inputs)
    try:
        with np.errstate(all="ignore"):
            _call(spec, first, target, weight, params, reduction, mode, offset)
    except (LosscoreError, MemoryError):
        pass
    # With mode "aliased_out" the output is the first argument itself: refused, so unchanged.
    _unchanged(inputs, saved)


@FUZZ
@given(st.sampled_from(sorted(registry)), st.data())
def test_accumulators_fail_cleanly(name, data):
    spec = registry[name]
    try:
        acc = losscore.Accumulator(name, **{
            k: data.draw(st.sampled_from([*ODD_SCALARS, v]))
            for k, v in spec.defaults.items() if k != "reduction" and data.draw(st.booleans())
        })
    except LosscoreError:
        return
    for _ in range(data.draw(st.integers(1, 3))):
        shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=4))
        first = data.draw(arrays(shape))
        target = data.draw(arrays(data.draw(st.sampled_from([shape, shape[:-1] or shape]))))
        saved = _snapshot(first, target)
        try:
            with np.errstate(all="ignore"):
                acc.update(first, target)
        except (LosscoreError, MemoryError):
            pass
        _unchanged([first, target], saved)
    try:
        value = acc.result(reduction=data.draw(st.sampled_from(REDUCTIONS)))
        assert isinstance(value, float)
    except LosscoreError:
        pass


@pytest.mark.parametrize("name", sorted(registry))
def test_every_loss_is_fuzzed(name):
    """The strategies above draw from the registry: a new loss joins the fuzz test by
    registering (this test fails if a registered loss could not be called at all)."""
    from bridge_inputs import inputs

    pred, target, params = inputs(name, np.float64)
    assert isinstance(registry[name].function(pred, target, **params, reduction="sum"), float)
