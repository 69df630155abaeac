"""Fashion-MNIST and other IDX image sets, and scikit-learn's digits as the offline stand-in.

Where the IDX files are looked for, in order: the folder given (``--data DIR`` /
``path = "..."``), neuralab's data cache (``neuralab data fetch fashion-mnist`` puts them
there), and Keras's own dataset cache (``~/.keras/datasets/fashion-mnist``, filled by
``keras.datasets.fashion_mnist.load_data()``). Nothing is downloaded implicitly.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from neuralab.data.dataset import Dataset, Splits
from neuralab.data.download import RemoteDataset, RemoteFile, datasets_dir
from neuralab.data.idx import read_idx_pair
from neuralab.errors import DataError

FASHION_CLASSES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)

# The four files of an MNIST-style folder; each may be raw or .gz, and some mirrors use a
# dot before "idx" (train-images.idx3-ubyte).
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}

_KERAS_MIRROR = "https://storage.googleapis.com/tensorflow/tf-keras-datasets"
# Checksums as published by Zalando Research (github.com/zalandoresearch/fashion-mnist).
FASHION_MNIST = RemoteDataset(
    name="fashion-mnist",
    files=(
        RemoteFile(
            "train-images-idx3-ubyte.gz",
            f"{_KERAS_MIRROR}/train-images-idx3-ubyte.gz",
            "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
            26_421_880,
        ),
        RemoteFile(
            "train-labels-idx1-ubyte.gz",
            f"{_KERAS_MIRROR}/train-labels-idx1-ubyte.gz",
            "md5:25c81989df183df01b3e8a0aad5dffbe",
            29_515,
        ),
        RemoteFile(
            "t10k-images-idx3-ubyte.gz",
            f"{_KERAS_MIRROR}/t10k-images-idx3-ubyte.gz",
            "md5:bef4ecab320f06d8554ea6380940ec79",
            4_422_102,
        ),
        RemoteFile(
            "t10k-labels-idx1-ubyte.gz",
            f"{_KERAS_MIRROR}/t10k-labels-idx1-ubyte.gz",
            "md5:bb300cfdad3c16e7a12a480ee83cd310",
            5_148,
        ),
    ),
    description="Fashion-MNIST: 70,000 28x28 grayscale images of 10 kinds of clothing",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
)


def _keras_datasets_dir() -> Path:
    base = os.environ.get("KERAS_HOME") or str(Path.home() / ".keras")
    return Path(base) / "datasets"


def _locate(folder: Path, stem: str) -> Path | None:
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, f"{stem}.gz", dotted, f"{dotted}.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def idx_files(folder: str | Path) -> dict[str, Path]:
    """The four MNIST-style files in ``folder``.

    Raises:
        DataError: the folder does not exist or lacks some files (named, with what it holds).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(f"{folder}: no such folder. Give the folder that holds the IDX files.")
    found = {key: _locate(folder, stem) for key, stem in IDX_FILES.items()}
    missing = [IDX_FILES[key] for key, path in found.items() if path is None]
    if missing:
        present = sorted(p.name for p in folder.iterdir())[:8]
        raise DataError(
            f"{folder}: missing IDX file(s) {', '.join(missing)} (raw or .gz). The folder "
            f"holds: {', '.join(present) or 'nothing'}. It needs train-images-idx3-ubyte, "
            "train-labels-idx1-ubyte, t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte."
        )
    return {key: path for key, path in found.items() if path is not None}


def find_idx_folder(name: str = "fashion-mnist") -> Path | None:
    """The first cache folder holding all four IDX files of ``name``, or None."""
    for folder in (datasets_dir() / name, _keras_datasets_dir() / name):
        if folder.is_dir() and all(_locate(folder, s) for s in IDX_FILES.values()):
            return folder
    return None


def _first_rows_as_validation(
    train: Dataset, validation: int, where: str
) -> tuple[Dataset, Dataset | None]:
    if validation < 0 or validation >= train.n_samples:
        raise DataError(
            f"{where}: `validation` must be between 0 and {train.n_samples - 1} (rows taken "
            f"from the start of the training set). Received: validation={validation}."
        )
    if not validation:
        return train, None
    return train.take(slice(validation, None)), train.take(slice(0, validation))


