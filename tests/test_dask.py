"""losscore.dask on the threaded scheduler and on a real distributed.LocalCluster (2 processes).

References: each loss's ``_core`` kernel on the whole NumPy arrays (the in-memory call), and
dask.array's own formulation of the loss.
"""

from __future__ import annotations

import itertools
import math

import dask
import dask.array as da
import distributed
import numpy as np
import pytest
import zarr
from hypothesis import given, settings
from hypothesis import strategies as st

import losscore
import losscore.dask as lcd
from losscore import _core
from losscore.errors import ParameterError, ParameterTypeError, ShapeError, TargetError

BLOCK = _core.block_size()
N = 2 * BLOCK + 3001
ROWS, C = 2500, 6

rng = np.random.default_rng(5)
P = rng.standard_normal(N).astype(np.float32)
T = rng.standard_normal(N).astype(np.float32)
W = rng.random(N).astype(np.float32)
LOGITS = rng.standard_normal((ROWS, C)).astype(np.float32)
LABELS = rng.integers(0, C, ROWS)
LABELS[::9] = -100
ROW_W = rng.random(ROWS).astype(np.float32)
CW = (rng.random(C) + 0.5).astype(np.float32)
CE = {"ignore_index": -100, "label_smoothing": 0.1, "class_weight": CW}


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    try:
        with distributed.Client(cluster) as c:
            yield c
    finally:
        cluster.close()


@st.composite
def chunkings(draw, rows):
    """Leading-axis chunks summing to ``rows``: single rows, block-splitting and long runs."""
    cuts = draw(st.lists(st.integers(1, rows - 1), max_size=10))
    ones = draw(st.lists(st.integers(0, rows - 1), max_size=3))
    points = sorted({0, rows, *cuts, *ones, *(i + 1 for i in ones)})
    return tuple(b - a for a, b in itertools.pairwise(points))


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_any_chunking_is_bitwise_the_in_memory_call(data):
    chunks = data.draw(chunkings(N))
    weighted = data.draw(st.booleans())
    p = da.from_array(P, chunks=(chunks,))
    # target and weight chunked differently: rechunked to pred's rows.
    t = da.from_array(T, chunks=data.draw(chunkings(N)))
    w = da.from_array(W, chunks=5000) if weighted else None
    ww = W if weighted else None
    losses = {"mse": {}, "huber": {"delta": 0.5}, "pinball": {"quantile": 0.2, "reduction": "sum"}}
    (got,) = dask.compute(lcd.evaluate_many(losses, p, t, weight=w), scheduler="threads")
    assert got == {
        "mse": _core.mse(P, T, weight=ww),
        "huber": _core.huber(P, T, delta=0.5, weight=ww),
        "pinball": _core.pinball(P, T, quantile=0.2, weight=ww, reduction="sum"),
    }, chunks


@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_class_axis_any_chunking_value_and_grad_bitwise(data):
    chunks = data.draw(chunkings(ROWS))
    weighted = data.draw(st.booleans())
    reduction = data.draw(st.sampled_from(["mean", "sum"]))
    x = da.from_array(LOGITS, chunks=(chunks, 2))  # split along the class axis too: rechunked
    y = da.from_array(LABELS, chunks=700)
    w = da.from_array(ROW_W, chunks=(chunks,)) if weighted else None
    ww = ROW_W if weighted else None
    value, grad = lcd.value_and_grad("cross_entropy")(x, y, weight=w, reduction=reduction, **CE)
    assert grad.chunks[0] == chunks
    value, grad = dask.compute(value, grad, scheduler="threads")
    v, g = _core.cross_entropy(LOGITS, LABELS, weight=ww, reduction=reduction, with_grad=True, **CE)
    assert value == v
    assert grad.dtype == g.dtype and np.array_equal(grad, g), chunks


