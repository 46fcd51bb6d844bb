"""Fashion-MNIST (Xiao, Rasul & Vollgraf, 2017): the official idx files, or a stratified subset shipped in
the package, optionally shrunk to a smaller resolution.

Used as the real-data task of the embedded training benchmark (search-phase paper Sec. 3.2 / 4.2: a
reduced space trained from scratch with several seeds is the ground truth), because its architectures
separate far better from seed noise than on scikit-learn's 8x8 digits.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from nasaudit.data.formats import RawDataset
from nasaudit.errors import DataError
from nasaudit.seeding import as_generator

FASHION_CLASSES = 10
FASHION_SIZE = 28
FASHION_FILES = {
    "train_x": "train-images-idx3-ubyte", "train_y": "train-labels-idx1-ubyte",
    "test_x": "t10k-images-idx3-ubyte", "test_y": "t10k-labels-idx1-ubyte",
}
FASHION_LAYOUT = ("the four official Fashion-MNIST files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                  "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte (each optionally .gz)")
#: the idx magic numbers: two zero bytes, type 0x08 (unsigned byte), number of dimensions
_IDX_MAGIC = {1: 0x00000801, 3: 0x00000803}
#: the shipped subset (see its .meta.json); produced by ``fashion_subset``
EMBEDDED_FASHION = "fashion_mnist_subset.npz"


def read_idx(path: Path, ndim: int) -> np.ndarray:
    """An idx-format uint8 array of ``ndim`` dimensions (LeCun's MNIST format), from a plain or gzipped file.

    A wrong magic number, a wrong rank or a size that does not match the header raises ``DataError``.
    """
    if not path.is_file():
        raise DataError(f"missing dataset file {path}; expected {FASHION_LAYOUT}")
    try:
        with path.open("rb") as handle:
            gzipped = handle.read(2) == b"\x1f\x8b"
        data = gzip.decompress(path.read_bytes()) if gzipped else path.read_bytes()
    except (OSError, EOFError) as err:
        raise DataError(f"cannot read {path} ({type(err).__name__}: {err}); expected {FASHION_LAYOUT}") from None
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path} is too short for an idx header ({len(data)} bytes)")
    magic = int.from_bytes(data[:4], "big")
    if magic != _IDX_MAGIC[ndim]:
        raise DataError(f"{path}: idx magic number 0x{magic:08x}, expected 0x{_IDX_MAGIC[ndim]:08x} "
                        f"(unsigned bytes, {ndim} dimension(s)); not a {FASHION_LAYOUT.split(' (')[0]} file?")
    shape = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    if len(data) - header != int(np.prod(shape)):
        raise DataError(f"{path}: the header promises shape {shape} ({int(np.prod(shape)):,} bytes) but "
                        f"{len(data) - header:,} bytes follow; truncated file?")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()  # writable, as torch wants


def _find(root: Path, name: str) -> Path:
    for candidate in (root / name, root / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    raise DataError(f"missing dataset file {root / name}[.gz]; expected {FASHION_LAYOUT}")


def read_fashion(root: Path) -> RawDataset:
    """The full official Fashion-MNIST: 60,000 training and 10,000 test 28x28 grey-scale images."""
    arrays = {key: read_idx(_find(root, name), 3 if key.endswith("x") else 1)
              for key, name in FASHION_FILES.items()}
    for part in ("train", "test"):
        x, y = arrays[f"{part}_x"], arrays[f"{part}_y"]
        if x.shape[0] != y.shape[0] or x.shape[1:] != (FASHION_SIZE, FASHION_SIZE):
            raise DataError(f"{root}: {part} images {x.shape} and labels {y.shape} do not match; "
                            f"expected {FASHION_LAYOUT}")
        if y.size and y.max() >= FASHION_CLASSES:
            raise DataError(f"{root}: {part} labels must lie in [0, {FASHION_CLASSES}), got up to {y.max()}")
    return RawDataset(arrays["train_x"][:, None], arrays["train_y"].astype(np.int64),
                      arrays["test_x"][:, None], arrays["test_y"].astype(np.int64), FASHION_CLASSES)


def stratified_indices(labels: np.ndarray, per_class: int, seed: int) -> np.ndarray:
    """Sorted indices of ``per_class`` examples of every class, drawn without replacement from ``seed``."""
    rng = as_generator(seed)
    chosen = []
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        if len(members) < per_class:
            raise DataError(f"class {label} has only {len(members)} examples; cannot take {per_class}")
        chosen.append(rng.choice(members, size=per_class, replace=False))
    return np.sort(np.concatenate(chosen))


def fashion_subset(raw: RawDataset, train_per_class: int, test_per_class: int, seed: int
                   ) -> tuple[RawDataset, np.ndarray, np.ndarray]:
    """A stratified seeded subset of the official data, with the indices taken from the train and test files."""
    train_idx = stratified_indices(raw.train_y, train_per_class, seed)
    test_idx = stratified_indices(raw.test_y, test_per_class, seed + 1)
    subset = RawDataset(raw.train_x[train_idx], raw.train_y[train_idx], raw.test_x[test_idx],
                        raw.test_y[test_idx], raw.num_classes)
    return subset, train_idx, test_idx


def read_fashion_embedded() -> RawDataset:
    """The stratified Fashion-MNIST subset shipped in ``nasaudit.resources`` (indices in its .meta.json)."""
    from nasaudit.resources import fashion_subset_path

    path = fashion_subset_path()
    try:
        with np.load(path) as data:
            return RawDataset(data["train_x"], data["train_y"].astype(np.int64), data["test_x"],
                              data["test_y"].astype(np.int64), FASHION_CLASSES)
    except (OSError, KeyError, ValueError) as err:
        raise DataError(f"cannot read the packaged Fashion-MNIST subset {path} ({err}); reinstall nasaudit") from None


def shrink(raw: RawDataset, size: int) -> RawDataset:
    """Images of ``size`` px: zero-pad (centred) to the next multiple of ``size``, then average-pool blocks
    (rounded to uint8); 28 px padded to 32 and pooled 2x2 gives 16 px. Fashion-MNIST's background is 0."""
    current = raw.train_x.shape[-1]
    if not 1 <= size <= current:
        raise DataError(f"cannot shrink {current} px images to {size} px")
    factor = -(-current // size)
    before = (factor * size - current) // 2
    after = factor * size - current - before

    def pool(x: np.ndarray) -> np.ndarray:
        padded = np.pad(x, ((0, 0), (0, 0), (before, after), (before, after)))
        n, c = x.shape[:2]
        blocks = padded.reshape(n, c, size, factor, size, factor).astype(np.float64)
        return np.rint(blocks.mean(axis=(3, 5))).astype(np.uint8)

    return RawDataset(pool(raw.train_x), raw.train_y, pool(raw.test_x), raw.test_y, raw.num_classes)
