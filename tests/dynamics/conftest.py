"""Tiny networks and data for the dynamics tests (a few hundred parameters, 8x8 digits)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nasaudit.data.loading import load_dataset
from nasaudit.data.splits import DatasetSplits
from nasaudit.dynamics.functional import EvalData, eval_subset
from nasaudit.nn.networks import build_network

NB201_ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|none~1|avg_pool_3x3~2|"


@pytest.fixture(scope="session")
def digits() -> DatasetSplits:
    return load_dataset("embedded", val_fraction=0.1, seed=0)


@pytest.fixture(scope="session")
def data(digits: DatasetSplits) -> EvalData:
    return eval_subset(digits, 24, seed=3)


@pytest.fixture()
def nb201_net(digits: DatasetSplits) -> nn.Module:
    """A tiny NB201 network (batch norm included) with non-trivial running statistics."""
    torch.manual_seed(0)
    model = build_network(NB201_ARCH, "nb201", num_classes=digits.num_classes, in_channels=digits.in_channels,
                          channels=4, cells_per_stage=1)
    model.train()
    with torch.no_grad():
        model(torch.randn(16, digits.in_channels, digits.image_size, digits.image_size))
    return model.eval()
