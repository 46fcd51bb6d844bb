"""The DARTS ImageNet (mobile setting) network and the Tiny-ImageNet network, against the papers' counts and
DARTS's ``NetworkImageNet`` (github.com/quark0/darts ``cnn/model.py`` at 8876e793763398e3ee62ac1823fa0a3c14e8c2c5)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from nasaudit.analysis.published import published_genotype
from nasaudit.nn.networks import build_network, count_parameters
from nasaudit.train.protocols import PROTOCOLS

DARTS_V2 = published_genotype("DARTS_V2")


def test_darts_v2_mobile_setting_has_4_7m_parameters() -> None:
    # DARTS Table 2 / redundancy paper Table 2b / selection paper Table 5: DARTS (V2) 4.7M parameters (C=48, 14
    # cells, 1000 classes), counted as DARTS's utils.count_parameters_in_MB does (auxiliary head excluded).
    macro = dict(PROTOCOLS["darts_imagenet_mobile"].macro["darts"])
    assert macro == {"variant": "imagenet", "channels": 48, "layers": 14, "auxiliary": True}
    model = build_network(DARTS_V2, "darts", num_classes=1000, **macro)
    assert count_parameters(model) == 4_718_752
    assert round(count_parameters(model) / 1e6, 1) == 4.7


def test_imagenet_network_has_darts_stems_pooling_and_auxiliary_placement() -> None:
    model = build_network(DARTS_V2, "darts", num_classes=5, variant="imagenet", channels=8, layers=14)
    strides = [m.stride for m in (*model.stem0, *model.stem1) if isinstance(m, nn.Conv2d)]
    assert strides == [(2, 2), (2, 2), (2, 2)]  # stem0: two stride-2 convs; stem1: one
    sizes: dict[str, tuple[int, ...]] = {}

    def record(name: str, of_input: bool = False):  # a hook returning None keeps the module's output
        def hook(module: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            sizes.setdefault(name, tuple((args[0] if of_input else out).shape[-2:]))
        return hook

    model.stem0.register_forward_hook(record("stem0"))
    model.stem1.register_forward_hook(record("stem1"))
    model.cells[-1].register_forward_hook(record("last"))
    assert model.auxiliary_head is not None
    model.auxiliary_head.register_forward_hook(record("aux_in", of_input=True))
    model.train()
    logits, aux = model(torch.randn(2, 3, 224, 224))
    # 224 -> 56 -> 28; reductions at cells 4 and 9 (14 // 3, 2 * 14 // 3) -> 7x7 at the final 7x7 pooling. The
    # auxiliary head sits after cell 9, itself a reduction cell, so it sees 7x7 maps as in DARTS's release (whose
    # AuxiliaryHeadImageNet comment says 14x14)
    assert sizes == {"stem0": (56, 56), "stem1": (28, 28), "aux_in": (7, 7), "last": (7, 7)}
    assert logits.shape == aux.shape == (2, 5)
    model.eval()
    assert model(torch.randn(1, 3, 224, 224)).shape == (1, 5)


@pytest.mark.parametrize("name, tiny, cifar10, cifar100", [("DARTS_V2", 4.08, 3.83, 3.95), ("SNAS", 3.39, 3.14, 3.26)])
def test_tiny_imagenet_network_has_the_architectures_papers_counts(name: str, tiny: float, cifar10: float,
                                                                    cifar100: float) -> None:
    # Architectures paper Table 1 (originals, left of the slash), its App. A.3 network (L=20, C=36, stride-2 first
    # convolution on Tiny-ImageNet): the counts include the auxiliary tower.
    genotype = published_genotype(name)
    macro = dict(PROTOCOLS["shu_tiny_imagenet"].macro["darts"])
    assert macro["stem_stride"] == 2
    model = build_network(genotype, "darts", num_classes=200, **macro)
    assert round(count_parameters(model, include_auxiliary=True) / 1e6, 2) == tiny
    for classes, count in ((10, cifar10), (100, cifar100)):
        plain = build_network(genotype, "darts", num_classes=classes, channels=36, layers=20, auxiliary=True)
        assert round(count_parameters(plain, include_auxiliary=True) / 1e6, 2) == count


def test_tiny_imagenet_network_takes_64_pixel_images_with_its_auxiliary_head() -> None:
    model = build_network(DARTS_V2, "darts", num_classes=7, channels=4, layers=5, auxiliary=True, stem_stride=2)
    model.train()
    logits, aux = model(torch.randn(2, 3, 64, 64))
    assert logits.shape == aux.shape == (2, 7)
