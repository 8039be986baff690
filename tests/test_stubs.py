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


def _stub_signature(name: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """([(positional name, default source)], [(keyword-only name, default source)]) of a stub
    function."""
    tree = ast.parse(STUB.read_text())
    node = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == name)
    args = node.args
    positional = args.posonlyargs + args.args
    defaults = [None] * (len(positional) - len(args.defaults)) + list(args.defaults)
    keyword = [(a.arg, _source(d)) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True)]
    return [(a.arg, _source(d)) for a, d in zip(positional, defaults, strict=True)], keyword


def _source(default: ast.expr | None) -> str:
    return (ast.unparse(default) if default is not None else "").replace("'", '"')


@pytest.mark.parametrize("name", sorted(registry))
def test_each_kernel_stub_is_its_wrapper_plus_the_switches(name):
    """The calling convention of DESIGN §8: the kernel takes the wrapper's arguments in the
    wrapper's order with the wrapper's defaults (positional-or-keyword, so the wrapper passes
    them positionally), then ``out`` and ``with_grad``, then keyword-only ``partials`` and the
    chunk's ``offset``."""
    wrapper = list(inspect.signature(registry[name].function).parameters.values())
    positional, keyword = _stub_signature(name)
    expected = [
        (p.name, "" if p.default is p.empty else repr(p.default).replace("'", '"'))
        for p in wrapper
    ]
    expected += [("out", "None"), ("with_grad", "False")]
    assert positional == expected
    switches = [
        ("with_hess", "False"), ("hess_out", "None"), ("partials", "False"), ("offset", "0")
    ]
    # Losses of several inputs also take the inputs to differentiate (DESIGN §13); the
    # losses of two arrays take the internal derivatives-only switch of losscore.gbdt.
    if len(registry[name].inputs) > 1:
        switches.append(("argnums", "None"))
    else:
        switches.append(("_objective", "None"))
    assert keyword == switches
