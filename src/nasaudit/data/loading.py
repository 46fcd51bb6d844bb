"""``load_dataset``: one entry point for every supported dataset, returning ``DatasetSplits``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from nasaudit.data.formats import RawDataset, read_cifar, read_embedded, read_imagenet16, read_svhn
from nasaudit.data.splits import DatasetSplits, make_splits
from nasaudit.errors import DataError

_READERS: dict[str, Callable[[Path], RawDataset]] = {
    "cifar10": lambda root: read_cifar(root, 10),
    "cifar100": lambda root: read_cifar(root, 100),
    "imagenet16-120": lambda root: read_imagenet16(root, 120),
    "svhn": read_svhn,
}
DATASET_NAMES: tuple[str, ...] = ("embedded", *_READERS)


def load_dataset(name: str = "embedded", root: str | Path | None = None, *, val_fraction: float,
                 seed: int) -> DatasetSplits:
    """Load ``name`` from ``root`` and hold out a seeded validation split (architectures paper App. A.1
    datasets; NB201 Sec. 2.3 ImageNet16-120). ``embedded`` needs no files (scikit-learn's digits).
    """
    key = name.lower()
    if key == "embedded":
        raw = read_embedded()
    elif key in _READERS:
        if root is None:
            raise DataError(f"dataset {name!r} needs a data root folder (--data-root); none was given")
        folder = Path(root).expanduser()
        if not folder.is_dir():
            raise DataError(f"data root {folder} for dataset {name!r} is not a folder")
        raw = _READERS[key](folder)
    else:
        raise DataError(f"unknown dataset {name!r}; choose from {list(DATASET_NAMES)}")
    return make_splits(key, raw.train_x, raw.train_y, raw.test_x, raw.test_y, raw.num_classes,
                       val_fraction=val_fraction, seed=seed)
