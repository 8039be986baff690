"""losscore.evaluate: chunked evaluation equals the in-memory call bit for bit, bounded memory.

The in-memory reference is each loss's ``_core`` kernel called on the whole arrays: the call every
public loss function forwards to.
"""

from __future__ import annotations

import math
import re
import tracemalloc

import dask.array as da
import numpy as np
import pytest
import zarr

import losscore
from losscore import _core
from losscore.errors import LosscoreError, ParameterError, ParameterTypeError, ShapeError
from losscore.evaluation import evaluate_many
from losscore.losses import registry

BLOCK = _core.block_size()


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(42)
    n = 3 * BLOCK + 1234
    return {
        dt: (
            rng.standard_normal(n).astype(dt),
            rng.standard_normal(n).astype(dt),
            rng.random(n).astype(dt),
        )
        for dt in (np.float32, np.float64)
    }


LOSSES = [
    ("mse", {}),
    ("mae", {}),
    ("huber", {"delta": 0.3}),
    ("smooth_l1", {"beta": 0.5}),
    ("log_cosh", {}),
    ("pinball", {"quantile": 0.8}),
    ("poisson_nll", {"full": True}),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("name", "params"), LOSSES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_bitwise_equal_to_in_memory_for_any_chunk_size(
    data, dtype, name, params, reduction, weighted
):
    p, t, w = data[dtype]
    if name == "poisson_nll":
        t = np.abs(t) * 3
    weight = w if weighted else None
    fn = getattr(_core, name)
    expected = fn(p, t, weight=weight, reduction=reduction, **params)
    for chunk in (97, BLOCK, BLOCK + 1, 2 * BLOCK + 5, 10**9, None):
        got = losscore.evaluate(
            name, p, t, weight=weight, reduction=reduction, chunk_size=chunk, **params
        )
        assert got == expected or (math.isnan(got) and math.isnan(expected)), chunk


CLASSIFICATION = [
    ("binary_cross_entropy_with_logits", {}, "mean"),
    ("binary_cross_entropy", {}, "sum"),
    ("sigmoid_focal", {"alpha": 0.3, "gamma": 1.5}, "mean"),
    ("hinge", {"margin": 0.5}, "sum"),
    ("soft_margin", {}, "mean"),
    ("kl_div", {}, "batchmean"),
]


@pytest.mark.parametrize(("name", "params", "reduction"), CLASSIFICATION)
@pytest.mark.parametrize("weighted", [False, True])
def test_elementwise_classification_losses_chunk_bitwise(data, name, params, reduction, weighted):
    p, t, w = data[np.float32]
    rows = p.size // 7 * 7
    p, t, w = p[:rows].reshape(-1, 7), t[:rows].reshape(-1, 7), w[:rows].reshape(-1, 7)
    if name == "binary_cross_entropy":
        p = 1 / (1 + np.exp(-p))
    if name in ("binary_cross_entropy", "binary_cross_entropy_with_logits", "sigmoid_focal"):
        t = (t > 0).astype(p.dtype)
    if name in ("hinge", "soft_margin"):
        t = np.where(t > 0, 1.0, -1.0).astype(p.dtype)
    if name == "kl_div":
        t = np.abs(t)
    weight = w if weighted else None
    fn = getattr(_core, name)
    expected = fn(p, t, weight=weight, reduction=reduction, **params)
    for chunk in (7, BLOCK, BLOCK + 70, 3 * BLOCK, None):
        got = losscore.evaluate(
            name, p, t, weight=weight, reduction=reduction, chunk_size=chunk, **params
        )
        assert got == expected, (chunk, got, expected)


@pytest.fixture(scope="module")
def class_data():
    rng = np.random.default_rng(7)
    n, c = 2500, 9
    logits = rng.standard_normal((n, c)).astype(np.float32)
    labels = rng.integers(0, c, n)
    labels[::11] = -100
    probs = rng.dirichlet(np.ones(c), n).astype(np.float32)
    return {
        "logits": logits,
        "labels": labels,
        "valid": np.where(labels < 0, 0, labels),
        "probs": probs,
        "weight": rng.random(n).astype(np.float32),
        "class_weight": (rng.random(c) + 0.5).astype(np.float32),
        "multi_labels": (rng.random((n, c)) < 0.3).astype(np.float32),
    }


CLASS_AXIS = [
    ("cross_entropy", {}, "valid"),
    ("cross_entropy", {"ignore_index": -100, "label_smoothing": 0.1, "cw": True}, "labels"),
    ("cross_entropy", {"label_smoothing": 0.2}, "probs"),
    ("nll_loss", {"ignore_index": -100, "cw": True}, "labels"),
    ("multi_margin", {"p": 2, "margin": 0.5, "cw": True}, "valid"),
    ("softmax_focal", {"gamma": 1.5, "alpha": True}, "valid"),
    ("multilabel_soft_margin", {"cw": True}, "multi_labels"),
]


@pytest.mark.parametrize(("name", "params", "target"), CLASS_AXIS)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize("weighted", [False, True])
def test_class_axis_losses_chunk_bitwise(class_data, name, params, target, reduction, weighted):
    params = dict(params)
    if params.pop("cw", False):
        params["class_weight"] = class_data["class_weight"]
    if params.pop("alpha", False):
        params["alpha"] = class_data["class_weight"]
    x = class_data["logits"]
    if name == "nll_loss":
        x = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    t = class_data[target]
    weight = class_data["weight"] if weighted else None
    expected = getattr(_core, name)(x, t, weight=weight, reduction=reduction, **params)
    # Chunks of 1 row, of a prime number of rows, splitting reduction blocks, and whole.
    for chunk in (1, 9 * 7, 9 * 601, 10**9, None):
        got = losscore.evaluate(
            name, x, t, weight=weight, reduction=reduction, chunk_size=chunk, **params
        )
        assert got == expected, (chunk, got, expected)


def test_class_axis_value_matches_numpy(class_data):
    x, y = class_data["logits"].astype(np.float64), class_data["valid"]
    log_softmax = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    expected = -math.fsum(log_softmax[np.arange(len(y)), y].tolist()) / len(y)
    got = losscore.evaluate("cross_entropy", x, y, chunk_size=100)
    assert got == pytest.approx(expected, rel=1e-13)


def test_pos_weight_chunks_bitwise(data):
    p, t, _ = data[np.float32]
    rows = p.size // 7 * 7
    x, y = p[:rows].reshape(-1, 7), (t[:rows].reshape(-1, 7) > 0).astype(np.float32)
    pos_weight = np.linspace(0.5, 2.0, 7).astype(np.float32)
    expected = _core.binary_cross_entropy_with_logits(x, y, pos_weight=pos_weight)
    for chunk in (7, 7 * 1001, None):
        got = losscore.evaluate(
            "binary_cross_entropy_with_logits", x, y, pos_weight=pos_weight, chunk_size=chunk
        )
        assert got == expected


def test_evaluate_many_mapping_and_default_reductions(data):
    p, t, _ = data[np.float64]
    q = np.abs(t) / np.abs(t).sum()
    log_p = np.log(np.abs(p) / np.abs(p).sum())
    got = evaluate_many({"mse": {}, "huber": {"delta": 0.5}}, p, t, chunk_size=BLOCK + 1)
    assert got == {"mse": _core.mse(p, t), "huber": _core.huber(p, t, delta=0.5)}
    # kl_div's own default is "batchmean", as in memory.
    assert losscore.evaluate("kl_div", log_p, q, chunk_size=1000) == _core.kl_div(log_p, q)


def test_value_matches_an_independent_fsum(data):
    p, t, _ = data[np.float64]
    expected = math.fsum(((p - t) ** 2).tolist()) / p.size
    assert losscore.evaluate("mse", p, t, chunk_size=BLOCK) == pytest.approx(expected, rel=1e-15)


def test_function_or_name(data):
    p, t, _ = data[np.float32]
    assert losscore.evaluate(losscore.mae, p, t) == losscore.evaluate("mae", p, t)


def test_zarr_inputs(tmp_path, data, class_data):
    p, t, _ = data[np.float32]
    p2, t2 = p.reshape(-1, 2), t.reshape(-1, 2)
    zarr.create_array(store=tmp_path / "p.zarr", data=p2, chunks=(1000, 2))
    group = zarr.open_group(tmp_path / "g.zarr", mode="w")
    group.create_array("target", data=t2, chunks=(777, 2))
    group.create_array("logits", data=class_data["logits"], chunks=(100, 9))
    group.create_array("labels", data=class_data["valid"], chunks=(100,))
    expected = _core.huber(p2, t2, delta=0.5)
    got = losscore.evaluate(
        "huber",
        str(tmp_path / "p.zarr"),
        f"{tmp_path / 'g.zarr'}:target",
        chunk_size=BLOCK + 3,
        delta=0.5,
    )
    assert got == expected
    arr = zarr.open(tmp_path / "p.zarr", mode="r")
    assert losscore.evaluate("huber", arr, t2, delta=0.5) == expected
    ce = losscore.evaluate(
        "cross_entropy",
        f"{tmp_path / 'g.zarr'}:logits",
        f"{tmp_path / 'g.zarr'}:labels",
        chunk_size=9 * 250,
    )
    assert ce == _core.cross_entropy(class_data["logits"], class_data["valid"])
    with pytest.raises(ParameterError, match="choose one"):
        losscore.evaluate("mse", str(tmp_path / "g.zarr"), t2)
    with pytest.raises(ParameterError, match="no array 'nope'"):
        losscore.evaluate("mse", f"{tmp_path / 'g.zarr'}:nope", t2)


def test_dask_array_is_read_slice_by_slice(data):
    p, t, _ = data[np.float64]
    got = losscore.evaluate("mae", da.from_array(p, chunks=5000), t, chunk_size=3000)
    assert got == _core.mae(p, t)


def test_files_and_memmaps(tmp_path, data):
    p, t, _ = data[np.float32]
    p2, t2 = p.reshape(-1, 2), t.reshape(-1, 2)
    np.save(tmp_path / "p.npy", p2)
    np.save(tmp_path / "t.npy", t2)
    np.savez(tmp_path / "stored.npz", pred=p2, target=t2)
    np.savez_compressed(tmp_path / "packed.npz", pred=p2, target=t2)
    expected = _core.huber(p2, t2, delta=0.5)
    mm = np.load(tmp_path / "p.npy", mmap_mode="r")
    specs = [
        (str(tmp_path / "p.npy"), str(tmp_path / "t.npy")),
        (mm, str(tmp_path / "t.npy")),
        (f"{tmp_path / 'stored.npz'}:pred", f"{tmp_path / 'stored.npz'}:target"),
        (f"{tmp_path / 'packed.npz'}:pred", f"{tmp_path / 'packed.npz'}:target"),
    ]
    for pred, target in specs:
        got = losscore.evaluate("huber", pred, target, chunk_size=BLOCK + 3, delta=0.5)
        assert got == expected


def test_memory_stays_bounded(tmp_path):
    n = 4_000_000  # 16 MB per float32 file, 32 MB of inputs
    rng = np.random.default_rng(0)
    np.save(tmp_path / "p.npy", rng.standard_normal(n).astype(np.float32))
    np.save(tmp_path / "t.npy", rng.standard_normal(n).astype(np.float32))
    np.savez_compressed(tmp_path / "c.npz", p=np.load(tmp_path / "p.npy"))
    chunk = 16 * BLOCK  # 512 KiB of float32
    for pred in (str(tmp_path / "p.npy"), f"{tmp_path / 'c.npz'}:p"):
        tracemalloc.start()
        try:
            losscore.evaluate("mse", pred, str(tmp_path / "t.npy"), chunk_size=chunk)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        # A few chunks' worth plus the partials lists: far below the 32 MB of input.
        assert peak < 8 * chunk * 4 + 4_000_000, peak


def test_memory_stays_bounded_for_class_axis_losses(tmp_path):
    n, c = 200_000, 10  # 8 MB of float32 logits: 8x the chunk budget below
    rng = np.random.default_rng(1)
    np.save(tmp_path / "logits.npy", rng.standard_normal((n, c)).astype(np.float32))
    np.save(tmp_path / "labels.npy", rng.integers(0, c, n))
    chunk = n * c // 8
    tracemalloc.start()
    try:
        losscore.evaluate(
            "cross_entropy",
            str(tmp_path / "logits.npy"),
            str(tmp_path / "labels.npy"),
            chunk_size=chunk,
            label_smoothing=0.1,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Files are read a chunk at a time (no memory map that a truncation could turn into
    # SIGBUS): one chunk of logits and labels read, the kernels' few arrays. Far below the
    # 9.6 MB of input.
    assert peak < 3 * chunk * 4, peak


def test_errors(tmp_path, data):
    p, t, _ = data[np.float32]
    with pytest.raises(ShapeError, match=r"pred and target"):
        losscore.evaluate("mse", p, t[:-1])
    with pytest.raises(ParameterError, match="unknown loss 'nope'"):
        losscore.evaluate("nope", p, t)
    with pytest.raises(ParameterError, match="reduction"):
        losscore.evaluate("mse", p, t, reduction="none")
    with pytest.raises(ParameterError, match="chunk_size"):
        losscore.evaluate("mse", p, t, chunk_size=0)
    with pytest.raises(TypeError, match="chunk_size"):
        losscore.evaluate("mse", p, t, chunk_size=2.5)
    with pytest.raises(ParameterError, match="file not found"):
        losscore.evaluate("mse", str(tmp_path / "missing.npy"), t)
    with pytest.raises(TypeError):
        losscore.evaluate("mse", p, t, delta=1.0)
    with pytest.raises(LosscoreError):
        losscore.evaluate("huber", p, t, delta=-1.0)
    logits = p[:40].reshape(10, 4)
    with pytest.raises(ShapeError, match=r"target must have shape \(10,\) or \(10, 4\)"):
        losscore.evaluate("cross_entropy", logits, np.zeros(9, dtype=np.int64))
    with pytest.raises(ShapeError, match=r"weight must have shape \(10,\)"):
        losscore.evaluate("cross_entropy", logits, np.zeros(10, dtype=np.int64), weight=p[:40])
    with pytest.raises(ParameterError, match="batchmean"):
        losscore.evaluate("mse", p, t, reduction="batchmean")


def test_empty_input_follows_the_in_memory_rules():
    empty = np.zeros(0)
    assert math.isnan(losscore.evaluate("mse", empty, empty))
    assert losscore.evaluate("mse", empty, empty, reduction="sum") == 0.0


# ---- same arguments, same validation, same answer as the in-memory call (issue 11, item 9) --


def _raised(fn, *args, **kwargs):
    with pytest.raises(LosscoreError) as info:
        fn(*args, **kwargs)
    return type(info.value), str(info.value)


@pytest.mark.parametrize("chunk_size", [1, 4096, 7777])
def test_error_positions_are_those_of_the_whole_array(chunk_size):
    n = 30_000
    labels = np.ones(n)
    labels[20_000] = 2.0
    weights = np.ones(n)
    weights[25_001] = -1.0
    classes = np.zeros(n, dtype=np.int64)
    classes[20_000] = 7
    cases = [
        ("hinge", np.zeros(n), labels, None),
        ("mse", np.zeros(n), np.zeros(n), weights),
        ("cross_entropy", np.zeros((n, 3)), classes, None),
        ("binary_cross_entropy", np.full((n // 3, 3), 0.5), labels.reshape(n // 3, 3), None),
    ]
    for name, pred, target, weight in cases:
        in_memory = _raised(registry[name].function, pred, target, weight=weight)
        chunked = _raised(
            losscore.evaluate, name, pred, target, weight=weight, chunk_size=chunk_size
        )
        assert chunked == in_memory
        assert re.search(r"flat index (20000|25001)\b", chunked[1]), chunked


def test_kl_div_defaults_to_batchmean_like_kl_div():
    rng = np.random.default_rng(5)
    log_pred = np.log(rng.dirichlet(np.ones(4), size=50))
    target = rng.dirichlet(np.ones(4), size=50)
    # batchmean: the pointwise sum of target * (log target - log_pred) over the batch size.
    expected = float(np.sum(target * (np.log(target) - log_pred)) / 50)
    assert losscore.evaluate("kl_div", log_pred, target, chunk_size=8) == pytest.approx(
        expected, rel=1e-13
    )
    assert losscore.evaluate("kl_div", log_pred, target) == losscore.kl_div(log_pred, target)


EMPTY_BAD_CALLS = [
    ("huber", np.zeros(0), np.zeros(0), {"delta": -1.0}),
    ("huber", np.zeros(0), np.zeros(0), {"delta": "1"}),
    ("mse", np.zeros(0, np.complex64), np.zeros(0), {}),
    ("mse", np.zeros(0, np.complex128), np.zeros(0), {}),
    ("mse", np.zeros(0), np.zeros(0), {"weight": np.zeros(1)}),
    ("cross_entropy", np.zeros((0, 3)), np.zeros(0), {}),
    ("cross_entropy", np.zeros((0, 3)), np.zeros(0, np.int64), {"class_weight": np.ones(2)}),
    ("cross_entropy", np.zeros((0, 3)), np.zeros(0, np.int64), {"label_smoothing": 2.0}),
    ("hinge", np.zeros((0, 2)), np.zeros((0, 2)), {"margin": True}),
    ("mse", np.zeros(0), np.zeros(0), {"reduction": "batchmean"}),
]


@pytest.mark.parametrize("name, pred, target, params", EMPTY_BAD_CALLS)
def test_empty_inputs_are_validated_like_the_in_memory_call(name, pred, target, params):
    kind, message = _raised(registry[name].function, pred, target, **params)
    got_kind, got_message = _raised(losscore.evaluate, name, pred, target, **params)
    assert got_kind is kind
    # The same argument is named (streamed reductions are listed in their own words).
    assert got_message.split(":")[0] == message.split(":")[0]
    if "reduction" not in params:
        assert got_message == message


def test_empty_inputs_with_many_rows_cost_nothing(tmp_path):
    # 2**40 rows of nothing: one empty chunk, not 2**40 / chunk iterations.
    pred = np.lib.stride_tricks.as_strided(np.zeros(1), shape=(2**40, 0), strides=(0, 8))
    assert math.isnan(losscore.evaluate("mse", pred, pred))
    assert losscore.evaluate("mse", pred, pred, reduction="sum") == 0.0
    np.save(tmp_path / "e.npy", np.zeros((3, 0)))
    assert losscore.evaluate("mse", tmp_path / "e.npy", tmp_path / "e.npy", reduction="sum") == 0.0


@pytest.mark.parametrize("keyword", ["out", "partials", "offset", "hess_out"])
def test_evaluate_refuses_keywords_of_other_entry_points(keyword):
    with pytest.raises(ParameterTypeError, match=keyword):
        losscore.evaluate("mse", np.zeros(3), np.zeros(3), **{keyword: np.zeros(3)})


@pytest.mark.parametrize("bad", [1.5, "8", True, None])
def test_chunk_size_of_the_wrong_type_is_a_parameter_type_error(bad):
    if bad is None:
        assert losscore.evaluate("mse", np.ones(3), np.zeros(3), chunk_size=bad) == 1.0
        return
    with pytest.raises(ParameterTypeError, match="chunk_size"):
        losscore.evaluate("mse", np.ones(3), np.zeros(3), chunk_size=bad)
