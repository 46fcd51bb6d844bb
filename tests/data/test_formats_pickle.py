"""The CIFAR "python" pickle reader admits only numpy arrays and plain containers (issue R2 2/7, item 1)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from nasaudit.data.formats import CIFAR10_LAYOUT, _unpickle
from nasaudit.errors import DataError


class _RunsCode:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_real_layout_batch_reads_back_with_every_protocol(tmp_path: Path, protocol: int) -> None:
    rng = np.random.default_rng(0)
    entry = {b"batch_label": b"training batch 1 of 5", b"labels": [3, 1, 4],
             b"data": rng.integers(0, 256, size=(3, 3072), dtype=np.uint8), b"filenames": [b"a.png", b"b.png", b"c.png"]}
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(entry, protocol=protocol))
    back = _unpickle(path, CIFAR10_LAYOUT)
    assert set(back) == {"batch_label", "labels", "data", "filenames"}
    assert np.array_equal(back["data"], entry[b"data"]) and back["labels"] == [3, 1, 4]


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_crafted_pickle_does_not_run_code(tmp_path: Path, protocol: int) -> None:
    marker = tmp_path / "ran"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": _RunsCode(marker), b"labels": []}, protocol=protocol))
    with pytest.raises(DataError, match=r"refusing to load global (posix|os)\.system") as info:
        _unpickle(path, CIFAR10_LAYOUT)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_other_numpy_globals_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "test_batch"
    path.write_bytes(b"cnumpy\nload\n(S'x'\ntR.")  # protocol 0: numpy.load('x')
    with pytest.raises(DataError, match=r"numpy\.load"):
        _unpickle(path, CIFAR10_LAYOUT)
