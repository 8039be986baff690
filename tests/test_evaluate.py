"""losscore.evaluate: chunked evaluation equals the in-memory call bit for bit, bounded memory."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

import losscore
from losscore.errors import LosscoreError, ParameterError, ShapeError

BLOCK = losscore._core.block_size()


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
    fn = getattr(losscore, name)
    expected = fn(p, t, weight=weight, reduction=reduction, **params)
    for chunk in (1, BLOCK, BLOCK + 1, 2 * BLOCK + 5, 10**9, None):
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
    fn = getattr(losscore, name)
    expected = fn(p, t, weight=weight, reduction=reduction, **params)
    for chunk in (BLOCK, 3 * BLOCK, None):
        got = losscore.evaluate(
            name, p, t, weight=weight, reduction=reduction, chunk_size=chunk, **params
        )
        assert got == expected, (chunk, got, expected)


def test_class_axis_losses_are_refused_clearly(data):
    p, _, _ = data[np.float32]
    logits = p[: 10 * 4].reshape(10, 4)
    labels = np.arange(10) % 4
    with pytest.raises(ParameterError, match="class axis"):
        losscore.evaluate("cross_entropy", logits, labels)


def test_value_matches_an_independent_fsum(data):
    p, t, _ = data[np.float64]
    expected = math.fsum(((p - t) ** 2).tolist()) / p.size
    assert losscore.evaluate("mse", p, t, chunk_size=BLOCK) == pytest.approx(expected, rel=1e-15)


def test_function_or_name(data):
    p, t, _ = data[np.float32]
    assert losscore.evaluate(losscore.mae, p, t) == losscore.evaluate("mae", p, t)


def test_files_and_memmaps(tmp_path, data):
    p, t, _ = data[np.float32]
    p2, t2 = p.reshape(-1, 2), t.reshape(-1, 2)
    np.save(tmp_path / "p.npy", p2)
    np.save(tmp_path / "t.npy", t2)
    np.savez(tmp_path / "stored.npz", pred=p2, target=t2)
    np.savez_compressed(tmp_path / "packed.npz", pred=p2, target=t2)
    expected = losscore.huber(p2, t2, delta=0.5)
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


def test_empty_input_follows_the_in_memory_rules():
    empty = np.zeros(0)
    assert math.isnan(losscore.evaluate("mse", empty, empty))
    assert losscore.evaluate("mse", empty, empty, reduction="sum") == 0.0
