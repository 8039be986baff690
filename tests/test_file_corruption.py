"""Damaged and unusual files given to ``losscore.evaluate`` and ``losscore eval``.

Every case is a real file built in ``tmp_path`` (a real FIFO, real zip archives with a bad CRC,
bad deflate data, an encrypted flag, a bad local header, ...). Each must raise a
``losscore.errors`` exception naming the file (and the ``.npz`` member), never a foreign
exception, a hang or a crash; the command line prints one line and exits with status 2. A file
truncated while it is being read is cut in a subprocess: a memory map would die of ``SIGBUS``
there, reads raise ``DataError``.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import losscore
from losscore.__main__ import main
from losscore.errors import DataError, DTypeError, LosscoreError

N = 1000
DATA = np.arange(N, dtype=np.float64) / 7.0


def _npy(arr: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def _header(shape: tuple[int, ...], descr: str = "<f8") -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": descr, "fortran_order": False, "shape": shape}
    )
    return buf.getvalue()


def _raw_header(text: bytes) -> bytes:
    """A version 1.0 .npy preamble around an arbitrary (possibly malformed) header text."""
    body = text + b" " * (-(len(text) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + len(body).to_bytes(2, "little") + body


def _zip(path: Path, payload: bytes, compression: int = zipfile.ZIP_DEFLATED) -> bytearray:
    with zipfile.ZipFile(path, "w", compression=compression) as zf:
        zf.writestr("a.npy", payload)
    return bytearray(path.read_bytes())


def _local(data: bytearray) -> int:
    return data.index(b"PK\x03\x04")


def _central(data: bytearray) -> int:
    return data.index(b"PK\x01\x02")


# ---- the cases: name -> builder(tmp_path) -> the path spec to evaluate ------------------------


def npy_file(content: bytes) -> Callable[[Path], str]:
    def build(d: Path) -> str:
        (d / "x.npy").write_bytes(content)
        return str(d / "x.npy")

    return build


def npz_file(edit: Callable[[bytearray], None], compression: int = zipfile.ZIP_DEFLATED,
             payload: bytes | None = None) -> Callable[[Path], str]:
    def build(d: Path) -> str:
        path = d / "x.npz"
        data = _zip(path, _npy(DATA) if payload is None else payload, compression)
        edit(data)
        path.write_bytes(bytes(data))
        return f"{path}:a"

    return build


def _flip_crc(data: bytearray) -> None:
    for at in (_local(data) + 14, _central(data) + 16):
        data[at] ^= 0xFF


def _flip_payload_byte(data: bytearray) -> None:
    data[_local(data) + 30 + len("a.npy") + 200] ^= 0xFF


def _garble_deflate(data: bytearray) -> None:
    start = _local(data) + 30 + len("a.npy") + 40
    data[start : start + 64] = b"\xff" * 64


def _method_99(data: bytearray) -> None:
    data[_local(data) + 8] = 99
    data[_central(data) + 10] = 99


def _encrypted(data: bytearray) -> None:
    data[_local(data) + 6] |= 1
    data[_central(data) + 8] |= 1


def _bad_local_signature(data: bytearray) -> None:
    at = _local(data)
    data[at : at + 4] = b"XXXX"


def _cut_half(data: bytearray) -> None:
    del data[len(data) // 2 :]


def _empty(data: bytearray) -> None:
    del data[:]


def _junk(data: bytearray) -> None:
    data[:] = b"this is not a zip archive at all"


STORED = zipfile.ZIP_STORED
OVERFLOW = (2**63 - 1, 2**63 - 1, 1000)

CASES: dict[str, Callable[[Path], str]] = {
    # .npy files
    "npy empty file": npy_file(b""),
    "npy bad magic": npy_file(b"NOTNUMPY" + b"\0" * 120),
    "npy header cut inside the dict": npy_file(_raw_header(b"{'descr': '<f8', 'fo")),
    "npy header not a dict": npy_file(_raw_header(b"[1, 2, 3]")),
    "npy header length past the end": npy_file(b"\x93NUMPY\x01\x00\xff\xff{'descr'"),
    "npy payload truncated": npy_file(_npy(DATA)[:-100]),
    "npy payload longer than the shape": npy_file(_npy(DATA) + b"\0" * 8),
    "npy shape overflowing int64": npy_file(_header(OVERFLOW) + b"\0" * 64),
    "npy shape (2**32, 2**32)": npy_file(_header((2**32, 2**32)) + b"\0" * 64),
    "npy huge 1-d shape": npy_file(_header((2**40,)) + b"\0" * 64),
    # .npz archives
    "npz empty file": npz_file(_empty),
    "npz not a zip": npz_file(_junk),
    "npz compressed, truncated": npz_file(_cut_half),
    "npz stored, truncated": npz_file(_cut_half, STORED),
    "npz compressed, bad CRC": npz_file(_flip_crc),
    "npz stored, bad CRC": npz_file(_flip_payload_byte, STORED),
    "npz bad deflate data": npz_file(_garble_deflate),
    "npz unknown compression method": npz_file(_method_99),
    "npz encrypted member": npz_file(_encrypted),
    "npz stored, bad local header": npz_file(_bad_local_signature, STORED),
    "npz compressed, bad local header": npz_file(_bad_local_signature),
    "npz stored, huge declared member": npz_file(
        lambda d: None, STORED, _header((2**40,)) + b"\0" * 64
    ),
    "npz stored, shape overflowing int64": npz_file(
        lambda d: None, STORED, _header(OVERFLOW) + b"\0" * 64
    ),
    "npz compressed, shape overflowing int64": npz_file(
        lambda d: None, payload=_header(OVERFLOW) + b"\0" * 64
    ),
    "npz compressed, shape (2**32, 2**32)": npz_file(
        lambda d: None, payload=_header((2**32, 2**32)) + b"\0" * 64
    ),
    "npz compressed, more data than the shape": npz_file(
        lambda d: None, payload=_header((10,)) + DATA.tobytes()
    ),
    "npz compressed, bad header": npz_file(
        lambda d: None, payload=_raw_header(b"{'descr': '<f8', 'fo")
    ),
}


# Damage to the archive itself (no central directory to find members in): the file is named.
ARCHIVE_LEVEL = {"npz empty file", "npz not a zip", "npz compressed, truncated",
                 "npz stored, truncated"}


def _named(case: str, spec: str) -> str:
    path = spec.removesuffix(":a")
    member = spec.endswith(".npz:a") and case not in ARCHIVE_LEVEL
    return re.escape(path + (" member 'a'" if member else ""))


@pytest.fixture
def target(tmp_path: Path) -> str:
    np.save(tmp_path / "target.npy", np.zeros(N))
    return str(tmp_path / "target.npy")


@pytest.mark.parametrize("case", sorted(CASES))
def test_corrupt_file_is_a_data_error_naming_file_and_member(case, tmp_path, target):
    spec = CASES[case](tmp_path)
    with pytest.raises(DataError, match=_named(case, spec)):
        losscore.evaluate("mse", spec, target)
    # The same file as the target (the second argument) is named as such.
    with pytest.raises(DataError, match=r"^target: "):
        losscore.evaluate("mse", target, spec)


@pytest.mark.parametrize("case", sorted(CASES))
def test_cli_prints_one_line_and_exits_2_on_a_corrupt_file(case, tmp_path, target, capsys):
    spec = CASES[case](tmp_path)
    code = main(["eval", spec, target, "--loss", "mse", "--no-progress"])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("losscore eval: error: "), err
    assert spec.removesuffix(":a") in err


def test_object_arrays_are_refused_without_unpickling(tmp_path, target):
    # A pickled payload must never be executed: refused from the header alone.
    (tmp_path / "obj.npy").write_bytes(_header((N,), "|O") + b"\0" * 64)
    with pytest.raises(DTypeError, match="object arrays"):
        losscore.evaluate("mse", str(tmp_path / "obj.npy"), target)


def test_intact_files_still_read(tmp_path, target):
    """The control: the same builders without damage give the in-memory value."""
    np.save(tmp_path / "p.npy", DATA)
    _zip(tmp_path / "s.npz", _npy(DATA), STORED)
    _zip(tmp_path / "c.npz", _npy(DATA))
    expected = float(np.mean(DATA**2))
    for spec in (tmp_path / "p.npy", f"{tmp_path / 's.npz'}:a", f"{tmp_path / 'c.npz'}:a"):
        got = losscore.evaluate("mse", spec, target, chunk_size=97)
        assert got == pytest.approx(expected, rel=1e-15)


# ---- files that are not regular files ------------------------------------------------------


def test_directories_are_refused(tmp_path, target):
    for name in ("dir.npy", "dir.npz", "plain_dir"):
        (tmp_path / name).mkdir()
        spec = str(tmp_path / name)
        with pytest.raises(DataError, match=re.escape(spec) + ".*directory"):
            losscore.evaluate("mse", spec, target)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_character_devices_are_refused(device, target):
    if not os.path.exists(device):
        pytest.skip(f"{device} does not exist here")
    with pytest.raises(DataError, match=f"{device} is a character device"):
        losscore.evaluate("mse", device, target)


def test_a_symlink_to_a_regular_file_reads(tmp_path, target):
    np.save(tmp_path / "p.npy", DATA)
    (tmp_path / "link.npy").symlink_to(tmp_path / "p.npy")
    assert losscore.evaluate("mse", str(tmp_path / "link.npy"), target) == losscore.mse(
        DATA, np.zeros(N)
    )


def _run(code: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(losscore.__file__).parents[1])}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


FIFO_CHECK = """
    import sys, losscore
    from losscore.errors import DataError
    try:
        losscore.evaluate("mse", sys.argv[1], sys.argv[2])
    except DataError as exc:
        print(exc)
