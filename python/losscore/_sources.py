"""Arrays read rows at a time from ``.npy`` files, ``.npz`` members, zarr arrays, or memory.

``.npy`` files and uncompressed ``.npz`` members are read with ``pread`` one chunk at a time
(reads, not memory maps: a file truncated while it is read raises ``DataError`` instead of
killing the process with ``SIGBUS``); compressed ``.npz`` members are decompressed as a stream,
one chunk at a time; only regular files are opened (never a FIFO, a device or a directory);
declared shapes are checked against the bytes present, and zip CRCs once every byte was read;
zarr arrays (``path.zarr`` or ``path.zarr:name``, with the ``zarr`` extra) and other lazy
arrays (dask, h5py: anything with ``shape``, ``dtype`` and slicing) are read one slice of rows
at a time. Memory stays bounded either way. Rows are entries of the leading axis.
"""

from __future__ import annotations

import math
import os
import stat
import struct
import tokenize
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import numpy as np

from .errors import DataError, DTypeError, LosscoreError, ParameterError

__all__ = ["ArraySource", "open_source"]


class ArraySource:
    """An array read as C-ordered rows ``[start, stop)`` of its leading axis, in increasing order.

    A 0-d array reads as one row of shape ``(1,)``.
    """

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype, name: str) -> None:
        self.shape = shape
        self.dtype = dtype
        self.name = name
        # Python ints: a declared shape cannot overflow before it is checked.
        self.size = math.prod(shape)
        self.rows = shape[0] if shape else 1
        self.row_shape = shape[1:]
        self.row_size = math.prod(self.row_shape)

    def read(self, start: int, stop: int) -> np.ndarray:
        """Flat elements ``[start, stop)``."""
        raise NotImplementedError

    def read_rows(self, start: int, stop: int) -> np.ndarray:
        """Rows ``[start, stop)``, C-contiguous, of shape ``(stop - start, *row_shape)``."""
        flat = self.read(start * self.row_size, stop * self.row_size)
        return flat.reshape((stop - start, *self.row_shape))

    def finish(self) -> None:
        """Checks that need every element read (a zip member's CRC-32)."""

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


class FileSource(ArraySource):
    """An uncompressed array payload at ``offset`` in a regular file, read with ``pread``.

    Reads, not a memory map: a file that shrinks while it is read gives a short read (a
    :class:`~losscore.errors.DataError`), never a ``SIGBUS``. ``crc`` (a zip member's CRC-32,
    with the CRC of the bytes before the payload) is checked once every byte was read in order.
    """

    def __init__(
        self,
        fh: IO[bytes],
        offset: int,
        shape: tuple[int, ...],
        dtype: np.dtype,
        name: str,
        where: str,
        crc: tuple[int, int] | None = None,
    ) -> None:
        super().__init__(shape, dtype, name)
        self._fh = fh
        self._offset = offset
        self._where = where
        self._crc = crc
        self._running = crc[1] if crc is not None else 0
        self._pos = 0

    def read(self, start: int, stop: int) -> np.ndarray:
        out = np.empty(stop - start, dtype=self.dtype)
        view = out.data.cast("B")
        at = self._offset + start * self.dtype.itemsize
        got = 0
        while got < len(view):
            try:
                n = self._read_at(view[got:], at + got)
            except OSError as exc:
                raise DataError(f"{self.name}: cannot read {self._where} ({exc})") from None
            if n == 0:
                raise DataError(
                    f"{self.name}: {self._where} is truncated: it ended at byte {at + got} "
                    f"while reading elements [{start}, {stop}) of shape {self.shape}"
                )
            got += n
        if self._crc is not None:
            if start == self._pos:
                self._running = zlib.crc32(view, self._running)
                self._pos = stop
            else:
                self._crc = None  # read out of order: the checksum cannot be followed
        return out

    def _read_at(self, into: memoryview, at: int) -> int:
        if hasattr(os, "preadv"):
            return os.preadv(self._fh.fileno(), [into], at)
        self._fh.seek(at)  # platforms without preadv (Windows)
        return self._fh.readinto(into) or 0  # type: ignore[attr-defined]

    def finish(self) -> None:
        if self._crc is not None and self._pos == self.size and self._running != self._crc[0]:
            raise DataError(f"{self.name}: {self._where} is corrupt (bad CRC-32)")

    def close(self) -> None:
        self._fh.close()


