"""The training loop: learns on the embedded data, resumes bit-for-bit, stops on NaN, refuses foreign checkpoints."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from nasaudit.data import Augmentation, Split, load_dataset
from nasaudit.errors import ConfigError, TrainingError
from nasaudit.evaluators import Evaluator
from nasaudit.spaces import get_space
from nasaudit.spaces.darts import DartsCell, DartsGenotype, darts_variant
from nasaudit.train import PROTOCOLS, EpochRecord, TrainingEvaluator, get_protocol, train, train_arch

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


@pytest.fixture(scope="module")
def digits():
    return load_dataset("embedded", val_fraction=0.2, seed=0)


@pytest.fixture(scope="module")
def few_digits(digits):
    """A slice of the digits, for tests about the loop's mechanics rather than its accuracy."""
    return replace(digits, train=Split(digits.train.x[:256], digits.train.y[:256]),
                   val=Split(digits.val.x[:64], digits.val.y[:64]), test=Split(digits.test.x[:64], digits.test.y[:64]))


def test_cpu_protocol_learns_the_embedded_digits_quickly(digits):
    result = train_arch("nb201", ARCH, protocol="cpu_small", dataset=digits, seed=0, progress=False)
    assert len(result.history) == get_protocol("cpu_small").epochs
    assert result.test_acc > 80.0 and result.final_val_acc > 80.0  # chance is 10%
    assert result.train_loss[-1] < result.train_loss[0]
    assert result.history[0].lr == pytest.approx(0.1)
    assert result.params > 0 and result.flops > 0 and result.wall_time_s > 0
    assert result.arch == ARCH and result.space == "nb201" and result.macro == {"channels": 8, "cells_per_stage": 1}
    assert list(result.curve().columns) == ["epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc", "seconds",
                                            "test_loss", "test_acc"]
    assert all(r.test_loss is None and r.test_acc is None for r in result.history)  # off by default


class _Crash(Exception):
    pass


def test_resuming_after_a_crash_gives_the_uninterrupted_numbers(few_digits, tmp_path):
    # a protocol exercising every random element: batch order, crop, cutout, mixup, drop path, noise op
    protocol = get_protocol("cpu_small").with_overrides(
        epochs=4, drop_path=0.2, grad_clip=5.0,
        augmentation=Augmentation(crop_padding=4, flip=True, cutout=16, mixup_alpha=0.2))
    space = darts_variant("s4")
    cell = DartsCell((("noise", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("noise", 2),
                      ("sep_conv_3x3", 1), ("sep_conv_3x3", 3), ("noise", 0), ("sep_conv_3x3", 4)), (2, 3, 4, 5))
    arch = DartsGenotype(cell, cell)

    def run(**kwargs):
        return train_arch(space, arch, protocol=protocol, dataset=few_digits, seed=5, progress=False,
                          channels=4, layers=3, auxiliary=False, **kwargs)

    reference = run()

    def crash_after_two(record: EpochRecord) -> None:
        if record.epoch == 2:
            raise _Crash

    with pytest.raises(_Crash):
        run(checkpoint_dir=tmp_path, on_epoch_end=crash_after_two)
    epochs_run: list[int] = []
    resumed = run(checkpoint_dir=tmp_path, on_epoch_end=lambda r: epochs_run.append(r.epoch))
    # epoch 1 came from the checkpoint; epoch 2's callback never finished, so its checkpoint was not written and
    # the epoch is redone (what a callback writes is on disk before its epoch counts as done)
    assert epochs_run == [2, 3, 4]
    assert resumed.train_loss == reference.train_loss and resumed.val_acc == reference.val_acc
    assert resumed.test_acc == reference.test_acc and resumed.test_loss == reference.test_loss


def test_same_seed_same_result_and_other_seed_differs(few_digits):
    protocol = get_protocol("cpu_small").with_overrides(epochs=1)
    a, b, c = (train_arch("nb201", ARCH, protocol=protocol, dataset=few_digits, seed=s, progress=False, channels=4)
               for s in (1, 1, 2))
    assert a.train_loss == b.train_loss and a.test_acc == b.test_acc
    assert a.train_loss != c.train_loss


def test_a_checkpoint_of_another_run_is_refused(few_digits, tmp_path):
    protocol = get_protocol("cpu_small").with_overrides(epochs=1)
    train_arch("nb201", ARCH, protocol=protocol, dataset=few_digits, seed=0, progress=False, channels=4,
               checkpoint_dir=tmp_path)
    with pytest.raises(ConfigError, match="different run"):
        train_arch("nb201", ARCH, protocol=protocol, dataset=few_digits, seed=1, progress=False, channels=4,
                   checkpoint_dir=tmp_path)


class _Diverging(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(64, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1)) * math.inf


def test_a_nan_loss_stops_the_run_with_a_clear_error(digits):
    with pytest.raises(TrainingError, match="loss became nan in epoch 1"):
        train(_Diverging(), digits, "cpu_small", seed=0, progress=False)


def test_bad_requests_are_clear_errors(digits):
    with pytest.raises(ConfigError, match="unknown training protocol"):
        train_arch("nb201", ARCH, protocol="nb999", dataset=digits, seed=0)
    with pytest.raises(ConfigError, match="invalid device 'gpu0'"):
        train(_Diverging(), digits, "cpu_small", seed=0, device="gpu0")


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_every_protocol_runs_an_epoch(few_digits, name):
    protocol = get_protocol(name).with_overrides(epochs=1, batch_size=64)
    if "nb201" in protocol.macro or name == "cpu_small":
        space, arch, macro = "nb201", ARCH, {"channels": 4, "cells_per_stage": 1}
    else:  # DARTS protocols; 8x8 digits are too small for the auxiliary head
        space, arch, macro = "darts", get_space("darts").sample(0), {"channels": 4, "layers": 3, "auxiliary": False}
    result = train_arch(space, arch, protocol=protocol, dataset=few_digits, seed=0, progress=False, **macro)
    assert math.isfinite(result.train_loss[0]) and 0.0 <= result.test_acc <= 100.0


def test_training_evaluator_scores_by_validation_accuracy(few_digits):
    protocol = get_protocol("cpu_small").with_overrides(epochs=1)
    evaluator = TrainingEvaluator("nb201", protocol=protocol, dataset=few_digits, seed=0, channels=4)
    assert isinstance(evaluator, Evaluator)
    archs = [ARCH, "|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"]
    scores = evaluator.evaluate(archs)
    assert scores.dtype == np.float64 and scores.shape == (2,)
    direct = train_arch("nb201", ARCH, protocol=protocol, dataset=few_digits, seed=0, progress=False, channels=4)
    assert scores[0] == direct.final_val_acc
    with pytest.raises(ConfigError, match="validation split"):
        TrainingEvaluator("nb201", protocol=protocol, dataset=replace(few_digits, val=Split(
            few_digits.val.x[:0], few_digits.val.y[:0])), seed=0)
