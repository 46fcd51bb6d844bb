"""The ImageNet and Tiny-ImageNet protocols, and training streamed from a few tiny JPEGs in the ILSVRC layout."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nasaudit.analysis.published import published_genotype
from nasaudit.errors import ConfigError, DataError
from nasaudit.train import train_arch
from nasaudit.train.protocols import PROTOCOLS, DecayProtocol

CLASSES = ("n01440764", "n01443537")


def _imagenet(root: Path) -> Path:
    for c, wnid in enumerate(CLASSES):
        for part, count in (("train", 4), ("val", 2)):
            for i in range(count):
                path = root / part / wnid / f"{wnid}_{i}.JPEG"
                path.parent.mkdir(parents=True, exist_ok=True)
                pixels = np.random.default_rng(10 * c + i).integers(0, 256, (30, 40, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(path)
    return root


def test_darts_imagenet_mobile_is_darts_train_imagenet() -> None:
    p = PROTOCOLS["darts_imagenet_mobile"]
    assert isinstance(p, DecayProtocol)
    assert (p.epochs, p.batch_size, p.lr, p.momentum, p.weight_decay, p.label_smoothing, p.aux_weight, p.grad_clip,
            p.drop_path) == (250, 128, 0.1, 0.9, 3e-5, 0.1, 0.4, 5.0, 0.0)
    # StepLR(1, 0.97) stepped at each epoch's start under PyTorch 0.3: the first epoch already decayed once
    assert p.learning_rate(0) == pytest.approx(0.097) and p.learning_rate(1) == pytest.approx(0.1 * 0.97 ** 2)
    assert p.learning_rate(249) == pytest.approx(0.1 * 0.97 ** 250)


def test_redundancy_imagenet_follows_the_linear_schedule_with_warm_up() -> None:
    p = PROTOCOLS["redundancy_imagenet"]
    assert (p.epochs, p.batch_size, p.lr, p.weight_decay, p.label_smoothing, p.augmentation.cutout) == (
        250, 768, 0.5, 3e-5, 0.1, 16)
    rates = [p.learning_rate(e) for e in range(250)]
    assert rates[:5] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])  # 5 warm-up epochs (batch > 256)
    assert rates[5] == pytest.approx(0.5 * 240 / 245) and rates[244] == pytest.approx(0.5 * 1 / 245)
    assert rates[245] == pytest.approx(0.5 * 5 / (245 * 5)) and rates[249] == pytest.approx(0.5 / (245 * 5))
    short = p.with_overrides(epochs=2, warmup=0)
    assert all(math.isfinite(short.learning_rate(e)) and short.learning_rate(e) > 0 for e in range(2))
    with pytest.raises(ConfigError, match="schedule"):
        p.with_overrides(schedule="cosine")


def test_shu_tiny_imagenet_is_table_1s_setting() -> None:
    p = PROTOCOLS["shu_tiny_imagenet"]
    assert (p.epochs, p.batch_size, p.lr, p.lr_min, p.weight_decay, p.aux_weight, p.drop_path) == (
        300, 80, 0.025, 0.0, 3e-4, 0.4, 0.2)
    assert (p.augmentation.crop_padding, p.augmentation.flip, p.augmentation.cutout) == (4, True, 16)


def test_train_arch_streams_imagenet_from_its_folder(tmp_path: Path) -> None:
    proto = PROTOCOLS["darts_imagenet_mobile"].with_overrides(epochs=1, batch_size=3, eval_batch_size=4)
    result = train_arch("darts", published_genotype("DARTS_V2"), protocol=proto, dataset="imagenet", seed=0,
                        data_root=_imagenet(tmp_path), device="cpu", progress=False, val_fraction=0.25,
                        channels=4, layers=3, workers=0)
    assert result.dataset == "imagenet" and len(result.history) == 1
    assert math.isfinite(result.history[0].train_loss) and 0.0 <= result.test_acc <= 100.0
    assert math.isfinite(result.final_val_acc) and result.macro["variant"] == "imagenet"


def test_imagenet_training_refuses_a_wrong_folder_before_building_anything(tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    with pytest.raises(DataError, match="train/ and val/"):
        train_arch("darts", published_genotype("DARTS_V2"), protocol="darts_imagenet_mobile", dataset="imagenet",
                   seed=0, data_root=tmp_path, device="cpu", progress=False)
