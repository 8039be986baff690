"""``_core.pyi`` ships with the package and declares exactly what the extension exports.

Signatures (parameter names, kinds, defaults) are checked by ``mypy.stubtest`` in
``tests/typing/test_typing.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import losscore
from losscore import _core

STUB = Path(losscore.__file__).with_name("_core.pyi")


def _stub_names() -> set[str]:
    tree = ast.parse(STUB.read_text())
    return {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}


def _exported() -> set[str]:
    return {
        name
        for name, obj in vars(_core).items()
        if callable(obj) and not name.startswith("__") and not isinstance(obj, type)
    }


def test_stub_file_ships_with_the_package():
    assert STUB.exists()
    assert Path(losscore.__file__).with_name("py.typed").exists()


def test_every_export_has_a_stub_and_every_stub_an_export():
    stubs, exported = _stub_names(), _exported()
    assert sorted(exported - stubs) == []
    assert sorted(stubs - exported) == []
