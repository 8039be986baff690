"""Static typing: ``_core.pyi`` matches the extension (``mypy.stubtest``), a typical typed user
script passes ``mypy --strict`` and ``pyright``, and each deliberate mistake in ``mistakes.py``
is reported by both checkers (and nothing else is)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
CONFIG = ROOT / "pyproject.toml"
TAG = "# expect-error"



def _env() -> dict[str, str]:
    # The checkers and the scripts see the losscore under test (source tree or installed wheel).
    import losscore

    pkg_root = str(Path(losscore.__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (pkg_root, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "PYTHONPATH": path}


def _run(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, env=_env(), capture_output=True, text=True,
                          timeout=600)


def _mypy(path: Path) -> subprocess.CompletedProcess[str]:
    # --follow-imports=silent: report the script's errors, as a user sees them, not losscore's.
    return _run([sys.executable, "-m", "mypy", "--strict", "--config-file", str(CONFIG),
                 "--follow-imports=silent", "--no-incremental", str(path)])


def _pyright(path: Path) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("pyright", path=str(Path(sys.executable).parent)) or shutil.which("pyright")
    if exe is None:
        pytest.fail("pyright is not installed (the test extra installs pyright[nodejs])")
    return _run([exe, "--pythonpath", sys.executable, str(path)])


def _error_lines(output: str, path: Path, pattern: str) -> set[int]:
    name = re.escape(path.name)
    return {int(m.group(1)) for m in re.finditer(name + pattern, output)}


def _mypy_errors(path: Path) -> set[int]:
    return _error_lines(_mypy(path).stdout, path, r":(\d+): error:")


def _pyright_errors(path: Path) -> set[int]:
    return _error_lines(_pyright(path).stdout, path, r":(\d+):\d+ - error:")


def _tagged(path: Path) -> set[int]:
    lines = path.read_text().splitlines()
    return {i for i, line in enumerate(lines, start=1) if TAG in line}


def test_stubtest_matches_the_extension():
    result = _run([sys.executable, "-m", "mypy.stubtest", "losscore._core",
                   "--mypy-config-file", str(CONFIG),
                   "--allowlist", str(HERE / "stubtest-allowlist.txt")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_allowlist_entries_give_their_reason():
    for line in (HERE / "stubtest-allowlist.txt").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            _entry, sep, reason = line.partition("#")
            assert sep and reason.strip(), f"allowlist entry without a reason: {line!r}"


def test_typed_user_script_passes_mypy_strict():
    result = _mypy(HERE / "good.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_typed_user_script_passes_pyright():
    result = _pyright(HERE / "good.py")
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_typed_user_script_runs():
    result = _run([sys.executable, str(HERE / "good.py")])
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("checker", ["mypy", "pyright"])
def test_every_deliberate_mistake_is_reported(checker):
    path = HERE / "mistakes.py"
    expected = _tagged(path)
    assert len(expected) >= 10
    reported = _mypy_errors(path) if checker == "mypy" else _pyright_errors(path)
    assert sorted(expected - reported) == [], f"{checker} missed these tagged lines"
    assert sorted(reported - expected) == [], f"{checker} reported untagged lines"


# The package's typed core: the losses and their registry, the fused gradients, the progress bar.
TYPED_MODULES = ["losses", "gradients.py", "_progress.py", "evaluation.py", "errors.py"]


def test_typed_modules_pass_mypy_strict():
    # The checkout's sources (the installed copy's path inside a virtual environment would make
    # mypy read site-packages as a source root).
    pkg = Path(__file__).resolve().parents[2] / "python" / "losscore"
    paths = [str(pkg / m) for m in TYPED_MODULES]
    result = _run([sys.executable, "-m", "mypy", "--strict", "--config-file", str(CONFIG),
                   "--follow-imports=silent", "--no-incremental", *paths])
    assert result.returncode == 0, result.stdout + result.stderr
