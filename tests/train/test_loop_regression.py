"""Regression guard of the one loop: the numbers it gives for fixed seeds stay what they were.

Recorded on CPU with one torch thread (the runs' default). Another CPU's kernels (AVX-512 instead of AVX2,
another oneDNN) sum in another order, so the numbers are compared with tolerances, not bit for bit (issue #22
item 8), chosen from two measurements: kernels that sum in another order (oneDNN off, ``mkldnn.flags``) moved
a loss by at most 1.6e-4 relative, an accuracy by less than one image, the weights' norms by 4e-6; real
changes of behaviour (weight decay 0, no Nesterov, momentum 0.8, learning rate 0.11, another seed, another
clip or batch size) move some loss by >= 5e-4 relative, some accuracy by >= 3 images, or the weights' norms
by >= 3e-4. So: losses to 1e-3 relative with every accuracy within one image, weight norms to 1e-4, and the
learning rates (plain Python arithmetic) to 1e-12.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch

from nasaudit.data import Augmentation, Split, load_dataset
from nasaudit.data.formats import read_embedded
from nasaudit.data.splits import DatasetSplits, make_splits
from nasaudit.train import get_protocol, train_arch
from nasaudit.weight_sharing.supernet.training import SupernetConfig, train_supernet

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
LOSS_RTOL, NORM_RTOL, LR_RTOL = 1e-3, 1e-4, 1e-12

#: per epoch (lr, train loss, train acc, val loss, val acc), then (test loss, test acc)
STANDALONE = [[0.1, 2.3467365900675454, 7.807533939679463, 2.3059091567993164, 20.3125],
              [0.05, 2.2781575520833335, 13.274704416592916, 2.302051544189453, 20.3125],
              [2.2952382564544678, 20.3125]]
#: per epoch (lr, train loss, train acc), then the L2 norm and the L1 norm of all float tensors of the state
SUPERNET = {
    "fair": [[0.0, 2.3272408379448786, 11.666666666666666], [0.012525, 2.3022557576497396, 12.708333333333334],
             [27.217500021092892, 2085.1208799067117]],
    "uniform": [[0.025, 2.35599602593316, 7.986111111111111], [0.012525, 2.3344008127848306, 9.027777777777779],
                [29.52484817034389, 2177.7333584584685]],
}
CONFIGS = {
    "fair": SupernetConfig(channels=4, depth=1, epochs=2, batch_size=96, flip=False, warmup_epochs=1, grad_clip=5.0),
    "uniform": SupernetConfig(channels=4, depth=1, epochs=2, batch_size=96, flip=False, sampling="uniform",
                              share_topology=False, regularized=True),
}


def _norms(module: torch.nn.Module) -> list[float]:
    """L2 and L1 norm of all float tensors of ``module``'s state (weights and BN statistics), in float64."""
    flat = torch.cat([value.detach().double().flatten() for value in module.state_dict().values()
                      if value.dtype.is_floating_point])
    return [float(flat.norm()), float(flat.abs().sum())]


def _check_epoch(got: list[float], expected: list[float], images: list[int]) -> None:
    """(lr, then alternating loss and accuracy) of one epoch; accuracy ``i`` may differ by one image of ``images[i]``."""
    np.testing.assert_allclose(got[0], expected[0], rtol=LR_RTOL, atol=0, err_msg="learning rate")
    for i, (loss, acc, loss_ref, acc_ref) in enumerate(zip(got[1::2], got[2::2], expected[1::2], expected[2::2],
                                                           strict=True)):
        np.testing.assert_allclose(loss, loss_ref, rtol=LOSS_RTOL, atol=0, err_msg=f"loss {i}")
        np.testing.assert_allclose(acc, acc_ref, rtol=0, atol=100.0 / images[i] + 1e-9, err_msg=f"accuracy {i}")


def test_stand_alone_numbers_are_unchanged() -> None:
    digits = load_dataset("embedded", val_fraction=0.2, seed=0)
    few = replace(digits, train=Split(digits.train.x[:192], digits.train.y[:192]),
                  val=Split(digits.val.x[:64], digits.val.y[:64]), test=Split(digits.test.x[:64], digits.test.y[:64]))
    protocol = get_protocol("cpu_small").with_overrides(
        epochs=2, grad_clip=5.0, augmentation=Augmentation(crop_padding=4, cutout=4, mixup_alpha=0.2))
    r = train_arch("nb201", ARCH, protocol=protocol, dataset=few, seed=7, progress=False, channels=4)
    assert len(r.history) == 2
    for record, expected in zip(r.history, STANDALONE, strict=False):
        _check_epoch([record.lr, record.train_loss, record.train_acc, record.val_loss, record.val_acc], expected,
                     [192, 64])
    _check_epoch([0.0, r.test_loss, r.test_acc], [0.0, *STANDALONE[2]], [64])


@pytest.fixture(scope="module")
def tiny() -> DatasetSplits:
    raw = read_embedded()
    keep = np.arange(320)
    return make_splits("embedded", raw.train_x[keep], raw.train_y[keep], raw.test_x[:64], raw.test_y[:64],
                       raw.num_classes, val_fraction=0.1, seed=0)


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_supernet_numbers_are_unchanged(tiny: DatasetSplits, name: str) -> None:
    run = train_supernet(CONFIGS[name], tiny, seed=3)
    assert len(run.history) == 2
    for record, expected in zip(run.history, SUPERNET[name], strict=False):
        _check_epoch([record.lr, record.train_loss, record.train_acc], expected, [len(tiny.train)])
    np.testing.assert_allclose(_norms(run.supernet), SUPERNET[name][2], rtol=NORM_RTOL, atol=0)
