"""Inputs at the edges of the engine: foreign array objects, aliasing through other buffer
objects, empty class axes of huge shapes, infinite logits, streaming partials cut anywhere."""

import itertools
import math
import pickle

import numpy as np
import pytest

import losscore
from losscore import _core, errors


class DLPackOnly:
    """An array that only speaks DLPack (as some framework tensors do)."""

    def __init__(self, array):
        self._array = array

    def __dlpack__(self, **kwargs):
        return self._array.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._array.__dlpack_device__()


class InterfaceOnly:
    """An array that only exposes ``__array_interface__``."""

    def __init__(self, array):
        self._array = array
        self.__array_interface__ = array.__array_interface__


@pytest.mark.parametrize("wrap", [DLPackOnly, InterfaceOnly])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_foreign_array_objects_are_read_as_arrays(wrap, dtype):
    rng = np.random.default_rng(0)
    p = rng.standard_normal(100).astype(dtype)
    t = rng.standard_normal(100).astype(dtype)
    want = math.fsum((p.astype(np.float64) - t.astype(np.float64)) ** 2) / 100
    got = losscore.mse(wrap(p), wrap(t))
    assert got == pytest.approx(want, rel=1e-6 if dtype == np.float32 else 1e-14)
    value, g = losscore.value_and_grad(losscore.mse)(wrap(p), t)
    assert value == pytest.approx(want, rel=1e-6 if dtype == np.float32 else 1e-14)
    assert g.dtype == dtype
    np.testing.assert_allclose(g, 2 * (p - t) / 100, rtol=1e-6)


def test_out_overlapping_an_input_through_another_buffer_object_is_refused():
    buf = bytearray(80)
    pred = np.frombuffer(memoryview(buf), np.float64)
    pred[:] = np.arange(10.0)
    out = np.frombuffer(memoryview(buf), np.float64)  # a different object over the same bytes
    before = pred.copy()
    with pytest.raises(errors.OutputError, match="out"):
        losscore.grad(losscore.mse)(pred, np.zeros(10), out=out)
    np.testing.assert_array_equal(pred, before)
    disjoint = np.frombuffer(memoryview(bytearray(80)), np.float64)
    losscore.grad(losscore.mse)(pred, np.zeros(10), out=disjoint)
    np.testing.assert_allclose(disjoint, 2 * pred / 10, rtol=1e-15)


@pytest.mark.parametrize("shape", [(2**25, 2**25, 0), (2**28, 2**28, 0)])
def test_empty_class_axis_with_rows_is_a_shape_error_at_once(shape):
    logits = np.empty(shape, np.float32)
    with pytest.raises(errors.ShapeError, match=r"class axis|rows"):
        losscore.cross_entropy(logits, np.empty(shape, np.float32), reduction="none")


def test_nothing_at_all_is_empty_not_an_error():
    empty = np.empty((0, 0), np.float32)
    assert losscore.cross_entropy(empty, empty, reduction="sum") == 0.0
    assert math.isnan(losscore.cross_entropy(empty, empty))


@pytest.mark.parametrize("classes", [3, 20])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cross_entropy_limits_at_infinite_logits(classes, dtype):
    inf = np.inf
    x = np.full((1, classes), 0.5, dtype)
    x[0, 1], x[0, 2] = inf, -inf
    vg = losscore.value_and_grad(losscore.cross_entropy)
    # +inf at the target: every probability is on it, loss 0, gradient 0.
    value, g = vg(x, np.array([1]), reduction="sum")
    assert value == 0.0 and np.all(g == 0)
    # +inf elsewhere: the target's probability is 0, loss +inf.
    assert losscore.cross_entropy(x, np.array([0]), reduction="sum") == inf
    # Two +inf logits, one the target: softmax(1/2, 1/2) in the limit.
    x[0, 0] = inf
    value, g = vg(x, np.array([1]), reduction="sum")
    assert value == pytest.approx(math.log(2))
    want = np.zeros(classes)
    want[0], want[1] = 0.5, -0.5
    np.testing.assert_allclose(g[0], want, atol=1e-7)
    # Probability targets on the infinite classes only: finite; mass elsewhere: +inf.
    t = np.zeros((1, classes), dtype)
    t[0, 0] = t[0, 1] = 0.5
    assert losscore.cross_entropy(x, t, reduction="sum") == pytest.approx(math.log(2))
    t[0, 2] = 0.25  # a -inf class
    assert losscore.cross_entropy(x, t, reduction="sum") == inf


def test_poisson_nll_limit_at_minus_infinity():
    # exp(-inf) - 0 * (-inf) -> 0 as the target is 0.
    assert losscore.poisson_nll(np.array([-np.inf]), np.array([0.0])) == 0.0


def _chunked(name, first, target, cuts, **params):
    total = None
    for a, b in itertools.pairwise(cuts):
        kw = {k: (v[a:b] if k == "weight" else v) for k, v in params.items()}
        part = getattr(_core, name)(first[a:b], target[a:b], partials=True, offset=a, **kw)
        part = pickle.loads(pickle.dumps(part))
        if total is None:
            total = part
        else:
            total.merge(part)
    return total


@pytest.mark.parametrize(
    ("name", "params", "rows"),
    [
        ("huber", {"delta": 0.3}, False),
        ("poisson_nll", {"log_input": True}, False),
        ("binary_cross_entropy_with_logits", {"pos_weight": np.arange(1.0, 6.0)}, False),
        ("kl_div", {}, False),
        ("cross_entropy", {"label_smoothing": 0.1, "ignore_index": 2}, True),
        ("nll_loss", {"class_weight": np.linspace(0.5, 2.0, 5)}, True),
        ("multi_margin", {"p": 2}, True),
    ],
)
def test_partials_of_chunks_cut_anywhere_finish_like_the_whole(name, params, rows):
    rng = np.random.default_rng(3)
    n = 9000
    first = rng.standard_normal((n, 5))
    if rows:
        target = rng.integers(0, 5, n)
    elif name == "kl_div":
        target = rng.random((n, 5))
    else:
        target = (rng.random((n, 5)) < 0.5).astype(np.float64)
    weight = rng.random(n if rows else (n, 5))
    reduction = "batchmean" if name == "kl_div" else "mean"
    for kw in (params, {**params, "weight": weight}):
        whole = getattr(losscore, name)(first, target, reduction=reduction, **kw)
        for seed in range(3):
            cut_rng = np.random.default_rng(seed)
            cuts = np.unique(np.r_[0, cut_rng.integers(0, n, 9), 1, 2, n]).tolist()
            total = _chunked(name, first, target, cuts, **kw)
            assert total.count == n * (1 if rows else 5)
            assert total.finish(reduction) == whole  # bit for bit


def test_partials_refuse_chunks_out_of_order():
    p = np.arange(100.0)
    first = _core.mse(p[:10], p[:10], partials=True, offset=0)
    with pytest.raises(errors.ParameterError, match="follow"):
        first.merge(_core.mse(p[20:30], p[20:30], partials=True, offset=20))
