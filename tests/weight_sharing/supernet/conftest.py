"""Tiny settings shared by the supernet tests (their data, ``tiny_splits``, is in ``tests/weight_sharing``)."""

from __future__ import annotations

import pytest

from nasaudit.weight_sharing.supernet.training import SupernetConfig


@pytest.fixture
def tiny_config() -> SupernetConfig:
    """A 4-channel, 1-cell-per-stage NB201 supernet trained for one epoch of batch 96."""
    return SupernetConfig(channels=4, depth=1, epochs=1, batch_size=96, flip=False)
