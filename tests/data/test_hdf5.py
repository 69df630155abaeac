"""HDF5 loaders: the cat vs non-cat schema written here and read back, and every way a file
can be wrong."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from neuralab.data.hdf5 import load_cat_vs_noncat, read_h5, write_cat_vs_noncat
from neuralab.errors import DataError


@pytest.fixture(scope="module")
def cats(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The generated stand-in, at the real files' sizes (209 training, 50 test images)."""
    return write_cat_vs_noncat(tmp_path_factory.mktemp("cats"))


def _raw(path: Path) -> dict[str, np.ndarray]:
    with h5py.File(path, "r") as h5:
        return {key: h5[key][()] for key in h5}


def _h5(path: Path, **datasets: np.ndarray) -> Path:
    with h5py.File(path, "w") as h5:
        for key, value in datasets.items():
            h5.create_dataset(key, data=value)
    return path


def _error(path: Path, **kw: object) -> str:
    with pytest.raises(DataError) as info:
        read_h5(path, **kw)  # type: ignore[arg-type]
    return str(info.value)


IMAGES = np.zeros((4, 2, 2, 3), dtype=np.uint8)
CLASSES = np.array([b"non-cat", b"cat"])


# ------------------------------------------------------------------------------ the files
def test_generated_files_have_the_real_schema(cats):
    assert sorted(p.name for p in cats.iterdir()) == ["test_catvnoncat.h5", "train_catvnoncat.h5"]
    for split, n in (("train", 209), ("test", 50)):
        with h5py.File(cats / f"{split}_catvnoncat.h5", "r") as h5:
            assert sorted(h5) == ["list_classes", f"{split}_set_x", f"{split}_set_y"]
            x, y, classes = h5[f"{split}_set_x"], h5[f"{split}_set_y"], h5["list_classes"]
            assert (x.shape, x.dtype) == ((n, 64, 64, 3), np.uint8)
            assert (y.shape, y.dtype) == ((n,), np.int64)
            assert classes.dtype == np.dtype("S7")
            assert classes[()].tolist() == [b"non-cat", b"cat"]
            assert int(y[()].sum()) == round(n / 3)  # about a third are cats


def test_load_round_trip_scales_and_names_the_classes(cats):
    splits = load_cat_vs_noncat(cats)
    assert splits.validation is None
    raw = _raw(cats / "train_catvnoncat.h5")
    for part, n in ((splits.train, 209), (splits.test, 50)):
        assert part.class_names == ("non-cat", "cat")
        assert part.x.shape == (n, 64, 64, 3) and part.x.dtype == np.float32
        assert part.y.shape == (n,) and part.y.dtype == np.int64
        assert float(part.x.min()) >= 0.0 and float(part.x.max()) <= 1.0
        assert part.name == "cat-vs-noncat" and part.label_kind == "binary"
    np.testing.assert_allclose(splits.train.x, raw["train_set_x"] / 255, rtol=1e-6)
    np.testing.assert_array_equal(splits.train.y, raw["train_set_y"])
    assert float(splits.train.x.max()) == 1.0  # 255 maps to exactly 1
    assert splits.train.source == f"{cats / 'train_catvnoncat.h5'} (train_set_x, train_set_y)"


def test_same_seed_same_images_other_seed_other_images(cats, tmp_path):
    again = write_cat_vs_noncat(tmp_path / "again")
    other = write_cat_vs_noncat(tmp_path / "other", seed=7)
    for file in ("train_catvnoncat.h5", "test_catvnoncat.h5"):
        first, second, third = _raw(cats / file), _raw(again / file), _raw(other / file)
        for key in first:
            np.testing.assert_array_equal(first[key], second[key])
        x_key = next(key for key in first if key.endswith("_x"))
        assert not np.array_equal(first[x_key], third[x_key])
    assert sorted(p.name for p in tmp_path.rglob("*")) == sorted(
        ["again", "other"] + ["train_catvnoncat.h5", "test_catvnoncat.h5"] * 2
    )  # no temporary files left behind


