"""``_core.pyi`` describes exactly what the extension exports, with the same parameter names."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import losscore
from losscore import _core

STUB = Path(losscore.__file__).with_name("_core.pyi")


def _stub_functions() -> dict[str, list[str]]:
    tree = ast.parse(STUB.read_text())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef):
            args = node.args
            names = [a.arg for a in args.posonlyargs + args.args + args.kwonlyargs]
            out[node.name] = names
    return out


def _exported() -> dict[str, object]:
    return {
        name: obj
        for name, obj in vars(_core).items()
        if callable(obj) and not name.startswith("__") and not isinstance(obj, type)
    }


def test_stub_file_ships_with_the_package():
    assert STUB.exists()
    assert Path(losscore.__file__).with_name("py.typed").exists()


def test_every_export_has_a_stub_and_every_stub_an_export():
    stubs, exported = _stub_functions(), _exported()
    assert sorted(set(exported) - set(stubs)) == []
    assert sorted(set(stubs) - set(exported)) == []


@pytest.mark.parametrize("name", sorted(_exported()))
def test_parameter_names_match(name):
    sig = inspect.signature(getattr(_core, name))
    assert list(sig.parameters) == _stub_functions()[name]
