"""The one loop reproduces, bit for bit on CPU, the numbers the two former loops (stand-alone and
supernet) gave for the same seeds; recorded with one torch thread (the runs' default) before they were merged."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pytest
import torch

from nasaudit.data import Augmentation, Split, load_dataset
from nasaudit.data.formats import read_embedded
from nasaudit.data.splits import DatasetSplits, make_splits
from nasaudit.supernet.training import SupernetConfig, train_supernet
from nasaudit.train import get_protocol, train_arch

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"

#: per epoch (lr, train loss, train acc, val loss, val acc), then (test loss, test acc), as float.hex
STANDALONE = [
    ["0x1.999999999999ap-4", "0x1.2c61dd5555555p+1", "0x1.f3aea2d555555p+2", "0x1.2728080000000p+1",
     "0x1.4500000000000p+4"],
    ["0x1.999999999999ap-5", "0x1.239aaaaaaaaabp+1", "0x1.a8ca60eaaaaabp+3", "0x1.26a9a00000000p+1",
     "0x1.4500000000000p+4"],
    ["0x1.25ca5e0000000p+1", "0x1.4500000000000p+4"],
]
#: per epoch (lr, train loss, train acc), then the first 16 hex digits of the weights' SHA-256
SUPERNET = {
    "fair": [["0x0.0p+0", "0x1.29e3071c71c72p+1", "0x1.7555555555555p+3"],
             ["0x1.9a6b50b0f27bbp-7", "0x1.26b0511111111p+1", "0x1.96aaaaaaaaaabp+3"], ["3e725268f7fb363f"]],
    "uniform": [["0x1.999999999999ap-6", "0x1.2d91455555555p+1", "0x1.ff1c71c71c71cp+2"],
                ["0x1.9a6b50b0f27bbp-7", "0x1.2acda71c71c72p+1", "0x1.20e38e38e38e4p+3"], ["7e4636ed2b7c0040"]],
}
CONFIGS = {
    "fair": SupernetConfig(channels=4, depth=1, epochs=2, batch_size=96, flip=False, warmup_epochs=1, grad_clip=5.0),
    "uniform": SupernetConfig(channels=4, depth=1, epochs=2, batch_size=96, flip=False, sampling="uniform",
                              share_topology=False, regularized=True),
}


def _digest(module: torch.nn.Module) -> str:
    h = hashlib.sha256()
    for key, value in module.state_dict().items():
        h.update(key.encode())
        h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def test_stand_alone_numbers_are_unchanged() -> None:
    digits = load_dataset("embedded", val_fraction=0.2, seed=0)
    few = replace(digits, train=Split(digits.train.x[:192], digits.train.y[:192]),
                  val=Split(digits.val.x[:64], digits.val.y[:64]), test=Split(digits.test.x[:64], digits.test.y[:64]))
    protocol = get_protocol("cpu_small").with_overrides(
        epochs=2, grad_clip=5.0, augmentation=Augmentation(crop_padding=4, cutout=4, mixup_alpha=0.2))
    r = train_arch("nb201", ARCH, protocol=protocol, dataset=few, seed=7, progress=False, channels=4)
    got = [[x.lr.hex(), x.train_loss.hex(), x.train_acc.hex(), x.val_loss.hex(), x.val_acc.hex()] for x in r.history]
    assert [*got, [r.test_loss.hex(), r.test_acc.hex()]] == STANDALONE


@pytest.fixture(scope="module")
def tiny() -> DatasetSplits:
    raw = read_embedded()
    keep = np.arange(320)
    return make_splits("embedded", raw.train_x[keep], raw.train_y[keep], raw.test_x[:64], raw.test_y[:64],
                       raw.num_classes, val_fraction=0.1, seed=0)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_supernet_numbers_are_unchanged(tiny: DatasetSplits, name: str) -> None:
    run = train_supernet(CONFIGS[name], tiny, seed=3)
    got = [[x.lr.hex(), x.train_loss.hex(), x.train_acc.hex()] for x in run.history]
    assert [*got, [_digest(run.supernet)]] == SUPERNET[name]
