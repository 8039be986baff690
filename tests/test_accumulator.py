"""losscore.Accumulator: batches cut anywhere finish bitwise like the in-memory call.

The reference is each loss's ``_core`` kernel called once on the concatenated arrays (the call
every public loss function forwards to), plus float64 NumPy formulas for the values.
"""

from __future__ import annotations

import itertools
import math
import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import losscore
from losscore import _core
from losscore.errors import DTypeError, ParameterError, ParameterTypeError, ShapeError

N = 3 * _core.block_size() + 517  # element-wise: three blocks and a part
ROWS, C = 2600, 7  # class-axis: several row blocks


def _data() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    labels = rng.integers(0, C, ROWS)
    labels[::13] = -100
    return {
        "p": rng.standard_normal(N).astype(np.float32),
        "t": rng.standard_normal(N).astype(np.float32),
        "w": rng.random(N).astype(np.float32),
        "sign": np.where(rng.random(N) > 0.5, 1.0, -1.0).astype(np.float32),
        "bit": (rng.random(N) > 0.5).astype(np.float32),
        "prob": rng.random(N).astype(np.float32) * 0.98 + 0.01,
        "logits": rng.standard_normal((ROWS, C)).astype(np.float32),
        "labels": labels,
        "valid": np.where(labels < 0, 0, labels),
        "probs": rng.dirichlet(np.ones(C), ROWS).astype(np.float32),
        "row_w": rng.random(ROWS).astype(np.float32),
        "cw": (rng.random(C) + 0.5).astype(np.float32),
        "pos_w": np.linspace(0.5, 2.0, 7).astype(np.float32),
        "multi": (rng.random((ROWS, C)) > 0.6).astype(np.float32),
    }


D = _data()
LOG_PROBS = D["logits"] - np.log(np.exp(D["logits"]).sum(axis=1, keepdims=True))
KL_PRED = np.log(D["probs"])

# name, first, target, weight, params: every loss, the class-axis options included.
CASES = [
    ("mse", "p", "t", "w", {}),
    ("mae", "p", "t", "w", {}),
    ("huber", "p", "t", "w", {"delta": 0.3}),
    ("smooth_l1", "p", "t", "w", {"beta": 0.5}),
    ("log_cosh", "p", "t", "w", {}),
    ("pinball", "p", "t", "w", {"quantile": 0.8}),
    ("poisson_nll", "p", "prob", "w", {"full": True}),
    ("binary_cross_entropy", "prob", "bit", "w", {}),
    ("binary_cross_entropy_with_logits", "p", "bit", "w", {}),
    ("sigmoid_focal", "p", "bit", "w", {"alpha": 0.3, "gamma": 1.5}),
    ("soft_margin", "p", "sign", "w", {}),
    ("hinge", "p", "sign", "w", {"margin": 0.5}),
    ("squared_hinge", "p", "sign", "w", {}),
    ("kl_div", "kl", "probs", "row_w_kl", {}),
    ("cross_entropy", "logits", "valid", "row_w", {}),
    ("cross_entropy", "logits", "labels", "row_w", {"ignore_index": -100, "class_weight": "cw"}),
    (
        "cross_entropy",
        "logits",
        "labels",
        "row_w",
        {"ignore_index": -100, "label_smoothing": 0.1, "class_weight": "cw"},
    ),
    ("cross_entropy", "logits", "probs", "row_w", {"label_smoothing": 0.2}),
    ("nll_loss", "log_probs", "labels", "row_w", {"ignore_index": -100, "class_weight": "cw"}),
    ("multi_margin", "logits", "valid", "row_w", {"p": 2, "class_weight": "cw"}),
    ("softmax_focal", "logits", "valid", "row_w", {"gamma": 2.5, "alpha": "cw"}),
    ("multilabel_soft_margin", "logits", "multi", "row_w", {"class_weight": "cw"}),
]


