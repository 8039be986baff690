"""Fuzz every registered loss through every entry point with generated, mostly bad, inputs.

Whatever goes in, a result or a ``losscore.errors`` exception (or ``MemoryError``) comes out,
never a foreign exception, a ``PanicException`` (a ``BaseException``) or a crash, and no input
is modified; inputs that are invalid by construction (a float16 or string array, an unknown
reduction, a string or bool hyperparameter, shapes that disagree) must not be accepted. Covered:
every loss through every entry point, accumulators, the GBDT adapters (real xgboost DMatrix and
lightgbm Dataset), ``losscore.dask`` on a real ``LocalCluster``, ``losscore.torch`` losses and
optimizers, ``losscore.jax`` losses. The crash-prone family (huge and empty shapes, aliased
buffers, huge offsets) runs in a subprocess with a timeout: a case that kills the interpreter or
hangs fails the test and is named, instead of ending the run.

``LOSSCORE_FUZZ_EXAMPLES`` sets the number of cases per test (default 150, about a minute in
all; a longer run: ``LOSSCORE_FUZZ_EXAMPLES=5000 pytest tests/test_fuzz.py``).
``LOSSCORE_FUZZ_REPORT=path`` is a measurement: one line per case (family, outcome) is appended
to ``path`` and findings are counted there instead of failing the test.
"""

from __future__ import annotations

import inspect
import json
import math
import os
import random
import subprocess
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis.extra.numpy as hnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import losscore
from losscore.errors import LosscoreError
from losscore.losses import registry

EXAMPLES = int(os.environ.get("LOSSCORE_FUZZ_EXAMPLES", "150"))
REPORT = os.environ.get("LOSSCORE_FUZZ_REPORT")
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


BAD_DTYPES = {np.dtype(np.complex64), np.dtype("U3"), np.dtype(object)}
BAD_REDUCTIONS = ["avg", "", None, 1, True]
NOT_NUMBERS = (bool, np.bool_, str, bytes, list, type(None))


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
    # Every array argument after the first (target; the other inputs of a loss of several).
    rest = [draw(arrays(draw(st.sampled_from([shape, sample, other]))))
            for _ in spec.arrays[1:]]
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
    return spec, [first, *rest], weight, params, reduction, mode, offset


# ---- outcomes ----------------------------------------------------------------------------------


def _snapshot(*objs):
    return [np.array(o, copy=True) if isinstance(o, np.ndarray) else None for o in objs]


def _modified(objs, saved) -> bool:
    for a, b in zip(objs, saved, strict=True):
        if b is None:
            continue
        if a.dtype != b.dtype or a.shape != b.shape or a.tobytes() != b.tobytes():
            return True
    return False


def _record(family: str, outcome: str, detail: str = "") -> None:
    if REPORT:
        with open(REPORT, "a") as fh:
            line = {"family": family, "outcome": outcome, "detail": detail[:300]}
            fh.write(json.dumps(line) + "\n")


def _outcome(family: str, run: Callable[[], Any], inputs: list[Any], invalid: str | None,
             tolerated: Callable[[BaseException], bool] = lambda exc: False) -> None:
    """Run one case and check the contract; ``invalid`` says why the case cannot be valid
    (``None``: it may be). Outcomes: ok, error (a losscore error or MemoryError), and the
    failures foreign / panic / modified / accepted_invalid."""
    saved = _snapshot(*inputs)
    outcome, detail = "ok", ""
    try:
        with np.errstate(all="ignore"):
            run()
    except (LosscoreError, MemoryError):
        outcome = "error"
    except Exception as exc:
        outcome = "tolerated" if tolerated(exc) else "foreign"
        detail = f"{type(exc).__module__}.{type(exc).__name__}: {exc}"
    except BaseException as exc:  # PanicException derives from BaseException
        if isinstance(exc, KeyboardInterrupt):
            raise
        outcome, detail = "panic", f"{type(exc).__name__}: {exc}"
    if outcome in ("ok", "error") and _modified(inputs, saved):
        outcome, detail = "modified", "an input changed"
    if outcome == "ok" and invalid is not None:
        outcome, detail = "accepted_invalid", invalid
    _record(family, outcome, detail)
    if REPORT:  # a measurement: every case is counted in the report, none stops the run
        return
    assert outcome in ("ok", "error", "tolerated"), f"{outcome}: {detail}"


