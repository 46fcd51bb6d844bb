"""Fused training equals separate training: same curves, same final weights, same result fields."""

from __future__ import annotations

import copy
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from nasaudit.data import Augmentation, DatasetSplits, Split, load_dataset
from nasaudit.errors import ConfigError
from nasaudit.nn import build_network
from nasaudit.spaces import get_space
from nasaudit.train import get_protocol, train, train_arch
from nasaudit.train.fused import train_fused, train_models_fused

SPACE = get_space("nb201")
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
# float32 summation order differs between grouped and separate convolutions (about 1e-7 per step); tiny
# networks at LR 0.1 amplify such differences chaotically after ~10-20 SGD steps (a 1e-7 perturbation of a
# separate run does the same), so the runs here are short (2 epochs of 4 steps) at LR 0.02. Losses and
# weights then agree to TOL (measured: <= 3e-5 absolute); an accuracy may differ by one image whose two
# top logits are within float error of each other.
TOL = {"rtol": 1e-4, "atol": 1e-4}
ONE_IMAGE = 100.0 / 64 + 1e-6  # % of the smallest split (64 images)


@pytest.fixture(scope="module")
def digits() -> DatasetSplits:
    return load_dataset("embedded", val_fraction=0.2, seed=0)


def _subset(splits: DatasetSplits, offset: int) -> DatasetSplits:
    """256 training, 64 validation and 64 test images; ``offset`` picks different training images."""
    def part(split: Split, size: int, start: int = 0) -> Split:
        return Split(split.x[start:start + size], split.y[start:start + size])
    return replace(splits, train=part(splits.train, 256, 256 * offset), val=part(splits.val, 64, 64 * offset),
                   test=part(splits.test, 64))


