"""``_core.pyi`` ships with the package and declares exactly what the extension exports.

Signatures (parameter names, kinds, defaults) are checked by ``mypy.stubtest`` in
``tests/typing/test_typing.py``.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import losscore
from losscore import _core
from losscore.losses import registry

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


def _stub_signature(name: str) -> tuple[list[str], list[tuple[str, str]]]:
    """(positional names, [(keyword-only name, default source)]) of a stub function."""
    tree = ast.parse(STUB.read_text())
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    args = node.args
    keyword = [
        (a.arg, ast.unparse(d) if d is not None else "")
        for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)
    ]
    return [a.arg for a in args.posonlyargs + args.args], keyword


@pytest.mark.parametrize("name", sorted(registry))
def test_each_kernel_stub_is_its_wrapper_plus_the_switches(name):
    """The calling convention of DESIGN §8: the kernel takes the wrapper's arguments (same
    names, same defaults, keyword-only after ``target``) and then the switches (``out``,
    ``with_grad``, ``partials`` and the chunk's ``offset``)."""
    wrapper = inspect.signature(registry[name].function).parameters.values()
    positional, keyword = _stub_signature(name)
    assert positional == [p.name for p in wrapper if p.kind is p.POSITIONAL_OR_KEYWORD]
    expected = [(p.name, repr(p.default)) for p in wrapper if p.kind is p.KEYWORD_ONLY]
    expected += [("out", "None"), ("with_grad", "False"), ("partials", "False"), ("offset", "0")]
    assert [(k, d.replace("'", '"')) for k, d in keyword] == [
        (k, d.replace("'", '"')) for k, d in expected
    ]