def _bad_array(value: Any) -> str | None:
    """Why an argument is surely not a valid numeric array (``None``: it may be one)."""
    if isinstance(value, np.ndarray) and value.dtype in BAD_DTYPES:
        return f"an array of dtype {value.dtype}"
    if isinstance(value, list) and np.asarray(value).dtype.kind in "USO":
        return "a list of strings"
    return None


def _not_numbers(value: Any) -> str | None:
    if isinstance(value, np.ndarray) and value.dtype.kind in "USOc":
        return f"an array of dtype {value.dtype}"
    return _bad_array(value) if isinstance(value, list) else None


def _bad_params(spec, params: dict[str, Any], reduction: Any) -> str | None:
    if reduction in BAD_REDUCTIONS and not isinstance(reduction, np.ndarray):
        return f"reduction={reduction!r}"
    for name, value in params.items():
        default = spec.defaults.get(name)
        if isinstance(default, float) and isinstance(value, NOT_NUMBERS):
            return f"{name}={value!r}"
    return None


def _shapes_differ(spec, arrays) -> str | None:
    """Arrays that must share the first one's shape and do not: element-wise targets, and
    every input of a loss of several inputs."""
    first = arrays[0]
    several = len(spec.inputs) > 1
    if not (spec.kind == "elementwise" or several):
        return None
    for a in arrays[1 : len(spec.inputs) if several else 2]:
        if np.shape(a) != np.shape(first):
            return f"shapes {np.shape(first)} and {np.shape(a)}"
    return None


def _invalid_call(spec, arrays, weight, params, reduction, mode, offset) -> str | None:
    why = next((w for w in map(_bad_array, [*arrays, weight]) if w), None)
    why = why or _bad_params(spec, params, reduction)
    if why:
        return why
    why = _shapes_differ(spec, arrays)
    if why:
        return why
    if mode == "partials" and (isinstance(offset, str | float) or offset == -1):
        return f"offset={offset!r}"
    # An empty array shares no memory, even with itself (as np.shares_memory says).
    if mode == "aliased_out" and np.size(arrays[0]) > 0:
        return "out is the first argument"
    return None


def _call(spec, arrays, weight, params, reduction, mode, offset):
    kw = dict(params, weight=weight, reduction=reduction)
    fn = spec.function
    first = arrays[0]
    if mode == "loss":
        return fn(*arrays, **kw)
    if mode == "grad":
        return losscore.value_and_grad(fn)(*arrays, **kw)
    if mode == "hess":
        if not spec.hess:  # refused up front: the loss has no Hessian diagonal
            with pytest.raises(TypeError, match="no Hessian"):
                losscore.value_grad_hess(fn)
            raise LosscoreError("refused as expected: no Hessian diagonal")
        return losscore.value_grad_hess(fn)(*arrays, **kw)
    if mode in ("out", "aliased_out"):
        out = first if mode == "aliased_out" else np.zeros(np.shape(first), dtype=np.float64)
        return losscore.grad(fn)(*arrays, out=out, **kw)
    return spec.kernel(*arrays, **kw, partials=True, offset=offset)


@FUZZ
@given(calls())
def test_every_loss_and_entry_point_fails_cleanly(call):
    _, arrays, weight, params, _, mode, _ = call
    inputs = [*arrays, weight, *params.values()]
    # With mode "aliased_out" the output is the first argument itself: refused, so unchanged.
    _outcome(f"loss:{mode}", lambda: _call(*call), inputs, _invalid_call(*call))


