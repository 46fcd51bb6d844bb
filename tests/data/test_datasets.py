"""Datasets: the embedded digits, the four on-disk formats (written here in miniature), clear errors."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from scipy.io import savemat

from nasaudit.data import load_dataset
from nasaudit.errors import DataError


def test_embedded_digits_are_real_images_with_fixed_test_split():
    a = load_dataset("embedded", val_fraction=0.2, seed=0)
    b = load_dataset("embedded", val_fraction=0.2, seed=0)
    c = load_dataset("embedded", val_fraction=0.2, seed=1)
    assert (a.num_classes, a.in_channels, a.image_size) == (10, 1, 8)
    assert len(a.train) + len(a.val) + len(a.test) == 1797  # scikit-learn's digits
    assert len(a.val) == round(0.2 * (1797 - len(a.test)))
    assert a.train.x.dtype == torch.uint8 and a.train.y.dtype == torch.int64
    assert int(a.train.x.max()) == 255 and set(a.train.y.unique().tolist()) == set(range(10))
    assert torch.equal(a.train.x, b.train.x) and torch.equal(a.val.y, b.val.y)  # same seed, same split
    assert not torch.equal(a.val.x, c.val.x)  # another seed, another validation split
    assert torch.equal(a.test.x, c.test.x)  # the test split does not depend on the seed
    flat = a.train.x.double() / 255
    assert a.mean[0] == pytest.approx(float(flat.mean())) and a.std[0] == pytest.approx(float(flat.std()), rel=1e-3)


def _write_pickle(path: Path, entry: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(entry))


def _images(n: int, size: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, size=(n, 3 * size * size), dtype=np.uint8)


def test_cifar10_python_pickles(tmp_path):
    rng = np.random.default_rng(0)
    folder = tmp_path / "cifar-10-batches-py"
    first = _images(4, 32, rng)
    for i in range(1, 6):
        data = first if i == 1 else _images(4, 32, rng)
        _write_pickle(folder / f"data_batch_{i}", {b"data": data, b"labels": [i % 10] * 4})
    _write_pickle(folder / "test_batch", {b"data": _images(3, 32, rng), b"labels": [7, 8, 9]})
    for root in (tmp_path, folder):  # the parent folder or the dataset folder itself
        splits = load_dataset("cifar10", root, val_fraction=0.0, seed=0)
        assert (len(splits.train), len(splits.test), splits.num_classes, splits.image_size) == (20, 3, 10, 32)
        assert splits.test.y.tolist() == [7, 8, 9]
        assert np.array_equal(splits.train.x[0].numpy().ravel(), first[0])  # channel-major rows


def test_cifar100_uses_fine_labels(tmp_path):
    rng = np.random.default_rng(1)
    folder = tmp_path / "cifar-100-python"
    _write_pickle(folder / "train", {"data": _images(5, 32, rng), "fine_labels": [0, 99, 5, 5, 1],
                                     "coarse_labels": [0] * 5})
    _write_pickle(folder / "test", {"data": _images(2, 32, rng), "fine_labels": [3, 98], "coarse_labels": [0, 0]})
    splits = load_dataset("cifar100", tmp_path, val_fraction=0.4, seed=3)
    assert (len(splits.train), len(splits.val), splits.num_classes) == (3, 2, 100)
    assert splits.test.y.tolist() == [3, 98]


def test_imagenet16_120_keeps_the_first_120_classes(tmp_path):
    rng = np.random.default_rng(2)
    folder = tmp_path / "ImageNet16"
    for i in range(1, 11):
        _write_pickle(folder / f"train_data_batch_{i}", {"data": _images(3, 16, rng), "labels": [1, 120, 121]})
    _write_pickle(folder / "val_data", {"data": _images(3, 16, rng), "labels": [500, 2, 120]})
    splits = load_dataset("imagenet16-120", tmp_path, val_fraction=0.0, seed=0)
    assert (len(splits.train), splits.num_classes, splits.image_size) == (20, 120, 16)
    assert set(splits.train.y.tolist()) == {0, 119}
    assert splits.test.y.tolist() == [1, 119]


def test_svhn_mat_files_map_label_10_to_digit_0(tmp_path):
    rng = np.random.default_rng(3)
    for name, labels in (("train", [10, 1, 2, 3]), ("test", [10, 9])):
        x = rng.integers(0, 256, size=(32, 32, 3, len(labels)), dtype=np.uint8)
        savemat(tmp_path / f"{name}_32x32.mat", {"X": x, "y": np.array(labels)[:, None]})
    splits = load_dataset("svhn", tmp_path, val_fraction=0.25, seed=0)
    assert splits.test.y.tolist() == [0, 9]
    assert (len(splits.train), len(splits.val), splits.in_channels) == (3, 1, 3)


@pytest.mark.parametrize(("name", "layout"), [
    ("cifar10", "data_batch_1"), ("cifar100", "fine_labels"), ("imagenet16-120", "train_data_batch_1"),
    ("svhn", "train_32x32.mat"),
])
def test_missing_files_name_the_expected_layout(tmp_path, name, layout):
    with pytest.raises(DataError, match=layout):
        load_dataset(name, tmp_path, val_fraction=0.1, seed=0)


def test_corrupt_and_missing_inputs_are_clear_errors(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        (folder / f"data_batch_{i}").write_bytes(b"not a pickle")
    with pytest.raises(DataError, match=r"cannot read .*data_batch_1.*expected cifar-10-batches-py"):
        load_dataset("cifar10", tmp_path, val_fraction=0.1, seed=0)
    (tmp_path / "train_32x32.mat").write_bytes(b"garbage")
    with pytest.raises(DataError, match=r"cannot read .*train_32x32\.mat"):
        load_dataset("svhn", tmp_path, val_fraction=0.1, seed=0)
    with pytest.raises(DataError, match="needs a data root"):
        load_dataset("cifar10", None, val_fraction=0.1, seed=0)
    with pytest.raises(DataError, match="unknown dataset 'mnist'"):
        load_dataset("mnist", tmp_path, val_fraction=0.1, seed=0)
    with pytest.raises(DataError, match="val_fraction"):
        load_dataset("embedded", val_fraction=1.0, seed=0)
