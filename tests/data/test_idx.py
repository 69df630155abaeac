"""IDX files: the real format (raw and gzip), written here and read back, and every way a
file can be wrong."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from neuralab.data.idx import read_idx, read_idx_pair, write_idx
from neuralab.data.mnist import FASHION_CLASSES, fashion_mnist, idx_files, load_idx_folder
from neuralab.errors import DataError

RNG = np.random.default_rng(0)


def _images(n: int) -> np.ndarray:
    return RNG.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)


def write_fashion_folder(folder, n_train=30, n_test=10, *, gz=True):
    """A Fashion-MNIST-style folder of four IDX files (labels 0..9)."""
    folder.mkdir(parents=True, exist_ok=True)
    ext = ".gz" if gz else ""
    data = {
        "train-images-idx3-ubyte": _images(n_train),
        "train-labels-idx1-ubyte": (np.arange(n_train) % 10).astype(np.uint8),
        "t10k-images-idx3-ubyte": _images(n_test),
        "t10k-labels-idx1-ubyte": (np.arange(n_test) % 10).astype(np.uint8),
    }
    for name, array in data.items():
        write_idx(folder / f"{name}{ext}", array)
    return data


@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_raw_and_gzip(tmp_path, suffix):
    images = _images(5)
    path = write_idx(tmp_path / f"images{suffix}", images)
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == (suffix == ".gz")
    header = gzip.decompress(raw)[:16] if suffix else raw[:16]
    assert header == bytes.fromhex("00000803000000050000001c0000001c")
    np.testing.assert_array_equal(read_idx(path, "images"), images)


def test_other_idx_types_round_trip(tmp_path):
    values = np.linspace(-1, 1, 12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(read_idx(write_idx(tmp_path / "f.idx", values)), values)


def test_wrong_magic_number_names_the_file_and_both_numbers(tmp_path):
    labels = write_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(4, dtype=np.uint8))
    with pytest.raises(DataError) as info:
        read_idx(labels, "images")
    assert str(info.value) == (
        f"{labels}: not an IDX images file: magic number 2049 (0x00000801), expected 2051 "
        "(0x00000803, unsigned bytes in 3 dimensions). It looks like a labels file: were the "
        "files swapped?"
    )


def test_not_an_idx_file_at_all(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("hello world, not idx")
    with pytest.raises(DataError, match=r"notes.txt: not an IDX labels file: magic number"):
        read_idx(path, "labels")


def test_truncated_file_names_the_expected_size(tmp_path):
    path = write_idx(tmp_path / "train-images-idx3-ubyte", _images(5))
    path.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(DataError) as info:
        read_idx(path, "images")
    assert str(info.value) == (
        f"{path}: truncated: its header describes 5 x 28 x 28 unsigned bytes, i.e. 3,936 bytes "
        "(uncompressed, with the header), but it has 1,000. Download the file again."
    )


def test_truncated_gzip_stream(tmp_path):
    path = write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", _images(50))
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz: the gzip stream is truncated"):
        read_idx(path, "images")


def test_image_and_label_counts_must_agree(tmp_path):
    images = write_idx(tmp_path / "i", _images(5))
    labels = write_idx(tmp_path / "l", np.zeros(4, dtype=np.uint8))
    with pytest.raises(DataError) as info:
        read_idx_pair(images, labels)
    assert str(info.value) == (
        f"{images} has 5 images but {labels} has 4 labels; the two files must come from the "
        "same split (e.g. train-images with train-labels)."
    )


def test_labels_out_of_range(tmp_path):
    images = write_idx(tmp_path / "i", _images(5))
    labels = write_idx(tmp_path / "l", np.array([0, 1, 2, 12, 3], dtype=np.uint8))
    with pytest.raises(DataError) as info:
        read_idx_pair(images, labels, n_classes=10)
    assert str(info.value) == (
        f"{labels}: label 12 at index 3 is out of range 0..9 (1 labels out of range). Is this "
        "the right labels file?"
    )


def test_folder_with_missing_files_says_which(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", _images(3))
    with pytest.raises(DataError) as info:
        idx_files(tmp_path)
    message = str(info.value)
    assert message.startswith(
        f"{tmp_path}: missing IDX file(s) train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
        "t10k-labels-idx1-ubyte (raw or .gz). The folder holds: train-images-idx3-ubyte.gz."
    )


def test_folder_that_does_not_exist(tmp_path):
    with pytest.raises(DataError, match=r"nowhere: no such folder"):
        fashion_mnist(str(tmp_path / "nowhere"))


@pytest.mark.parametrize("gz", [True, False])
def test_fashion_folder_splits_scaling_and_names(tmp_path, gz):
    raw = write_fashion_folder(tmp_path / "fm", n_train=30, n_test=10, gz=gz)
    splits = fashion_mnist(str(tmp_path / "fm"), validation=8)
    assert splits.train.class_names == FASHION_CLASSES
    assert (splits.train.n_samples, splits.validation.n_samples, splits.test.n_samples) == (
        22,
        8,
        10,
    )
    # The notebook's x_train_full[:1000] / 255: the validation set is the FIRST rows.
    np.testing.assert_allclose(
        splits.validation.x, raw["train-images-idx3-ubyte"][:8] / 255, rtol=1e-6
    )
    np.testing.assert_array_equal(splits.train.y, raw["train-labels-idx1-ubyte"][8:])
    # ... and the test set is scaled too (the notebook forgot it).
    assert splits.test.x.dtype == np.float32 and splits.test.x.max() <= 1.0
    np.testing.assert_allclose(splits.test.x * 255, raw["t10k-images-idx3-ubyte"], atol=1e-3)
    assert splits.test.sample_shape == (28, 28)
    assert "fashion-mnist IDX files in" in splits.train.source


def test_fashion_found_in_the_keras_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    write_fashion_folder(tmp_path / "keras" / "datasets" / "fashion-mnist", n_train=12)
    splits = fashion_mnist(validation=2)
    assert splits.train.name == "fashion-mnist" and splits.train.n_samples == 10
    assert str(tmp_path / "keras") in splits.train.source


def test_offline_falls_back_to_digits_and_says_so():
    splits = fashion_mnist()
    assert splits.train.name == "digits"
    assert splits.train.class_names == tuple(str(i) for i in range(10))
    assert (splits.train.n_samples, splits.validation.n_samples, splits.test.n_samples) == (
        1257,
        180,
        360,
    )
    assert splits.train.sample_shape == (8, 8) and float(splits.train.x.max()) == 1.0
    assert "Fashion-MNIST was not found" in splits.train.notes[0]
    assert "neuralab data fetch fashion-mnist" in splits.train.notes[0]
    with pytest.raises(DataError, match=r"Fashion-MNIST IDX files not found \(looked in "):
        fashion_mnist(offline="error")


def test_generic_idx_folder_infers_class_names(tmp_path):
    write_fashion_folder(tmp_path / "m", n_train=20)
    splits = load_idx_folder(tmp_path / "m")
    assert splits.train.class_names == tuple(str(i) for i in range(10))
    assert splits.validation is None
