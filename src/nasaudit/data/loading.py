"""``load_dataset``: one entry point for every supported dataset, returning ``DatasetSplits``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from nasaudit.data.fashion import read_fashion, read_fashion_embedded, shrink
from nasaudit.data.formats import RawDataset, read_cifar, read_embedded, read_imagenet16, read_svhn
from nasaudit.data.image_folders import read_tiny_imagenet
from nasaudit.data.imagenet_stream import STREAMED_DATASETS
from nasaudit.data.splits import DatasetSplits, make_splits
from nasaudit.errors import DataError
from nasaudit.registry import unknown_name_message

_READERS: dict[str, Callable[[Path], RawDataset]] = {
    "cifar10": lambda root: read_cifar(root, 10),
    "cifar100": lambda root: read_cifar(root, 100),
    "imagenet16-120": lambda root: read_imagenet16(root, 120),
    "svhn": read_svhn,
    "tiny-imagenet": read_tiny_imagenet,
}
#: datasets with a subset shipped in the package (read without a root) whose full official files are read
#: from a root when one is given: (full reader, shipped reader)
_SHIPPED: dict[str, tuple[Callable[[Path], RawDataset], Callable[[], RawDataset]]] = {
    "fashion": (read_fashion, read_fashion_embedded),
    "fashion16": (lambda root: shrink(read_fashion(root), 16), lambda: shrink(read_fashion_embedded(), 16)),
    "fashion8": (lambda root: shrink(read_fashion(root), 8), lambda: shrink(read_fashion_embedded(), 8)),
}
DATASET_NAMES: tuple[str, ...] = ("embedded", *_SHIPPED, *_READERS)
#: datasets a fresh install can load without any folder of files
WITHOUT_ROOT: tuple[str, ...] = ("embedded", *_SHIPPED)


def load_dataset(name: str = "embedded", root: str | Path | None = None, *, val_fraction: float,
                 seed: int) -> DatasetSplits:
    """Load ``name`` from ``root`` and hold out a seeded validation split (architectures paper App. A.1
    datasets; NB201 Sec. 2.3 ImageNet16-120). ``embedded`` needs no files (scikit-learn's digits);
    ``fashion`` (28 px), ``fashion16`` and ``fashion8`` (16 and 8 px) read the shipped Fashion-MNIST subset
    without ``root``, and the full official idx files from ``root``.
    """
    return load_dataset_seeds(name, root, val_fraction=val_fraction, seeds=[seed])[seed]


def load_dataset_seeds(name: str = "embedded", root: str | Path | None = None, *, val_fraction: float,
                       seeds: Sequence[int]) -> dict[int, DatasetSplits]:
    """``load_dataset(name, root, val_fraction=..., seed=s)`` for every ``s`` of ``seeds``, reading the files
    once (fused training of several seeds, ``nasaudit.train.fused``)."""
    key = name.lower()
    if key == "embedded":
        raw = read_embedded()
    elif key in _SHIPPED and root is None:
        raw = _SHIPPED[key][1]()
    elif key in _READERS or key in _SHIPPED:
        if root is None:
            raise DataError(f"dataset {name!r} needs a data root folder (--data-root); none was given")
        folder = Path(root).expanduser()
        if not folder.is_dir():
            raise DataError(f"data root {folder} for dataset {name!r} is not a folder")
        raw = _SHIPPED[key][0](folder) if key in _SHIPPED else _READERS[key](folder)
    elif key in STREAMED_DATASETS:
        raise DataError(f"dataset {name!r} is streamed from disk while training (nasaudit.train.streamed: train_arch, "
                        "nasaudit train, arch_sets studies); it is not loaded into memory for this use")
    else:
        raise DataError(unknown_name_message("dataset", name, list(DATASET_NAMES)))
    return {seed: make_splits(key, raw.train_x, raw.train_y, raw.test_x, raw.test_y, raw.num_classes,
                              val_fraction=val_fraction, seed=seed) for seed in dict.fromkeys(seeds)}
