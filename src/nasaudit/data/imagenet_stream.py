"""ImageNet (ILSVRC-2012) streamed from its folder: file indexes of the train/validation/test splits, and the
torch ``Dataset`` that decodes one image per item (never the whole dataset in memory).

The test split is the official validation set (50,000 images; ILSVRC's test labels are not public, and DARTS
and the papers report on it); the validation split is ``val_fraction`` of the training images, held out by a
permutation drawn from the seed, as ``data.splits.make_splits`` does for the in-memory datasets. Items are
``(index, seed)`` pairs: the random crop, flip and colour jitter of an image are drawn from its own seed
(``data.image_decode``), so a batch is the same whatever the number of loader processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from nasaudit.data.image_decode import IMAGENET_MEAN, IMAGENET_STD, imagenet_eval, imagenet_train
from nasaudit.data.image_folders import FileIndex, index_imagenet
from nasaudit.errors import DataError
from nasaudit.seeding import as_generator

#: datasets read from disk while training instead of into memory (``train.streamed``)
STREAMED_DATASETS: tuple[str, ...] = ("imagenet",)
#: DARTS's ImageNet resolution: training crops and evaluation centre crops of 224, from images resized to 256
IMAGE_SIZE = 224
EVAL_RESIZE = 256


@dataclass(frozen=True)
class StreamedSplits:
    """Train/validation/test file indexes of a streamed dataset, with its normalisation (DARTS's constants)."""

    name: str
    train: FileIndex
    val: FileIndex
    test: FileIndex
    num_classes: int
    image_size: int = IMAGE_SIZE
    eval_resize: int = EVAL_RESIZE
    in_channels: int = 3
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD


def _subset(index: FileIndex, rows: np.ndarray) -> FileIndex:
    return FileIndex(tuple(index.files[i] for i in rows), index.labels[rows], index.classes)


def load_streamed(name: str, root: str | Path | None, *, val_fraction: float, seed: int) -> StreamedSplits:
    """The splits of streamed dataset ``name`` (``STREAMED_DATASETS``) at ``root``: indexed, not decoded."""
    if name.lower() not in STREAMED_DATASETS:
        raise DataError(f"dataset {name!r} is not streamed from disk; streamed: {list(STREAMED_DATASETS)}")
    if root is None:
        raise DataError(f"dataset {name!r} needs a data root folder (--data-root); none was given")
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"val_fraction must be in [0, 1), got {val_fraction}")
    train, test = index_imagenet(Path(root))
    order = as_generator(seed).permutation(len(train))
    n_val = round(val_fraction * len(train))
    if len(train) - n_val < 2:
        raise DataError(f"{root}: {len(train)} training images leave fewer than 2 to train on after the validation "
                        f"hold-out of {val_fraction}")
    return StreamedSplits(name.lower(), _subset(train, np.sort(order[n_val:])), _subset(train, np.sort(order[:n_val])),
                          test, len(train.classes))


class ImageFiles(Dataset[tuple[torch.Tensor, int]]):
    """A torch map-style dataset over ``index``: item ``(i, seed)`` is image ``i`` decoded (training: DARTS's
    random crop, flip and jitter drawn from ``seed``; else the resize-and-centre-crop) with its label."""

    def __init__(self, index: FileIndex, *, train: bool, size: int = IMAGE_SIZE, resize: int = EVAL_RESIZE,
                 flip: bool = True, jitter: bool = True) -> None:
        self.index, self.train, self.size, self.resize = index, train, size, resize
        self.flip, self.jitter = flip, jitter

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, int]:
        i, seed = item
        path = self.index.files[i]
        if self.train:
            pixels = imagenet_train(path, self.size, np.random.default_rng(seed), self.flip, self.jitter)
        else:
            pixels = imagenet_eval(path, self.size, self.resize)
        return torch.from_numpy(pixels), int(self.index.labels[i])
