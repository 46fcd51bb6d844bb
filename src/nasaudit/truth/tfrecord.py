"""TFRecord framing without TensorFlow: a streaming reader and an atomic writer.

NAS-Bench-101 ships its results as a TFRecord file (Ying et al., 2019; the benchmark of the search-phase
paper, Sec. 3.2). Each record is ``uint64 length`` (little-endian), ``uint32 masked CRC32C(length bytes)``,
the payload, ``uint32 masked CRC32C(payload)``; the mask is ``((crc >> 15) | (crc << 17)) + 0xa282ead8``
modulo 2^32. CRC32C is the Castagnoli polynomial (RFC 3720, reflected 0x82F63B78). Checksums of a whole
read chunk are computed together, vectorised across records with numpy, so no compiled dependency is needed.
"""

from __future__ import annotations

import contextlib
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np

from nasaudit._atomic import atomic_open
from nasaudit.errors import DataError

_POLY = 0x82F63B78
_MASK_DELTA = 0xA282EAD8
_U32 = 0xFFFFFFFF
_HEADER = 12  # uint64 length + uint32 masked CRC of the length
_FOOTER = 4  # uint32 masked CRC of the payload
_LENGTH = struct.Struct("<Q")
_CRC = struct.Struct("<I")
CHUNK_BYTES = 8 << 20


def _make_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ _POLY if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_TABLE = _make_table()
_TABLE_NP = np.array(_TABLE, dtype=np.uint32)
#: slicing-by-4 tables: ``_SLICE[k][b]`` is the CRC register contribution of byte ``b`` followed by ``k`` zero bytes
_SLICE = [_TABLE_NP]
for _ in range(3):
    _SLICE.append(_TABLE_NP[_SLICE[-1] & 0xFF] ^ (_SLICE[-1] >> 8))


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """CRC32C (Castagnoli, RFC 3720 B.4) of ``data``, one byte at a time (the reference implementation)."""
    crc = _U32
    table = _TABLE
    for byte in bytes(data):
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ _U32


def mask_crc(crc: int) -> int:
    """TFRecord's masked CRC: rotate right by 15 bits and add 0xa282ead8 (mod 2^32)."""
    return ((((crc >> 15) | (crc << 17)) & _U32) + _MASK_DELTA) & _U32


def crc32c_many(buffer: bytes | bytearray | memoryview | np.ndarray, starts: np.ndarray,
                lengths: np.ndarray) -> np.ndarray:
    """CRC32C of many slices ``buffer[start:start + length]`` at once (uint32 array, input order).

    Slices are sorted by length, longest first, so step ``k`` updates exactly the slices still longer
    than the bytes consumed (a prefix). Whole 4-byte words go through the slicing-by-4 tables, the last
    ``length % 4`` bytes one at a time: about a quarter of a vectorised step per byte of the longest slice.
    """
    data = np.frombuffer(buffer, dtype=np.uint8) if not isinstance(buffer, np.ndarray) else buffer
    starts = np.asarray(starts, dtype=np.int64)
    lengths = np.asarray(lengths, dtype=np.int64)
    order = np.argsort(-lengths, kind="stable")
    begin, size = starts[order], lengths[order]
    state = np.full(len(order), _U32, dtype=np.uint32)
    words = size // 4
    if len(order) and words[0]:
        # little-endian uint32 at every byte offset (overlapping, a view of the same memory)
        at = np.ndarray(shape=(len(data) - 3,), dtype="<u4", buffer=data, strides=(1,))
        t0, t1, t2, t3 = _SLICE[3], _SLICE[2], _SLICE[1], _SLICE[0]
        active = len(order)
        for step in range(int(words[0])):
            while words[active - 1] <= step:
                active -= 1
            mixed = state[:active] ^ at[begin[:active] + 4 * step]
            state[:active] = t0[mixed & 0xFF] ^ t1[(mixed >> 8) & 0xFF] ^ t2[(mixed >> 16) & 0xFF] ^ t3[mixed >> 24]
    tail = size - 4 * words
    for step in range(int(tail.max()) if len(order) else 0):
        rows = np.flatnonzero(tail > step)
        current = state[rows]
        byte = data[begin[rows] + 4 * words[rows] + step]
        state[rows] = _TABLE_NP[(current ^ byte) & 0xFF] ^ (current >> 8)
    out = np.empty_like(state)
    out[order] = state ^ np.uint32(_U32)
    return out


def _mask_many(crcs: np.ndarray) -> np.ndarray:
    crcs = crcs.astype(np.uint64)
    rotated = ((crcs >> np.uint64(15)) | (crcs << np.uint64(17))) & np.uint64(_U32)
    return ((rotated + np.uint64(_MASK_DELTA)) & np.uint64(_U32)).astype(np.uint32)


