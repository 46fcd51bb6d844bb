"""Tiny data and settings shared by the supernet tests."""

from __future__ import annotations

import numpy as np
import pytest

from nasaudit.data.formats import read_embedded
from nasaudit.data.splits import DatasetSplits, make_splits
from nasaudit.weight_sharing.supernet.training import SupernetConfig


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