@pytest.mark.parametrize(
    ("name", "params"),
    [("mse", {}), ("huber", {"delta": 0.3}), ("log_cosh", {}), ("kl_div", {})],
)
@pytest.mark.parametrize("weighted", [False, True])
def test_elementwise_value_and_grad_bitwise(name, params, weighted):
    chunks = (1, BLOCK - 1, 77, N - BLOCK - 77)
    first = np.log(np.abs(P) + 0.1) if name == "kl_div" else P
    target = np.abs(T) if name == "kl_div" else T
    p = da.from_array(first, chunks=(chunks,))
    t = da.from_array(target, chunks=4000)
    w = da.from_array(W, chunks=(chunks,)) if weighted else None
    ww = W if weighted else None
    value, grad = dask.compute(
        *lcd.value_and_grad(name)(p, t, weight=w, **params), scheduler="threads"
    )
    v, g = getattr(_core, name)(first, target, weight=ww, with_grad=True, **params)
    assert value == v and np.array_equal(grad, g)


def test_lazy_in_lazy_out_and_dask_array_formulation():
    p, t = da.from_array(P, chunks=3000), da.from_array(T, chunks=3000)
    value = lcd.evaluate("mse", p, t)
    assert isinstance(value, da.Array) and value.shape == ()
    n_chunks = len(p.chunks[0])
    # One task per chunk plus the sources, the merges and the finish: linear in the chunks.
    assert len(value.__dask_graph__()) <= 4 * n_chunks + 4
    # float32 inputs: per-element terms in float32, summed in float64 (losscore's definition).
    reference = ((p - t) ** 2).astype(np.float64).mean().compute()
    assert value.compute() == pytest.approx(reference, rel=1e-12)
    _, grad = lcd.value_and_grad("mse")(p, t)
    assert isinstance(grad, da.Array) and grad.chunks == p.chunks


def test_local_cluster_two_processes(client):
    chunks = (1, 5000, BLOCK, 3, N - 5004 - BLOCK)
    p = da.from_array(P, chunks=(chunks,))
    t = da.from_array(T, chunks=(chunks,))
    w = da.from_array(W, chunks=(chunks,))
    values = lcd.evaluate_many({"mse": {}, "mae": {}}, p, t, weight=w)
    got = client.compute(values, sync=True)
    assert got == {"mse": _core.mse(P, T, weight=W), "mae": _core.mae(P, T, weight=W)}
    x = da.from_array(LOGITS, chunks=(300, C))
    y = da.from_array(LABELS, chunks=300)
    value, grad = lcd.value_and_grad("cross_entropy")(x, y, **CE)
    value, grad = client.compute([value, grad], sync=True)
    v, g = _core.cross_entropy(LOGITS, LABELS, with_grad=True, **CE)
    assert value == v and np.array_equal(grad, g)
    # Both worker processes took part, and ran losscore on their thread budget (1 each).
    threads = client.run(losscore.get_num_threads)
    assert len(threads) == 2 and set(threads.values()) == {1}


def test_accumulators_travel_between_worker_processes(client):
    import pickle

    # Partials computed on the workers, merged on the client: the same bits.
    def part(lo, hi):
        acc = losscore.Accumulator("cross_entropy", offset=lo, **CE)
        acc.update(LOGITS[lo:hi], LABELS[lo:hi])
        return acc

    futures = [client.submit(part, lo, min(lo + 999, ROWS)) for lo in range(0, ROWS, 999)]
    parts = client.gather(futures)
    total = parts[0]
    for acc in parts[1:]:
        total.merge(pickle.loads(pickle.dumps(acc)))
    assert total.result() == _core.cross_entropy(LOGITS, LABELS, **CE)


def test_worker_failure_surfaces_as_the_original_exception(client):
    p = da.from_array(P[:1000], chunks=100)
    t = da.from_array(T[:1000], chunks=100)  # not +-1: hinge refuses inside a worker
    with pytest.raises(TargetError, match="target"):
        client.compute(lcd.evaluate("hinge", p, t), sync=True)
    with pytest.raises(TargetError):
        lcd.evaluate("hinge", p, t).compute(scheduler="threads")


def test_zarr_backed_dask_arrays(tmp_path):
    zarr.create_array(store=tmp_path / "p.zarr", data=P, chunks=(3333,))
    zarr.create_array(store=tmp_path / "t.zarr", data=T, chunks=(5000,))
    p, t = da.from_zarr(str(tmp_path / "p.zarr")), da.from_zarr(str(tmp_path / "t.zarr"))
    assert lcd.evaluate("mae", p, t).compute(scheduler="threads") == _core.mae(P, T)


