"""losscore.models: activations, Linear, MLP against float64 NumPy formulas and central finite
differences; init schemes; state dicts; error cases."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pytest

import losscore
from losscore import _core
from losscore.errors import DTypeError, OutputError, ParameterError, ShapeError
from losscore.models import MLP, Linear, activations

ACTS = ["relu", "tanh", "sigmoid", "gelu"]


def ref_forward(name: str, z: np.ndarray) -> np.ndarray:
    """The documented definitions, float64."""
    if name == "relu":
        return np.maximum(z, 0.0)
    if name == "tanh":
        return np.tanh(z)
    if name == "sigmoid":
        return 1.0 / (1.0 + np.exp(-z))
    # PyTorch gelu(approximate="tanh")
    return 0.5 * z * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z**3)))


# ---- activations ----


@pytest.mark.parametrize("name", ACTS)
def test_activation_forward_matches_formula(name):
    z = np.concatenate([np.linspace(-12, 12, 4001), [0.0, 1e-12, -1e-12, 0.05, -0.05]])
    got = activations.forward(name, z)
    # GELU's reference 1 + tanh(u) cancels for very negative z: absolute tolerance there.
    np.testing.assert_allclose(got, ref_forward(name, z), rtol=2e-15, atol=1e-15)
    got32 = activations.forward(name, z.astype(np.float32))
    assert got32.dtype == np.float32
    ref32 = ref_forward(name, z.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(got32, ref32, rtol=3e-6, atol=3e-7)


@pytest.mark.parametrize("name", ACTS)
def test_activation_backward_is_the_derivative(name):
    rng = np.random.default_rng(1)
    z = rng.uniform(-5, 5, size=2000)
    z = z[np.abs(z) > 1e-3]  # keep away from relu's kink
    a = activations.forward(name, z)
    g = rng.normal(size=z.shape)
    expected = g * (ref_forward(name, z + 1e-6) - ref_forward(name, z - 1e-6)) / 2e-6
    got = activations.backward(name, z, a, g.copy())
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_activation_limits_and_nan():
    z = np.array([-np.inf, np.inf, np.nan])
    assert activations.relu(z)[:2].tolist() == [0.0, np.inf]
    assert activations.tanh(z)[:2].tolist() == [-1.0, 1.0]
    assert activations.sigmoid(z)[:2].tolist() == [0.0, 1.0]
    assert activations.gelu(z)[:2].tolist() == [0.0, np.inf]
    for name in ACTS:
        assert np.isnan(activations.forward(name, z)[2])


def test_activation_out_buffer_and_errors():
    z = np.linspace(-1, 1, 10)
    out = np.empty_like(z)
    assert activations.forward("tanh", z, out) is out
    np.testing.assert_allclose(out, np.tanh(z), rtol=1e-15)
    with pytest.raises(ParameterError, match="activation"):
        activations.forward("softplus", z)
    with pytest.raises(DTypeError):
        activations.forward("relu", z, np.empty(10, dtype=np.float32))
    with pytest.raises(ShapeError):
        activations.forward("relu", z, np.empty(9))
    with pytest.raises(DTypeError):
        activations.forward("relu", z.astype(np.float16))
    ro = np.ones(10)
    ro.flags.writeable = False
    with pytest.raises(OutputError):
        activations.backward("relu", z, z, ro)
    g = np.ones(10)
    with pytest.raises(OutputError):  # grad aliasing z
        activations.backward("relu", g, z, g)
    assert g.tolist() == [1.0] * 10
    with pytest.raises(ShapeError):
        activations.backward("relu", z, z[:5], np.ones(10))


# ---- l1/l2 penalty kernel ----


def test_penalty_matches_formula_and_adds_gradient():
    rng = np.random.default_rng(2)
    ws = [rng.normal(size=(30, 7)), rng.normal(size=(7, 3)).astype(np.float32)]
    ws[0][0, 0] = 0.0
    gs = [rng.normal(size=w.shape).astype(w.dtype) for w in ws]
    g0 = [g.astype(np.float64) for g in gs]
    l1, l2 = 0.03, 0.2
    value = _core.penalty(ws, gs, l1, l2)
    w64 = [w.astype(np.float64) for w in ws]
    expected = sum(l1 * math.fsum(np.abs(w).ravel()) + l2 / 2 * math.fsum((w * w).ravel())
                   for w in w64)
    assert value == pytest.approx(expected, rel=1e-13)
    for g, g_before, w in zip(gs, g0, w64, strict=True):
        np.testing.assert_allclose(g, g_before + l2 * w + l1 * np.sign(w), rtol=2e-6, atol=1e-6)
    assert _core.penalty(ws, None, 0.0, 0.0) == 0.0


def test_penalty_errors_modify_nothing():
    w = [np.ones((2, 2))]
    g = [np.zeros((2, 2))]
    with pytest.raises(ParameterError, match="l1"):
        _core.penalty(w, g, -1.0, 0.0)
    with pytest.raises(ParameterError, match="l2"):
        _core.penalty(w, g, 0.0, float("nan"))
    with pytest.raises(ShapeError):
        _core.penalty(w, [np.zeros((2, 2)), np.zeros(2)], 0.1, 0.1)
    with pytest.raises(ShapeError):
        _core.penalty([*w, np.ones(3)], [*g, np.zeros(2)], 0.1, 0.1)
    assert g[0].tolist() == [[0.0, 0.0], [0.0, 0.0]]


# ---- Linear / MLP gradients by central differences ----


def _numeric_grads(model, X, R, h=1e-6):
    """d/dp sum(model.forward(X) * R) by central differences, for every parameter entry."""
    grads = []
    for p in model.parameters():
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            up = float(np.sum(model.forward(X) * R))
            p[idx] = old - h
            down = float(np.sum(model.forward(X) * R))
            p[idx] = old
            g[idx] = (up - down) / (2 * h)
        grads.append(g)
    return grads


def test_linear_gradients_match_finite_differences():
    rng = np.random.default_rng(3)
    model = Linear(4, 3, seed=0, dtype=np.float64)
    model.bias[:] = rng.normal(size=3)
    X = rng.normal(size=(6, 4))
    R = rng.normal(size=(6, 3))
    out = model.forward(X)
    np.testing.assert_allclose(out, X @ model.weight + model.bias, rtol=1e-14)
    analytic = [g.copy() for g in model.backward(R)]
    numeric = _numeric_grads(model, X, R)
    for a, n in zip(analytic, numeric, strict=True):
        np.testing.assert_allclose(a, n, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("act", ACTS)
def test_mlp_gradients_match_finite_differences(act):
    rng = np.random.default_rng(4)
    model = MLP([3, 5, 4, 2], activation=act, seed=1, dtype=np.float64)
    for b in model.biases:
        b[:] = rng.normal(scale=0.3, size=b.shape)
    X = rng.normal(size=(7, 3))
    R = rng.normal(size=(7, 2))
    model.forward(X)
    analytic = [g.copy() for g in model.backward(R)]
    numeric = _numeric_grads(model, X, R)
    for a, n in zip(analytic, numeric, strict=True):
        np.testing.assert_allclose(a, n, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("act", ACTS)
def test_mlp_forward_matches_numpy(act):
    rng = np.random.default_rng(5)
    model = MLP([6, 8, 8, 3], activation=act, seed=2, dtype=np.float64)
    X = rng.normal(size=(11, 6))
    a = X
    for i, (w, b) in enumerate(zip(model.weights, model.biases, strict=True)):
        a = a @ w + b
        if i < len(model.weights) - 1:
            a = ref_forward(act, a)
    np.testing.assert_allclose(model.forward(X), a, rtol=1e-12, atol=1e-14)
    # A smaller batch afterwards reuses the buffers and still gives the right rows.
    np.testing.assert_allclose(model.forward(X[:3]), a[:3], rtol=1e-12, atol=1e-14)


def test_mlp_float32_gradients_close_to_float64():
    X = np.random.default_rng(6).normal(size=(16, 5))
    m64 = MLP([5, 9, 3], activation="gelu", seed=3, dtype=np.float64)
    m32 = MLP([5, 9, 3], activation="gelu", seed=3, dtype=np.float32)
    R = np.ones((16, 3))
    o32 = m32.forward(X)
    assert o32.dtype == np.float32
    m64.forward(X)
    for g32, g64 in zip(m32.backward(R.astype(np.float32)), m64.backward(R), strict=True):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-5)


# ---- initialisation, parameters, state ----


@pytest.mark.parametrize(("act", "scheme"), [("relu", "he"), ("gelu", "he"), ("tanh", "glorot"),
                                             ("sigmoid", "glorot")])
def test_init_schemes(act, scheme):
    model = MLP([400, 300, 200], activation=act, seed=0, dtype=np.float64)
    w0, w1 = model.weights
    limit0 = math.sqrt(6 / 400) if scheme == "he" else math.sqrt(6 / 700)
    limit1 = math.sqrt(6 / 500)  # output layer: Glorot
    for w, limit in ((w0, limit0), (w1, limit1)):
        assert np.abs(w).max() <= limit
        assert w.std() == pytest.approx(limit / math.sqrt(3), rel=0.02)
    assert all((b == 0).all() for b in model.biases)
    assert model.weight_mask() == [True, False, True, False]
    assert Linear(3, 2).weight_mask() == [True, False]
    assert Linear(3, 2, bias=False).weight_mask() == [True]


def test_seed_determinism_and_dtype():
    a = MLP([3, 4, 2], seed=7)
    b = MLP([3, 4, 2], seed=7)
    c = MLP([3, 4, 2], seed=8)
    assert all(np.array_equal(x, y) for x, y in zip(a.parameters(), b.parameters(), strict=True))
    assert not np.array_equal(a.weights[0], c.weights[0])
    assert all(p.dtype == np.float32 for p in a.parameters())
    assert all(p.flags.c_contiguous for p in a.parameters())


def test_parameters_are_live_arrays():
    model = MLP([2, 3, 1], seed=0, dtype=np.float64)
    model.parameters()[1][:] = 5.0
    assert (model.biases[0] == 5.0).all()


def test_state_dict_round_trip_and_pickle():
    model = MLP([3, 4, 2], activation="tanh", seed=0, dtype=np.float64)
    X = np.random.default_rng(0).normal(size=(5, 3))
    before = model.forward(X)
    sd = model.state_dict()
    assert sorted(sd) == ["layers.0.bias", "layers.0.weight", "layers.1.bias", "layers.1.weight"]
    for p in model.parameters():
        p[...] = 0.0
    params = model.parameters()
    model.load_state_dict(sd)
    assert all(p is q for p, q in zip(params, model.parameters(), strict=True))  # in place
    np.testing.assert_array_equal(model.forward(X), before)
    clone = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(clone.forward(X), before)
    lin = Linear(2, 2, seed=0)
    lin2 = Linear(2, 2, seed=1)
    lin2.load_state_dict(lin.state_dict())
    np.testing.assert_array_equal(lin2.weight, lin.weight)


def test_load_state_dict_errors_leave_parameters_unchanged():
    model = MLP([3, 4, 2], seed=0)
    snapshot = model.state_dict()
    bad = model.state_dict()
    bad["layers.0.weight"] = np.zeros((4, 3))
    bad["layers.0.bias"] = np.full(4, 9.0)
    with pytest.raises(ShapeError, match=r"layers\.0\.weight"):
        model.load_state_dict(bad)
    missing = model.state_dict()
    del missing["layers.1.bias"]
    with pytest.raises(ParameterError, match="missing"):
        model.load_state_dict(missing)
    with pytest.raises(ParameterError):
        model.load_state_dict([1, 2])
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, snapshot[k])


def test_model_errors():
    with pytest.raises(ParameterError, match="activation"):
        MLP([2, 3, 1], activation="swish")
    with pytest.raises(ParameterError, match="layer_sizes"):
        MLP([2])
    with pytest.raises(ParameterError, match="layer_sizes"):
        MLP([2, 0, 1])
    with pytest.raises(ParameterError, match="layer_sizes"):
        MLP(5)
    with pytest.raises(DTypeError, match="dtype"):
        MLP([2, 1], dtype=np.float16)
    with pytest.raises(ParameterError, match="in_features"):
        Linear(0, 1)
    model = MLP([3, 4, 2], seed=0)
    with pytest.raises(ParameterError, match="forward"):
        model.backward(np.ones((1, 2)))
    with pytest.raises(ShapeError, match=r"\(n_samples, 3\)"):
        model.forward(np.ones((5, 4)))
    with pytest.raises(ShapeError, match=r"\(n_samples, 3\)"):
        model.forward(np.ones(3))
    with pytest.raises(DTypeError):
        model.forward(np.array([["a", "b", "c"]]))
    model.forward(np.ones((5, 3)))
    with pytest.raises(ShapeError, match="grad_output"):
        model.backward(np.ones((4, 2)))
    lin = Linear(3, 2)
    lin.forward(np.ones((2, 3)))
    with pytest.raises(ShapeError, match="grad_output"):
        lin.backward(np.ones((2, 3)))


# ---- MLP with several heads (shared trunk) ----


def _numeric_grads_heads(model, X, Rs, h=1e-6):
    """Central differences of sum_j sum(head_j(X) * R_j) with respect to every parameter."""

    def value():
        return float(sum(np.sum(o * r) for o, r in zip(model.forward(X), Rs, strict=True)))

    grads = []
    for p in model.parameters():
        g = np.zeros_like(p)
        for idx in np.ndindex(p.shape):
            old = p[idx]
            p[idx] = old + h
            up = value()
            p[idx] = old - h
            down = value()
            p[idx] = old
            g[idx] = (up - down) / (2 * h)
        grads.append(g)
    return grads


@pytest.mark.parametrize("sizes", [[3, 5, 4], [3]], ids=["trunk", "no-trunk"])
@pytest.mark.parametrize("act", ACTS)
def test_mlp_heads_forward_and_gradients(act, sizes):
    rng = np.random.default_rng(11)
    model = MLP(sizes, heads=[2, 1, 3], activation=act, seed=1, dtype=np.float64)
    for b in model.biases:
        b[:] = rng.normal(scale=0.3, size=b.shape)
    X = rng.normal(size=(7, 3))
    outs = model.forward(X)
    assert isinstance(outs, tuple) and [o.shape for o in outs] == [(7, 2), (7, 1), (7, 3)]
    # forward from the definitions: activated trunk, then one linear map per head
    a = X
    n_trunk = len(sizes) - 1
    for i in range(n_trunk):
        a = ref_forward(act, a @ model.weights[i] + model.biases[i])
    for j, o in enumerate(outs):
        W, b = model.weights[n_trunk + j], model.biases[n_trunk + j]
        np.testing.assert_allclose(o, a @ W + b, rtol=1e-12, atol=1e-12)
    Rs = [rng.normal(size=o.shape) for o in outs]
    model.forward(X)
    analytic = [g.copy() for g in model.backward(tuple(Rs))]
    numeric = _numeric_grads_heads(model, X, Rs)
    assert len(analytic) == 2 * (n_trunk + 3)
    for an, nu in zip(analytic, numeric, strict=True):
        np.testing.assert_allclose(an, nu, rtol=1e-5, atol=1e-7)


def test_mlp_one_head_equals_plain_mlp():
    rng = np.random.default_rng(12)
    plain = MLP([4, 6, 2], activation="gelu", seed=3, dtype=np.float64)
    headed = MLP([4, 6], heads=[2], activation="gelu", seed=3, dtype=np.float64)
    X, R = rng.normal(size=(5, 4)), rng.normal(size=(5, 2))
    (out,) = headed.forward(X)
    np.testing.assert_array_equal(out, plain.forward(X))
    for a, b in zip(headed.backward([R]), plain.backward(R), strict=True):
        np.testing.assert_array_equal(a, b)
    assert headed.n_outputs == 1 and plain.n_outputs == 1 and headed.heads == [2]


def test_mlp_heads_state_dict_pickle_and_mask():
    model = MLP([3, 4], heads=[2, 1], seed=0, dtype=np.float64)
    assert list(model.state_dict()) == [
        "layers.0.weight", "layers.0.bias", "heads.0.weight", "heads.0.bias",
        "heads.1.weight", "heads.1.bias",
    ]
    assert model.weight_mask() == [True, False] * 3
    assert "heads=[2, 1]" in repr(model) and model.n_outputs == 2
    X = np.ones((3, 3))
    restored = pickle.loads(pickle.dumps(model))
    for a, b in zip(restored.forward(X), model.forward(X), strict=True):
        np.testing.assert_array_equal(a, b)
    other = MLP([3, 4], heads=[2, 1], seed=5, dtype=np.float64)
    other.load_state_dict(model.state_dict())
    for a, b in zip(other.forward(X), model.forward(X), strict=True):
        np.testing.assert_array_equal(a, b)


def test_mlp_heads_errors():
    for bad in ([], [0], [2, "1"], [True], 3, "12"):
        with pytest.raises(ParameterError, match="heads"):
            MLP([3, 4], heads=bad)
    with pytest.raises(ParameterError, match="layer_sizes"):
        MLP([], heads=[1])
    model = MLP([3, 4], heads=[2, 1], seed=0)
    model.forward(np.ones((5, 3)))
    with pytest.raises(ShapeError, match="tuple of 2 gradients"):
        model.backward(np.ones((5, 2)))
    with pytest.raises(ShapeError, match="expected 2 gradients"):
        model.backward((np.ones((5, 2)),))
    with pytest.raises(ShapeError, match=r"grad_output\[1\] must have shape \(5, 1\)"):
        model.backward((np.ones((5, 2)), np.ones((5, 2))))


def test_exported():
    assert losscore.models.MLP is MLP and losscore.models.Linear is Linear
    assert "MLP" in repr(MLP([2, 1])) and "Linear" in repr(Linear(1, 1))


# ---- the fused dense-layer kernels behind MLP ----


@pytest.mark.parametrize("act", [None, *ACTS])
def test_fused_layer_kernels_match_numpy(act):
    rng = np.random.default_rng(8)
    z0 = rng.normal(size=(300, 19))  # 300 rows: two column-sum blocks
    bias = rng.normal(size=19)
    z = z0.copy()
    a = np.empty_like(z)
    _core.bias_activation_forward(act, z, bias, a if act else None)
    np.testing.assert_array_equal(z, z0 + bias)
    if act:
        np.testing.assert_allclose(a, ref_forward(act, z0 + bias), rtol=2e-15, atol=1e-15)
    g0 = rng.normal(size=z.shape)
    g = g0.copy()
    bg = np.empty(19)
    _core.bias_activation_backward(act, z if act else None, a if act else None, g, bg)
    if act:
        d = (ref_forward(act, z + 1e-6) - ref_forward(act, z - 1e-6)) / 2e-6
        np.testing.assert_allclose(g, g0 * d, rtol=1e-6, atol=1e-9)
    else:
        np.testing.assert_array_equal(g, g0)
    # float64 accumulation in a fixed order: within a few ulp of the sum of magnitudes
    scale = np.abs(g).sum(axis=0)
    assert np.all(np.abs(bg - [math.fsum(c) for c in g.T]) <= 1e-15 * scale)


def test_fused_layer_kernel_errors():
    z = np.zeros((4, 3))
    with pytest.raises(ShapeError, match=r"bias .* z shape \(4, 3\), bias shape \(2,\)"):
        _core.bias_activation_forward(None, z, np.zeros(2))
    with pytest.raises(OutputError, match="contiguous"):
        _core.bias_activation_forward(None, np.zeros((3, 4)).T, np.zeros(3))
    with pytest.raises(DTypeError):
        _core.bias_activation_forward(None, [[0.0, 1.0]], np.zeros(2))
    ro = np.zeros((4, 3))
    ro.flags.writeable = False
    with pytest.raises(OutputError):
        _core.bias_activation_forward(None, ro, np.zeros(3))
    with pytest.raises(ParameterError, match="activation"):
        _core.bias_activation_forward("swish", z, np.zeros(3), np.empty_like(z))
    with pytest.raises(ParameterError, match="required"):
        _core.bias_activation_forward("relu", z, np.zeros(3))
    with pytest.raises(ParameterError, match="required"):
        _core.bias_activation_backward("relu", None, None, z, np.zeros(3))
    with pytest.raises(ShapeError):
        _core.bias_activation_backward(None, None, None, z, np.zeros(4))
    g = np.ones((4, 3))
    with pytest.raises(ShapeError):
        _core.bias_activation_backward("tanh", np.zeros((4, 3)), np.zeros((3, 3)), g, np.zeros(3))
    assert (g == 1).all() and (z == 0).all()
