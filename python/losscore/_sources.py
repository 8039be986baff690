"""Arrays read piece by piece from ``.npy`` files, ``.npz`` members, or memory.

``.npy`` files and uncompressed ``.npz`` members are memory-mapped; compressed ``.npz`` members
are decompressed as a stream, one chunk at a time, so memory stays bounded either way.
"""

from __future__ import annotations

import os
import struct
import zipfile
from typing import IO, Any

import numpy as np

from .errors import DTypeError, ParameterError

__all__ = ["ArraySource", "open_source"]


class ArraySource:
    """A C-ordered array read as flat element ranges ``[start, stop)``, in increasing order."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, name: str) -> None:
        self.shape = shape
        self.dtype = dtype
        self.name = name
        self.size = int(np.prod(shape, dtype=np.int64)) if shape else 1

    def read(self, start: int, stop: int) -> np.ndarray:
        raise NotImplementedError

    def close(self) -> None:
        pass


class MemorySource(ArraySource):
    """An in-memory array or memory map; pieces are views (no copy when C-contiguous)."""

    def __init__(self, array: np.ndarray, name: str) -> None:
        super().__init__(tuple(array.shape), array.dtype, name)
        if not array.flags.c_contiguous:
            if isinstance(array, np.memmap):
                raise ParameterError(f"{name}: only C-ordered memory maps can be read in chunks")
            array = np.ascontiguousarray(array)
        self._flat = array.reshape(-1)

    def read(self, start: int, stop: int) -> np.ndarray:
        return self._flat[start:stop]


class StreamSource(ArraySource):
    """A compressed ``.npz`` member, decompressed sequentially."""

    def __init__(self, stream: IO[bytes], shape: tuple[int, ...], dtype: np.dtype, name: str):
        super().__init__(shape, dtype, name)
        self._stream = stream
        self._pos = 0

    def read(self, start: int, stop: int) -> np.ndarray:
        if start != self._pos:
            raise RuntimeError("compressed members are read in order")
        count = stop - start
        raw = self._stream.read(count * self.dtype.itemsize)
        if len(raw) != count * self.dtype.itemsize:
            raise ParameterError(f"{self.name}: file is truncated")
        self._pos = stop
        return np.frombuffer(raw, dtype=self.dtype)

    def close(self) -> None:
        self._stream.close()


def _header(fh: IO[bytes], name: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    try:
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    except ValueError as exc:
        raise ParameterError(f"{name}: not a valid .npy array ({exc})") from None
    if dtype.hasobject:
        raise DTypeError(f"{name}: object arrays are not supported")
    return tuple(shape), bool(fortran), dtype


def _npz_member(path: str, key: str | None, name: str) -> ArraySource:
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ParameterError(f"{name}: {path} is not a valid .npz file") from None
    members = [m[:-4] for m in zf.namelist() if m.endswith(".npy")]
    if key is None:
        if len(members) != 1:
            zf.close()
            raise ParameterError(
                f"{name}: {path} holds {len(members)} arrays {members}; choose one as {path}:KEY"
            )
        key = members[0]
    if key not in members:
        zf.close()
        raise ParameterError(f"{name}: {path} has no array {key!r} (it has {members})")
    info = zf.getinfo(key + ".npy")
    if info.compress_type == zipfile.ZIP_STORED:
        # Stored uncompressed: memory-map the bytes right inside the archive.
        with open(path, "rb") as fh:
            fh.seek(info.header_offset)
            local = fh.read(30)
            name_len, extra_len = struct.unpack("<HH", local[26:30])
            fh.seek(info.header_offset + 30 + name_len + extra_len)
            shape, fortran, dtype = _header(fh, name)
            offset = fh.tell()
        zf.close()
        if fortran and len(shape) > 1:
            raise ParameterError(f"{name}: Fortran-ordered arrays cannot be read in chunks")
        mm = np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=shape)
        return MemorySource(mm, name)
    stream = zf.open(info)
    shape, fortran, dtype = _header(stream, name)
    if fortran and len(shape) > 1:
        stream.close()
        raise ParameterError(f"{name}: Fortran-ordered arrays cannot be read in chunks")
    return StreamSource(stream, shape, dtype, name)


def open_source(spec: Any, name: str) -> ArraySource:
    """``spec``: an array / memory map, a ``.npy`` path, or ``file.npz[:key]``."""
    if isinstance(spec, ArraySource):
        return spec
    if isinstance(spec, np.ndarray):
        return MemorySource(spec, name)
    if isinstance(spec, (str, os.PathLike)):
        text = os.fspath(spec)
        key = None
        if ".npz:" in text:
            text, key = text.rsplit(":", 1)
        if not os.path.exists(text):
            raise ParameterError(f"{name}: file not found: {text}")
        if text.endswith(".npz"):
            return _npz_member(text, key, name)
        try:
            arr = np.load(text, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise ParameterError(f"{name}: cannot read {text} as .npy ({exc})") from None
        if not isinstance(arr, np.ndarray):
            raise ParameterError(f"{name}: {text} is not a single array")
        return MemorySource(arr, name)
    return MemorySource(np.asarray(spec), name)