def _arrays(case):
    name, first, target, weight, params = case
    x = {"kl": KL_PRED, "log_probs": LOG_PROBS}.get(first, D.get(first))
    w = D["w"][: x.size].reshape(x.shape) if weight == "row_w_kl" else D[weight]
    params = {k: D[v] if isinstance(v, str) else v for k, v in params.items()}
    if name == "binary_cross_entropy_with_logits":
        params = {"pos_weight": D["pos_w"]}
        x, t, w = x[: N // 7 * 7].reshape(-1, 7), D[target][: N // 7 * 7].reshape(-1, 7), None
        return name, x, t, w, params
    return name, x, D[target], w, params


def _reductions(name):
    return ["batchmean", "sum", "mean"] if name == "kl_div" else ["mean", "sum"]


def _accumulate(name, x, t, w, params, cuts):
    acc = losscore.Accumulator(name, **params)
    for lo, hi in itertools.pairwise(cuts):
        acc.update(x[lo:hi], t[lo:hi], None if w is None else w[lo:hi])
    return acc


@st.composite
def cut_points(draw, rows):
    """Cut points in [0, rows]: single rows, empty batches and long runs mixed."""
    inner = draw(st.lists(st.integers(0, rows), max_size=12))
    ones = draw(st.lists(st.integers(0, rows - 1), max_size=3))
    return sorted({0, rows, *inner, *ones, *(i + 1 for i in ones)}) + (
        [rows] if draw(st.booleans()) else []
    )


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
@pytest.mark.parametrize("weighted", [False, True])
@settings(max_examples=6, deadline=None)
@given(data=st.data())
def test_any_batches_finish_bitwise(case, weighted, data):
    name, x, t, w, params = _arrays(case)
    w = w if weighted else None
    cuts = data.draw(cut_points(len(x)))
    acc = _accumulate(name, x, t, w, params, cuts)
    kernel = getattr(_core, name)
    for reduction in _reductions(name):
        expected = kernel(x, t, weight=w, reduction=reduction, **params)
        got = acc.result(reduction)
        assert got == expected or (math.isnan(got) and math.isnan(expected)), (
            reduction,
            cuts,
            got,
            expected,
        )
    assert acc.rows == len(x)


def test_values_match_numpy_formulas():
    p, t, w = D["p"].astype(np.float64), D["t"].astype(np.float64), D["w"].astype(np.float64)
    acc = _accumulate("mse", p, t, w, {}, [0, 1, 5000, 9999, N])
    expected = math.fsum((w * (p - t) ** 2).tolist()) / math.fsum(w.tolist())
    assert acc.result() == pytest.approx(expected, rel=1e-14)
    x, y = D["logits"].astype(np.float64), D["valid"]
    acc = _accumulate("cross_entropy", x, y, None, {}, [0, 33, 34, 2000, ROWS])
    ls = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    assert acc.result() == pytest.approx(-ls[np.arange(ROWS), y].mean(), rel=1e-13)
    assert acc.mean_denominator() == ROWS
    acc = _accumulate("mse", p, t, w, {}, [0, 17, N])
    assert acc.mean_denominator() == pytest.approx(math.fsum(w.tolist()), rel=1e-15)


@pytest.mark.parametrize("tree", ["left", "right", "pairs"])
def test_merge_of_independent_accumulators_in_any_tree(tree):
    x, y, w = D["logits"], D["labels"], D["row_w"]
    params = {"ignore_index": -100, "label_smoothing": 0.1, "class_weight": D["cw"]}
    cuts = [0, 1, 2, 500, 1171, 1172, 2599, ROWS]
    parts = []
    for lo, hi in itertools.pairwise(cuts):
        acc = losscore.Accumulator("cross_entropy", offset=lo, **params)
        acc.update(x[lo:hi], y[lo:hi], w[lo:hi])
        parts.append(acc)
    if tree == "left":
        total = parts[0].copy()
        for part in parts[1:]:
            total.merge(part)
    elif tree == "right":
        total = parts[-1].copy()
        for part in reversed(parts[:-1]):
            total = part.copy().merge(total)
    else:
        level = parts
        while len(level) > 1:
            level = [
                level[i].copy().merge(level[i + 1]) if i + 1 < len(level) else level[i]
                for i in range(0, len(level), 2)
            ]
        total = level[0]
    assert total.result() == _core.cross_entropy(x, y, weight=w, **params)
    assert total.rows == ROWS
    # The merged inputs are left as they were.
    assert parts[1].rows == 1 and parts[1].offset == 1


def test_merge_out_of_order_is_refused():
    a = losscore.Accumulator("mse")
    b = losscore.Accumulator("mse", offset=10)
    a.update(D["p"][:5], D["t"][:5])
    b.update(D["p"][10:20], D["t"][10:20])
    with pytest.raises(ParameterError, match=r"starts at row 10 .* ends at row 5"):
        a.merge(b)
    assert a.rows == 5
    with pytest.raises(ParameterError, match="huber"):
        a.merge(losscore.Accumulator("huber", offset=5))
    with pytest.raises(ParameterError, match="delta"):
        losscore.Accumulator("huber", delta=0.5).merge(losscore.Accumulator("huber", delta=1.0))
    with pytest.raises(ParameterTypeError, match="Accumulator"):
        a.merge("mse")


def test_pickle_round_trip_keeps_the_bits():
    x, y = D["logits"], D["labels"]
    params = {"ignore_index": -100, "class_weight": D["cw"]}
    acc = losscore.Accumulator("cross_entropy", **params)
    acc.update(x[:1001], y[:1001])
    back = pickle.loads(pickle.dumps(acc))
    back.update(x[1001:], y[1001:])
    acc.update(x[1001:], y[1001:])
    expected = _core.cross_entropy(x, y, **params)
    assert back.result() == acc.result() == expected
    assert repr(back).startswith("Accumulator('cross_entropy'")


def test_state_is_small():
    n, block = 1 << 21, _core.block_size()
    p = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    acc = losscore.Accumulator("mse")
    for lo in range(0, n, 100_003):  # every batch ends inside a block
        acc.update(p[lo : lo + 100_003], p[lo : lo + 100_003] * 0.5)
    size = len(pickle.dumps(acc))
    # One float64 per block, the terms of at most two partial blocks: not the 8 MB of data.
    assert size < 8 * (n // block) + 2 * 8 * block + 4096, size


def test_many_reads_each_batch_once_and_matches_each_loss():
    p, t = D["p"], D["t"]
    accs = losscore.Accumulator.many(
        {"mse": {}, "huber": {"delta": 0.5}, "pinball": {"quantile": 0.9, "reduction": "sum"}}
    )
    for lo, hi in [(0, 3), (3, 8200), (8200, N)]:
        accs.update(p[lo:hi], t[lo:hi])
    assert accs.result() == {
        "mse": _core.mse(p, t),
        "huber": _core.huber(p, t, delta=0.5),
        "pinball": _core.pinball(p, t, quantile=0.9, reduction="sum"),
    }
    back = pickle.loads(pickle.dumps(accs))
    assert back.result() == accs.result() and back.rows == N
    tail = losscore.Accumulator.many(
        {"mse": {}, "huber": {"delta": 0.5}, "pinball": {"quantile": 0.9, "reduction": "sum"}},
        offset=N,
    )
    assert accs.merge(tail).result()["mse"] == _core.mse(p, t)


def test_many_update_is_all_or_nothing():
    accs = losscore.Accumulator.many({"mse": {}, "hinge": {}})
    accs.update(D["p"][:4], D["sign"][:4])
    with pytest.raises(losscore.errors.TargetError):
        accs.update(D["p"][4:8], D["t"][4:8])  # not +-1: hinge refuses, mse would not
    assert accs["mse"].rows == accs["hinge"].rows == 4


def test_reset_and_empty_results():
    acc = losscore.Accumulator("mse")
    assert math.isnan(acc.result()) and acc.result("sum") == 0.0
    acc.update(D["p"][:0], D["t"][:0])
    assert math.isnan(acc.result()) and acc.result("sum") == 0.0
    acc.update(D["p"][:10], D["t"][:10])
    acc.reset()
    assert acc.rows == 0 and acc.result("sum") == 0.0
    acc.update(D["p"][:10], D["t"][:10])
    assert acc.result() == _core.mse(D["p"][:10], D["t"][:10])


def test_function_or_name():
    a = losscore.Accumulator(losscore.mae)
    a.update(D["p"], D["t"])
    assert a.loss == "mae" and a.result() == _core.mae(D["p"], D["t"])


def test_bad_input():
    with pytest.raises(ParameterError, match="unknown loss 'nope'"):
        losscore.Accumulator("nope")
    with pytest.raises(ParameterTypeError, match="loss"):
        losscore.Accumulator(3)
    with pytest.raises(ParameterTypeError, match="unexpected keyword argument 'delta'"):
        losscore.Accumulator("mse", delta=1.0)
    with pytest.raises(ParameterError, match="reduction"):
        losscore.Accumulator("mse", reduction="none")
    with pytest.raises(ParameterError, match="batchmean"):
        losscore.Accumulator("mse").result("batchmean")
    with pytest.raises(ParameterTypeError, match="reduction"):
        losscore.Accumulator("mse").result(True)
    with pytest.raises(ParameterError, match="offset"):
        losscore.Accumulator("mse", offset=-1)
    with pytest.raises(ParameterTypeError, match="offset"):
        losscore.Accumulator("mse", offset=1.5)
    # Hyperparameters are checked at construction (a stream whose batches all fail must not
    # finish with a value for parameters the in-memory call refuses).
    with pytest.raises(ParameterError, match="delta"):
        losscore.Accumulator("huber", delta=-1.0)
    acc = losscore.Accumulator("mse")
    with pytest.raises(ShapeError, match="leading axis"):
        acc.update(np.float32(1.0), np.float32(0.0))
    acc.update(D["p"][:6].reshape(3, 2), D["t"][:6].reshape(3, 2))
    with pytest.raises(ShapeError, match=r"rows of shape \(2,\)"):
        acc.update(D["p"][:6].reshape(2, 3), D["t"][:6].reshape(2, 3))
    with pytest.raises(DTypeError, match="float64 after float32"):
        acc.update(np.zeros((1, 2)), np.zeros((1, 2)))
    with pytest.raises(ParameterError, match="weight"):
        acc.update(D["p"][:2].reshape(1, 2), D["t"][:2].reshape(1, 2), D["w"][:2].reshape(1, 2))
    with pytest.raises(ShapeError):
        acc.update(D["p"][:2].reshape(1, 2), D["t"][:3])
    assert acc.rows == 3
    ce = losscore.Accumulator("cross_entropy")
    with pytest.raises(ShapeError, match="class axis"):
        ce.update(D["logits"][0], D["valid"][0])
    with pytest.raises(losscore.errors.TargetError):
        ce.update(D["logits"][:4], np.array([0, 1, 2, C]))
    assert ce.rows == 0
    with pytest.raises(ParameterTypeError, match="mapping"):
        losscore.Accumulator.many(["mse"])
    inputs = D["p"][:4].copy(), D["t"][:4].copy()
    with pytest.raises(losscore.errors.TargetError):
        losscore.Accumulator("hinge").update(*inputs)
    assert np.array_equal(inputs[0], D["p"][:4]) and np.array_equal(inputs[1], D["t"][:4])