def test_empty_and_single_chunk():
    p, t = da.from_array(P[:0], chunks=1), da.from_array(T[:0], chunks=1)
    assert math.isnan(lcd.evaluate("mse", p, t).compute())
    assert lcd.evaluate("mse", p, t, reduction="sum").compute() == 0.0
    p, t = da.from_array(P, chunks=N), da.from_array(T, chunks=N)
    assert lcd.evaluate("mse", p, t).compute() == _core.mse(P, T)


def test_bad_input():
    p, t = da.from_array(P[:100], chunks=10), da.from_array(T[:100], chunks=10)
    with pytest.raises(ParameterTypeError, match="target: a ndarray mixed with dask arrays"):
        lcd.evaluate("mse", p, T[:100])
    with pytest.raises(ParameterTypeError, match="pred: a ndarray mixed"):
        lcd.evaluate("mse", P[:100], t)
    with pytest.raises(ParameterTypeError, match="takes dask arrays"):
        lcd.evaluate("mse", P[:100], T[:100])
    with pytest.raises(ParameterTypeError, match="weight: a ndarray"):
        lcd.value_and_grad("mse")(p, t, weight=W[:100])
    unknown = p[p > 0]
    with pytest.raises(ParameterError, match=r"pred: unknown chunk sizes \(nan\)"):
        lcd.evaluate("mse", unknown, unknown)
    with pytest.raises(ShapeError, match=r"target must have shape \(100,\)"):
        lcd.evaluate("mse", p, t[:50])
    x = da.from_array(LOGITS[:10], chunks=5)
    with pytest.raises(ShapeError, match=r"target must have shape \(10,\) or \(10, 6\)"):
        lcd.evaluate("cross_entropy", x, da.from_array(LABELS[:9], chunks=5))
    with pytest.raises(ShapeError, match="class axis"):
        lcd.evaluate("cross_entropy", da.from_array(LOGITS[0], chunks=2), da.zeros(()))
    with pytest.raises(ParameterError, match="unknown loss"):
        lcd.evaluate("nope", p, t)
    with pytest.raises(ParameterTypeError, match="unexpected keyword argument 'delta'"):
        lcd.evaluate("mse", p, t, delta=1.0)
    with pytest.raises(ParameterError, match="reduction"):
        lcd.evaluate("mse", p, t, reduction="none")
    with pytest.raises(ParameterError, match="split_every"):
        lcd.evaluate("mse", p, t, split_every=1)
    with pytest.raises(ParameterTypeError, match="mapping"):
        lcd.evaluate_many(["mse"], p, t)


def test_partial_fit_trains_over_the_blocks_of_a_dask_array(client):
    """Incremental training over dask blocks computed on the LocalCluster's workers: the same
    model as partial_fit over the same blocks in memory, and a useful one."""
    from losscore.estimators import LinearClassifier

    rng = np.random.default_rng(11)
    X_np = rng.standard_normal((600, 4))
    y_np = (X_np @ np.array([1.5, -1.0, 0.5, 0.0]) > 0).astype(np.int64)
    X = da.from_array(X_np, chunks=(150, 4))
    y = da.from_array(y_np, chunks=150)
    blocks = list(zip(X.to_delayed().ravel(), y.to_delayed().ravel(), strict=True))
    streamed = LinearClassifier(random_state=0, lr=0.05)
    in_memory = LinearClassifier(random_state=0, lr=0.05)
    for epoch in range(8):
        for i, (xb, yb) in enumerate(blocks):
            xb, yb = client.compute([xb, yb], sync=True)  # each block computed by a worker
            first = epoch == 0 and i == 0
            streamed.partial_fit(xb, yb, classes=[0, 1] if first else None)
            sl = slice(150 * i, 150 * (i + 1))
            in_memory.partial_fit(X_np[sl], y_np[sl], classes=[0, 1] if first else None)
    np.testing.assert_array_equal(streamed.coef_, in_memory.coef_)
    np.testing.assert_array_equal(streamed.intercept_, in_memory.intercept_)
    assert streamed.score(X_np, y_np) > 0.9