@FUZZ
@given(st.sampled_from(sorted(registry)), st.data())
def test_accumulators_fail_cleanly(name, data):
    spec = registry[name]
    params = {
        k: data.draw(st.sampled_from([*ODD_SCALARS, v]))
        for k, v in spec.defaults.items() if k != "reduction" and data.draw(st.booleans())
    }
    holder: list[Any] = []
    # Parameters may be checked at construction or by the first update; by result() at the
    # latest (checked there).
    _outcome("accumulator:new", lambda: holder.append(losscore.Accumulator(name, **params)),
             [], None)
    if not holder:
        return
    acc = holder[0]
    for _ in range(data.draw(st.integers(1, 3))):
        shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=2, min_side=0, max_side=4))
        first = data.draw(arrays(shape))
        rest = [data.draw(arrays(data.draw(st.sampled_from([shape, shape[:-1] or shape]))))
                for _ in spec.arrays[1:]]
        batch = [first, *rest]
        invalid = next((w for w in map(_bad_array, batch) if w), None)
        _outcome("accumulator:update", lambda b=batch: acc.update(*b), batch, invalid)
    reduction = data.draw(st.sampled_from(REDUCTIONS))

    def result():
        assert isinstance(acc.result(reduction=reduction), float)

    # None is result()'s own default (the accumulator's reduction).
    bad = reduction is not None and reduction in BAD_REDUCTIONS
    bad_reduction = f"reduction={reduction!r}" if bad else None
    _outcome("accumulator:result", result, [], bad_reduction or _bad_params(spec, params, "mean"))


@pytest.mark.parametrize("name", sorted(registry))
def test_every_loss_is_fuzzed(name):
    """The strategies above draw from the registry: a new loss joins the fuzz test by
    registering (this test fails if a registered loss could not be called at all)."""
    from bridge_inputs import SEVERAL, inputs

    if name in SEVERAL:
        arrays, params = SEVERAL[name](np.random.default_rng(0))
        assert isinstance(registry[name].function(*arrays, **params, reduction="sum"), float)
        return
    pred, target, params = inputs(name, np.float64)
    assert isinstance(registry[name].function(pred, target, **params, reduction="sum"), float)


# ---- the crash-prone family, in a subprocess -------------------------------------------------

HUGE = [0, 1, 3, 2**20, 2**25, 2**31, 2**32 + 1, 2**62]

CRASH_WORKER = r"""
import json, sys
import numpy as np
import losscore
from losscore.errors import LosscoreError
from losscore.losses import registry

def zeros(shape, dtype):
    # A zero-stride view: any shape, no memory.
    base = np.zeros(1, dtype=dtype)
    return np.lib.stride_tricks.as_strided(base, shape=tuple(shape), strides=(0,) * len(shape),
                                           writeable=False)

def aliased(n, shift):
    # Two arrays over one bytearray through different buffer objects (memoryviews).
    buf = bytearray(8 * (n + shift))
    a = np.frombuffer(memoryview(buf), np.float64, count=n)
    b = np.frombuffer(memoryview(buf), np.float64, count=n, offset=8 * shift)
    return a, b

for line in sys.stdin:
    case = json.loads(line)
    print("start", case["i"], flush=True)
    spec = registry[case["loss"]]
    kw = {"reduction": case["reduction"]}
    try:
        with np.errstate(all="ignore"):
            if case["kind"] == "alias":
                a, b = aliased(case["n"], case["shift"])
                a[:] = np.linspace(-1, 1, case["n"])
                before = a.tobytes()
                if spec.kind == "rows" or len(spec.arrays) != 2:
                    raise LosscoreError("skipped: element-wise (pred, target) losses only")
                target = np.zeros(case["n"])
                if case["loss"] in ("hinge", "squared_hinge", "soft_margin"):
                    target = np.ones(case["n"])
                try:
                    losscore.grad(spec.function)(a, target, out=b, **kw)
                    outcome = "accepted_invalid" if case["shift"] < case["n"] else "ok"
                except LosscoreError:
                    outcome = "error"
                if outcome == "error" and a.tobytes() != before:
                    outcome = "modified"
                print("done", case["i"], outcome, flush=True)
                continue
            try:
                first = zeros(case["shape"], case["dtype"])
                tdtype = np.int64 if spec.kind == "rows" else case["dtype"]
                target = zeros(case["target_shape"], tdtype)
                # The further inputs of a loss of several inputs, of the first one's shape.
                rest = [zeros(case["shape"], case["dtype"]) for _ in spec.arrays[2:]]
            except ValueError:  # NumPy cannot describe the shape: no case to run
                print("done", case["i"], "skipped", flush=True)
                continue
            mode = case["mode"]
            if mode == "loss":
                r = spec.function(first, target, *rest, **kw)
            elif mode == "grad":
                r = losscore.value_and_grad(spec.function)(first, target, *rest, **kw)
            else:
                r = spec.kernel(first, target, *rest, **kw, partials=True,
                                offset=case["offset"])
        outcome = "ok"
    except (LosscoreError, MemoryError):
        outcome = "error"
    except Exception as exc:
        outcome = "foreign " + type(exc).__name__ + ": " + str(exc)[:200]
    except BaseException as exc:
        outcome = "panic " + type(exc).__name__ + ": " + str(exc)[:200]
    print("done", case["i"], outcome.replace("\n", " "), flush=True)
"""


