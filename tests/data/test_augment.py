"""Tensor-side augmentation: crop, flip, cutout and mixup on whole batches, reproducible by generator."""

from __future__ import annotations

import torch

from nasaudit.data.augment import Augmentation, cutout, mixup, normalize, random_crop, random_flip


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def _batch() -> torch.Tensor:
    return torch.arange(2 * 3 * 6 * 6, dtype=torch.int64).reshape(2, 3, 6, 6).to(torch.uint8)


def test_random_crop_is_a_shifted_window_of_the_zero_padded_image():
    x = _batch()
    out = random_crop(x, 2, _gen())
    assert out.shape == x.shape and out.dtype == x.dtype
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(2):
        windows = [padded[i, :, dy:dy + 6, dx:dx + 6] for dy in range(5) for dx in range(5)]
        assert any(torch.equal(out[i], w) for w in windows)
    assert torch.equal(out, random_crop(x, 2, _gen()))  # same generator state, same crops


def test_flip_mirrors_whole_images():
    x = _batch().repeat(8, 1, 1, 1)
    out = random_flip(x, _gen(1))
    flipped = [torch.equal(o, i.flip(-1)) for o, i in zip(out, x, strict=True)]
    kept = [torch.equal(o, i) for o, i in zip(out, x, strict=True)]
    assert all(f or k for f, k in zip(flipped, kept, strict=True)) and any(flipped) and any(kept)


def test_cutout_zeros_one_square_per_image():
    x = torch.ones(64, 1, 32, 32)
    out = cutout(x, 16, _gen(2))
    zeros = (out == 0).sum(dim=(1, 2, 3))
    assert int(zeros.max()) == 16 * 16 and int(zeros.min()) >= 8 * 8  # clipped at the border at most to a quarter


def test_mixup_blends_with_a_permutation():
    x = torch.randn(8, 1, 2, 2)
    y = torch.arange(8)
    mixed, y_b = mixup(x, y, 0.7, _gen(3))
    assert torch.allclose(mixed, 0.7 * x + 0.3 * x[y_b])


def test_augmentation_scales_sizes_down_for_small_images_and_normalises():
    aug = Augmentation(crop_padding=4, flip=True, cutout=16)
    assert (aug.pixels(4, 32), aug.pixels(4, 16), aug.pixels(4, 8), aug.pixels(16, 224)) == (4, 2, 1, 16)
    x = torch.full((4, 3, 8, 8), 255, dtype=torch.uint8)
    mean, std = torch.tensor([0.5, 0.5, 0.5]), torch.tensor([0.5, 0.5, 0.5])
    assert torch.allclose(normalize(x, mean, std), torch.ones(4, 3, 8, 8))
    out = aug.apply(x, mean, std, _gen(4))
    assert out.dtype == torch.float32 and out.shape == x.shape
    assert torch.equal(out, aug.apply(x, mean, std, _gen(4)))
