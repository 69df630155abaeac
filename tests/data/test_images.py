"""Image folders in the real formats: both layouts, every colour mode, the disk cache, and each
bad-input message."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import neuralab.data.images as images_module
from neuralab.data.images import (
    check_target_size,
    decode_image,
    decode_images,
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


# --------------------------------------------------------------------------- the decoding pool


def _noisy_images(folder, n, seed=0):
    """``n`` JPEG/PNG files of different sizes and noisy pixels (so any resize difference shows)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        size = (int(rng.integers(24, 90)), int(rng.integers(24, 90)))
        pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
        path = folder / f"img_{i:03d}.{'png' if i % 5 == 4 else 'jpg'}"
        Image.fromarray(pixels).save(path)
        paths.append(path)
    return paths


def _cache_files(cache):
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


@pytest.mark.parametrize("workers", [1, 3])
def test_cold_and_cached_loads_equal_decoding_each_image(tmp_path, workers):
    paths = _noisy_images(tmp_path / "imgs", 37)
    expected = np.stack([decode_image(p, (20, 24)) for p in paths])
    cache = tmp_path / "cache"
    cold, kept, report = decode_images(paths, (20, 24), cache_dir=cache, workers=workers)
    assert not report.from_cache and report.decoded == 37 and isinstance(cold, np.memmap)
    np.testing.assert_array_equal(cold, expected)
    assert kept.tolist() == list(range(37))
    cached, _, again = decode_images(paths, (20, 24), cache_dir=cache, workers=workers)
    assert again.from_cache and again.cache_file == report.cache_file
    np.testing.assert_array_equal(cached, expected)
    # only the array, its metadata and the index are left (no temporary files)
    key = report.cache_file.stem
    assert _cache_files(cache) == [f"{key}.json", f"{key}.npy", "index.json"]


def test_each_new_file_is_read_once_unless_too_many_bytes_to_hold(tmp_path, monkeypatch):
    paths = _noisy_images(tmp_path / "imgs", 12)
    reads, sources = [], []
    real_read, real_decode = Path.read_bytes, images_module.decode_image

    def read_bytes(self):
        reads.append(self)
        return real_read(self)

    def decode(source, size):
        sources.append(source)
        return real_decode(source, size)

    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    monkeypatch.setattr(images_module, "decode_image", decode)
    first, _, _ = decode_images(paths, (16, 16), cache_dir=tmp_path / "a", workers=2)
    assert sorted(reads) == sorted(paths)  # read once: hashed and decoded from the same bytes
    assert len(sources) == 12 and all(isinstance(s, io.BytesIO) for s in sources)
    reads.clear()
    sources.clear()
    monkeypatch.setattr(images_module, "HELD_BYTES", 100)  # too much to hold: read again
    second, _, _ = decode_images(paths, (16, 16), cache_dir=tmp_path / "b", workers=2)
    assert sorted(reads) == sorted(paths)
    assert sorted(sources) == sorted(paths)
    np.testing.assert_array_equal(first, second)


def test_skipped_images_are_left_out_and_the_reason_names_the_file(tmp_path, caplog):
    paths = _noisy_images(tmp_path / "imgs", 20)
    paths[3].write_bytes(b"not an image at all")
    paths[11].write_bytes(paths[11].read_bytes()[:150])  # truncated
    cache = tmp_path / "cache"
    with caplog.at_level(logging.WARNING, logger="neuralab.data.images"):
        images, kept, report = decode_images(paths, (16, 16), cache_dir=cache, workers=3)
    good = [i for i in range(20) if i not in (3, 11)]
    assert kept.tolist() == good and images.shape == (18, 16, 16, 3)
    np.testing.assert_array_equal(
        images, np.stack([decode_image(paths[i], (16, 16)) for i in good])
    )
    assert [p for p, _ in report.skipped] == [paths[3], paths[11]]
    why = report.skipped[0][1]
    assert why == f"UnidentifiedImageError: cannot identify image file {str(paths[3])!r}"
    assert "BytesIO" not in caplog.text
    cached, cached_kept, again = decode_images(paths, (16, 16), cache_dir=cache)
    assert again.from_cache and again.skipped == report.skipped
    np.testing.assert_array_equal(cached, images)
    assert cached_kept.tolist() == good
    assert _cache_files(cache) == sorted(
        [f"{report.cache_file.stem}.json", report.cache_file.name, "index.json"]
    )


def test_strict_names_the_first_unreadable_image_whatever_the_workers_do(tmp_path):
    paths = _noisy_images(tmp_path / "imgs", 40)
    for i in (9, 30, 31):
        paths[i].write_bytes(b"\xff\xd8\xff\xe0 broken")
    for workers in (1, 4):
        cache = tmp_path / f"cache{workers}"
        with pytest.raises(DataError) as info:
            decode_images(paths, (16, 16), strict=True, cache_dir=cache, workers=workers)
        assert str(info.value).startswith(f"{paths[9]}: cannot read this image (")
        assert not any(name.endswith(".npy") for name in _cache_files(cache))


