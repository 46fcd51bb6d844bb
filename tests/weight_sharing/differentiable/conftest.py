"""Tiny real digits shared by the differentiable-search tests."""

from __future__ import annotations

import numpy as np
import pytest

from nasaudit.data.formats import read_embedded
from nasaudit.data.splits import DatasetSplits, make_splits


@pytest.fixture(scope="session")
def search_splits() -> DatasetSplits:
    """160 real digits (8x8, one channel): 128 train, 32 validation; 32 test."""
    raw = read_embedded()
    keep = np.arange(160)
    return make_splits("embedded", raw.train_x[keep], raw.train_y[keep], raw.test_x[:32], raw.test_y[:32],
                       raw.num_classes, val_fraction=0.2, seed=0)


@pytest.fixture(scope="session")
def micro_splits() -> DatasetSplits:
    """80 real digits: 64 train, 16 validation; 16 test (the DARTS-space selection tests)."""
    raw = read_embedded()
    keep = np.arange(80)
    return make_splits("embedded", raw.train_x[keep], raw.train_y[keep], raw.test_x[:16], raw.test_y[:16],
                       raw.num_classes, val_fraction=0.2, seed=0)