def test_sizes_are_arguments(tmp_path):
    splits = load_cat_vs_noncat(write_cat_vs_noncat(tmp_path, n_train=12, n_test=3, seed=1))
    assert (splits.train.n_samples, splits.test.n_samples) == (12, 3)
    assert int(splits.train.y.sum()) == 4 and int(splits.test.y.sum()) == 1


def test_cats_look_different_from_non_cats(cats):
    raw = _raw(cats / "train_catvnoncat.h5")
    x, y = raw["train_set_x"].astype(np.float64), raw["train_set_y"]
    warmth = x[..., 0] - x[..., 2]  # red minus blue
    assert warmth[y == 1].mean() - warmth[y == 0].mean() > 15  # cats are warmer
    top_blue = x[:, :16, :, 2].mean(axis=(1, 2))  # non-cats have sky at the top
    assert top_blue[y == 0].mean() - top_blue[y == 1].mean() > 25
    mean_cat, mean_other = x[y == 1].mean(axis=0), x[y == 0].mean(axis=0)
    assert np.abs(mean_cat - mean_other).mean() > 10  # grey levels, on average per pixel
    # ... but not every cat is warm, nor every scene cool: the classes overlap.
    assert (warmth[y == 1].mean(axis=(1, 2)) < warmth[y == 0].mean(axis=(1, 2)).max()).any()


# ------------------------------------------------------------------------------ read_h5
def test_read_h5_options(tmp_path):
    path = _h5(
        tmp_path / "data.h5",
        images=np.arange(24, dtype=np.uint8).reshape(4, 2, 3),
        labels=np.array([[0, 2, 1, 2]]),  # the course reshapes labels to (1, m)
        names=np.array(["a", "b", "c"], dtype=object).astype(h5py.string_dtype()),
    )
    data = read_h5(path, x_key="images", y_key="labels", classes_key="names", scale=None)
    np.testing.assert_array_equal(data.x, np.arange(24).reshape(4, 2, 3))
    np.testing.assert_array_equal(data.y, [0, 2, 1, 2])
    assert data.class_names == ("a", "b", "c") and data.name == "data"
    unnamed = read_h5(path, x_key="images", y_key="labels", scale=0.5, name="mine")
    assert unnamed.class_names == ("0", "1", "2") and unnamed.name == "mine"
    assert float(unnamed.x.max()) == 11.5


# ------------------------------------------------------------------------------ errors
def test_missing_file_and_folder(tmp_path):
    path = tmp_path / "train_catvnoncat.h5"
    assert _error(path, x_key="x", y_key="y") == f"{path}: no such file."
    with pytest.raises(DataError) as info:
        load_cat_vs_noncat(tmp_path / "nowhere")
    assert str(info.value) == (
        f"{tmp_path / 'nowhere'}: no such folder. Give the folder that holds "
        "train_catvnoncat.h5 and test_catvnoncat.h5."
    )


def test_folder_missing_one_file(tmp_path):
    write_cat_vs_noncat(tmp_path, n_train=3, n_test=3)
    (tmp_path / "test_catvnoncat.h5").unlink()
    (tmp_path / "notes.txt").write_text("cats")
    with pytest.raises(DataError) as info:
        load_cat_vs_noncat(tmp_path)
    assert str(info.value) == (
        f"{tmp_path}: missing test_catvnoncat.h5. The folder holds: notes.txt, "
        "train_catvnoncat.h5. It needs train_catvnoncat.h5 and test_catvnoncat.h5 (the "
        "exercise's datasets folder)."
    )


def test_not_an_hdf5_file(tmp_path):
    path = tmp_path / "train_catvnoncat.h5"
    path.write_text("<html>404 Not Found</html>")
    assert _error(path, x_key="train_set_x", y_key="train_set_y") == (
        f"{path}: not an HDF5 file (no HDF5 signature). Check the path, or download the file again."
    )