def _crash_cases(count: int, seed: int) -> list[dict[str, Any]]:
    """Huge and empty shapes (zero-stride, no memory), aliased buffers, huge offsets. Work is
    only ever empty or refused: a non-empty huge input always disagrees with its target."""
    rng = random.Random(seed)
    cases = []
    for i in range(count):
        name = rng.choice(sorted(registry))
        spec = registry[name]
        reduction = rng.choice(["mean", "sum", "none", spec.defaults["reduction"]])
        if rng.random() < 0.15:
            n = rng.choice([1, 4, 100, 10_000])
            cases.append({"i": i, "loss": name, "kind": "alias", "n": n,
                          "shift": rng.choice([0, 1, n // 2, n]), "reduction": reduction})
            continue
        shape = [rng.choice(HUGE) for _ in range(rng.randint(1, 3))]
        if 0 not in shape:
            shape[rng.randrange(len(shape))] = 0 if rng.random() < 0.7 else shape[0]
        empty = 0 in shape
        if not empty and 4096 < math.prod(shape) < 2**40:
            shape[0] = 2**40  # refused fast (MemoryError or a shape error), never computed
        sample = shape[:-1] if spec.kind == "rows" else shape
        target = list(sample) if empty else [*sample, 7]  # non-empty: always a mismatch
        if not empty and spec.kind == "rows":
            target = [*shape[:-1], 2]  # neither (..., ) nor (..., C): refused
        cases.append({
            "i": i, "loss": name, "kind": "shapes", "shape": shape, "target_shape": target,
            "dtype": rng.choice(["float32", "float64"]), "reduction": reduction,
            "mode": rng.choice(["loss", "grad", "partials"]),
            "offset": rng.choice([0, 1, 2**31, 2**62, 2**63 - 1]),
        })
    return cases


def test_crash_prone_cases_in_a_subprocess():
    """Each case runs in a child interpreter; a case that aborts, panics, raises a foreign
    exception or takes longer than the timeout fails this test with the case named."""
    cases = _crash_cases(max(EXAMPLES, 50), seed=EXAMPLES)
    pending = {c["i"]: c for c in cases}
    findings = []
    while pending:
        batch = list(pending.values())
        proc = _run_worker(batch)
        started = None
        for line in proc["stdout"].splitlines():
            word, i, *rest = line.split(" ", 2)
            if word == "start":
                started = int(i)
            else:
                outcome = rest[0] if rest else ""
                case = pending.pop(int(i))
                family = f"crash:{case['kind']}"
                kind = outcome.split(" ")[0]
                _record(family, kind, outcome)
                if kind not in ("ok", "error", "skipped"):
                    findings.append((kind, outcome, case))
                started = None
        if started is not None:  # the child died or hung inside this case
            case = pending.pop(started)
            kind = "hang" if proc["timeout"] else f"abort (exit {proc['returncode']})"
            _record(f"crash:{case['kind']}", kind.split(" ")[0], proc["stderr"][-300:])
            findings.append((kind, proc["stderr"][-300:], case))
        elif pending and not proc["timeout"]:
            raise AssertionError(f"worker stopped early: {proc['stderr'][-2000:]}")
    assert REPORT or not findings, findings[:5]


def _run_worker(batch: list[dict[str, Any]], timeout: float = 120) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(Path(losscore.__file__).parents[1])}
    proc = subprocess.Popen(
        [sys.executable, "-c", CRASH_WORKER], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        out, err = proc.communicate("".join(json.dumps(c) + "\n" for c in batch), timeout=timeout)
        return {"stdout": out, "stderr": err, "returncode": proc.returncode, "timeout": False}
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        return {"stdout": out, "stderr": err, "returncode": proc.returncode, "timeout": True}


# ---- the GBDT adapters, with real xgboost / lightgbm data containers -------------------------

GBDT_MAKERS = ["xgboost_objective", "xgboost_metric", "lightgbm_objective", "lightgbm_metric"]
GBDT_LOSSES = [*sorted(registry), "nope", 3, None]


@st.composite
def gbdt_calls(draw):
    maker = draw(st.sampled_from(GBDT_MAKERS))
    loss = draw(st.sampled_from(GBDT_LOSSES))
    spec = registry.get(loss) if isinstance(loss, str) else None
    params = {}
    if spec is not None:
        params = {
            k: draw(st.sampled_from([*ODD_SCALARS, v]))
            for k, v in spec.defaults.items() if k != "reduction" and draw(st.booleans())
        }
    n = draw(st.integers(0, 6))
    pred_shape = draw(st.sampled_from([(n,), (n, 3), (n, 1), (n + 1,), (), (n, 2, 2)]))
    pred = draw(st.one_of(arrays(pred_shape), st.sampled_from([None, "abc", 1.5, object()])))
    label = draw(st.one_of(arrays((n,)), st.sampled_from([None, "abc", 2.0])))
    weight = draw(st.one_of(st.none(), arrays(draw(st.sampled_from([(n,), (n + 1,), ()])))))
    native = draw(st.booleans())
    return maker, loss, params, pred, label, weight, native, n


def _container(maker: str, label: Any, weight: Any, n: int):
    """A real DMatrix / Dataset of ``n`` rows with valid labels (the bad input is the margins)."""
    x = np.arange(2 * n, dtype=np.float64).reshape(n, 2)
    y = np.arange(n) % 3
    w = None  # weights that are not real numbers are left out of the container
    if weight is not None and np.asarray(weight).dtype.kind in "biuf":
        w = np.clip(np.nan_to_num(np.asarray(weight, dtype=float)), 1, 1e6)
    if maker.startswith("xgboost"):
        import xgboost

        dm = xgboost.DMatrix(x, label=y)
        if w is not None and w.shape == (n,):
            dm.set_weight(w)
        return dm
    import lightgbm

    ds = lightgbm.Dataset(x, label=y, weight=w if w is not None and w.shape == (n,) else None,
                          params={"verbose": -1}, free_raw_data=False)
    return ds.construct()


@FUZZ
@given(gbdt_calls())
def test_gbdt_adapters_fail_cleanly(call):
    import losscore.gbdt as gbdt

    maker, loss, params, pred, label, weight, native, n = call
    holder: list[Any] = []
    spec = registry.get(loss) if isinstance(loss, str) else None
    invalid = None if spec is not None else f"loss={loss!r}"
    invalid = invalid or _bad_params(spec, params, "mean")
    _outcome(f"gbdt:{maker}", lambda: holder.append(getattr(gbdt, maker)(loss, **params)), [],
             invalid)
    if not holder:
        return
    fn = holder[0]
    # The adapters take the margins a framework computed in any real dtype (float16 too).
    if native and n > 0:
        data = _container(maker, label, weight, n)
        _outcome(f"gbdt:{maker}:native", lambda: fn(pred, data), [pred],
                 _not_numbers(pred) or (None if isinstance(pred, np.ndarray | list) else "pred"))
    else:
        why = _not_numbers(pred) or _not_numbers(label) or _not_numbers(weight)
        why = why or (None if isinstance(pred, np.ndarray | list) else f"pred={pred!r}")
        why = why or (None if isinstance(label, np.ndarray | list) else f"label={label!r}")
        _outcome(f"gbdt:{maker}:sklearn", lambda: fn(label, pred, weight),
                 [label, pred, weight], why)


# ---- losscore.dask on a real LocalCluster ----------------------------------------------------


@pytest.fixture(scope="module")
def dask_client():
    from distributed import Client, LocalCluster

    # A worker sizes losscore's pool by its nthreads: the same size leaves the process as it is.
    with LocalCluster(n_workers=1, threads_per_worker=losscore.get_num_threads(), processes=False,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        yield client


@FUZZ
@given(data=st.data())
def test_dask_entry_points_fail_cleanly(dask_client, data):
    import dask.array as da

    import losscore.dask as lcd

    spec = registry[data.draw(st.sampled_from(sorted(registry)))]
    shape = data.draw(hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5))
    sample = shape[:-1] if shape else shape
    first = data.draw(arrays(shape))
    target = data.draw(arrays(data.draw(st.sampled_from([shape, sample]))))
    weight = data.draw(st.one_of(st.none(), arrays(data.draw(st.sampled_from([shape, sample])))))
    params = {
        k: data.draw(st.sampled_from([*ODD_SCALARS, v]))
        for k, v in spec.defaults.items() if k != "reduction" and data.draw(st.booleans())
    }
    reduction = data.draw(st.sampled_from([*REDUCTIONS, spec.defaults["reduction"]]))
    mode = data.draw(st.sampled_from(["evaluate", "value_and_grad", "not_dask"]))
    chunks = data.draw(st.sampled_from([1, 2, "auto"]))

    def lazy(a):
        if a is None or mode == "not_dask":
            return a
        try:
            arr = np.asarray(a)
        except ValueError:
            return a
        return da.from_array(arr, chunks=chunks if arr.ndim else ()) if arr.dtype != object else a

    def run():
        with warnings.catch_warnings():
            # Worker threads do not see np.errstate: 0/0 of all-zero weights would warn there.
            warnings.simplefilter("ignore", RuntimeWarning)
            compute()

    def compute():
        p, t, w = lazy(first), lazy(target), lazy(weight)
        if mode == "value_and_grad":
            value, grad = lcd.value_and_grad(spec.name)(p, t, weight=w, reduction=reduction,
                                                         **params)
            dask_client.compute([value, grad], sync=True)
        else:
            dask_client.compute(
                lcd.evaluate(spec.name, p, t, weight=w, reduction=reduction, **params), sync=True
            )

    invalid = _bad_array(first) or _bad_array(target) or _bad_array(weight)
    invalid = invalid or _bad_params(spec, params, reduction if reduction is not None else "x")
    if spec.kind == "elementwise" and np.shape(first) != np.shape(target):
        invalid = invalid or "shapes differ"
    if mode == "not_dask":
        invalid = invalid or "not dask arrays"
    _outcome(f"dask:{mode}", run, [first, target, weight], invalid)


# ---- losscore.torch and losscore.jax --------------------------------------------------------


def _tensor(torch, a):
    """``a`` as a torch tensor where torch can hold it (else as it is: a bad input either way)."""
    if isinstance(a, np.ndarray) and a.dtype.kind in "biufc" and a.dtype.isnative:
        return torch.from_numpy(np.array(a, order="C", copy=True))
    return a


@FUZZ
@given(calls(), st.booleans())
def test_torch_losses_fail_cleanly(call, backward):
    import torch

    import losscore.torch as lct

    spec, arrays, weight, params, reduction, _, _ = call
    first, target = arrays[0], arrays[1]
    fn = getattr(lct, spec.name)
    x, t = _tensor(torch, first), _tensor(torch, target)
    rest = [_tensor(torch, a) for a in arrays[2:]]
    w = _tensor(torch, weight)
    if backward and isinstance(x, torch.Tensor) and x.dtype in (torch.float32, torch.float64):
        x.requires_grad_(True)

    def run():
        value = fn(x, t, *rest, weight=w, reduction=reduction, **params)
        if backward and value.requires_grad:
            value.sum().backward()

    invalid = _shapes_differ(spec, arrays)
    invalid = next((w for w in map(_bad_array, arrays) if w), None) or invalid
    invalid = invalid or _bad_params(spec, params, reduction)
    if not isinstance(x, torch.Tensor):
        invalid = invalid or "not a tensor"
    _outcome("torch:loss", run, [*arrays, weight], invalid)


TORCH_OPTIMIZERS = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam",
                    "RAdam", "Lion"]


@FUZZ
@given(st.sampled_from(TORCH_OPTIMIZERS), st.data())
def test_torch_optimizers_fail_cleanly(name, data):
    import torch

    import losscore.torch as lct

    cls = getattr(lct.optim, name)
    signature = inspect.signature(cls).parameters
    own = [k for k in signature if k != "params"]
    numeric = {k for k in own if type(signature[k].default) in (int, float, tuple)}
    hyper = {
        k: data.draw(st.sampled_from([*ODD_SCALARS, (0.9, 0.99), ("0.9", 0.9), (1.5, 0.5)]))
        for k in own
        if data.draw(st.booleans())
    }
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64, torch.float16, torch.int64]))
    p = torch.zeros(3, dtype=dtype, requires_grad=dtype.is_floating_point)

    def run():
        opt = cls([p], **hyper)
        if p.requires_grad:
            p.grad = torch.ones_like(p)
        opt.step()

    invalid = "float16 parameters" if dtype == torch.float16 else None
    for k, v in hyper.items():
        items = v if isinstance(v, tuple) else (v,)
        if k in numeric and any(isinstance(i, NOT_NUMBERS) for i in items):
            invalid = invalid or f"{k}={v!r}"
    _outcome(f"torch:optim:{name}", run, [], invalid)