def _build(arch: str, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return build_network(arch, SPACE, num_classes=10, in_channels=1, channels=4, cells_per_stage=1)


def _assert_same_runs(separate, fused) -> None:
    for a, b in zip(separate, fused, strict=True):
        assert (a.seed, a.protocol, a.dataset, a.params, a.flops) == (b.seed, b.protocol, b.dataset, b.params, b.flops)
        assert [r.lr for r in a.history] == [r.lr for r in b.history]
        for field in ("train_loss", "val_loss"):
            np.testing.assert_allclose(getattr(b, field), getattr(a, field), **TOL, err_msg=field)
        for field in ("train_acc", "val_acc"):
            np.testing.assert_allclose(getattr(b, field), getattr(a, field), rtol=0, atol=ONE_IMAGE, err_msg=field)
        np.testing.assert_allclose(b.test_loss, a.test_loss, **TOL)
        np.testing.assert_allclose(b.test_acc, a.test_acc, rtol=0, atol=ONE_IMAGE)


def _assert_same_weights(separate: list[nn.Module], fused: list[nn.Module]) -> None:
    for a, b in zip(separate, fused, strict=True):
        for (name, x), (_, y) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
            torch.testing.assert_close(y, x, **TOL, msg=name)


def test_seeds_of_one_architecture_train_fused_as_they_train_separately(digits):
    protocol = get_protocol("cpu_small").with_overrides(epochs=2, lr=0.02)
    seeds = [0, 1, 2]
    splits = [_subset(digits, m) for m in range(3)]  # each model its own data, as a per-seed split gives
    separate = [_build(ARCH, seed) for seed in seeds]
    fused = copy.deepcopy(separate)
    expected = [train(model, part, protocol, seed=seed, progress=False)
                for model, part, seed in zip(separate, splits, seeds, strict=True)]
    got = train_models_fused(fused, splits, protocol, seeds=seeds, progress=False)
    _assert_same_runs(expected, got)
    _assert_same_weights(separate, fused)
    assert len({r.train_loss[0] for r in got}) == 3  # the models really differ


def test_mixed_architectures_with_every_random_element_train_fused_as_separately(digits):
    # batch order, crop, flip, cutout, mixup, label smoothing and per-model gradient clipping
    protocol = get_protocol("cpu_small").with_overrides(
        epochs=2, lr=0.02, grad_clip=0.5, label_smoothing=0.1,
        augmentation=Augmentation(crop_padding=4, flip=True, cutout=4, mixup_alpha=0.2))
    archs = ["|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|skip_connect~1|none~2|", ARCH,
             *[str(a) for a in SPACE.sample_many(2, 3)]]
    seeds = [0, 1, 1, 5]
    part = _subset(digits, 0)
    separate = [_build(arch, seed) for arch, seed in zip(archs, seeds, strict=True)]
    fused = copy.deepcopy(separate)
    expected = [train(model, part, protocol, seed=seed, progress=False)
                for model, seed in zip(separate, seeds, strict=True)]
    got = train_models_fused(fused, part, protocol, seeds=seeds, progress=False)
    _assert_same_runs(expected, got)
    _assert_same_weights(separate, fused)


def test_train_fused_returns_what_train_arch_returns(digits):
    protocol = get_protocol("cpu_small").with_overrides(epochs=1)
    part = _subset(digits, 1)
    archs = [ARCH, "|nor_conv_1x1~0|+|none~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"]
    got = train_fused(archs, [3, 4], "nb201", protocol=protocol, dataset=part, progress=False, channels=4)
    expected = [train_arch("nb201", arch, protocol=protocol, dataset=part, seed=seed, progress=False, channels=4)
                for arch, seed in zip(archs, [3, 4], strict=True)]
    _assert_same_runs(expected, got)
    for a, b in zip(expected, got, strict=True):
        assert (a.arch, a.space, a.macro, a.device) == (b.arch, b.space, b.macro, b.device)
        assert b.wall_time_s > 0 and len(b.history) == 1


def test_bad_fusion_requests_are_refused(digits):
    part = _subset(digits, 0)
    with pytest.raises(ConfigError, match="one seed per architecture"):
        train_fused([ARCH, ARCH], [0], protocol="cpu_small", dataset=part, progress=False)
    with pytest.raises(ConfigError, match="one seed and one data split per model"):
        train_models_fused([_build(ARCH, 0)], [part, part], "cpu_small", seeds=[0], progress=False)
    smaller = replace(part, train=Split(part.train.x[:100], part.train.y[:100]))
    with pytest.raises(ConfigError, match="one shape and size"):
        train_models_fused([_build(ARCH, 0), _build(ARCH, 1)], [part, smaller], "cpu_small", seeds=[0, 1],
                           progress=False)


# issue #22 item 17: at the builder's own learning rate (0.1), where float differences grow chaotically, 24
# architectures (``none`` edges, dead nodes, pure skip and pooling cells) fused 8 at a time, mixed, with a
# final partial batch and two epochs, give every model the numbers of its separate run
MANY = [
    "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|",  # no path: a constant network
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "|avg_pool_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|avg_pool_3x3~1|avg_pool_3x3~2|",
    "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",  # node 1 is dead: unused weights
    "|nor_conv_3x3~0|+|skip_connect~0|skip_connect~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    *[str(a) for a in SPACE.sample_many(19, 22)],
]


def test_many_architectures_train_fused_exactly_as_alone(digits):
    protocol = get_protocol("cpu_small").with_overrides(epochs=2, batch_size=32)
    part = replace(_subset(digits, 0), train=Split(digits.train.x[:150], digits.train.y[:150]))  # 4 + 22 + ...
    for start in range(0, len(MANY), 8):
        archs = MANY[start:start + 8]
        seeds = [start + i for i in range(len(archs))]
        separate = [_build(arch, seed) for arch, seed in zip(archs, seeds, strict=True)]
        fused = copy.deepcopy(separate)
        expected = [train(model, part, protocol, seed=seed, progress=False, test_each_epoch=True)
                    for model, seed in zip(separate, seeds, strict=True)]
        got = train_models_fused(fused, part, protocol, seeds=seeds, progress=False, test_each_epoch=True)
        for arch, a, b in zip(archs, expected, got, strict=True):
            for field in ("train_loss", "val_loss"):
                np.testing.assert_allclose(getattr(b, field), getattr(a, field), rtol=1e-5, atol=0, err_msg=arch)
            for field in ("train_acc", "val_acc"):  # a rare argmax flip of one image is float order, not a bug
                np.testing.assert_allclose(getattr(b, field), getattr(a, field), rtol=0, atol=ONE_IMAGE,
                                           err_msg=arch)
            np.testing.assert_allclose(b.test_loss, a.test_loss, rtol=1e-5, atol=0, err_msg=arch)
            np.testing.assert_allclose(b.test_acc, a.test_acc, rtol=0, atol=ONE_IMAGE, err_msg=arch)
        _assert_same_weights(separate, fused)