"""


@pytest.mark.parametrize("name", ["pipe.npy", "pipe.npz", "pipe"])
def test_a_fifo_is_never_opened(name, tmp_path, target):
    """Opening a FIFO for reading blocks until a writer appears: it must be refused from its
    file type. Run in a subprocess so a regression times out instead of hanging the suite."""
    fifo = tmp_path / name
    os.mkfifo(fifo)
    link = tmp_path / f"link-to-{name}"
    link.symlink_to(fifo)
    for spec in (fifo, link):
        result = _run(FIFO_CHECK, str(spec), target, timeout=60)
        assert result.returncode == 0, result.stderr
        assert f"{spec} is a FIFO" in result.stdout
        code = main(["eval", str(spec), target, "--loss", "mse", "--no-progress"])
        assert code == 2


# ---- truncated while being read ------------------------------------------------------------

TRUNCATE_DURING_READ = """
    import os, sys
    import losscore
    from losscore.accumulator import Accumulator
    from losscore.errors import DataError

    victim, pred, target, cut = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    update = Accumulator.update
    calls = []

    def update_then_truncate(self, *args, **kwargs):
        # After the first chunk is consumed, the file shrinks under the reader.
        calls.append(1)
        if len(calls) == 1:
            os.truncate(victim, cut)
        return update(self, *args, **kwargs)

    Accumulator.update = update_then_truncate
    try:
        value = losscore.evaluate("mse", pred, target, chunk_size=1000)
    except DataError as exc:
        print("DataError:", exc)
    else:
        print("no error:", value)