def test_truncated_hdf5_file(tmp_path):
    path = _h5(tmp_path / "t.h5", x=np.zeros((50, 64, 64, 3), np.uint8), y=np.zeros(50))
    path.write_bytes(path.read_bytes()[:4000])
    message = _error(path, x_key="x", y_key="y")
    assert message.startswith(f"{path}: ")
    assert message.endswith("The file may be truncated or corrupt; download it again.")


def test_missing_key_lists_the_keys_found(tmp_path):
    path = _h5(tmp_path / "train_catvnoncat.h5", train_set_x=IMAGES, list_classes=CLASSES)
    assert _error(path, x_key="train_set_x", y_key="train_set_y") == (
        f"{path}: no dataset 'train_set_y'. The file has: list_classes, train_set_x. Pass the "
        "right name as y_key, or check that this is the right file."
    )
    assert _error(path, x_key="train_set_X", y_key="train_set_y") == (
        f"{path}: no dataset 'train_set_X'. The file has: list_classes, train_set_x. Did you "
        "mean 'train_set_x'? Pass the right name as x_key, or check that this is the right "
        "file."
    )


def test_missing_key_lists_nested_datasets_and_groups(tmp_path):
    path = tmp_path / "nested.h5"
    with h5py.File(path, "w") as h5:
        h5.create_dataset("train/x", data=IMAGES)
        h5.create_dataset("train/y", data=np.zeros(4, np.int64))
    assert _error(path, x_key="train", y_key="train/y") == (
        f"{path}: 'train' is a group, not a dataset. The file has: train/x, train/y. Did you "
        "mean 'train/x'? Pass the right name as x_key, or check that this is the right file."
    )
    assert read_h5(path, x_key="train/x", y_key="train/y").n_samples == 4


def test_image_and_label_counts_must_agree(tmp_path):
    path = _h5(
        tmp_path / "train_catvnoncat.h5",
        train_set_x=IMAGES,
        train_set_y=np.zeros(3, np.int64),
        list_classes=CLASSES,
    )
    assert _error(path, x_key="train_set_x", y_key="train_set_y") == (
        f"{path}: train_set_x has 4 rows but train_set_y has 3 labels; each row needs one "
        "label. Check the keys, or download the file again."
    )


def test_labels_outside_the_class_list(tmp_path):
    path = _h5(
        tmp_path / "train_catvnoncat.h5",
        train_set_x=IMAGES,
        train_set_y=np.array([0, 1, 2, 1]),
        list_classes=CLASSES,
    )
    kw = {"x_key": "train_set_x", "y_key": "train_set_y"}
    assert _error(path, classes_key="list_classes", **kw) == (
        f"{path}: train_set_y[2] is 2, outside list_classes (non-cat, cat: ids 0 to 1). Check "
        "that list_classes is this file's class list."
    )
    assert read_h5(path, **kw).class_names == ("0", "1", "2")  # no class list: no check


def test_labels_must_be_class_ids(tmp_path):
    negative = _h5(tmp_path / "n.h5", x=IMAGES, y=np.array([0, -1, 1, 1]))
    assert _error(negative, x_key="x", y_key="y") == (
        f"{negative}: y[1] is -1; labels must be class ids 0, 1, 2, ..."
    )
    fractional = _h5(tmp_path / "f.h5", x=IMAGES, y=np.array([0.0, 1.0, 0.5, 1.0]))
    assert _error(fractional, x_key="x", y_key="y") == (
        f"{fractional}: y[2] is 0.5, not a whole number; labels must be class ids 0, 1, 2, ..."
    )
    assert (
        read_h5(_h5(tmp_path / "w.h5", x=IMAGES, y=np.ones(4)), x_key="x", y_key="y").y.dtype
        == np.int64
    )