def test_progress_counts_every_image_in_order(tmp_path):
    paths = _noisy_images(tmp_path / "imgs", 30)
    calls = []
    decode_images(
        paths, (16, 16), cache_dir=tmp_path / "c", workers=3, progress=lambda *a: calls.append(a)
    )
    assert calls == [(i, 30) for i in range(1, 31)]


def test_unwritable_cache_decodes_in_memory(tmp_path, caplog):
    paths = _noisy_images(tmp_path / "imgs", 9)
    paths[2].write_bytes(b"junk")
    not_a_folder = tmp_path / "cache"
    not_a_folder.write_text("a file where the cache folder should be")
    with caplog.at_level(logging.WARNING, logger="neuralab.data.images"):
        images, kept, report = decode_images(paths, (16, 16), cache_dir=not_a_folder)
    assert "not writable" in caplog.text
    assert not isinstance(images, np.memmap) and report.cache_file is None
    assert kept.tolist() == [0, 1, 3, 4, 5, 6, 7, 8]
    np.testing.assert_array_equal(
        images, np.stack([decode_image(paths[i], (16, 16)) for i in kept])
    )


def test_a_cache_write_failing_midway_falls_back_to_memory(tmp_path, monkeypatch, caplog):
    paths = _noisy_images(tmp_path / "imgs", 16)
    writes = []
    real_put = images_module._NpyWriter.put

    def put(self, i, pixels):
        writes.append(i)
        if len(writes) > 5:
            raise OSError(28, "No space left on device")
        real_put(self, i, pixels)

    monkeypatch.setattr(images_module._NpyWriter, "put", put)
    cache = tmp_path / "cache"
    with caplog.at_level(logging.WARNING, logger="neuralab.data.images"):
        images, kept, report = decode_images(paths, (16, 16), cache_dir=cache, workers=2)
    assert "No space left on device" in caplog.text and report.cache_file is None
    np.testing.assert_array_equal(images, np.stack([decode_image(p, (16, 16)) for p in paths]))
    assert kept.tolist() == list(range(16))
    assert not any(name.endswith(".npy") for name in _cache_files(cache))


def test_no_images(tmp_path):
    images, kept, report = decode_images([], (16, 16), cache_dir=tmp_path / "c")
    assert images.shape == (0, 16, 16, 3) and kept.tolist() == [] and report.decoded == 0


# ------------------------------------------------- issue 16: one check for loading and data info


def _truncated_jpeg(path: Path, *, keep: float = 0.5, seed: int = 1) -> Path:
    """A real JPEG written by Pillow, then cut: its header (and size) still read."""
    pixels = np.random.default_rng(seed).integers(0, 256, (60, 80, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path, format="JPEG")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def test_find_unreadable_images_finds_exactly_what_loading_skips(tmp_path):
    paths = _noisy_images(tmp_path / "imgs", 12)
    for i, keep in ((2, 0.3), (7, 0.6), (10, 0.95)):
        _truncated_jpeg(paths[i], keep=keep, seed=i)
    paths[5].write_bytes(b"not an image at all")
    assert images_module.image_size(paths[2]) == (80, 60)  # the header alone looks fine
    found = images_module.find_unreadable_images(paths, workers=3)
    assert list(found) == [paths[2], paths[5], paths[7], paths[10]]
    assert "image file is truncated" in found[paths[2]]
    for target_size in ((16, 16), (224, 224)):
        _, _, report = decode_images(paths, target_size, cache_dir=tmp_path / "c", workers=2)
        assert dict(report.skipped) == found


def test_a_skipped_image_is_warned_about_once_even_when_decoded_twice(
    tmp_path, monkeypatch, caplog
):
    # A cache write failing midway decodes everything again, in memory: still one warning.
    paths = _noisy_images(tmp_path / "imgs", 12)
    _truncated_jpeg(paths[3])
    real_put, writes = images_module._NpyWriter.put, []

    def put(self, i, pixels):
        writes.append(i)
        if len(writes) > 6:
            raise OSError(28, "No space left on device")
        real_put(self, i, pixels)

    monkeypatch.setattr(images_module._NpyWriter, "put", put)
    with caplog.at_level(logging.WARNING, logger="neuralab.data.images"):
        _, kept, report = decode_images(paths, (16, 16), cache_dir=tmp_path / "c", workers=1)
    assert report.cache_file is None and 3 not in kept.tolist()
    skipped = [r.getMessage() for r in caplog.records if "img_003.jpg" in r.getMessage()]
    assert len(skipped) == 1, skipped
    assert skipped[0] == f"skipped unreadable image {paths[3]} ({report.skipped[0][1]})"
    assert "\n" not in skipped[0]
