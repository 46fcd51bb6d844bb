"""Fashion-MNIST: the strict idx reader, the shipped stratified subset, shrinking, dataset registration."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from nasaudit.data import DATASET_NAMES, load_dataset
from nasaudit.data.fashion import (
    FASHION_FILES,
    fashion_subset,
    read_fashion,
    read_fashion_embedded,
    read_idx,
    shrink,
    stratified_indices,
)
from nasaudit.data.formats import RawDataset
from nasaudit.errors import DataError
from nasaudit.jobs.provenance import file_sha256
from nasaudit.resources import fashion_subset_path

DEBIAN_FASHION = Path("/usr/share/datasets/fashion-mnist")


def _idx(array: np.ndarray, magic: int | None = None) -> bytes:
    code = magic if magic is not None else 0x800 + array.ndim
    header = code.to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _write_fashion(folder: Path, raw: RawDataset, gz: bool) -> None:
    arrays = {"train_x": raw.train_x[:, 0], "train_y": raw.train_y, "test_x": raw.test_x[:, 0], "test_y": raw.test_y}
    for key, name in FASHION_FILES.items():
        data = _idx(arrays[key])
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)


def _toy(n_train: int = 40, n_test: int = 20, seed: int = 0) -> RawDataset:
    rng = np.random.default_rng(seed)
    return RawDataset(rng.integers(0, 256, (n_train, 1, 28, 28), dtype=np.uint8), np.arange(n_train) % 10,
                      rng.integers(0, 256, (n_test, 1, 28, 28), dtype=np.uint8), np.arange(n_test) % 10, 10)


@pytest.mark.parametrize("gz", [False, True])
def test_read_fashion_round_trips_idx_files(tmp_path: Path, gz: bool) -> None:
    toy = _toy()
    _write_fashion(tmp_path, toy, gz)
    back = read_fashion(tmp_path)
    for a, b in zip(back[:4], toy[:4], strict=True):
        assert np.array_equal(a, b)
    splits = load_dataset("fashion", tmp_path, val_fraction=0.25, seed=0)
    assert len(splits.train) == 30 and len(splits.val) == 10 and len(splits.test) == 20
    assert load_dataset("fashion16", tmp_path, val_fraction=0.0, seed=0).image_size == 16


def test_read_idx_is_strict(tmp_path: Path) -> None:
    labels = np.arange(10, dtype=np.uint8)
    path = tmp_path / "labels"
    path.write_bytes(_idx(labels, magic=0x00000803))
    with pytest.raises(DataError, match="magic number 0x00000803, expected 0x00000801"):
        read_idx(path, 1)
    path.write_bytes(_idx(labels)[:-3])
    with pytest.raises(DataError, match="truncated"):
        read_idx(path, 1)
    path.write_bytes(b"\x00\x00")
    with pytest.raises(DataError, match="too short"):
        read_idx(path, 1)
    path.write_bytes(b"\x1f\x8b broken gzip")
    with pytest.raises(DataError, match="cannot read"):
        read_idx(path, 1)
    with pytest.raises(DataError, match="missing dataset file"):
        read_fashion(tmp_path / "nowhere")


def test_stratified_indices_are_seeded_and_balanced() -> None:
    labels = np.repeat(np.arange(5), 7)
    chosen = stratified_indices(labels, 3, seed=4)
    assert np.array_equal(chosen, stratified_indices(labels, 3, seed=4))
    assert np.array_equal(np.bincount(labels[chosen]), [3] * 5) and np.all(np.diff(chosen) > 0)
    with pytest.raises(DataError, match="only 7"):
        stratified_indices(labels, 8, seed=0)


def test_shrink_matches_a_pixel_loop() -> None:
    toy = _toy(3, 1)
    small = shrink(toy, 16).train_x
    padded = np.zeros((3, 1, 32, 32))
    padded[:, :, 2:30, 2:30] = toy.train_x
    for n in range(3):
        for i in range(16):
            for j in range(16):
                assert small[n, 0, i, j] == np.rint(padded[n, 0, 2 * i:2 * i + 2, 2 * j:2 * j + 2].mean())
    assert np.array_equal(shrink(toy, 28).train_x, toy.train_x)
    with pytest.raises(DataError):
        shrink(toy, 40)


def test_shipped_subset_is_stratified_and_recorded() -> None:
    raw = read_fashion_embedded()
    assert raw.train_x.dtype == np.uint8 and raw.train_x.shape[1:] == (1, 28, 28)
    train_counts, test_counts = np.bincount(raw.train_y), np.bincount(raw.test_y)
    assert len(set(train_counts)) == 1 and len(set(test_counts)) == 1 and len(train_counts) == 10
    path = fashion_subset_path()
    meta = json.loads(path.with_name(path.name + ".meta.json").read_text())
    assert meta["sha256"] == file_sha256(path)
    assert len(meta["train_indices"]) == len(raw.train_y) and len(meta["test_indices"]) == len(raw.test_y)
    assert "Zalando SE" in meta["licence_notice"]
    assert {"fashion", "fashion16", "fashion8"} <= set(DATASET_NAMES)
    splits = load_dataset("fashion16", val_fraction=0.1, seed=0)
    assert splits.image_size == 16 and splits.in_channels == 1 and splits.num_classes == 10


@pytest.mark.skipif(not DEBIAN_FASHION.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_shipped_subset_equals_the_official_images_at_its_indices() -> None:
    full = read_fashion(DEBIAN_FASHION)
    assert full.train_x.shape == (60_000, 1, 28, 28) and full.test_x.shape == (10_000, 1, 28, 28)
    meta = json.loads(fashion_subset_path().with_name(fashion_subset_path().name + ".meta.json").read_text())
    shipped = read_fashion_embedded()
    train, test = np.array(meta["train_indices"]), np.array(meta["test_indices"])
    assert np.array_equal(shipped.train_x, full.train_x[train]) and np.array_equal(shipped.test_y, full.test_y[test])
    selection = meta["selection"]
    again, _, _ = fashion_subset(full, selection["train_per_class"], selection["test_per_class"], selection["seed"])
    assert np.array_equal(again.test_x, shipped.test_x)