class StreamSource(ArraySource):
    """A compressed ``.npz`` member, decompressed sequentially."""

    def __init__(
        self, stream: IO[bytes], shape: tuple[int, ...], dtype: np.dtype, name: str, where: str
    ) -> None:
        super().__init__(shape, dtype, name)
        self._stream = stream
        self._where = where
        self._pos = 0

    def read(self, start: int, stop: int) -> np.ndarray:
        if start != self._pos:
            raise RuntimeError("compressed members are read in order")
        want = (stop - start) * self.dtype.itemsize
        with _corrupt(self.name, self._where):
            raw = self._stream.read(want)
        if len(raw) != want:
            raise DataError(f"{self.name}: {self._where} is truncated")
        self._pos = stop
        return np.frombuffer(raw, dtype=self.dtype)

    def finish(self) -> None:
        # Reading to the end makes zipfile check the CRC-32 and the end of the deflate stream.
        if self._pos == self.size:
            with _corrupt(self.name, self._where):
                extra = self._stream.read(1)
            if extra:
                raise DataError(f"{self.name}: {self._where} holds more data than its shape")

    def close(self) -> None:
        self._stream.close()


# What the standard library raises for a damaged file (zipfile, zlib, bz2, lzma, the .npy
# header parser): each becomes a DataError naming the file and the member.
_CORRUPTION = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
    EOFError,
    OSError,
    ValueError,
    SyntaxError,
    OverflowError,
    NotImplementedError,
    RuntimeError,
    tokenize.TokenError,
)


@contextmanager
def _corrupt(name: str, where: str) -> Iterator[None]:
    try:
        yield
    except LosscoreError:
        raise
    except _CORRUPTION as exc:
        # TokenError's str is its args tuple; its message is the first.
        token = isinstance(exc, tokenize.TokenError) and exc.args
        detail = str(exc.args[0] if token else exc) or type(exc).__name__
        raise DataError(f"{name}: {where} is not a readable array ({detail})") from None


def _header(fh: IO[bytes], name: str, where: str) -> tuple[tuple[int, ...], bool, np.dtype]:
    with _corrupt(name, where):
        version = np.lib.format.read_magic(fh)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fh)
        else:
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fh)
    if dtype.hasobject:
        raise DTypeError(f"{name}: {where}: object arrays are not supported")
    if any(d < 0 for d in shape):
        raise DataError(f"{name}: {where} declares a negative dimension in shape {shape}")
    return tuple(int(d) for d in shape), bool(fortran), dtype


def _check_payload(
    name: str, where: str, shape: tuple[int, ...], dtype: np.dtype, available: int
) -> None:
    """The declared shape must match the bytes there are (Python ints: no overflow)."""
    declared = math.prod(shape) * dtype.itemsize
    if declared != available:
        raise DataError(
            f"{name}: {where} declares shape {shape} of {dtype} ({declared} bytes) but holds "
            f"{available} bytes of data"
        )


