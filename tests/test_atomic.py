"""``atomic_write`` / ``atomic_open``: all or nothing, one-line ``DataError`` on failure (issue R2 2/7, item 7)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nasaudit._atomic import atomic_open, atomic_table, atomic_write
from nasaudit.errors import DataError


def test_writes_text_and_bytes_with_normal_permissions(tmp_path: Path) -> None:
    text = atomic_write(tmp_path / "a" / "b.csv", "x,y\n1,2\n")
    assert text.read_text() == "x,y\n1,2\n"
    assert atomic_write(tmp_path / "c.bin", b"\x00\x01").read_bytes() == b"\x00\x01"
    umask = os.umask(0)
    os.umask(umask)
    assert text.stat().st_mode & 0o777 == 0o666 & ~umask
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["b.csv"]


def test_failure_in_the_body_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    target = atomic_write(tmp_path / "r.json", "old")
    with pytest.raises(RuntimeError), atomic_open(target) as handle:
        handle.write("half")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_disk_full_is_a_one_line_data_error(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")
    target = tmp_path / "big.csv"
    with pytest.raises(DataError, match=r"cannot write .*big\.csv"), atomic_open(target, "wb") as handle:
        handle.write(b"x" * 100)
        full = os.open("/dev/full", os.O_WRONLY)
        os.dup2(full, handle.fileno())  # the disk fills up under the writer
        os.close(full)
    assert list(tmp_path.iterdir()) == []


def test_parent_that_is_a_file_is_a_data_error(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("")
    with pytest.raises(DataError, match=r"cannot write .*f/x\.png"):
        atomic_write(tmp_path / "f" / "x.png", b"")


@pytest.mark.parametrize("name", ["t.csv", "t.parquet"])
def test_table_is_written_whole_or_not_at_all(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    import pandas as pd

    frame = pd.DataFrame({"arch": ["a", "b"], "acc": [1.5, 2.0]})
    target = atomic_table(frame, tmp_path / name)
    read = pd.read_csv if name.endswith(".csv") else pd.read_parquet
    pd.testing.assert_frame_equal(read(target), frame)
    old = target.read_bytes()

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)  # the disk fills up before the data reaches it
    with pytest.raises(DataError, match=rf"cannot write .*{name}: No space left on device"):
        atomic_table(frame.assign(acc=[3.0, 4.0]), target)
    assert target.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == [name]
