"""``SupernetEvaluator``: the weight-sharing side of the evaluator seam (search-phase paper Sec. 4.3).

An architecture's score is the validation accuracy (%) of its path through the trained supernet
(single-path paper Sec. 3.4: ``Acc(M, theta_s, T_i, D_valid)``). Evaluation is batched for many
architectures: one model, the validation images normalised once and kept on the device in fixed
batches, all paths encoded in one go, no model built per architecture, and many architectures in
each forward pass (``ChoiceOp`` routes every sample through its own path). Optionally the batch-norm
statistics are re-estimated for every path on fixed training batches before it is scored (BN
recalibration, as in SPOS, Guo et al., 2020, Sec. 3.3).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from nasaudit.data.augment import normalize
from nasaudit.data.splits import DatasetSplits, Split
from nasaudit.errors import ConfigError, DataError
from nasaudit.spaces.base import SearchSpace
from nasaudit.weight_sharing.supernet.modules import Supernet


def _batches(part: Split, indices: torch.Tensor, mean: torch.Tensor, std: torch.Tensor, size: int,
             device: torch.device) -> list[tuple[torch.Tensor, torch.Tensor]]:
    x = normalize(part.x[indices].to(device), mean, std)
    y = part.y[indices].to(device)
    return [(x[i:i + size], y[i:i + size]) for i in range(0, len(indices), size)]


class SupernetEvaluator:
    """Scores architectures of ``supernet.space`` by their shared-weight validation accuracy (module doc).

    ``max_images`` caps the validation images (a fixed seeded subset); ``bn_batches`` > 0 turns on
    BN recalibration with that many training batches of ``batch_size`` images. Without recalibration,
    ``archs_per_forward`` architectures (default: as many as fit ``images_per_forward`` images) share
    one forward pass over each validation batch.
    """

    def __init__(self, supernet: Supernet, splits: DatasetSplits, *, split: str = "val", max_images: int | None = None,
                 batch_size: int = 512, bn_batches: int = 0, seed: int = 0, images_per_forward: int = 4096,
                 archs_per_forward: int | None = None) -> None:
        if supernet.mode != "single":
            raise ConfigError("SupernetEvaluator needs a single-path supernet (mode='single')")
        if split not in ("train", "val", "test"):
            raise ConfigError(f"split must be 'train', 'val' or 'test', got {split!r}")
        if batch_size < 1 or bn_batches < 0 or images_per_forward < 1 or (archs_per_forward or 1) < 1:
            raise ConfigError(f"batch_size, images_per_forward and archs_per_forward must be positive and "
                              f"bn_batches >= 0, got {batch_size}, {images_per_forward}, {archs_per_forward}, "
                              f"{bn_batches}")
        part: Split = getattr(splits, split)
        if len(part) == 0:
            raise DataError(f"the {split} split of {splits.name!r} is empty; nothing to evaluate the supernet on")
        self.supernet = supernet
        self.space: SearchSpace = supernet.space
        self.device = next(supernet.parameters()).device
        mean = torch.tensor(splits.mean, device=self.device)
        std = torch.tensor(splits.std, device=self.device)
        generator = torch.Generator().manual_seed(seed)
        n = len(part) if max_images is None else min(max_images, len(part))
        chosen = torch.randperm(len(part), generator=generator)[:n].sort().values
        self.batches = _batches(part, chosen, mean, std, batch_size, self.device)
        self.n_images = n
        recal = torch.randperm(len(splits.train), generator=generator)[:bn_batches * batch_size]
        self.bn_batches = _batches(splits.train, recal, mean, std, batch_size, self.device) if bn_batches else []
        self._norms = [m for m in supernet.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
        self.archs_per_forward = archs_per_forward or max(1, images_per_forward // max(len(b[1]) for b in self.batches))

    def evaluate(self, archs: Sequence[Any]) -> np.ndarray:
        """Validation accuracy (%) of each architecture's path through the shared weights."""
        values = [self.space.coerce(a) for a in archs]
        paths = self.supernet.encode_many(values)
        saved = {k: v.clone() for k, v in self.supernet.state_dict().items()} if self.bn_batches else None
        momenta = [norm.momentum for norm in self._norms]
        was_training = self.supernet.training
        scores = np.empty(len(values), dtype=np.float64)
        try:
            with torch.no_grad():
                if self.bn_batches:
                    for i, path in enumerate(paths):
                        self._recalibrate(path)
                        scores[i:i + 1] = self._accuracy(path[None])
                else:
                    for start in range(0, len(values), self.archs_per_forward):
                        scores[start:start + self.archs_per_forward] = self._accuracy(
                            paths[start:start + self.archs_per_forward])
        finally:
            if saved is not None:
                self.supernet.load_state_dict(saved)
            for norm, momentum in zip(self._norms, momenta, strict=True):
                norm.momentum = momentum
            self.supernet.train(was_training)
        return scores

    def _accuracy(self, paths: np.ndarray) -> np.ndarray:
        """Accuracy (%) of ``k`` paths at once: every validation batch is repeated ``k`` times and each
        copy runs its own path (exact in eval mode)."""
        self.supernet.eval()
        k = len(paths)
        correct = torch.zeros(k, device=self.device)
        for x, y in self.batches:
            per_sample = np.repeat(paths, len(y), axis=0)
            logits = self.supernet(x.repeat(k, 1, 1, 1), per_sample if k > 1 else paths[0])
            correct += (logits.argmax(1) == y.repeat(k)).view(k, -1).sum(1)
        return 100.0 * correct.cpu().numpy().astype(np.float64) / self.n_images

    def _recalibrate(self, path: np.ndarray) -> None:
        """Replace the BN running statistics by their exact average over the fixed training batches."""
        for norm in self._norms:
            norm.reset_running_stats()
            norm.momentum = None  # cumulative average
        self.supernet.train()
        for x, _ in self.bn_batches:
            self.supernet(x, path)
