"""Shared fixtures: a seeded generator, dtype parameters, and context managers that force an ISA
path or a thread count and always restore the previous setting."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import settings

import losscore
from losscore import _core

# Helper modules (reference.py) live next to this file.
sys.path.insert(0, os.path.dirname(__file__))

# No deadline: a shared CI machine must not turn a slow example into a failure.
settings.register_profile("losscore", deadline=None, max_examples=60)
settings.load_profile("losscore")

FLOAT_DTYPES = [np.float32, np.float64]
REDUCTIONS = ["mean", "sum", "none"]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261121)


@pytest.fixture(params=FLOAT_DTYPES, ids=["float32", "float64"])
def dtype(request) -> type:
    return request.param


@pytest.fixture(params=REDUCTIONS)
def reduction(request) -> str:
    return request.param


@contextlib.contextmanager
def isa(name: str) -> Iterator[None]:
    """Forces the SIMD path ``name`` in this process; restores the previous one on exit."""
    previous = losscore.isa()
    _core.set_isa(name)
    try:
        yield
    finally:
        _core.set_isa(previous)


@contextlib.contextmanager
def threads(n: int) -> Iterator[None]:
    """Sets losscore's thread count to ``n``; restores the previous count on exit."""
    previous = losscore.get_num_threads()
    losscore.set_num_threads(n)
    try:
        yield
    finally:
        losscore.set_num_threads(previous)


@pytest.fixture
def use_isa():
    return isa


@pytest.fixture
def use_threads():
    return threads


@pytest.fixture(autouse=True)
def _settings_are_restored():
    """Every test leaves the process-wide settings as it found them."""
    before = (losscore.isa(), losscore.get_num_threads())
    yield
    after = (losscore.isa(), losscore.get_num_threads())
    assert after == before, f"test changed process settings {before} -> {after}"
