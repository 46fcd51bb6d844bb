"""What a training run returns: the per-epoch curve and the final numbers, as plain data."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class EpochRecord:
    """One epoch: learning rate at its start, mean train loss/accuracy, validation loss/accuracy (%),
    seconds of training and validation, and test loss/accuracy (%) when the test split was scored after
    every epoch (``None`` otherwise; architectures paper Sec. 4.1, Fig. 4 convergence curves)."""

    epoch: int
    lr: float
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float
    test_loss: float | None = None
    test_acc: float | None = None


@dataclass(frozen=True)
class TrainResult:
    """A finished run: curve (one entry per epoch), final validation/test accuracy (%), cost, provenance."""

    protocol: str
    dataset: str
    seed: int
    history: tuple[EpochRecord, ...]
    final_val_acc: float
    test_loss: float
    test_acc: float
    params: int
    flops: int
    wall_time_s: float
    device: str
    arch: str | None = None
    space: str | None = None
    macro: dict[str, Any] = field(default_factory=dict)

    @property
    def train_loss(self) -> list[float]:
        return [r.train_loss for r in self.history]

    @property
    def train_acc(self) -> list[float]:
        return [r.train_acc for r in self.history]

    @property
    def val_loss(self) -> list[float]:
        return [r.val_loss for r in self.history]

    @property
    def val_acc(self) -> list[float]:
        return [r.val_acc for r in self.history]

    def curve(self) -> pd.DataFrame:
        """The per-epoch records as a tidy table."""
        return pd.DataFrame([asdict(r) for r in self.history])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready record of the run."""
        return asdict(self)
