"""What a training epoch runs on: a dataset's splits on the device, and the batches an epoch yields.

A ``BatchSource`` yields one epoch's batches from the generators ``TrainLoop`` seeds per ``(seed, epoch)``;
``ShuffledBatches`` is the stand-alone networks' and supernets' source (the training split shuffled, augmented,
mixed up). The differentiable search pairs training and validation batches
(``weight_sharing.differentiable.search.SearchBatches``) and fused training zips one ``ShuffledBatches`` per model
(``nasaudit.train.fused``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np
import torch
from torch import nn

from nasaudit.data.augment import mixup, normalize
from nasaudit.data.splits import DatasetSplits, Split
from nasaudit.train.protocols import TrainProtocol

B = TypeVar("B")


class DeviceData:
    """A dataset's splits on the device, with normalisation statistics."""

    def __init__(self, splits: DatasetSplits, device: torch.device) -> None:
        self.name, self.device = splits.name, device
        self.parts = {name: Split(part.x.to(device), part.y.to(device))
                      for name, part in (("train", splits.train), ("val", splits.val), ("test", splits.test))}
        self.mean = torch.tensor(splits.mean, device=device)
        self.std = torch.tensor(splits.std, device=device)

    def fixed_batches(self, name: str, size: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Split ``name`` normalised, in order, in batches of ``size`` (``batch_bounds``)."""
        part = self.parts[name]
        return [(normalize(part.x[a:b], self.mean, self.std), part.y[a:b]) for a, b in batch_bounds(len(part), size)]


def batch_bounds(n: int, size: int) -> list[tuple[int, int]]:
    """``[start, stop)`` of consecutive batches of ``size``; a last batch of one image joins the one
    before (batch norm in training mode cannot take it)."""
    bounds = [(a, min(a + size, n)) for a in range(0, n, size)]
    if len(bounds) > 1 and bounds[-1][1] - bounds[-1][0] == 1:
        bounds[-2:] = [(bounds[-2][0], n)]
    return bounds


@dataclass(frozen=True)
class Batch:
    """One training batch: augmented images ``x`` on the device, labels ``y``; with mixup, ``y_mix``
    are the labels mixed in with weight ``1 - lam`` (redundancy paper App. B.2)."""

    x: torch.Tensor
    y: torch.Tensor
    y_mix: torch.Tensor | None
    lam: float
    epoch: int
    step: int

    @property
    def size(self) -> int:
        return int(self.y.shape[0])

    def loss(self, criterion: nn.Module, logits: torch.Tensor) -> torch.Tensor:
        """The (mixup-weighted) loss of ``logits``."""
        if self.y_mix is None:
            return criterion(logits, self.y)
        return self.lam * criterion(logits, self.y) + (1.0 - self.lam) * criterion(logits, self.y_mix)

    def correct(self, logits: torch.Tensor) -> torch.Tensor:
        """Number of correct predictions (mixup-weighted), as a 0-d tensor."""
        pred = logits.detach().argmax(1)
        if self.y_mix is None:
            return (pred == self.y).sum()
        return self.lam * (pred == self.y).sum() + (1.0 - self.lam) * (pred == self.y_mix).sum()


class BatchSource(ABC, Generic[B]):
    """The batches of every epoch, one per optimiser step."""

    @abstractmethod
    def steps(self) -> int:
        """Batches (optimiser steps) per epoch."""

    @abstractmethod
    def epoch(self, epoch: int, generator: torch.Generator, rng: np.random.Generator) -> Iterator[B]:
        """The batches of epoch ``epoch``, drawn from the epoch's device ``generator`` and ``rng`` (seeded by
        ``TrainLoop`` from ``(seed, epoch)``), lazily: the loop steps on each before the next is made."""


class ShuffledBatches(BatchSource[Batch]):
    """The training split in a random order, in batches of the protocol's size (a final batch of one image is
    dropped, as a data loader with ``drop_last`` would: batch norm cannot take it), augmented, with mixup
    coefficients drawn from ``rng`` up front; the images in ``memory_format``."""

    def __init__(self, data: DeviceData, protocol: TrainProtocol, memory_format: torch.memory_format) -> None:
        self.data, self.protocol, self.memory_format = data, protocol, memory_format

    def steps(self) -> int:
        n, size = len(self.data.parts["train"]), self.protocol.batch_size
        return n // size + (1 if n % size > 1 else 0)

    def epoch(self, epoch: int, generator: torch.Generator, rng: np.random.Generator) -> Iterator[Batch]:
        p, train, steps = self.protocol, self.data.parts["train"], self.steps()
        order = torch.randperm(len(train), generator=generator, device=self.data.device)
        alpha = p.augmentation.mixup_alpha
        lams = rng.beta(alpha, alpha, size=steps) if alpha > 0 else None
        for step in range(steps):
            idx = order[step * p.batch_size:(step + 1) * p.batch_size]
            x = p.augmentation.apply(train.x[idx], self.data.mean, self.data.std, generator)
            y, y_mix, lam = train.y[idx], None, 1.0
            if lams is not None:
                lam = float(lams[step])
                x, y_mix = mixup(x, y, lam, generator)
            yield Batch(x.contiguous(memory_format=self.memory_format), y, y_mix, lam, epoch, step)
