"""The command line: ``losscore eval`` and ``losscore bench`` as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import zarr

import losscore
from losscore import _core


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "losscore", *args], capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    rng = np.random.default_rng(3)
    p = rng.standard_normal((300, 101)).astype(np.float32)
    t = rng.standard_normal((300, 101)).astype(np.float32)
    w = rng.random((300, 101)).astype(np.float32)
    np.save(d / "p.npy", p)
    np.save(d / "t.npy", t)
    np.save(d / "w.npy", w)
    np.save(d / "short.npy", t[:10])
    np.save(d / "complex.npy", p.astype(np.complex64))
    np.savez(d / "both.npz", pred=p, target=t)
    (d / "junk.npy").write_bytes(b"not an array")
    return d, p, t, w


def test_eval_json_matches_in_memory(files):
    d, p, t, w = files
    res = run_cli(
        "eval",
        str(d / "p.npy"),
        f"{d / 'both.npz'}:target",
        "--loss",
        "mse,huber,pinball",
        "--param",
        "huber.delta=0.25",
        "--param",
        "quantile=0.9",
        "--weight",
        str(d / "w.npy"),
        "--chunk-size",
        "10000",
        "--json",
        "--reduction",
        "sum",
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)["results"]
    # The in-memory reference: each loss's kernel on the whole arrays.
    assert out["mse"]["value"] == _core.mse(p, t, weight=w, reduction="sum")
    assert out["huber"]["value"] == _core.huber(p, t, delta=0.25, weight=w, reduction="sum")
    assert out["pinball"]["value"] == _core.pinball(p, t, quantile=0.9, weight=w, reduction="sum")


def test_eval_plain_output(files):
    d, p, t, _ = files
    res = run_cli("eval", str(d / "p.npy"), str(d / "t.npy"), "--loss", "mae")
    assert res.returncode == 0, res.stderr
    name, reduction, value = res.stdout.split()
    assert (name, reduction) == ("mae", "mean")
    assert float(value) == _core.mae(p, t)


def test_eval_class_axis_losses_from_npz(tmp_path):
    rng = np.random.default_rng(8)
    logits = rng.standard_normal((1500, 10)).astype(np.float32)
    labels = rng.integers(0, 10, 1500)
    labels[::7] = -100
    np.savez(tmp_path / "cls.npz", logits=logits, labels=labels)
    np.save(tmp_path / "labels.npy", np.where(labels < 0, 0, labels))
    class_weight = np.linspace(0.5, 1.5, 10)
    res = run_cli(
        "eval",
        f"{tmp_path / 'cls.npz'}:logits",
        f"{tmp_path / 'cls.npz'}:labels",
        "--loss",
        "cross_entropy",
        "--param",
        "ignore_index=-100",
        "--param",
        "label_smoothing=0.1",
        "--param",
        "class_weight=" + ",".join(map(repr, class_weight.tolist())),
        "--chunk-size",
        "777",
        "--json",
    )
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)["results"]["cross_entropy"]
    expected = _core.cross_entropy(
        logits, labels, ignore_index=-100, label_smoothing=0.1, class_weight=class_weight
    )
    assert out["value"] == expected and out["reduction"] == "mean"
    assert out["params"]["class_weight"] == class_weight.tolist()
    valid = np.where(labels < 0, 0, labels)
    res = run_cli(
        "eval",
        f"{tmp_path / 'cls.npz'}:logits",
        str(tmp_path / "labels.npy"),
        "--loss",
        "multi_margin,cross_entropy",
        "--param",
        "multi_margin.p=2",
        "--reduction",
        "sum",
    )
    assert res.returncode == 0, res.stderr
    lines = dict((line.split()[0], line.split()[1:]) for line in res.stdout.splitlines())
    assert lines["multi_margin"] == [
        "sum",
        repr(_core.multi_margin(logits, valid, p=2, reduction="sum")),
    ]
    assert float(lines["cross_entropy"][1]) == _core.cross_entropy(logits, valid, reduction="sum")


def test_eval_zarr_inputs(tmp_path, files):
    _, p, t, _ = files
    group = zarr.open_group(tmp_path / "data.zarr", mode="w")
    group.create_array("pred", data=p, chunks=(50, 101))
    group.create_array("target", data=t, chunks=(64, 101))
    res = run_cli(
        "eval",
        f"{tmp_path / 'data.zarr'}:pred",
        f"{tmp_path / 'data.zarr'}:target",
        "--loss",
        "huber",
        "--chunk-size",
        "5000",
    )
    assert res.returncode == 0, res.stderr
    assert float(res.stdout.split()[2]) == _core.huber(p, t)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing.npy", "t.npy", "--loss", "mse"], "file not found"),
        (["p.npy", "short.npy", "--loss", "mse"], "same shape"),
        (["p.npy", "t.npy", "--loss", "nope"], "unknown loss"),
        (["p.npy", "t.npy", "--loss", "mse", "--param", "delta=2"], "no selected loss"),
        (["p.npy", "t.npy", "--loss", "huber", "--param", "delta"], "KEY=VALUE"),
        (["p.npy", "t.npy", "--loss", "huber", "--param", "delta=-1"], "delta"),
        (["complex.npy", "t.npy", "--loss", "mse"], "complex"),
        (["junk.npy", "t.npy", "--loss", "mse"], "junk.npy"),
        (["both.npz", "t.npy", "--loss", "mse"], "choose one"),
        (["both.npz:nokey", "t.npy", "--loss", "mse"], "no array"),
        (["p.npy", "short.npy", "--loss", "cross_entropy"], "target must have shape"),
        (["p.npy", "t.npy", "--loss", "mse", "--reduction", "batchmean"], "batchmean"),
        (
            ["p.npy", "t.npy", "--loss", "cross_entropy", "--param", "class_weight=1,x"],
            "class_weight",
        ),
    ],
)
def test_eval_errors_exit_2_without_traceback(files, args, message):
    d = files[0]
    args = [str(d / a) if a.split(":")[0].endswith((".npy", ".npz")) else a for a in args]
    res = run_cli("eval", *args)
    assert res.returncode == 2, (res.stdout, res.stderr)
    assert message in res.stderr
    assert "Traceback" not in res.stderr


def test_bench_quick_json(tmp_path):
    out = tmp_path / "bench.json"
    res = run_cli("bench", "--quick", "--only", "mse", "--repeats", "1", "--json", str(out))
    assert res.returncode == 0, res.stderr
    payload = json.loads(out.read_text())
    names = {r["name"] for r in payload["results"]}
    assert {"mse", "value_and_grad(mse)"} <= names
    for r in payload["results"]:
        assert r["seconds"]["losscore"] > 0
        assert r["n"] > 0


def test_bench_unknown_filter_exits_2():
    res = run_cli("bench", "--only", "no-such-operation")
    assert res.returncode == 2


def test_help_is_plain_text_and_lists_every_command():
    res = run_cli("--help")
    assert res.returncode == 0
    for command in ("bench", "eval", "demo"):
        assert f"\n    {command} " in res.stdout
    assert "``" not in res.stdout and "--version" in res.stdout
    assert max(len(line) for line in res.stdout.splitlines()) <= 100


def test_version():
    res = run_cli("--version")
    assert res.returncode == 0
    assert res.stdout.strip() == f"losscore {losscore.__version__} (isa {losscore.isa()})"


def test_misspelled_command_gets_a_suggestion():
    res = run_cli("bnech")
    assert res.returncode == 2
    assert "did you mean 'bench'?" in res.stderr


def test_misspelled_loss_gets_a_suggestion(files):
    d = files[0]
    res = run_cli("eval", str(d / "p.npy"), str(d / "t.npy"), "--loss", "msee")
    assert res.returncode == 2
    assert "did you mean 'mse'?" in res.stderr
    assert "Traceback" not in res.stderr


def test_misspelled_parameter_gets_a_suggestion(files):
    d = files[0]
    res = run_cli("eval", str(d / "p.npy"), str(d / "t.npy"), "--loss", "huber",
                  "--param", "detla=0.5")
    assert res.returncode == 2
    assert "did you mean 'delta'?" in res.stderr
    assert "Traceback" not in res.stderr


def test_bench_table_fits_100_columns():
    res = run_cli("bench", "--quick", "--only", "mae", "--repeats", "1",
                  "--threads", "1", "2")
    assert res.returncode == 0, res.stderr
    lines = res.stdout.splitlines()
    assert max(len(line) for line in lines) <= 100, max(lines, key=len)
    assert "losscore" in lines[0] and "isa " + losscore.isa() in lines[0]
    rows = [line.split() for line in lines if line.startswith(("mae ", "value_and_grad(mae)"))]
    # each size at both thread counts, for the value and the value+gradient
    assert sorted({(r[0], r[2]) for r in rows}) == [
        ("mae", "1"), ("mae", "2"), ("value_and_grad(mae)", "1"), ("value_and_grad(mae)", "2")
    ]


def test_bench_markdown_and_wide():
    res = run_cli("bench", "--quick", "--only", "mse", "--repeats", "1", "--markdown")
    assert res.returncode == 0, res.stderr
    rows = [line for line in res.stdout.splitlines() if line.startswith("| `")]
    assert rows and all(line.count("|") == 11 for line in rows)
    assert any(line.startswith("| `value_and_grad(mse)` | float32 | 10M |") for line in rows)
    wide = run_cli("bench", "--quick", "--only", "mse", "--repeats", "1", "--wide")
    assert wide.returncode == 0, wide.stderr
    assert "numpy-naive" in wide.stdout and "probe GB/s" in wide.stdout


def _strict_json(text: str):
    """Parse as strict JSON: NaN, Infinity and -Infinity are not JSON and must not appear."""

    def refuse(constant: str):
        raise ValueError(f"not JSON: {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize(
    "pred, expected",
    [
        ([np.nan, 1.0], None),
        ([np.inf, 1.0], None),
        ([2.0, 0.0], 2.0),  # mse of (2, 0) against zeros: (4 + 0) / 2
    ],
)
def test_eval_json_is_strict_json_with_null_for_non_finite(tmp_path, pred, expected):
    np.save(tmp_path / "p.npy", np.array(pred))
    np.save(tmp_path / "t.npy", np.zeros(2))
    result = run_cli(
        "eval", str(tmp_path / "p.npy"), str(tmp_path / "t.npy"), "--loss", "mse", "--json",
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    report = _strict_json(result.stdout)
    assert report["results"]["mse"]["value"] == expected


def test_eval_help_documents_null():
    result = run_cli("eval", "--help")
    assert "null" in result.stdout
