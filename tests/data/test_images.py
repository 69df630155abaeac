"""Image folders in the real formats: both layouts, every colour mode, the disk cache, and each
bad-input message."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

from neuralab.data.images import (
    check_target_size,
    decode_image,
    load_image_folder,
    scan_image_folder,
)
from neuralab.errors import DataError


def _save(path, color=(200, 30, 30), size=(40, 30), mode="RGB", fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.new("RGB", size, color)
    if mode != "RGB":
        img = img.convert(mode)
    img.save(path, format=fmt)
    return path


def make_split_folder(root, n_train=6, n_test=3, classes=("pizza", "steak")):
    colors = {"pizza": (220, 40, 30), "steak": (90, 50, 30), "sushi": (240, 240, 240)}
    for split, n in (("train", n_train), ("test", n_test)):
        for c in classes:
            for i in range(n):
                _save(root / split / c / f"{c}_{i}.jpg", colors[c], size=(50 + 7 * i, 40 + 5 * i))
    return root


def test_split_layout_names_counts_and_labels(tmp_path):
    root = make_split_folder(tmp_path / "pizza_steak")
    (root / "train" / "pizza" / "notes.txt").write_text("not an image")
    (root / "README.md").write_text("hi")
    folder = scan_image_folder(root)
    assert folder.layout == "split" and folder.class_names == ("pizza", "steak")
    assert folder.counts() == {"train": {"pizza": 6, "steak": 6}, "test": {"pizza": 3, "steak": 3}}
    assert sorted(p.name for p in folder.ignored) == ["README.md", "notes.txt"]
    splits = load_image_folder(root, target_size=(32, 32), cache_dir=tmp_path / "cache")
    assert splits.train.x.shape == (12, 32, 32, 3) and splits.train.x.dtype == np.uint8
    assert splits.test.x.shape == (6, 32, 32, 3)
    assert list(splits.train.y) == [0] * 6 + [1] * 6
    assert splits.train.rescale == pytest.approx(1 / 255)
    # pizza is red, steak brown: the decoded pixels are the images' colours
    assert splits.train.x[0, 16, 16, 0] > 200 and splits.train.x[-1, 16, 16, 0] < 120
    assert splits.train.files[0].endswith("pizza_0.jpg")


@pytest.mark.parametrize(
    ("mode", "fmt", "suffix"),
    [
        ("RGB", "JPEG", ".jpg"),
        ("L", "PNG", ".png"),
        ("RGBA", "PNG", ".png"),
        ("P", "GIF", ".gif"),
        ("RGB", "BMP", ".bmp"),
        ("CMYK", "JPEG", ".jpeg"),
        ("LA", "PNG", ".png"),
    ],
)
def test_every_mode_becomes_rgb_at_the_target_size(tmp_path, mode, fmt, suffix):
    path = _save(tmp_path / f"img{suffix}", (10, 200, 30), size=(64, 48), mode=mode, fmt=fmt)
    array = decode_image(path, (24, 20))
    assert array.shape == (24, 20, 3) and array.dtype == np.uint8
    if mode not in ("L", "LA"):
        assert array[12, 10, 1] > 150 and array[12, 10, 0] < 80  # still green


def test_transparent_pixels_become_white_and_gif_uses_the_first_frame(tmp_path):
    rgba = Image.new("RGBA", (10, 10), (255, 0, 0, 0))
    rgba.save(tmp_path / "clear.png")
    assert decode_image(tmp_path / "clear.png", (10, 10))[5, 5].tolist() == [255, 255, 255]
    frames = [Image.new("RGB", (20, 20), c) for c in ((0, 0, 255), (255, 0, 0))]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert decode_image(tmp_path / "anim.gif", (20, 20))[10, 10, 2] > 200  # blue first frame


def test_single_folder_split_is_stratified_and_seeded(tmp_path):
    for c, n in (("cat", 40), ("dog", 20)):
        for i in range(n):
            _save(tmp_path / "pets" / c / f"{i}.png", (i, 100, 100), size=(16, 16))
    splits = load_image_folder(
        tmp_path / "pets",
        target_size=16,
        validation_split=0.25,
        test_split=0.25,
        cache_dir=tmp_path / "cache",
    )
    sizes = {k: v.n_samples for k, v in splits.items()}
    assert sizes == {"train": 30, "validation": 15, "test": 15}
    for part in (splits.validation, splits.test):
        assert np.bincount(part.y).tolist() == [10, 5]  # 2:1 like the whole folder
    again = load_image_folder(
        tmp_path / "pets",
        target_size=16,
        validation_split=0.25,
        test_split=0.25,
        cache_dir=tmp_path / "cache",
    )
    assert again.test.files == splits.test.files
    other = load_image_folder(
        tmp_path / "pets",
        target_size=16,
        validation_split=0.25,
        test_split=0.25,
        seed=7,
        cache_dir=tmp_path / "cache",
    )
    assert other.test.files != splits.test.files


def test_label_modes(tmp_path):
    root = make_split_folder(tmp_path / "ps", n_train=2, n_test=1)
    binary = load_image_folder(root, target_size=8, label_mode="binary", cache_dir=tmp_path / "c")
    assert binary.train.y.dtype == np.float32 and binary.train.y.tolist() == [0, 0, 1, 1]
    onehot = load_image_folder(
        root, target_size=8, label_mode="categorical", cache_dir=tmp_path / "c"
    )
    assert onehot.train.y.tolist() == [[1, 0], [1, 0], [0, 1], [0, 1]]
    three = make_split_folder(
        tmp_path / "three", n_train=1, n_test=1, classes=("pizza", "steak", "sushi")
    )
    with pytest.raises(DataError, match="label_mode 'binary' needs exactly 2 classes, found 3"):
        load_image_folder(three, target_size=8, label_mode="binary", cache_dir=tmp_path / "c")


def test_second_load_comes_from_the_cache_and_a_changed_file_is_decoded_again(
    tmp_path, monkeypatch
):
    root = make_split_folder(tmp_path / "ps", n_train=3, n_test=1)
    cache = tmp_path / "cache"
    first = load_image_folder(root, target_size=16, cache_dir=cache)
    import neuralab.data.images as images

    calls = []
    real = images.decode_image
    monkeypatch.setattr(images, "decode_image", lambda *a, **k: calls.append(a) or real(*a, **k))
    second = load_image_folder(root, target_size=16, cache_dir=cache)
    assert calls == []  # nothing decoded: memory-mapped from the cache
    assert isinstance(second.train.x, np.memmap)
    np.testing.assert_array_equal(first.train.x, second.train.x)
    _save(root / "train" / "pizza" / "pizza_0.jpg", (0, 0, 255), size=(50, 40))
    third = load_image_folder(root, target_size=16, cache_dir=cache)
    assert len(calls) == 6  # contents changed: that split is decoded again
    assert third.train.x[0, 8, 8, 2] > 200
    load_image_folder(root, target_size=20, cache_dir=cache)  # another size, another entry
    assert len(calls) == 6 + 8


def test_corrupt_and_truncated_images_are_skipped_with_a_warning(tmp_path, caplog):
    root = make_split_folder(tmp_path / "ps", n_train=3, n_test=1)
    bad = root / "train" / "steak" / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    good = root / "train" / "pizza" / "pizza_1.jpg"
    good.write_bytes(good.read_bytes()[:200])  # truncated
    with caplog.at_level(logging.WARNING, logger="neuralab.data.images"):
        splits = load_image_folder(root, target_size=16, cache_dir=tmp_path / "cache")
    assert splits.train.n_samples == 5
    assert any("broken.jpg" in r.getMessage() for r in caplog.records)
    assert any("pizza_1.jpg" in r.getMessage() for r in caplog.records)
    assert any("skipped unreadable image" in n and "broken.jpg" in n for n in splits.train.notes)
    with pytest.raises(DataError) as info:
        load_image_folder(root, target_size=16, strict=True, cache_dir=tmp_path / "cache2")
    assert str(info.value).startswith(f"{good}: cannot read this image (")
    assert str(info.value).endswith("drop --strict to skip unreadable images with a warning.")


def test_empty_class_folder(tmp_path):
    root = make_split_folder(tmp_path / "ps", n_train=2, n_test=1)
    (root / "test" / "steak" / "steak_0.jpg").unlink()
    (root / "test" / "steak" / "readme.txt").write_text("x")
    with pytest.raises(DataError) as info:
        scan_image_folder(root)
    assert str(info.value) == (
        f"{root / 'test' / 'steak'}: the class folder 'steak' has no images (JPEG, PNG, BMP or "
        "GIF). Add images or remove the folder."
    )


def test_only_one_class(tmp_path):
    _save(tmp_path / "food" / "pizza" / "a.jpg")
    with pytest.raises(DataError) as info:
        scan_image_folder(tmp_path / "food")
    assert str(info.value) == (
        f"{tmp_path / 'food'}: only one class ('pizza') found: a classifier needs at least two "
        "class folders."
    )


def test_train_and_test_with_different_classes_are_named(tmp_path):
    root = make_split_folder(tmp_path / "ps", n_train=1, n_test=1)
    _save(root / "test" / "sushi" / "s.jpg")
    (root / "test" / "steak" / "steak_0.jpg").unlink()
    (root / "test" / "steak").rmdir()
    with pytest.raises(DataError) as info:
        scan_image_folder(root)
    assert str(info.value) == (
        f"{root}: train and test have different classes (missing in test: steak; only in test: "
        "sushi). Every split needs the same class folders."
    )


def test_folder_that_does_not_exist(tmp_path):
    with pytest.raises(
        DataError, match=r"nowhere: no such folder. Give a folder with one sub-folder per class"
    ):
        load_image_folder(tmp_path / "nowhere")


@pytest.mark.parametrize("bad", [0, -3, (224,), (224, 0), "224", (224.5, 224), (True, 3), 5000])
def test_invalid_target_size(bad):
    with pytest.raises(DataError) as info:
        check_target_size(bad)
    assert str(info.value) == (
        "`target_size` must be (height, width) with whole numbers from 8 to 4096, e.g. "
        f"[224, 224]. Received: target_size={bad!r}."
    )