def _open_regular(path: str, name: str) -> IO[bytes]:
    """``path`` opened for reading if it is a regular file: a FIFO is never opened (it would
    block), nor a device, socket or directory."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ParameterError(f"{name}: file not found: {path}") from None
    except OSError as exc:
        raise DataError(f"{name}: cannot read {path} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise DataError(f"{name}: {path} is a {_file_kind(mode)}, not a regular file")
    try:
        # O_NONBLOCK: should the path turn into a FIFO after the check, opening cannot block.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise DataError(f"{name}: cannot open {path} ({exc.strerror or exc})") from None
    fh = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        fh.close()
        raise DataError(f"{name}: {path} is not a regular file")
    return fh


def _file_kind(mode: int) -> str:
    kinds = [
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ]
    return next((kind for test, kind in kinds if test(mode)), "special file")


def _npy_file(path: str, name: str) -> ArraySource:
    fh = _open_regular(path, name)
    try:
        shape, fortran, dtype = _header(fh, name, path)
        if fortran and len(shape) > 1:
            raise ParameterError(f"{name}: Fortran-ordered arrays cannot be read in chunks")
        offset = fh.tell()
        _check_payload(name, path, shape, dtype, os.fstat(fh.fileno()).st_size - offset)
    except BaseException:
        fh.close()
        raise
    return FileSource(fh, offset, shape, dtype, name, path)


def _npz_member(path: str, key: str | None, name: str) -> ArraySource:
    fh = _open_regular(path, name)
    try:
        return _open_member(fh, path, key, name)
    except BaseException:
        fh.close()
        raise


def _open_member(fh: IO[bytes], path: str, key: str | None, name: str) -> ArraySource:
    with _corrupt(name, path):
        zf = zipfile.ZipFile(fh)
    members = [m[:-4] for m in zf.namelist() if m.endswith(".npy")]
    if key is None:
        if len(members) != 1:
            raise ParameterError(
                f"{name}: {path} holds {len(members)} arrays {members}; choose one as {path}:KEY"
            )
        key = members[0]
    if key not in members:
        raise ParameterError(f"{name}: {path} has no array {key!r} (it has {members})")
    where = f"{path} member {key!r}"
    info = zf.getinfo(key + ".npy")
    if info.flag_bits & 0x1:
        raise DataError(f"{name}: {where} is encrypted")
    if info.compress_type != zipfile.ZIP_STORED:
        with _corrupt(name, where):
            stream = zf.open(info)
        try:
            shape, fortran, dtype = _header(stream, name, where)
            if fortran and len(shape) > 1:
                raise ParameterError(f"{name}: Fortran-ordered arrays cannot be read in chunks")
            _check_payload(name, where, shape, dtype, info.file_size - stream.tell())
        except BaseException:
            stream.close()
            raise
        # The stream reads through the archive's handle; closing it leaves that handle open.
        return _Owning(StreamSource(stream, shape, dtype, name, where), fh)
    # Stored uncompressed: read the bytes right inside the archive.
    with _corrupt(name, where):
        fh.seek(info.header_offset)
        local = fh.read(30)
        if len(local) != 30 or local[:4] != b"PK\x03\x04":
            raise DataError(f"{name}: {where} has a bad local file header")
        name_len, extra_len = struct.unpack("<HH", local[26:30])
        start = info.header_offset + 30 + name_len + extra_len
        fh.seek(start)
        shape, fortran, dtype = _header(fh, name, where)
        offset = fh.tell()
        fh.seek(start)
        prefix = fh.read(offset - start)
    if fortran and len(shape) > 1:
        raise ParameterError(f"{name}: Fortran-ordered arrays cannot be read in chunks")
    if info.compress_size != info.file_size:
        raise DataError(f"{name}: {where} is corrupt (stored sizes disagree)")
    _check_payload(name, where, shape, dtype, info.file_size - (offset - start))
    end = start + info.file_size
    if os.fstat(fh.fileno()).st_size < end:
        raise DataError(f"{name}: {where} is truncated")
    return FileSource(fh, offset, shape, dtype, name, where, crc=(info.CRC, zlib.crc32(prefix)))


class _Owning(ArraySource):
    """A source that also closes the file handle under it."""

    def __init__(self, inner: ArraySource, fh: IO[bytes]) -> None:
        super().__init__(inner.shape, inner.dtype, inner.name)
        self._inner = inner
        self._fh = fh

    def read(self, start: int, stop: int) -> np.ndarray:
        return self._inner.read(start, stop)

    def finish(self) -> None:
        self._inner.finish()

    def close(self) -> None:
        try:
            self._inner.close()
        finally:
            self._fh.close()


def _zarr_array(path: str, key: str | None, name: str) -> ArraySource:
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ParameterError(f"{name}: file not found: {path}") from None
    if not (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
        raise DataError(f"{name}: {path} is a {_file_kind(mode)}, not a zarr store")
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
        if text.rstrip("/").endswith(".zarr"):
            return _zarr_array(text, key, name)
        if text.endswith(".npz"):
            return _npz_member(text, key, name)
        return _npy_file(text, name)
    if _is_lazy_array(spec):
        return SlicedSource(spec, name)
    return MemorySource(np.asarray(spec), name)