def iter_framed(path: str | Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[tuple[int, int, bytes]]:
    """``(record index, byte offset, payload)`` of every record of a TFRecord file, streamed.

    Memory is about one read chunk plus the longest record. A length or payload whose CRC does not match,
    or a file that ends inside a record, raises ``DataError`` naming the record index and byte offset.
    """
    location = Path(path)
    if not location.is_file():
        raise DataError(f"TFRecord file not found: {location}")
    index, base = 0, 0  # index of the next record; file offset of ``pending[0]``
    pending = b""
    with location.open("rb") as stream:
        while True:
            chunk = stream.read(chunk_bytes)
            pending = pending + chunk if pending else chunk
            spans, used, error = _complete_records(pending, index, base, location)
            if spans:
                yield from _verified(pending, spans, index, base, location)
                index += len(spans)
            if error is not None:
                raise error
            pending, base = pending[used:], base + used
            if not chunk:
                break
    if pending:
        need = _HEADER if len(pending) < _HEADER else _HEADER + _LENGTH.unpack_from(pending)[0] + _FOOTER
        raise DataError(f"{location}: truncated record {index} at byte offset {base}: it needs {need} bytes, "
                        f"the file has {len(pending)} left")


def iter_records(path: str | Path, chunk_bytes: int = CHUNK_BYTES) -> Iterator[bytes]:
    """The payload of every record of a TFRecord file, streamed and checksum-verified."""
    for _, _, payload in iter_framed(path, chunk_bytes):
        yield payload


def _complete_records(buffer: bytes, index: int, base: int,
                      location: Path) -> tuple[list[tuple[int, int]], int, DataError | None]:
    """``(payload start, length)`` of each complete record in ``buffer``, the bytes they span, and the error
    of a first incomplete record whose length CRC fails (raised once the complete ones are verified, so
    the earliest corrupt record is the one reported, and a corrupt length is not taken for truncation).
    The length fields of complete records are checked in batch by ``_verified``."""
    spans: list[tuple[int, int]] = []
    position = 0
    while len(buffer) - position >= _HEADER:
        (length,) = _LENGTH.unpack_from(buffer, position)
        end = position + _HEADER + length + _FOOTER
        if end > len(buffer):
            if mask_crc(crc32c(buffer[position:position + 8])) != _CRC.unpack_from(buffer, position + 8)[0]:
                return spans, position, DataError(
                    f"{location}: record {index + len(spans)} at byte offset {base + position}: the CRC of its "
                    "length field does not match (corrupt file)")
            break
        spans.append((position + _HEADER, length))
        position = end
    return spans, position, None


def _verified(buffer: bytes, spans: list[tuple[int, int]], index: int, base: int,
              location: Path) -> Iterator[tuple[int, int, bytes]]:
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    lengths = np.array([n for _, n in spans], dtype=np.int64)
    data = np.frombuffer(buffer, dtype=np.uint8)
    header_bad = _mask_many(crc32c_many(data, starts - _HEADER, np.full(len(spans), 8))) != _stored(data, starts - 4)
    payload_bad = _mask_many(crc32c_many(data, starts, lengths)) != _stored(data, starts + lengths)
    bad = np.flatnonzero(header_bad | payload_bad)
    if bad.size:
        first = int(bad[0])
        part = "length field" if header_bad[first] else "payload"
        raise DataError(f"{location}: record {index + first} at byte offset {base + int(starts[first]) - _HEADER}: "
                        f"the CRC of its {part} does not match (corrupt file)")
    view = memoryview(buffer)
    for k, (start, length) in enumerate(spans):
        yield index + k, base + start - _HEADER, bytes(view[start:start + length])


def _stored(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """The little-endian uint32 stored at each offset."""
    b = data[offsets[:, None] + np.arange(4)].astype(np.uint32)
    return b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16) | (b[:, 3] << 24)


class TFRecordWriter:
    """Write TFRecord framing to ``path`` atomically (``nasaudit._atomic``): records go to a temporary file
    beside it, which replaces ``path`` only when the writer closes without an error. Checksums are computed
    per batch of ``batch`` records."""

    def __init__(self, path: str | Path, batch: int = 4096) -> None:
        self.path = Path(path)
        self._stack = contextlib.ExitStack()
        self._stream: IO[bytes] = self._stack.enter_context(atomic_open(self.path, "wb"))
        self._batch = batch
        self._pending: list[bytes] = []
        self.count = 0

    def write(self, payload: bytes) -> None:
        """Queue one record; it reaches the file with its batch."""
        self._pending.append(bytes(payload))
        if len(self._pending) >= self._batch:
            self.flush()

    def flush(self) -> None:
        """Frame and write the queued records."""
        if not self._pending:
            return
        lengths = np.array([len(p) for p in self._pending], dtype=np.int64)
        headers = lengths.astype("<u8").tobytes()
        header_crcs = _mask_many(crc32c_many(headers, np.arange(len(lengths)) * 8, np.full(len(lengths), 8)))
        payload = b"".join(self._pending)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
        payload_crcs = _mask_many(crc32c_many(payload, starts, lengths))
        for k, record in enumerate(self._pending):
            self._stream.write(headers[8 * k:8 * k + 8])
            self._stream.write(_CRC.pack(int(header_crcs[k])))
            self._stream.write(record)
            self._stream.write(_CRC.pack(int(payload_crcs[k])))
        self.count += len(self._pending)
        self._pending = []

    def close(self) -> None:
        """Write what is queued and move the finished file into place."""
        self.flush()
        self._stack.close()

    def abort(self) -> None:
        """Drop the partial file; ``path`` is left as it was."""
        error = DataError(f"writing {self.path} was aborted")
        self._stack.__exit__(DataError, error, None)

    def __enter__(self) -> TFRecordWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


def write_records(path: str | Path, payloads: Iterable[bytes]) -> int:
    """Write every payload as one TFRecord record (atomically); returns the number of records."""
    with TFRecordWriter(path) as writer:
        for payload in payloads:
            writer.write(payload)
    return writer.count
