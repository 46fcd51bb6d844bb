"""Tiny data and settings shared by the supernet tests (one torch thread: the CPUs are shared)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
import torch

from nasaudit.data.formats import read_embedded
from nasaudit.data.splits import DatasetSplits, make_splits
from nasaudit.supernet.training import SupernetConfig


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def tiny_splits() -> DatasetSplits:
    """320 real digits (8x8, one channel): 288 train, 32 validation, 64 test."""
    raw = read_embedded()
    keep = np.arange(320)
    return make_splits("embedded", raw.train_x[keep], raw.train_y[keep], raw.test_x[:64], raw.test_y[:64],
                       raw.num_classes, val_fraction=0.1, seed=0)


@pytest.fixture
def tiny_config() -> SupernetConfig:
    """A 4-channel, 1-cell-per-stage NB201 supernet trained for one epoch of batch 96."""
    return SupernetConfig(channels=4, depth=1, epochs=1, batch_size=96, flip=False)
