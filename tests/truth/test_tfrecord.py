"""TFRecord framing: CRC32C test vectors, round trips, and corruption reported with record index and offset."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nasaudit.errors import DataError
from nasaudit.truth.tfrecord import (
    TFRecordWriter,
    crc32c,
    crc32c_many,
    iter_framed,
    iter_records,
    mask_crc,
    write_records,
)

#: RFC 3720 App. B.4 and the common "123456789" check value of CRC-32C
VECTORS = [
    (bytes(32), 0x8A9136AA),
    (b"\xff" * 32, 0x62A8AB43),
    (bytes(range(32)), 0x46DD794E),
    (bytes(range(31, -1, -1)), 0x113FDB5C),
    (b"123456789", 0xE3069283),
]


@pytest.mark.parametrize(("data", "expected"), VECTORS)
def test_crc32c_matches_published_vectors(data: bytes, expected: int) -> None:
    assert crc32c(data) == expected


def test_vectorised_crc_equals_reference_on_ragged_slices() -> None:
    rng = np.random.default_rng(0)
    pieces = [rng.integers(0, 256, size=n, dtype=np.uint8).tobytes() for n in rng.integers(0, 300, size=60)]
    pieces += [data for data, _ in VECTORS] + [b""]
    lengths = np.array([len(p) for p in pieces])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    got = crc32c_many(b"".join(pieces), starts, lengths)
    assert got.tolist() == [crc32c(p) for p in pieces]


def test_mask_is_the_tensorflow_rotation() -> None:
    crc = 0x12345678
    rotated = ((crc >> 15) | (crc << 17)) % 2**32
    assert mask_crc(crc) == (rotated + 0xA282EAD8) % 2**32


def _payloads(n: int, seed: int = 1) -> list[bytes]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, size=int(k), dtype=np.uint8).tobytes() for k in rng.integers(0, 500, size=n)]


def test_round_trip_across_chunk_boundaries(tmp_path: Path) -> None:
    payloads = _payloads(200)
    path = tmp_path / "x.tfrecord"
    assert write_records(path, payloads) == 200
    assert path.stat().st_size == sum(len(p) + 16 for p in payloads)
    for chunk in (7, 100, 1 << 20):
        assert list(iter_records(path, chunk_bytes=chunk)) == payloads
    offsets = [offset for _, offset, _ in iter_framed(path)]
    assert offsets == np.concatenate([[0], np.cumsum([len(p) + 16 for p in payloads])[:-1]]).tolist()


def test_frame_layout_is_the_tfrecord_one(tmp_path: Path) -> None:
    path = tmp_path / "one.tfrecord"
    write_records(path, [b"123456789"])
    raw = path.read_bytes()
    assert raw[:8] == (9).to_bytes(8, "little")
    assert int.from_bytes(raw[8:12], "little") == mask_crc(crc32c(raw[:8]))
    assert raw[12:21] == b"123456789"
    assert int.from_bytes(raw[21:25], "little") == mask_crc(0xE3069283)


def _corrupt(path: Path, position: int) -> None:
    raw = bytearray(path.read_bytes())
    raw[position] ^= 0x01
    path.write_bytes(bytes(raw))


def test_corrupt_payload_names_record_and_offset(tmp_path: Path) -> None:
    payloads = [b"a" * 10, b"b" * 20, b"c" * 30]
    path = tmp_path / "x.tfrecord"
    write_records(path, payloads)
    _corrupt(path, 26 + 12 + 5)  # inside the payload of record 1, which starts at byte 26
    with pytest.raises(DataError, match=r"record 1 at byte offset 26: the CRC of its payload"):
        list(iter_records(path))


def test_corrupt_length_names_record_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "x.tfrecord"
    write_records(path, [b"a" * 10, b"b" * 20, b"c" * 30])
    _corrupt(path, 26 + 36 + 1)  # the length field of record 2
    with pytest.raises(DataError, match=r"record 2 at byte offset 62: the CRC of its length"):
        list(iter_records(path, chunk_bytes=16))


def test_truncated_file_names_record_and_offset(tmp_path: Path) -> None:
    path = tmp_path / "x.tfrecord"
    write_records(path, [b"a" * 10, b"b" * 20])
    path.write_bytes(path.read_bytes()[:-3])
    with pytest.raises(DataError, match=r"truncated record 1 at byte offset 26"):
        list(iter_records(path))


def test_writer_leaves_nothing_on_error(tmp_path: Path) -> None:
    path = tmp_path / "x.tfrecord"
    with pytest.raises(RuntimeError), TFRecordWriter(path) as writer:
        writer.write(b"abc")
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []


def test_corrupt_length_that_still_fits_is_caught_in_batch(tmp_path: Path) -> None:
    path = tmp_path / "x.tfrecord"
    write_records(path, [b"a" * 10, b"b" * 20, b"c" * 30])
    _corrupt(path, 0)  # length 10 -> 11: the frame still fits in the file
    with pytest.raises(DataError, match=r"record 0 at byte offset 0: the CRC of its length field"):
        list(iter_records(path))
