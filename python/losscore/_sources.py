"""Arrays read rows at a time from ``.npy`` files, ``.npz`` members, zarr arrays, or memory.

``.npy`` files and uncompressed ``.npz`` members are memory-mapped; compressed ``.npz`` members
are decompressed as a stream, one chunk at a time; zarr arrays (``path.zarr`` or
``path.zarr:name``, with the ``zarr`` extra) and other lazy arrays (dask, h5py: anything with
``shape``, ``dtype`` and slicing) are read one slice of rows at a time. Memory stays bounded
either way. Rows are entries of the leading axis.
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
    """An array read as C-ordered rows ``[start, stop)`` of its leading axis, in increasing order.

    A 0-d array reads as one row of shape ``(1,)``.
    """

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, name: str) -> None:
        self.shape = shape
        self.dtype = dtype
        self.name = name
        self.size = int(np.prod(shape, dtype=np.int64)) if shape else 1
        self.rows = shape[0] if shape else 1
        self.row_shape = shape[1:]
        self.row_size = int(np.prod(self.row_shape, dtype=np.int64))

    def read(self, start: int, stop: int) -> np.ndarray:
        """Flat elements ``[start, stop)``."""
        raise NotImplementedError

    def read_rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``[start, stop)``, C-contiguous, of shape ``(stop - start, *row_shape)``."""
        flat = self.read(start * self.row_size, stop * self.row_size)
        return flat.reshape((stop - start, *self.row_shape))

    def close(self) -> None:
        pass


class MemorySource(ArraySource):
    """An in-memory array or memory map; pieces are views (no copy when C-contiguous)."""

    def __init__(self, array: np.ndarray, name: str) -> None:
        super().__init__(tuple(array.shape), array.dtype, name)
        if not array.flags.c_contiguous and isinstance(array, np.memmap):
            raise ParameterError(f"{name}: only C-ordered memory maps can be read in chunks")
        self._array = array.reshape(1) if array.ndim == 0 else array

    def read_rows(self, start: int, stop: int) -> np.ndarray:
        # A slice of rows of a C-ordered array is a view; other layouts copy one chunk only.
        return np.ascontiguousarray(self._array[start:stop])


class SlicedSource(ArraySource):
    """A lazy array (zarr, dask, h5py, ...) read one slice of rows at a time."""

    def __init__(self, array: Any, name: str) -> None:
        try:
            dtype = np.dtype(array.dtype)
        except TypeError:
            raise DTypeError(f"{name}: unsupported dtype {array.dtype!r}") from None
        if dtype.hasobject:
            raise DTypeError(f"{name}: object arrays are not supported")
        super().__init__(tuple(int(d) for d in array.shape), dtype, name)
        self._array = array

    def read_rows(self, start: int, stop: int) -> np.ndarray:
        if not self.shape:
            return np.asarray(self._array[()]).reshape(1)
        return np.ascontiguousarray(np.asarray(self._array[start:stop]))


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


def _zarr_array(path: str, key: str | None, name: str) -> ArraySource:
    try:
        import zarr
    except ImportError:
        raise ParameterError(
            f"{name}: reading {path} needs the zarr package (pip install 'losscore[zarr]')"
        ) from None
    try:
        node = zarr.open(path, mode="r")
    except Exception as exc:  # zarr raises several types for a store that is not zarr
        raise ParameterError(f"{name}: cannot open {path} as zarr ({exc})") from None
    if isinstance(node, zarr.Group):
        members = sorted(node.array_keys())
        if key is None:
            if len(members) != 1:
                raise ParameterError(
                    f"{name}: {path} holds {len(members)} arrays {members}; choose one as "
                    f"{path}:NAME"
                )
            key = members[0]
        if key not in members:
            raise ParameterError(f"{name}: {path} has no array {key!r} (it has {members})")
        node = node[key]
    elif key is not None:
        raise ParameterError(f"{name}: {path} is a single array, not a group with {key!r}")
    return SlicedSource(node, name)


def _is_lazy_array(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("shape", "dtype", "__getitem__")) and not isinstance(
        obj, (str, bytes)
    )


def open_source(spec: Any, name: str) -> ArraySource:
    """``spec``: an array / memory map, a lazy array (zarr, dask...), a ``.npy`` path,
    ``file.npz[:key]`` or ``dir.zarr[:name]``."""
    if isinstance(spec, ArraySource):
        return spec
    if isinstance(spec, np.ndarray):
        return MemorySource(spec, name)
    if isinstance(spec, (str, os.PathLike)):
        text = os.fspath(spec)
        key = None
        if ".npz:" in text or ".zarr:" in text:
            text, key = text.rsplit(":", 1)
        if not os.path.exists(text):
            raise ParameterError(f"{name}: file not found: {text}")
        if text.rstrip("/").endswith(".zarr"):
            return _zarr_array(text, key, name)
        if text.endswith(".npz"):
            return _npz_member(text, key, name)
        try:
            arr = np.load(text, mmap_mode="r", allow_pickle=False)
        except ValueError as exc:
            raise ParameterError(f"{name}: cannot read {text} as .npy ({exc})") from None
        if not isinstance(arr, np.ndarray):
            raise ParameterError(f"{name}: {text} is not a single array")
        return MemorySource(arr, name)
    if _is_lazy_array(spec):
        return SlicedSource(spec, name)
    return MemorySource(np.asarray(spec), name)
