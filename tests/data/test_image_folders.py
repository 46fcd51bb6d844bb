"""ImageNet and Tiny-ImageNet folder readers on a few tiny JPEGs in the official layouts (no real dataset here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nasaudit.data.image_decode import imagenet_eval, imagenet_train, open_rgb, random_resized_crop_box
from nasaudit.data.image_folders import index_imagenet, index_tiny_imagenet, read_tiny_imagenet
from nasaudit.data.imagenet_stream import ImageFiles, load_streamed
from nasaudit.data.loading import load_dataset
from nasaudit.errors import DataError

TENCH, GOLDFISH, SHARK = "n01440764", "n01443537", "n01484850"


def _jpeg(path: Path, size: tuple[int, int], value: int, mode: str = "RGB") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(value)
    shape = (size[1], size[0], 3) if mode == "RGB" else (size[1], size[0])
    Image.fromarray(rng.integers(0, 256, shape, dtype=np.uint8), mode).save(path, "JPEG")


def _imagenet(root: Path, classes: tuple[str, ...] = (GOLDFISH, TENCH), per_class: int = 3) -> Path:
    """ILSVRC-2012 after valprep: train/<wnid>/<wnid>_<n>.JPEG and val/<wnid>/ILSVRC2012_val_<n>.JPEG."""
    for c, wnid in enumerate(classes):
        for i in range(per_class):
            _jpeg(root / "train" / wnid / f"{wnid}_{i + 1}.JPEG", (40 + 4 * i, 30 + 6 * c), 10 * c + i)
        _jpeg(root / "val" / wnid / f"ILSVRC2012_val_{c + 1:08d}.JPEG", (36, 48), 100 + c)
    return root


def _tiny(root: Path) -> Path:
    """tiny-imagenet-200 as distributed: wnids.txt (not sorted), train/<wnid>/images, val/images + annotations."""
    base = root / "tiny-imagenet-200"
    base.mkdir(parents=True)
    (base / "wnids.txt").write_text(f"{TENCH}\n{GOLDFISH}\n")
    for c, wnid in enumerate((TENCH, GOLDFISH)):
        for i in range(2):
            _jpeg(base / "train" / wnid / "images" / f"{wnid}_{i}.JPEG", (64, 64), 10 * c + i)
        (base / "train" / wnid / f"{wnid}_boxes.txt").write_text(f"{wnid}_0.JPEG\t0\t0\t63\t63\n")
    _jpeg(base / "val" / "images" / "val_0.JPEG", (64, 64), 50, mode="L")  # grey-scale, as some official ones
    _jpeg(base / "val" / "images" / "val_1.JPEG", (32, 32), 51)  # another size: resized to 64
    (base / "val" / "val_annotations.txt").write_text(
        f"val_0.JPEG\t{GOLDFISH}\t0\t10\t63\t58\nval_1.JPEG\t{TENCH}\t3\t4\t30\t31\n")
    return root


def test_imagenet_index_has_sorted_classes_and_labels(tmp_path: Path) -> None:
    train, val = index_imagenet(_imagenet(tmp_path))
    assert train.classes == (TENCH, GOLDFISH) == val.classes  # sorted wnids, as ImageFolder numbers them
    assert len(train) == 6 and len(val) == 2
    assert [p.parent.name for p in train.files] == [TENCH] * 3 + [GOLDFISH] * 3
    assert train.labels.tolist() == [0, 0, 0, 1, 1, 1] and val.labels.tolist() == [0, 1]


def test_imagenet_splits_hold_out_validation_by_seed(tmp_path: Path) -> None:
    root = _imagenet(tmp_path)
    a = load_streamed("imagenet", root, val_fraction=1 / 3, seed=3)
    b = load_streamed("imagenet", root, val_fraction=1 / 3, seed=3)
    assert (len(a.train), len(a.val), len(a.test), a.num_classes) == (4, 2, 2, 2)
    assert a.val.files == b.val.files and not set(a.val.files) & set(a.train.files)
    assert a.image_size == 224 and a.eval_resize == 256


def test_imagenet_items_are_224_crops_drawn_from_their_seed(tmp_path: Path) -> None:
    train, val = index_imagenet(_imagenet(tmp_path))
    files = ImageFiles(train, train=True)
    x, y = files[(4, 7)]
    assert x.shape == (3, 224, 224) and x.dtype.is_floating_point is False and y == 1
    assert np.array_equal(files[(4, 7)][0].numpy(), x.numpy())
    assert not np.array_equal(files[(4, 8)][0].numpy(), x.numpy())
    ev, label = ImageFiles(val, train=False)[(1, 0)]
    assert ev.shape == (3, 224, 224) and label == 1


def test_eval_resizes_the_short_side_then_crops_the_centre(tmp_path: Path) -> None:
    path = tmp_path / "x.png"
    pixels = np.random.default_rng(0).integers(0, 256, (256, 300, 3), dtype=np.uint8)  # short side already 256
    Image.fromarray(pixels).save(path)
    out = imagenet_eval(path, 224, 256)
    assert np.array_equal(out, pixels[16:240, 38:262].transpose(2, 0, 1))


def test_random_resized_crop_stays_inside_the_image() -> None:
    rng = np.random.default_rng(0)
    for width, height in ((500, 375), (40, 30), (10, 200)):
        for _ in range(50):
            left, top, w, h = random_resized_crop_box(width, height, rng)
            assert left >= 0 and left + w <= width and top >= 0 and top + h <= height and w > 0 and h > 0


def test_training_decode_is_reproducible_per_seed(tmp_path: Path) -> None:
    path = tmp_path / "a.JPEG"
    _jpeg(path, (60, 45), 1)
    one = imagenet_train(path, 32, np.random.default_rng(5))
    assert np.array_equal(one, imagenet_train(path, 32, np.random.default_rng(5))) and one.shape == (3, 32, 32)


@pytest.mark.parametrize("breakage, message", [
    (lambda root: __import__("shutil").rmtree(root / "val"), "no train/ and val/"),
    (lambda root: (root / "train" / TENCH).rename(root / "train" / "tench"), "differing in"),
    (lambda root: [p.rename(p.with_suffix(".txt")) for p in (root / "val").rglob("*.JPEG")], "no .JPEG images"),
])
def test_imagenet_wrong_layouts_are_one_line_errors(tmp_path: Path, breakage, message) -> None:
    root = _imagenet(tmp_path)
    breakage(root)
    with pytest.raises(DataError, match=message) as err:
        index_imagenet(root)
    assert "\n" not in str(err.value)


def test_imagenet_without_class_folders_names_the_layout(tmp_path: Path) -> None:
    for part in ("train", "val"):
        _jpeg(tmp_path / part / "cat" / "1.JPEG", (8, 8), 0)
    with pytest.raises(DataError, match="n01440764"):
        index_imagenet(tmp_path)


def test_links_out_of_the_folder_are_refused_links_inside_are_read(tmp_path: Path) -> None:
    root = _imagenet(tmp_path / "imagenet")
    outside = tmp_path / "elsewhere"
    _jpeg(outside / "secret.JPEG", (8, 8), 0)
    inside = root / "train" / TENCH / "copy.JPEG"
    inside.symlink_to(root / "train" / TENCH / f"{TENCH}_1.JPEG")
    assert len(index_imagenet(root)[0]) == 7
    (root / "train" / GOLDFISH / "leak.JPEG").symlink_to(outside / "secret.JPEG")
    with pytest.raises(DataError, match="symbolic link"):
        index_imagenet(root)
    (root / "train" / GOLDFISH / "leak.JPEG").unlink()
    (root / "val" / SHARK).symlink_to(outside, target_is_directory=True)
    with pytest.raises(DataError, match="symbolic link"):
        index_imagenet(root)


def test_a_corrupt_image_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.JPEG"
    path.write_bytes(b"\xff\xd8not a jpeg")
    with pytest.raises(DataError, match="cannot decode image"):
        open_rgb(path)


def test_imagenet_is_streamed_not_loaded(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="streamed from disk"):
        load_dataset("imagenet", _imagenet(tmp_path), val_fraction=0.1, seed=0)


def test_tiny_imagenet_reads_the_official_layout(tmp_path: Path) -> None:
    raw = read_tiny_imagenet(_tiny(tmp_path))
    assert raw.train_x.shape == (4, 3, 64, 64) and raw.test_x.shape == (2, 3, 64, 64) and raw.num_classes == 2
    assert raw.train_y.tolist() == [0, 0, 1, 1]  # sorted wnids: tench 0, goldfish 1
    assert raw.test_y.tolist() == [1, 0]  # from val_annotations.txt
    grey = raw.test_x[0]
    assert np.array_equal(grey[0], grey[1]) and np.array_equal(grey[1], grey[2])


def test_tiny_imagenet_is_a_dataset_name(tmp_path: Path) -> None:
    splits = load_dataset("tiny-imagenet", _tiny(tmp_path) / "tiny-imagenet-200", val_fraction=0.25, seed=0)
    assert (len(splits.train), len(splits.val), len(splits.test)) == (3, 1, 2)
    assert splits.image_size == 64 and splits.in_channels == 3 and splits.num_classes == 2


@pytest.mark.parametrize("breakage, message", [
    (lambda base: (base / "val" / "val_annotations.txt").unlink(), "missing file"),
    (lambda base: (base / "val" / "val_annotations.txt").write_text("val_0.JPEG n01443537 0 10 63 58\n"),
     "line 1"),
    (lambda base: (base / "val" / "val_annotations.txt").write_text(f"val_0.JPEG\t{GOLDFISH}\t0\t0\t1\t1\n"),
     "not in"),
    (lambda base: (base / "wnids.txt").write_text("tench\n"), "distinct wnids"),
    (lambda base: __import__("shutil").rmtree(base / "train" / TENCH / "images"), "not found"),
])
def test_tiny_imagenet_wrong_layouts_are_one_line_errors(tmp_path: Path, breakage, message) -> None:
    root = _tiny(tmp_path)
    breakage(root / "tiny-imagenet-200")
    with pytest.raises(DataError, match=message) as err:
        index_tiny_imagenet(root)
    assert "\n" not in str(err.value)


def test_tiny_imagenet_link_out_of_the_folder_is_refused(tmp_path: Path) -> None:
    root = _tiny(tmp_path / "data")
    _jpeg(tmp_path / "other" / "x.JPEG", (64, 64), 0)
    (root / "tiny-imagenet-200" / "val" / "images" / "val_9.JPEG").symlink_to(tmp_path / "other" / "x.JPEG")
    with pytest.raises(DataError, match="symbolic link"):
        index_tiny_imagenet(root)