def load_idx_folder(
    path: str | Path,
    *,
    class_names: tuple[str, ...] | list[str] | None = None,
    validation: int = 0,
    name: str = "idx",
) -> Splits:
    """An MNIST-style folder as train / validation / test splits, pixels scaled to [0, 1].

    Args:
        path: Folder with the four IDX files (raw or gzip).
        class_names: Names of the classes (their number bounds the label values).
        validation: The first ``validation`` training images become the validation set
            (the notebook's ``x_train_full[:1000]``).
        name: Data set name for reports.
    """
    files = idx_files(path)
    n_classes = len(class_names) if class_names else None
    train = read_idx_pair(files["train_images"], files["train_labels"], n_classes=n_classes)
    test = read_idx_pair(files["test_images"], files["test_labels"], n_classes=n_classes)
    if train.images.shape[1:] != test.images.shape[1:]:
        raise DataError(
            f"{path}: training images are {train.images.shape[1:]} but test images are "
            f"{test.images.shape[1:]}; both splits must have the same image size."
        )
    names = tuple(class_names) if class_names else ()
    if not names:
        top = int(max(train.labels.max(initial=0), test.labels.max(initial=0)))
        names = tuple(str(i) for i in range(top + 1))
    source = f"{name} IDX files in {Path(path)}"

    def as_dataset(x: np.ndarray, y: np.ndarray) -> Dataset:
        # Scale every split, test included (the notebook forgot the test set).
        return Dataset(
            x=x.astype(np.float32) / np.float32(255.0),
            y=y,
            class_names=names,
            name=name,
            source=source,
        )

    full = as_dataset(train.images, train.labels)
    train_part, validation_part = _first_rows_as_validation(full, validation, f"{path}")
    return Splits(
        train=train_part, validation=validation_part, test=as_dataset(test.images, test.labels)
    )


def idx_folder(path: str, validation: int = 0, class_names: list[str] | None = None) -> Splits:
    """Registry loader ``name = "idx"``: any MNIST-style folder (``path`` required)."""
    return load_idx_folder(
        path, class_names=tuple(class_names) if class_names else None, validation=validation
    )


DIGITS_TEST = 360
DIGITS_VALIDATION = 180


def digits(validation: int = DIGITS_VALIDATION, test: int = DIGITS_TEST, seed: int = 42) -> Splits:
    """scikit-learn's handwritten digits (1,797 8x8 images, 10 classes), scaled to [0, 1].

    Shuffled once (seeded); the last ``test`` images are the test set, the first
    ``validation`` of the rest the validation set.
    """
    from sklearn.datasets import load_digits

    bunch = load_digits()
    order = np.random.default_rng(seed).permutation(len(bunch.target))
    x = (bunch.images[order] / 16.0).astype(np.float32)
    y = bunch.target[order].astype(np.int64)
    if test <= 0 or validation < 0 or test + validation >= len(y):
        raise DataError(
            f"digits: `test` must be positive and `test + validation` below {len(y)}. "
            f"Received: test={test}, validation={validation}."
        )
    full = Dataset(
        x=x,
        y=y,
        class_names=tuple(str(i) for i in range(10)),
        name="digits",
        source=f"scikit-learn load_digits() (1,797 8x8 images, shuffled with seed {seed})",
    )
    rest, test_part = full.take(slice(0, len(y) - test)), full.take(slice(len(y) - test, None))
    train_part, validation_part = _first_rows_as_validation(rest, validation, "digits")
    return Splits(train=train_part, validation=validation_part, test=test_part)


def fashion_mnist(
    path: str | None = None, validation: int = 1000, offline: str = "digits"
) -> Splits:
    """Fashion-MNIST (60,000 training and 10,000 test images, 28x28), scaled to [0, 1].

    Args:
        path: Folder with the IDX files; by default the caches are searched (module doc).
        validation: The first ``validation`` training images are the validation set.
        offline: When no files are found: ``"digits"`` runs on scikit-learn's digits and
            says so in the data's notes; ``"error"`` raises.
    """
    folder = Path(path) if path else find_idx_folder("fashion-mnist")
    if folder is not None:
        splits = load_idx_folder(
            folder, class_names=FASHION_CLASSES, validation=validation, name="fashion-mnist"
        )
        return splits
    looked = f"{datasets_dir() / 'fashion-mnist'} and {_keras_datasets_dir() / 'fashion-mnist'}"
    if offline != "digits":
        raise DataError(
            f"Fashion-MNIST IDX files not found (looked in {looked}). Run `neuralab data fetch "
            "fashion-mnist`, or pass the folder with --data DIR (data.path in a spec)."
        )
    splits = digits()
    note = (
        f"Fashion-MNIST was not found (looked in {looked}), so this ran on scikit-learn's "
        "digits instead (1,797 8x8 images of handwritten digits, 10 classes). Run `neuralab "
        "data fetch fashion-mnist` or pass --data DIR for the real data."
    )
    return Splits(
        train=_with_note(splits.train, note),
        validation=_with_note(splits.validation, note) if splits.validation else None,
        test=_with_note(splits.test, note) if splits.test else None,
    )


def _with_note(data: Dataset, note: str) -> Dataset:
    from dataclasses import replace

    return replace(data, notes=(*data.notes, note))
