"""Shared plumbing of the dynamics analyses: a model's weights as a dict, functional forward passes on
perturbed weights, and a fixed, seeded evaluation subset of a dataset (architectures paper Sec. 4.2)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.func import functional_call

from nasaudit.data.augment import normalize
from nasaudit.data.splits import DatasetSplits
from nasaudit.errors import ConfigError, DataError
from nasaudit.seeding import SeedLike, as_generator

Params = dict[str, torch.Tensor]


@dataclass(frozen=True)
class EvalData:
    """A fixed evaluation subset: normalised float images ``x`` (N, C, H, W) and labels ``y`` (N,)."""

    x: torch.Tensor
    y: torch.Tensor

    def __post_init__(self) -> None:
        if self.x.shape[0] != self.y.shape[0] or self.x.shape[0] == 0:
            raise DataError(f"evaluation data needs as many labels as images (>0), got {self.x.shape[0]} "
                            f"images and {self.y.shape[0]} labels")

    def __len__(self) -> int:
        return int(self.y.shape[0])


def eval_subset(splits: DatasetSplits, n: int, seed: SeedLike, split: str = "train") -> EvalData:
    """``n`` images of ``split`` drawn without replacement from ``seed``, normalised as for evaluation."""
    part = {"train": splits.train, "val": splits.val, "test": splits.test}.get(split)
    if part is None:
        raise ConfigError(f"split must be 'train', 'val' or 'test', got {split!r}")
    if not 1 <= n <= len(part):
        raise DataError(f"cannot draw {n} images from the {len(part)} of split {split!r}")
    idx = torch.from_numpy(np.sort(as_generator(seed).choice(len(part), size=n, replace=False)))
    mean, std = torch.tensor(splits.mean), torch.tensor(splits.std)
    return EvalData(normalize(part.x[idx], mean, std), part.y[idx])


def torch_seed(seed: SeedLike) -> int:
    """An int seed for a torch Generator: ``seed`` itself, or one drawn from a numpy Generator."""
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**62))
    as_generator(seed)  # validates the int
    return int(seed)


def weights(model: nn.Module) -> tuple[Params, Params]:
    """Detached copies of the trainable parameters and of the buffers, by name."""
    params = {k: p.detach().clone() for k, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ConfigError("the model has no trainable parameters")
    buffers = {k: b.detach() for k, b in model.named_buffers()}
    return params, buffers


def logits(model: nn.Module, params: Mapping[str, torch.Tensor], buffers: Mapping[str, torch.Tensor],
           x: torch.Tensor) -> torch.Tensor:
    """The model's class scores on ``x`` with weights ``params`` (an auxiliary output is dropped)."""
    out = functional_call(model, ({**params}, {**buffers}), (x,))
    return out[0] if isinstance(out, tuple) else out


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[nn.Module]:
    """Put ``model`` in eval mode (batch norm uses its running statistics), restoring the mode after."""
    was_training = model.training
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)
