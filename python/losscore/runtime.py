"""Process-wide settings: the thread pool and the SIMD instruction set."""

from __future__ import annotations

from . import _core
from .errors import ParameterError, ParameterTypeError

MAX_THREADS = 1024

__all__ = ["available_isas", "get_num_threads", "isa", "set_num_threads"]


def get_num_threads() -> int:
    """Number of threads losscore's kernels may use.

    Defaults to ``LOSSCORE_NUM_THREADS`` if set, else the number of CPUs.

    Examples
    --------
    >>> import losscore
    >>> losscore.get_num_threads() >= 1
    True
    """
    return _core.get_num_threads()


def set_num_threads(n: int) -> None:
    """Set the number of threads losscore's kernels may use (``1`` = calling thread only).

    Results are bitwise identical for every thread count: work is split at fixed offsets and
    partial sums are combined exactly.

    Parameters
    ----------
    n : int
        Between 1 and 1024.

    Raises
    ------
    losscore.errors.ParameterError
        If ``n`` is out of range.

    Examples
    --------
    >>> import losscore
    >>> old = losscore.get_num_threads()
    >>> losscore.set_num_threads(1)
    >>> losscore.get_num_threads()
    1
    >>> losscore.set_num_threads(old)
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise ParameterTypeError(f"n must be an int, got {type(n).__name__}")
    if not 1 <= n <= MAX_THREADS:
        raise ParameterError(f"n: number of threads must be between 1 and {MAX_THREADS}, got {n}")
    _core.set_num_threads(n)


def isa() -> str:
    """The SIMD instruction set in use: ``"scalar"``, ``"avx2"`` or ``"avx512"``.

    Chosen once at first use from the CPU, or forced with the environment variable
    ``LOSSCORE_ISA``. Every path computes bitwise identical results; only speed differs.

    Examples
    --------
    >>> import losscore
    >>> losscore.isa() in losscore.available_isas()
    True
    """
    return _core.isa()


def available_isas() -> list[str]:
    """The instruction sets this CPU can run, slowest first.

    Examples
    --------
    >>> import losscore
    >>> losscore.available_isas()[0]
    'scalar'
    """
    return list(_core.available_isas())
