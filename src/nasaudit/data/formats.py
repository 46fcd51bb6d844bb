"""Readers of the standard on-disk dataset formats; each returns uint8 (N, C, H, W) images and labels.

Every missing or unreadable file raises ``DataError`` naming the layout that was expected.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from nasaudit.errors import DataError


class RawDataset(NamedTuple):
    train_x: np.ndarray
    train_y: np.ndarray
    test_x: np.ndarray
    test_y: np.ndarray
    num_classes: int


CIFAR10_LAYOUT = ("cifar-10-batches-py/ with data_batch_1 ... data_batch_5 and test_batch (the python "
                  "version of CIFAR-10, pickled dicts with b'data' N x 3072 uint8 and b'labels')")
CIFAR100_LAYOUT = ("cifar-100-python/ with train and test (the python version of CIFAR-100, pickled dicts "
                   "with b'data' N x 3072 uint8 and b'fine_labels')")
IMAGENET16_LAYOUT = ("ImageNet16/ with train_data_batch_1 ... train_data_batch_10 and val_data (NB201's "
                     "ImageNet16 pickles: 'data' N x 768 uint8, 'labels' 1-based)")
SVHN_LAYOUT = "train_32x32.mat and test_32x32.mat (SVHN format 2: 'X' 32 x 32 x 3 x N uint8, 'y' N x 1, 10 = digit 0)"


def _folder(root: Path, name: str, layout: str) -> Path:
    """``root`` itself when it is the dataset folder ``name``, else ``root / name``."""
    for candidate in (root, root / name):
        if candidate.name == name and candidate.is_dir():
            return candidate
    raise DataError(f"dataset folder {name!r} not found at or under {root}; expected {layout}")


#: the only globals a CIFAR / ImageNet16 "python" pickle needs: numpy array reconstruction (numpy 1 and 2
#: module names, protocols 0-5), bytes from a protocol-2 Python 3 pickle, and plain builtin containers
_PICKLE_GLOBALS = frozenset({
    *((module, name) for module in ("numpy.core.multiarray", "numpy._core.multiarray") for name in ("_reconstruct",)),
    *((module, "_frombuffer") for module in ("numpy.core.numeric", "numpy._core.numeric")),
    ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    *((module, name) for module in ("builtins", "__builtin__")
      for name in ("bytes", "bytearray", "str", "list", "tuple", "dict", "set", "frozenset")),
})


class _DatasetUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the globals in ``_PICKLE_GLOBALS``, so a crafted file cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _PICKLE_GLOBALS:
            raise DataError(f"refusing to load global {module}.{name}")
        return super().find_class(module, name)


def _unpickle(path: Path, layout: str) -> dict[Any, Any]:
    """Read one pickled batch with the restricted ``_DatasetUnpickler`` (never an arbitrary global)."""
    if not path.is_file():
        raise DataError(f"missing dataset file {path}; expected {layout}")
    try:
        with path.open("rb") as handle:
            entry = _DatasetUnpickler(handle, encoding="latin1").load()
    except DataError as err:
        raise DataError(f"{path} is not a plain dataset pickle ({err}); expected {layout}") from None
    except Exception as err:  # any unpickling failure means a corrupt file
        raise DataError(f"cannot read {path} ({type(err).__name__}: {err}); expected {layout}") from None
    if not isinstance(entry, dict):
        raise DataError(f"{path} does not hold a pickled dict; expected {layout}")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in entry.items()}


def _images(entries: list[dict[Any, Any]], label_key: str, size: int, path: Path, layout: str
            ) -> tuple[np.ndarray, np.ndarray]:
    try:
        data = np.concatenate([np.asarray(e["data"], dtype=np.uint8) for e in entries])
        labels = np.concatenate([np.asarray(e[label_key], dtype=np.int64) for e in entries])
        images = data.reshape(-1, 3, size, size)
    except (KeyError, ValueError) as err:
        raise DataError(f"unexpected content in {path} ({type(err).__name__}: {err}); expected {layout}") from None
    if images.shape[0] != labels.shape[0]:
        raise DataError(f"{path}: {images.shape[0]} images but {labels.shape[0]} labels; expected {layout}")
    return images, labels


def read_cifar(root: Path, classes: int) -> RawDataset:
    """CIFAR-10 or CIFAR-100 in the python-pickle format (Krizhevsky, 2009)."""
    if classes == 10:
        folder = _folder(root, "cifar-10-batches-py", CIFAR10_LAYOUT)
        train_files, test_files, key, layout = ([f"data_batch_{i}" for i in range(1, 6)], ["test_batch"],
                                                "labels", CIFAR10_LAYOUT)
    else:
        folder = _folder(root, "cifar-100-python", CIFAR100_LAYOUT)
        train_files, test_files, key, layout = ["train"], ["test"], "fine_labels", CIFAR100_LAYOUT
    train = _images([_unpickle(folder / f, layout) for f in train_files], key, 32, folder, layout)
    test = _images([_unpickle(folder / f, layout) for f in test_files], key, 32, folder, layout)
    return RawDataset(*train, *test, classes)


def read_imagenet16(root: Path, classes: int = 120) -> RawDataset:
    """ImageNet16-``classes`` in NB201's format: the first ``classes`` of the 1,000 (labels 1-based)."""
    folder = _folder(root, "ImageNet16", IMAGENET16_LAYOUT)
    train_x, train_y = _images([_unpickle(folder / f"train_data_batch_{i}", IMAGENET16_LAYOUT)
                                for i in range(1, 11)], "labels", 16, folder, IMAGENET16_LAYOUT)
    test_x, test_y = _images([_unpickle(folder / "val_data", IMAGENET16_LAYOUT)], "labels", 16, folder,
                             IMAGENET16_LAYOUT)
    keep_train, keep_test = (train_y >= 1) & (train_y <= classes), (test_y >= 1) & (test_y <= classes)
    return RawDataset(train_x[keep_train], train_y[keep_train] - 1, test_x[keep_test], test_y[keep_test] - 1,
                      classes)