def _jax_runtime_error_quoting_losscore(exc: BaseException) -> bool:
    """Value checks run in JAX's host callback; under a JAX transformation their error reaches
    the caller as JAX's runtime error quoting losscore's message (documented)."""
    return type(exc).__name__ in ("JaxRuntimeError", "XlaRuntimeError") and "losscore" in str(exc)


@FUZZ
@given(calls(), st.sampled_from(["eager", "grad", "jit"]))
def test_jax_losses_fail_cleanly(call, transform):
    import jax
    import jax.numpy as jnp

    import losscore.jax as lcj

    spec, arrays, weight, params, reduction, _, _ = call
    first, target = arrays[0], arrays[1]
    fn = getattr(lcj, spec.name)

    def as_jax(a):
        if isinstance(a, np.ndarray) and a.dtype.kind in "biuf" and a.dtype.isnative:
            return jnp.asarray(a)
        return a

    def run():
        with warnings.catch_warnings():
            # JAX's own dtype rule (float64 -> float32 without x64) may warn of an overflow.
            warnings.simplefilter("ignore", RuntimeWarning)
            traced()

    def traced():
        x, t, w = as_jax(first), as_jax(target), as_jax(weight)
        rest = [as_jax(a) for a in arrays[2:]]
        loss = lambda x_: fn(x_, t, *rest, weight=w, reduction=reduction, **params)  # noqa: E731
        # jax.grad itself refuses what is not a floating JAX array: only those are traced.
        traceable = isinstance(x, jax.Array) and jnp.issubdtype(x.dtype, jnp.floating)
        if transform == "grad" and traceable:
            jax.block_until_ready(jax.grad(lambda x_: loss(x_).sum())(x))
        elif transform == "jit" and traceable:
            jax.block_until_ready(jax.jit(loss)(x))
        else:
            jax.block_until_ready(loss(x))

    invalid = _shapes_differ(spec, arrays)
    invalid = next((w for w in map(_bad_array, [*arrays, weight]) if w), None) or invalid
    invalid = invalid or _bad_params(spec, params, reduction)
    _outcome(f"jax:{transform}", run, [*arrays, weight], invalid,
             tolerated=_jax_runtime_error_quoting_losscore if transform != "eager" else
             (lambda exc: False))
