"""The documentation: the site builds in strict mode, every Python block of it and of the README
runs on its own, and every documented public function or class has a docstring."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [*sorted(DOCS.rglob("*.md")), ROOT / "README.md"]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)
DOCUMENTED = ["losscore", "losscore.optim", "losscore.models", "losscore.estimators",
              "losscore.torch", "losscore.jax", "losscore.dask", "losscore.gbdt"]


def _env() -> dict[str, str]:
    """The test's own environment: the code blocks import the losscore the tests run against
    (the installed wheel; the checkout's python/ has no compiled extension)."""
    return dict(os.environ)


def _blocks() -> list[tuple[str, int, str]]:
    out = []
    for page in PAGES:
        for k, match in enumerate(BLOCK.finditer(page.read_text())):
            out.append((page.relative_to(ROOT).as_posix(), k, match.group(1)))
    return out


BLOCKS = _blocks()
# losscore.evaluate unpacks the kernels' Partials as a tuple: broken on this tree, being fixed
# with the evaluation rework. Strict: the mark fails as soon as the block passes.
KNOWN_BROKEN: set[tuple[str, str]] = set()


def _params():
    out = []
    for page, k, code in BLOCKS:
        marks = [pytest.mark.xfail(reason="losscore.evaluate rejects its kernels' Partials",
                                   strict=True)
                 for p, needle in KNOWN_BROKEN if p == page and needle in code]
        out.append(pytest.param(page, k, code, marks=marks, id=f"{page}#{k}"))
    return out


def test_there_are_blocks_to_run():
    assert len(BLOCKS) >= 15


@pytest.mark.parametrize(("page", "index", "code"), _params())
def test_code_block_runs_standalone(page, index, code, tmp_path):
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(),
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, f"{page} block {index} failed:\n{code}\n{res.stderr}"


def test_every_block_names_its_language():
    """An untagged fence would be neither run nor highlighted: python, bash or text."""
    for page in PAGES:
        opening = re.findall(r"^```(\S*)$", page.read_text(), re.M)[::2]
        assert all(opening), f"{page.name}: a code block without a language"


@pytest.mark.parametrize("module_name", DOCUMENTED)
def test_public_names_have_docstrings(module_name):
    module = importlib.import_module(module_name)
    missing = []
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and not inspect.getdoc(obj):
            missing.append(name)
    assert not missing, f"{module_name}: no docstring on {missing}"


def test_site_builds_strict(tmp_path):
    if importlib.util.find_spec("mkdocs") is None:
        pytest.fail("the docs build needs mkdocs: pip install 'losscore[docs]'")
    res = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site"),
         "--config-file", str(ROOT / "mkdocs.yml")],
        cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=600,
    )
    assert res.returncode == 0, res.stderr
    assert (tmp_path / "site" / "api" / "losscore" / "index.html").exists()
    assert (tmp_path / "site" / "losses" / "index.html").exists()


def test_strict_build_rejects_a_broken_link(tmp_path):
    """The strict build is what catches broken links: a copy with one must fail."""
    if importlib.util.find_spec("mkdocs") is None:
        pytest.fail("the docs build needs mkdocs: pip install 'losscore[docs]'")
    import shutil

    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    with open(tmp_path / "docs" / "index.md", "a") as fh:
        fh.write("\n[a page that does not exist](no-such-page.md)\n")
    res = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=600,
    )
    assert res.returncode != 0
    assert "no-such-page.md" in res.stderr