def _read_mat(path: Path) -> tuple[np.ndarray, np.ndarray]:
    from scipy.io import loadmat

    if not path.is_file():
        raise DataError(f"missing dataset file {path}; expected {SVHN_LAYOUT}")
    try:
        content = loadmat(str(path))
        x = np.asarray(content["X"], dtype=np.uint8).transpose(3, 2, 0, 1)
        y = np.asarray(content["y"], dtype=np.int64).ravel() % 10
    except Exception as err:  # scipy raises many types for corrupt .mat files
        raise DataError(f"cannot read {path} ({type(err).__name__}: {err}); expected {SVHN_LAYOUT}") from None
    if x.shape[0] != y.shape[0] or x.shape[1:] != (3, 32, 32):
        raise DataError(f"{path}: images {x.shape} / labels {y.shape} do not match {SVHN_LAYOUT}")
    return np.ascontiguousarray(x), y


def read_svhn(root: Path) -> RawDataset:
    """SVHN (Netzer et al., 2011) from its standard cropped-digit .mat files; label 10 becomes digit 0."""
    return RawDataset(*_read_mat(root / "train_32x32.mat"), *_read_mat(root / "test_32x32.mat"), 10)


#: fixed seed of the embedded dataset's test split, so every run and seed tests on the same images
EMBEDDED_TEST_SEED = 2019
EMBEDDED_TEST_FRACTION = 0.2


def read_embedded() -> RawDataset:
    """scikit-learn's digits: 1,797 real 8x8 grey-scale handwritten digits shipped inside the package.

    Chosen because scikit-learn is already a dependency and reads it from its own files (no
    download). Pixel values 0-16 are scaled to 0-255; a fixed 20% is the test split.
    """
    from sklearn.datasets import load_digits

    digits = load_digits()
    images = np.rint(digits.images * (255.0 / 16.0)).astype(np.uint8)[:, None]
    labels = digits.target.astype(np.int64)
    order = np.random.default_rng(EMBEDDED_TEST_SEED).permutation(len(labels))
    n_test = round(EMBEDDED_TEST_FRACTION * len(labels))
    test, train = np.sort(order[:n_test]), np.sort(order[n_test:])
    return RawDataset(images[train], labels[train], images[test], labels[test], 10)
