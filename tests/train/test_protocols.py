"""Named protocols carry the papers' hyper-parameters (each test names its table)."""

from __future__ import annotations

import pytest

from nasaudit.errors import ConfigError
from nasaudit.train import PROTOCOLS, get_protocol
from nasaudit.train.protocols import DecayProtocol


def test_nb201_protocol_matches_the_nb201_paper():
    # NB201 paper Sec. 2.3: SGD Nesterov 0.9, LR 0.1 -> 0 cosine, wd 5e-4, batch 256, 200 epochs, C=16, N=5
    p = get_protocol("nb201")
    assert (p.epochs, p.batch_size, p.lr, p.lr_min, p.momentum, p.nesterov, p.weight_decay) == (
        200, 256, 0.1, 0.0, 0.9, True, 5e-4)
    assert dict(p.macro["nb201"]) == {"channels": 16, "cells_per_stage": 5}
    assert p.augmentation.crop_padding == 4 and p.augmentation.flip and not p.augmentation.cutout


@pytest.mark.parametrize(("name", "epochs", "channels", "layers"), [("nb301", 100, 32, 8), ("darts_eval", 600, 36, 20)])
def test_darts_protocols_match_the_redundancy_paper_appendix_b(name, epochs, channels, layers):
    # redundancy paper App. B.2 (nb301) and B.3 (CIFAR-10 evaluation)
    p = get_protocol(name)
    assert (p.epochs, p.batch_size, p.lr, p.lr_min, p.momentum, p.weight_decay) == (epochs, 96, 0.025, 1e-8, 0.9, 3e-4)
    assert (p.aux_weight, p.drop_path, p.grad_clip) == (0.4, 0.2, 5.0)
    aug = p.augmentation
    assert (aug.cutout, aug.mixup_alpha) == (16, 0.2)
    assert dict(p.macro["darts"]) == {"channels": channels, "layers": layers, "auxiliary": True}


def test_architectures_paper_protocols_match_app_a3_a4():
    plain, regularized = get_protocol("shu_plain"), get_protocol("shu_regularized")
    for p in (plain, regularized):
        assert (p.epochs, p.batch_size, p.lr, p.momentum, p.weight_decay) == (600, 80, 0.025, 0.9, 3e-4)
    assert (plain.aux_weight, plain.drop_path, plain.augmentation.cutout) == (0.0, 0.0, 0)
    assert (regularized.aux_weight, regularized.drop_path, regularized.augmentation.cutout) == (0.4, 0.2, 16)


def test_single_path_protocol_matches_its_table_1():
    p = get_protocol("singlepath")
    assert (p.epochs, p.batch_size, p.lr, p.lr_min, p.weight_decay, p.weight_decay_on_bn) == (
        250, 256, 0.025, 5e-5, 3e-4, False)


def test_every_protocol_cites_its_source_and_anneals_by_cosine():
    for name, p in PROTOCOLS.items():
        assert p.name == name and len(p.source) > 40
        if isinstance(p, DecayProtocol):  # the ImageNet recipes decay per epoch (tests/train/test_imagenet_training.py)
            continue
        assert p.learning_rate(0) == pytest.approx(p.lr)
        assert p.learning_rate(p.epochs) == pytest.approx(p.lr_min)
        assert p.learning_rate(p.epochs / 2) == pytest.approx((p.lr + p.lr_min) / 2)
        assert p.drop_path_at(0) == 0.0


def test_overrides_and_unknown_names():
    p = get_protocol("nb301").with_overrides(epochs=3)
    assert p.epochs == 3 and p.drop_path_at(3) == pytest.approx(0.2)
    with pytest.raises(ConfigError, match="unknown protocol field"):
        p.with_overrides(epoch=3)
    with pytest.raises(ConfigError, match="whole number >= 1"):
        p.with_overrides(epochs=0)
    with pytest.raises(ConfigError, match=r"unknown training protocol .darts. \(did you mean"):
        get_protocol("darts")
