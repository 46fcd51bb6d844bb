"""The dataset value every trainer consumes: train/validation/test tensors plus their metadata."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from nasaudit.errors import DataError
from nasaudit.seeding import as_generator


@dataclass(frozen=True)
class Split:
    """Images ``x`` (N, C, H, W; uint8 0-255) and labels ``y`` (N,; int64)."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])


@dataclass(frozen=True)
class DatasetSplits:
    """Train/validation/test splits of one image dataset, with per-channel normalisation statistics.

    ``mean`` and ``std`` are on the 0-1 scale, computed from the training split.
    """

    name: str
    train: Split
    val: Split
    test: Split
    num_classes: int
    in_channels: int
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]


def make_splits(name: str, train_x: np.ndarray, train_y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray,
                num_classes: int, *, val_fraction: float, seed: int) -> DatasetSplits:
    """Hold out ``val_fraction`` of the training images as validation, by a permutation drawn from ``seed``.

    Images come as uint8 (N, C, H, W) arrays, labels as integers in ``[0, num_classes)``.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise DataError(f"val_fraction must be in [0, 1), got {val_fraction}")
    for part, x, y in (("train", train_x, train_y), ("test", test_x, test_y)):
        if x.dtype != np.uint8 or x.ndim != 4 or x.shape[0] != y.shape[0] or x.shape[2] != x.shape[3]:
            raise DataError(f"{name} {part} images must be uint8 (N, C, H, W) with square images and one label "
                            f"each, got {x.dtype} {x.shape} with {y.shape[0]} labels")
        if y.size and (y.min() < 0 or y.max() >= num_classes):
            raise DataError(f"{name} {part} labels must lie in [0, {num_classes}), got {y.min()}..{y.max()}")
    order = as_generator(seed).permutation(train_x.shape[0])
    n_val = round(val_fraction * train_x.shape[0])
    val_idx, train_idx = np.sort(order[:n_val]), np.sort(order[n_val:])
    fit = train_x[train_idx]
    mean, std = channel_statistics(fit)

    def split(x: np.ndarray, y: np.ndarray) -> Split:
        return Split(torch.from_numpy(np.ascontiguousarray(x)), torch.from_numpy(y.astype(np.int64)))

    return DatasetSplits(
        name=name, train=split(fit, train_y[train_idx]), val=split(train_x[val_idx], train_y[val_idx]),
        test=split(test_x, test_y), num_classes=num_classes, in_channels=int(train_x.shape[1]),
        image_size=int(train_x.shape[2]), mean=mean, std=std,
    )


def channel_statistics(x: np.ndarray) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std (0-1 scale) of uint8 images, exactly, from 256-bin histograms."""
    values = np.arange(256) / 255.0
    means, stds = [], []
    for channel in range(x.shape[1]):
        counts = np.bincount(x[:, channel].ravel(), minlength=256)
        p = counts / max(counts.sum(), 1)
        mean = float(p @ values)
        means.append(mean)
        stds.append(max(float(np.sqrt(p @ (values - mean) ** 2)), 1e-6))
    return tuple(means), tuple(stds)
