"""Readers of the two usual folder layouts of ImageNet-type datasets, confined to the folder the user names.

* ILSVRC-2012 (ImageNet-1k) after the usual ``valprep`` step (pytorch/examples ``imagenet`` README, the layout
  DARTS's ``train_imagenet.py`` reads with ``ImageFolder``): ``train/<wnid>/*.JPEG`` and ``val/<wnid>/*.JPEG``.
  Indexed here (paths and labels, never the pixels): the images are decoded while training
  (``data.imagenet_stream``). Redundancy paper Table 2b, selection paper Table 5.
* Tiny-ImageNet-200 as distributed (``tiny-imagenet-200/``): ``wnids.txt``, ``train/<wnid>/images/*.JPEG`` and
  ``val/images/*.JPEG`` labelled by ``val/val_annotations.txt`` (tab-separated: file, wnid, box). 110,000 images
  of 64 x 64 pixels, read into memory as a ``RawDataset`` whose test split is the official validation set
  (architectures paper App. A.1, footnote 5: the test set has no labels).

Classes are numbered in sorted order of their wnids, as ``ImageFolder`` does. Every path is listed without
following a symbolic link out of the named folder (a link that stays inside is read; one pointing out is a
``DataError``), every count and file size has an upper bound, and a wrong layout is a one-line ``DataError``
naming the expected one before any image is decoded.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nasaudit.data.formats import RawDataset
from nasaudit.errors import DataError
from nasaudit.limits import MAX_IMAGES

IMAGENET_LAYOUT = ("an ILSVRC-2012 folder with train/<wnid>/*.JPEG and val/<wnid>/*.JPEG (class folders named like "
                   "n01440764; the validation images sorted into class folders, as pytorch/examples' valprep.sh does)")
TINY_IMAGENET_LAYOUT = ("tiny-imagenet-200/ with wnids.txt, train/<wnid>/images/*.JPEG, val/images/*.JPEG and "
                        "val/val_annotations.txt (tab-separated: file name, wnid, box)")
#: a WordNet id, the name of every class folder of both layouts
WNID = re.compile(r"^n[0-9]{8}$")
#: image file endings read (case-insensitive); anything else in a class folder is ignored
IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")
#: classes of one dataset (ImageNet-1k: 1,000; Tiny-ImageNet: 200)
MAX_CLASSES = 10_000
#: bytes of one image file (the largest ILSVRC-2012 training JPEG is about 15 MB)
MAX_IMAGE_BYTES = 64 * 2**20
#: bytes of a text file of the layout (Tiny-ImageNet's val_annotations.txt: 0.3 MB)
MAX_TEXT_BYTES = 16 * 2**20
#: Tiny-ImageNet's image side in pixels
TINY_SIZE = 64


@dataclass(frozen=True)
class FileIndex:
    """Image files and their class labels (``labels[i]`` of ``files[i]``), classes in sorted wnid order."""

    files: tuple[Path, ...]
    labels: np.ndarray
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.files)


class Confined:
    """Paths inside ``root`` (resolved once; the user named it): a symbolic link below it is followed only when
    its target stays inside."""

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().resolve()
        if not self.root.is_dir():
            raise DataError(f"data root {root} is not a folder")

    def check(self, path: Path) -> Path:
        """``path`` itself, after refusing it when it is a link whose target leaves the root."""
        if path.is_symlink():
            target = path.resolve()
            if not target.is_relative_to(self.root):
                raise DataError(f"{path} is a symbolic link to {target}, outside the data root {self.root}; "
                                "copy the files into the folder instead")
        return path

    def entries(self, folder: Path, limit: int) -> list[os.DirEntry[str]]:
        """The entries of ``folder`` (checked), sorted by name, at most ``limit`` of them."""
        self.check(folder)
        out: list[os.DirEntry[str]] = []
        try:
            with os.scandir(folder) as it:
                for entry in it:
                    out.append(entry)
                    if len(out) > limit:
                        raise DataError(f"{folder} holds more than {limit:,} entries, the most a dataset may have")
        except OSError as err:
            raise DataError(f"cannot list {folder}: {err.strerror}") from None
        return sorted(out, key=lambda e: e.name)

    def folder(self, path: Path, layout: str) -> Path:
        """``path`` when it is a folder (checked), else a ``DataError`` naming ``layout``."""
        if not self.check(path).is_dir():
            raise DataError(f"folder {path} not found; expected {layout}")
        return path

    def images(self, folder: Path, limit: int) -> list[Path]:
        """Image files of ``folder`` (sorted, each checked and at most ``MAX_IMAGE_BYTES``)."""
        out = []
        for entry in self.entries(folder, limit):
            if not entry.name.lower().endswith(IMAGE_SUFFIXES):
                continue
            path = self.check(Path(entry.path))
            if not path.is_file():
                continue
            if path.stat().st_size > MAX_IMAGE_BYTES:
                raise DataError(f"{path} is larger than {MAX_IMAGE_BYTES:,} bytes, more than an image of the dataset")
            out.append(path)
        return out

    def text(self, path: Path, layout: str) -> str:
        """The text of file ``path`` (checked, at most ``MAX_TEXT_BYTES``)."""
        if not self.check(path).is_file():
            raise DataError(f"missing file {path}; expected {layout}")
        if path.stat().st_size > MAX_TEXT_BYTES:
            raise DataError(f"{path} is larger than {MAX_TEXT_BYTES:,} bytes; expected {layout}")
        try:
            return path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as err:
            raise DataError(f"cannot read {path} ({type(err).__name__}); expected {layout}") from None


def _class_folders(box: Confined, folder: Path, layout: str) -> list[str]:
    names = [e.name for e in box.entries(folder, MAX_CLASSES + 1000) if box.check(Path(e.path)).is_dir()]
    wnids = [n for n in names if WNID.match(n)]
    if not wnids:
        raise DataError(f"{folder} has no class folders named like n01440764; expected {layout}")
    if len(wnids) > MAX_CLASSES:
        raise DataError(f"{folder} has {len(wnids):,} class folders, more than {MAX_CLASSES:,}")
    return wnids


def _index(box: Confined, folders: list[tuple[Path, int]], classes: tuple[str, ...], what: Path,
           layout: str) -> FileIndex:
    files: list[Path] = []
    labels: list[int] = []
    for folder, label in folders:
        found = box.images(folder, MAX_IMAGES - len(files))
        files.extend(found)
        labels.extend([label] * len(found))
    if not files:
        raise DataError(f"no .JPEG images under {what}; expected {layout}")
    return FileIndex(tuple(files), np.asarray(labels, dtype=np.int64), classes)


def imagenet_root(box: Confined) -> Path:
    """The root when it holds ``train/`` and ``val/``; else its ``imagenet``/``ILSVRC2012`` child that does."""
    for candidate in (box.root, box.root / "imagenet", box.root / "ILSVRC2012"):
        if box.check(candidate).is_dir() and (candidate / "train").is_dir() and (candidate / "val").is_dir():
            return candidate
    raise DataError(f"no train/ and val/ folders at {box.root}; expected {IMAGENET_LAYOUT}")


def index_imagenet(root: Path) -> tuple[FileIndex, FileIndex]:
    """(train, val) file indexes of an ILSVRC-2012 folder (module doc); train and val must have the same classes."""
    box = Confined(root)
    base = imagenet_root(box)
    train_dir = box.folder(base / "train", IMAGENET_LAYOUT)
    val_dir = box.folder(base / "val", IMAGENET_LAYOUT)
    classes = tuple(_class_folders(box, train_dir, IMAGENET_LAYOUT))
    val_classes = tuple(_class_folders(box, val_dir, IMAGENET_LAYOUT))
    if val_classes != classes:
        missing = sorted(set(classes) ^ set(val_classes))[:3]
        raise DataError(f"train/ has {len(classes)} classes and val/ {len(val_classes)}, differing in {missing}...; "
                        f"expected {IMAGENET_LAYOUT}")
    train = _index(box, [(train_dir / c, i) for i, c in enumerate(classes)], classes, train_dir, IMAGENET_LAYOUT)
    val = _index(box, [(val_dir / c, i) for i, c in enumerate(classes)], classes, val_dir, IMAGENET_LAYOUT)
    return train, val


def tiny_imagenet_root(box: Confined) -> Path:
    """The root when it holds ``wnids.txt``; else its ``tiny-imagenet-200`` child."""
    for candidate in (box.root, box.root / "tiny-imagenet-200"):
        if box.check(candidate).is_dir() and (candidate / "wnids.txt").is_file():
            return candidate
    raise DataError(f"no wnids.txt at or under {box.root}; expected {TINY_IMAGENET_LAYOUT}")


def _val_annotations(text: str, path: Path, known: set[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or not fields[0] or fields[1] not in known:
            raise DataError(f"{path} line {number}: expected 'file<TAB>wnid<TAB>box' with a wnid of wnids.txt, got "
                            f"{line[:80]!r}")
        labels[fields[0]] = fields[1]
    return labels


def index_tiny_imagenet(root: Path) -> tuple[FileIndex, FileIndex]:
    """(train, val) file indexes of a Tiny-ImageNet-200 folder (module doc)."""
    box = Confined(root)
    base = tiny_imagenet_root(box)
    wnids = box.text(base / "wnids.txt", TINY_IMAGENET_LAYOUT).split()
    if not wnids or len(wnids) > MAX_CLASSES or len(set(wnids)) != len(wnids) or not all(map(WNID.match, wnids)):
        raise DataError(f"{base / 'wnids.txt'} must list distinct wnids like n01443537, one a line; expected "
                        f"{TINY_IMAGENET_LAYOUT}")
    classes = tuple(sorted(wnids))
    train_dir = box.folder(base / "train", TINY_IMAGENET_LAYOUT)
    for wnid in classes:
        box.folder(train_dir / wnid / "images", TINY_IMAGENET_LAYOUT)
    train = _index(box, [(train_dir / c / "images", i) for i, c in enumerate(classes)], classes, train_dir,
                   TINY_IMAGENET_LAYOUT)
    val_dir = box.folder(base / "val", TINY_IMAGENET_LAYOUT)
    annotations_path = val_dir / "val_annotations.txt"
    by_file = _val_annotations(box.text(annotations_path, TINY_IMAGENET_LAYOUT), annotations_path, set(classes))
    images = box.images(box.folder(val_dir / "images", TINY_IMAGENET_LAYOUT), MAX_IMAGES)
    unlabelled = [p.name for p in images if p.name not in by_file]
    if unlabelled:
        raise DataError(f"{len(unlabelled)} image(s) of {val_dir / 'images'} (e.g. {unlabelled[0]}) are not in "
                        f"{annotations_path}; expected {TINY_IMAGENET_LAYOUT}")
    if not images:
        raise DataError(f"no .JPEG images under {val_dir / 'images'}; expected {TINY_IMAGENET_LAYOUT}")
    label_of = {c: i for i, c in enumerate(classes)}
    val = FileIndex(tuple(images), np.asarray([label_of[by_file[p.name]] for p in images], dtype=np.int64), classes)
    return train, val


def read_tiny_imagenet(root: Path) -> RawDataset:
    """Tiny-ImageNet-200 decoded into memory at 64 x 64 RGB (grey-scale images repeated over 3 channels, any other
    size resized bilinearly): the training images, and the labelled official validation set as the test split."""
    from nasaudit.data.image_decode import decode_fixed

    train, val = index_tiny_imagenet(root)

    def decode(index: FileIndex) -> np.ndarray:
        out = np.empty((len(index), 3, TINY_SIZE, TINY_SIZE), dtype=np.uint8)
        for i, path in enumerate(index.files):
            out[i] = decode_fixed(path, TINY_SIZE)
        return out

    return RawDataset(decode(train), train.labels, decode(val), val.labels, len(train.classes))
