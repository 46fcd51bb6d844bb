"""The "Trainer" evaluator of DESIGN.md: scores architectures by training each one from scratch."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from nasaudit.data.loading import load_dataset
from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError
from nasaudit.spaces import get_space
from nasaudit.spaces.base import SearchSpace
from nasaudit.train.arch import train_arch
from nasaudit.train.protocols import TrainProtocol, get_protocol


class TrainingEvaluator:
    """``evaluate(archs)``: final validation accuracy (%) of each architecture trained under ``protocol``.

    Validation, never test, accuracy is the score, so a search driven by it stays honest
    (search-phase paper Sec. 3: the search must not see the test set). Every architecture is
    trained with the same ``seed`` (weights, batches, augmentation) on the same splits.
    """

    def __init__(self, space: SearchSpace | str, *, protocol: str | TrainProtocol, dataset: str | DatasetSplits,
                 seed: int, data_root: str | Path | None = None, device: str | None = None,
                 val_fraction: float = 0.1, **macro_kwargs: Any) -> None:
        self.space = get_space(space) if isinstance(space, str) else space
        self.protocol = get_protocol(protocol)
        self.splits = dataset if isinstance(dataset, DatasetSplits) else load_dataset(
            dataset, data_root, val_fraction=val_fraction, seed=seed)
        if len(self.splits.val) == 0:
            raise ConfigError("a training evaluator scores on the validation split; it is empty (val_fraction=0)")
        self.seed, self.device, self.macro_kwargs = seed, device, macro_kwargs

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        """Train each architecture in turn; one validation accuracy per architecture, in order."""
        return np.array([
            train_arch(self.space, arch, protocol=self.protocol, dataset=self.splits, seed=self.seed,
                       device=self.device, progress=False, **self.macro_kwargs).final_val_acc
            for arch in archs
        ], dtype=np.float64)
