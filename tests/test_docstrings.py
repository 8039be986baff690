"""Every public docstring example runs and prints what it says (doctest, installed package)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import losscore


def _modules() -> list[str]:
    names = ["losscore"]
    for info in pkgutil.walk_packages(losscore.__path__, "losscore."):
        if info.name.startswith("losscore._") or info.name == "losscore.__main__":
            continue
        names.append(info.name)
    return names


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
