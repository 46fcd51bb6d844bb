"""Benchmark tables that are malformed, truncated or garbage compress to one-line ``DataError`` (issue R2 2/7,
items 7 and 8): no silent misread, no traceback."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from nasaudit.errors import DataError
from nasaudit.spaces import NB201Space
from nasaudit.truth.tabular import TabularBenchmark, table_header

COMPRESS: dict[str, Callable[[bytes], bytes]] = {".csv": lambda b: b, ".csv.gz": lambda b: gzip.compress(b, mtime=0),
                                                 ".csv.bz2": bz2.compress, ".csv.xz": lzma.compress}


def _zip(data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("table.csv", data)
    return out.getvalue()


COMPRESS[".csv.zip"] = _zip


def _table(n: int = 20) -> str:
    archs = NB201Space().sample_many(n, seed=0)
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"arch": [str(a) for a in archs], "acc": rng.uniform(10, 90, n).round(3),
                          "loss": rng.uniform(0, 2, n).round(3), "note": [f"cell-{i}" for i in range(n)]})
    return frame.to_csv(index=False)


def _load(path: Path) -> TabularBenchmark:
    return TabularBenchmark.from_file(path, arch_column="arch")


def _one_line(path: Path, match: str) -> None:
    with pytest.raises(DataError, match=match) as info:
        _load(path)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("suffix", list(COMPRESS))
def test_every_compression_reads_the_same_table(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    path.write_bytes(COMPRESS[suffix](_table().encode()))
    bench = _load(path)
    assert bench.metrics == ["acc", "loss"] and len(bench) == 20
    assert table_header(path) == ["arch", "acc", "loss", "note"]


@pytest.mark.parametrize("suffix", [s for s in COMPRESS if s != ".csv"])
@pytest.mark.parametrize("damage", ["truncated", "garbage", "flipped"])
def test_damaged_compressed_tables_are_one_line_errors(tmp_path: Path, suffix: str, damage: str) -> None:
    packed = COMPRESS[suffix](_table(200).encode())
    rng = np.random.default_rng(len(suffix))
    data = {"truncated": packed[: len(packed) // 2],
            "garbage": rng.integers(0, 256, size=400, dtype=np.uint8).tobytes(),
            "flipped": packed[:40] + bytes(255 - b for b in packed[40:80]) + packed[80:]}[damage]
    path = tmp_path / f"t{suffix}"
    path.write_bytes(data)
    _one_line(path, "cannot read benchmark table|corrupt|truncated|non-numeric|bad architecture|lacks")
    if damage == "garbage":
        with pytest.raises(DataError, match="not a readable CSV table"):
            table_header(path)


def test_one_bad_value_names_the_cell_instead_of_dropping_the_column(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    lines = _table().splitlines()
    fields = lines[7].split(",")
    fields[2] = "n/a?"
    lines[7] = ",".join(fields)
    path.write_text("\n".join(lines) + "\n")
    _one_line(path, r"non-numeric value\(s\) in metric column 'loss', first at data row 7 \('n/a\?'\)")


@pytest.mark.parametrize("row", [1, 9])
def test_a_row_with_an_extra_field_names_its_line(tmp_path: Path, row: int) -> None:
    lines = _table().splitlines()
    lines[row] += ",42"
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    _one_line(path, f"line {row + 1}")


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_duplicate_headers_are_an_error(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"t{suffix}"
    text = _table().replace("arch,acc,loss,note", "arch,acc,acc,note", 1)
    if suffix == ".csv":
        path.write_text(text)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        frame = pd.read_csv(io.StringIO(_table()))
        pq.write_table(pa.Table.from_arrays([pa.array(frame[c]) for c in frame.columns],
                                            names=["arch", "acc", "acc", "note"]), path)
    _one_line(path, r"column 'acc' appears twice in the header \(columns 2 and 3\)")
    with pytest.raises(DataError, match="appears twice"):
        table_header(path)


def test_zip_with_two_members_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.csv.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", _table())
        archive.writestr("b.csv", _table())
    _one_line(path, "exactly one file")


def test_random_byte_mutations_only_raise_data_error(tmp_path: Path) -> None:
    valid = _table(12).encode()
    rng = np.random.default_rng(0)
    alphabet = np.frombuffer(b",\n\r\"'|~+0123456789.-e \x00\xff", dtype=np.uint8)
    loaded = 0
    for i in range(150):
        data = bytearray(valid)
        for _ in range(int(rng.integers(1, 4))):
            pos = int(rng.integers(0, len(data)))
            if rng.random() < 0.5:
                data[pos] = int(rng.choice(alphabet))
            else:
                data.insert(pos, int(rng.choice(alphabet)))
        suffix = list(COMPRESS)[i % len(COMPRESS)]
        path = tmp_path / f"m{i}{suffix}"
        path.write_bytes(COMPRESS[suffix](bytes(data)))
        try:
            bench = _load(path)
        except DataError as err:
            assert "\n" not in str(err)
            continue
        loaded += 1
        assert len(bench) == 12 and {"acc", "loss"} <= set(bench.metrics)
    assert loaded > 0
