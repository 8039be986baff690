"""Peak extra memory of one call, measured with tracemalloc (NumPy reports its buffers to it)."""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable


def peak_extra_bytes(fn: Callable[[], object]) -> int:
    """Bytes allocated at the peak of ``fn()`` beyond what was live before it (result included)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = fn()
        _, peak = tracemalloc.get_traced_memory()
        del result
    finally:
        tracemalloc.stop()
    return peak - before
