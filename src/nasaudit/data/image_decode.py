"""Decoding one image file with Pillow into a uint8 (3, H, W) array, with DARTS's ImageNet pre-processing.

DARTS's ``train_imagenet.py`` (github.com/quark0/darts ``cnn/train_imagenet.py`` at
f276dd346a09ae3160f8e3aca5c7b193fda1da37) trains on ``RandomResizedCrop(224)``, ``RandomHorizontalFlip()`` and
``ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.2)`` and evaluates on ``Resize(256)`` then
``CenterCrop(224)``, all torchvision transforms on Pillow images. They are re-implemented here on Pillow, with the
same parameter draws and the same Pillow operations torchvision applied to Pillow images (ImageEnhance for
brightness, contrast and saturation; a shift of the hue channel in HSV), so no torchvision is needed. Every draw
comes from the ``numpy`` generator passed in (seeded per image by the caller), not from Python's or torch's global
state, so the numbers do not match a torchvision run draw for draw, only in distribution. Normalisation happens
on the device (``data.augment.normalize``).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from nasaudit.errors import DataError

if TYPE_CHECKING:
    from PIL import Image

#: pixels of one decoded image (a 10,000 x 10,000 photograph); larger files are refused before decoding
MAX_PIXELS = 100_000_000
#: DARTS's ImageNet normalisation (``transforms.Normalize``), on the 0-1 scale
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
#: DARTS's ``ColorJitter`` strengths: brightness, contrast, saturation, hue
JITTER = (0.4, 0.4, 0.4, 0.2)


def open_rgb(path: Path) -> Image.Image:
    """The image at ``path`` decoded as RGB (grey-scale and CMYK files converted), refusing a corrupt file or one
    of more than ``MAX_PIXELS`` pixels with a one-line ``DataError``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():  # the bound below is ours; Pillow's own limit still refuses a bomb
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                if image.width * image.height > MAX_PIXELS:
                    raise DataError(f"{path} has {image.width} x {image.height} pixels, more than {MAX_PIXELS:,}")
                return image.convert("RGB")
    except DataError:
        raise
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, SyntaxError, ValueError) as err:
        raise DataError(f"cannot decode image {path} ({type(err).__name__}: {err})") from None


def to_array(image: Image.Image) -> np.ndarray:
    """An RGB Pillow image as a uint8 (3, H, W) array."""
    return np.ascontiguousarray(np.asarray(image, dtype=np.uint8).transpose(2, 0, 1))


def decode_fixed(path: Path, size: int) -> np.ndarray:
    """The image at ``path`` as uint8 (3, ``size``, ``size``), resized bilinearly only when it has another size
    (Tiny-ImageNet's images are all 64 x 64)."""
    from PIL import Image

    image = open_rgb(path)
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return to_array(image)


def random_resized_crop_box(width: int, height: int, rng: np.random.Generator, scale: tuple[float, float] = (0.08, 1.0),
                            ratio: tuple[float, float] = (3 / 4, 4 / 3)) -> tuple[int, int, int, int]:
    """(left, top, crop width, crop height) of torchvision's ``RandomResizedCrop.get_params``: up to 10 draws of an
    area fraction in ``scale`` and a log-uniform aspect ratio in ``ratio``, else the central crop of the largest
    allowed ratio."""
    area = width * height
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(*scale)
        aspect = math.exp(rng.uniform(*log_ratio))
        w = round(math.sqrt(target * aspect))
        h = round(math.sqrt(target / aspect))
        if 0 < w <= width and 0 < h <= height:
            return int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1)), w, h
    in_ratio = width / height
    if in_ratio < ratio[0]:
        w, h = width, round(width / ratio[0])
    elif in_ratio > ratio[1]:
        w, h = round(height * ratio[1]), height
    else:
        w, h = width, height
    return (width - w) // 2, (height - h) // 2, w, h


def color_jitter(image: Image.Image, rng: np.random.Generator,
                 strengths: tuple[float, float, float, float] = JITTER) -> Image.Image:
    """torchvision's ``ColorJitter`` on a Pillow image: brightness, contrast and saturation factors uniform in
    ``[1 - s, 1 + s]`` and a hue shift uniform in ``[-h, h]`` of a turn, applied in a random order."""
    from PIL import Image, ImageEnhance

    brightness, contrast, saturation, hue = strengths
    factors = [rng.uniform(max(0.0, 1 - s), 1 + s) for s in (brightness, contrast, saturation)]
    shift = rng.uniform(-hue, hue)
    for which in rng.permutation(4):
        if which == 0:
            image = ImageEnhance.Brightness(image).enhance(factors[0])
        elif which == 1:
            image = ImageEnhance.Contrast(image).enhance(factors[1])
        elif which == 2:
            image = ImageEnhance.Color(image).enhance(factors[2])
        else:
            h, s, v = image.convert("HSV").split()
            shifted = (np.asarray(h, dtype=np.uint8).astype(np.int16) + round(shift * 255)) % 256
            image = Image.merge("HSV", (Image.fromarray(shifted.astype(np.uint8), "L"), s, v)).convert("RGB")
    return image


def imagenet_train(path: Path, size: int, rng: np.random.Generator, flip: bool = True,
                   jitter: bool = True) -> np.ndarray:
    """DARTS's ImageNet training pre-processing of one file (module doc): random-resized crop to ``size``, random
    horizontal flip, colour jitter; uint8 (3, ``size``, ``size``)."""
    from PIL import Image

    image = open_rgb(path)
    left, top, w, h = random_resized_crop_box(image.width, image.height, rng)
    image = image.resize((size, size), Image.Resampling.BILINEAR, box=(left, top, left + w, top + h))
    if flip and rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    if jitter:
        image = color_jitter(image, rng)
    return to_array(image)


def imagenet_eval(path: Path, size: int, resize: int) -> np.ndarray:
    """DARTS's ImageNet evaluation pre-processing of one file: the shorter side resized to ``resize`` (bilinear),
    then the central ``size`` x ``size`` crop; uint8 (3, ``size``, ``size``)."""
    from PIL import Image

    image = open_rgb(path)
    width, height = image.size
    new = (resize, int(resize * height / width)) if width <= height else (int(resize * width / height), resize)
    image = image.resize(new, Image.Resampling.BILINEAR)
    left = round((new[0] - size) / 2.0)
    top = round((new[1] - size) / 2.0)
    return to_array(image.crop((left, top, left + size, top + size)))
