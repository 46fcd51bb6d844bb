"""Training-time augmentation applied to whole batches on the training device (no per-image Python).

Random crop with zero padding and horizontal flip (DARTS / NB201 pre-processing, architectures paper
App. A.1), cutout (DeVries & Taylor, 2017; redundancy paper App. B.2) and mixup (Zhang et al., 2018;
redundancy paper App. B.2). Sizes are the papers' pixels for 32x32 images; on smaller images they are
scaled down in proportion, which reproduces NB201's ImageNet16 crop padding of 2 from CIFAR's 4.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

REFERENCE_SIZE = 32


@dataclass(frozen=True)
class Augmentation:
    """What to apply to training batches; ``crop_padding`` and ``cutout`` are pixels at 32x32 (or larger)."""

    crop_padding: int = 0
    flip: bool = False
    cutout: int = 0
    mixup_alpha: float = 0.0

    def pixels(self, size: int, image_size: int) -> int:
        """``size`` pixels at 32x32, scaled down for smaller images (at least 1 when ``size`` > 0)."""
        return 0 if size == 0 else max(1, round(size * min(1.0, image_size / REFERENCE_SIZE)))

    def apply(self, x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor,
              generator: torch.Generator) -> torch.Tensor:
        """Crop and flip the uint8 batch, normalise it to float, then cut out (DARTS order)."""
        size = x.shape[-1]
        if self.crop_padding:
            x = random_crop(x, self.pixels(self.crop_padding, size), generator)
        if self.flip:
            x = random_flip(x, generator)
        out = normalize(x, mean, std)
        if self.cutout:
            out = cutout(out, self.pixels(self.cutout, size), generator)
        return out


def normalize(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """uint8 0-255 images to float, standardised per channel (``mean``/``std`` on the 0-1 scale)."""
    return (x.float() / 255.0 - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Zero-pad by ``padding`` and crop each image back to its size at a random offset."""
    n, _, h, w = x.shape
    padded = torch.nn.functional.pad(x, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (n, 1), generator=generator, device=x.device)
    dx = torch.randint(0, 2 * padding + 1, (n, 1), generator=generator, device=x.device)
    rows = (dy + torch.arange(h, device=x.device))[:, None, :, None]
    cols = (dx + torch.arange(w, device=x.device))[:, None, None, :]
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Mirror each image horizontally with probability 1/2."""
    flip = torch.rand(x.shape[0], generator=generator, device=x.device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def cutout(x: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """Zero one ``length`` x ``length`` square per image, centred uniformly (clipped at the border)."""
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n, 1, 1), generator=generator, device=x.device)
    cx = torch.randint(0, w, (n, 1, 1), generator=generator, device=x.device)
    ys = torch.arange(h, device=x.device)[None, :, None]
    xs = torch.arange(w, device=x.device)[None, None, :]
    half = length // 2
    inside = (ys >= cy - half) & (ys < cy + length - half) & (xs >= cx - half) & (xs < cx + length - half)
    return x * (~inside)[:, None].to(x.dtype)


def mixup(x: torch.Tensor, y: torch.Tensor, lam: float, generator: torch.Generator
          ) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend the batch with a random permutation of itself: ``lam * x + (1 - lam) * x[perm]``.

    Returns the mixed images and the permuted labels; the loss is ``lam * CE(y) + (1 - lam) * CE(y[perm])``.
    """
    perm = torch.randperm(x.shape[0], generator=generator, device=x.device)
    return lam * x + (1.0 - lam) * x[perm], y[perm]