"""


@pytest.mark.parametrize("layout", ["npy", "npz stored", "npz compressed"])
@pytest.mark.parametrize("side", ["pred", "target"])
def test_truncated_during_the_read_is_a_data_error_not_sigbus(layout, side, tmp_path):
    n = 1 << 20  # 8 MiB of float64: many chunks, many pages past the cut
    data = np.random.default_rng(0).standard_normal(n)
    if layout == "npy":
        np.save(tmp_path / "big.npy", data)
        victim, spec = tmp_path / "big.npy", str(tmp_path / "big.npy")
    else:
        compression = STORED if layout == "npz stored" else zipfile.ZIP_DEFLATED
        _zip(tmp_path / "big.npz", _npy(data), compression)
        victim, spec = tmp_path / "big.npz", f"{tmp_path / 'big.npz'}:a"
    np.save(tmp_path / "other.npy", np.zeros(n))
    other = str(tmp_path / "other.npy")
    pred, target = (spec, other) if side == "pred" else (other, spec)
    cut = victim.stat().st_size // 3
    result = _run(TRUNCATE_DURING_READ, str(victim), pred, target, str(cut))
    # A memory map would have been killed by SIGBUS here (returncode -7).
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert result.stdout.startswith(f"DataError: {side}: "), result.stdout + result.stderr
    assert str(victim) in result.stdout


def test_every_failure_is_a_losscore_error_subclass_of_value_error(tmp_path, target):
    """``except ValueError`` keeps working for file problems too."""
    spec = CASES["npz compressed, bad CRC"](tmp_path)
    with pytest.raises(ValueError) as info:
        losscore.evaluate("mse", spec, target)
    assert isinstance(info.value, LosscoreError)
