"""HDF5 data files (h5py), and the cat vs non-cat exercise's two files.

The exercise of Andrew Ng's course (Neural Networks and Deep Learning, week 2) ships
``train_catvnoncat.h5`` (datasets ``train_set_x``: uint8 ``(209, 64, 64, 3)``,
``train_set_y``: int64 ``(209,)``, ``list_classes``: ``[b'non-cat', b'cat']``) and
``test_catvnoncat.h5`` (``test_set_x`` ``(50, 64, 64, 3)``, ``test_set_y``,
``list_classes``). :func:`write_cat_vs_noncat` writes a generated stand-in with the same
schema for offline runs and tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from neuralab.data.dataset import Dataset, Splits
from neuralab.errors import DataError, did_you_mean
from neuralab.fileio import replacing

CAT_CLASSES = ("non-cat", "cat")
CAT_FILES = {"train": "train_catvnoncat.h5", "test": "test_catvnoncat.h5"}
IMAGE_SIZE = 64
_MAX_LISTED = 30


# ------------------------------------------------------------------------------ reading
def _dataset_names(h5: Any) -> list[str]:
    """Paths of every dataset in the file (``train_set_x``, ``group/images``), sorted."""
    import h5py

    names: list[str] = []

    def visit(name: str, item: Any) -> None:
        if isinstance(item, h5py.Dataset):
            names.append(name)

    h5.visititems(visit)
    return sorted(names)


def _get(h5: Any, path: Path, key: str, arg: str, taken: tuple[str, ...] = ()) -> np.ndarray:
    import h5py

    item = h5.get(key)
    if not isinstance(item, h5py.Dataset):
        found = _dataset_names(h5)
        listed = ", ".join(found[:_MAX_LISTED]) or "no datasets"
        more = f", ... ({len(found) - _MAX_LISTED} more)" if len(found) > _MAX_LISTED else ""
        # Suggest no key that is asked for too (train_set_x is "close" to train_set_y).
        hint = did_you_mean(key, [name for name in found if name not in taken])
        problem = f"no dataset {key!r}" if item is None else f"{key!r} is a group, not a dataset"
        raise DataError(
            f"{path}: {problem}. The file has: {listed}{more}.{hint} "
            f"Pass the right name as {arg}, or check that this is the right file."
        )
    try:
        return np.asarray(item[()])
    except OSError as exc:
        raise DataError(
            f"{path}: dataset {key!r} cannot be read ({exc}). The file may be truncated or "
            "corrupt; download it again."
        ) from None


def _class_names(values: np.ndarray, path: Path, key: str) -> tuple[str, ...]:
    names = []
    for value in values.reshape(-1).tolist():
        if isinstance(value, bytes):
            try:
                value = value.decode("utf-8")
            except UnicodeDecodeError:
                value = value.decode("latin-1")
        elif not isinstance(value, str):
            raise DataError(
                f"{path}: {key!r} holds {values.dtype} values, not class names (strings). "
                "Pass the key of the class-name list as classes_key, or None."
            )
        names.append(value.strip())
    return tuple(names)


def _labels(y: np.ndarray, n: int, path: Path, x_key: str, y_key: str) -> np.ndarray:
    # The course's notebook reshapes labels to (1, m); accept that layout (and (m, 1)).
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.ndim != 1:
        raise DataError(
            f"{path}: {y_key} has shape {y.shape}; labels must be one class id per row, "
            f"shape ({n},)."
        )
    if len(y) != n:
        raise DataError(
            f"{path}: {x_key} has {n:,} rows but {y_key} has {len(y):,} labels; each row "
            "needs one label. Check the keys, or download the file again."
        )
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.floating)):
        raise DataError(
            f"{path}: {y_key} holds {y.dtype} values; labels must be class ids 0, 1, 2, ..."
        )
    if np.issubdtype(y.dtype, np.floating):
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.floor(y)))
        if len(bad):
            raise DataError(
                f"{path}: {y_key}[{int(bad[0])}] is {float(y[bad[0]])!r}, not a whole number; "
                "labels must be class ids 0, 1, 2, ..."
            )
    return y.astype(np.int64)


def read_h5(
    path: str | Path,
    *,
    x_key: str,
    y_key: str,
    classes_key: str | None = None,
    scale: float | None = 1 / 255,
    name: str | None = None,
) -> Dataset:
    """Features and labels from two datasets of an HDF5 file.

    Args:
        path: The ``.h5`` file.
        x_key: Dataset of the features, ``(n, *sample_shape)`` (e.g. uint8 images).
        y_key: Dataset of the class ids, ``(n,)`` (``(1, n)`` and ``(n, 1)`` are accepted).
        classes_key: Dataset of the class names (bytes or strings), in label order; None
            names the classes ``"0"``, ``"1"``, ...
        scale: Factor applied to the features (``1/255`` maps bytes to [0, 1]); None
            keeps the values.
        name: Data set name for reports; by default the file name without ``.h5``.

    Returns:
        x float32, y int64 class ids, class names decoded.

    Raises:
        DataError: the file is missing or not HDF5; a key is missing (the message lists the
            datasets the file has); x and y differ in length; a label is negative or has
            no class name.
    """
    import h5py

    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not an HDF5 file. Give the file's path.")
    if not path.is_file():
        raise DataError(f"{path}: no such file.")
    if not h5py.is_hdf5(path):
        raise DataError(
            f"{path}: not an HDF5 file (no HDF5 signature). Check the path, or download the "
            "file again."
        )
    try:
        h5 = h5py.File(path, "r")
    except OSError as exc:
        raise DataError(
            f"{path}: cannot be opened as HDF5 ({exc}). The file may be truncated or corrupt; "
            "download it again."
        ) from None
    requested = tuple(key for key in (x_key, y_key, classes_key) if key)
    with h5:
        x = _get(h5, path, x_key, "x_key", requested)
        y = _get(h5, path, y_key, "y_key", requested)
        classes = _get(h5, path, classes_key, "classes_key", requested) if classes_key else None
    if x.ndim == 0 or not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise DataError(
            f"{path}: {x_key} holds {x.dtype} values of shape {x.shape}; features must be "
            "numbers with one row per sample."
        )
    y = _labels(y, len(x), path, x_key, y_key)
    names = _class_names(classes, path, str(classes_key)) if classes is not None else ()
    if len(y) and y.min() < 0:
        index = int(np.argmax(y < 0))
        raise DataError(
            f"{path}: {y_key}[{index}] is {int(y[index])}; labels must be class ids 0, 1, 2, ..."
        )
    if names and len(y) and y.max() >= len(names):
        index = int(np.argmax(y >= len(names)))
        raise DataError(
            f"{path}: {y_key}[{index}] is {int(y[index])}, outside {classes_key} "
            f"({', '.join(names)}: ids 0 to {len(names) - 1}). Check that {classes_key} is "
            "this file's class list."
        )
    features = x.astype(np.float64) * scale if scale is not None else x
    return Dataset(
        x=features.astype(np.float32),
        y=y,
        class_names=names,
        name=name if name is not None else path.stem,
        source=f"{path} ({x_key}, {y_key})",
    )


def load_cat_vs_noncat(folder: str | Path) -> Splits:
    """The cat vs non-cat exercise: 209 training and 50 test images, 64x64 RGB, in [0, 1].

    Args:
        folder: Folder holding ``train_catvnoncat.h5`` and ``test_catvnoncat.h5``.

    Returns:
        Train and test splits (no validation split), class names ``("non-cat", "cat")``.

    Raises:
        DataError: the folder or a file is missing, or a file does not have the
            exercise's datasets.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(
            f"{folder}: no such folder. Give the folder that holds train_catvnoncat.h5 and "
            "test_catvnoncat.h5."
        )
    missing = [file for file in CAT_FILES.values() if not (folder / file).is_file()]
    if missing:
        present = sorted(p.name for p in folder.iterdir())[:8]
        raise DataError(
            f"{folder}: missing {' and '.join(missing)}. The folder holds: "
            f"{', '.join(present) or 'nothing'}. It needs train_catvnoncat.h5 and "
            "test_catvnoncat.h5 (the exercise's datasets folder)."
        )
    parts = {
        split: read_h5(
            folder / file,
            x_key=f"{split}_set_x",
            y_key=f"{split}_set_y",
            classes_key="list_classes",
            name="cat-vs-noncat",
        )
        for split, file in CAT_FILES.items()
    }
    train, test = parts["train"], parts["test"]
    if train.sample_shape != test.sample_shape:
        raise DataError(
            f"{folder}: training images are {train.sample_shape} but test images are "
            f"{test.sample_shape}; both files must hold images of the same size."
        )
    if train.class_names != test.class_names:
        raise DataError(
            f"{folder}: the two files list different classes: {train.class_names} in "
            f"{CAT_FILES['train']}, {test.class_names} in {CAT_FILES['test']}."
        )
    return Splits(train=train, test=test)


# ------------------------------------------------------------------------------ stand-in
_WARM = np.array(
    [[222, 138, 58], [150, 96, 52], [232, 200, 158], [196, 110, 40], [110, 78, 56]], float
)
_GREY_FUR = np.array([[120, 120, 125], [40, 40, 45], [225, 225, 220]], float)
_EYES = np.array([[40, 40, 20], [90, 140, 40]], float)
_SKY = np.array([[120, 170, 225], [175, 205, 235], [90, 130, 190], [200, 215, 225]], float)
_GROUND = np.array([[70, 140, 60], [40, 100, 50], [60, 110, 150], [120, 150, 90]], float)
_WARM_GROUND = np.array([[200, 170, 110], [140, 100, 60], [170, 120, 70]], float)
_STRUCTURE = np.array([[90, 90, 100], [60, 80, 60], [140, 140, 150], [40, 60, 90]], float)
_BACKDROP = np.array(
    [[200, 195, 185], [150, 150, 155], [90, 120, 110], [170, 160, 140], [80, 95, 130]], float
)


def _jitter(rng: np.random.Generator, palette: np.ndarray, amount: float = 18) -> np.ndarray:
    return palette[rng.integers(len(palette))] + rng.normal(0, amount, 3)


def _triangle(yy: np.ndarray, xx: np.ndarray, corners: np.ndarray) -> np.ndarray:
    """Mask of the pixels inside the triangle ``corners`` (3 rows of (x, y))."""
    signs = []
    for i in range(3):
        (x0, y0), (x1, y1) = corners[i], corners[(i + 1) % 3]
        signs.append((x1 - x0) * (yy - y0) - (y1 - y0) * (xx - x0))
    inside_pos = (signs[0] >= 0) & (signs[1] >= 0) & (signs[2] >= 0)
    inside_neg = (signs[0] <= 0) & (signs[1] <= 0) & (signs[2] <= 0)
    return inside_pos | inside_neg


def _backdrop(rng: np.random.Generator, yy: np.ndarray) -> np.ndarray:
    """A plain indoor-ish wall with a light gradient."""
    image = np.empty((IMAGE_SIZE, IMAGE_SIZE, 3))
    image[:] = _jitter(rng, _BACKDROP, 25)
    return image + (yy / IMAGE_SIZE - 0.5)[..., None] * rng.normal(0, 40)


def _scene(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """Sky over grass, water or a field, with posts, trunks or buildings and bands."""
    image = np.empty((IMAGE_SIZE, IMAGE_SIZE, 3))
    horizon = rng.uniform(18, 46)
    ground = _jitter(rng, _WARM_GROUND if rng.random() < 0.25 else _GROUND, 15)
    above = yy < horizon
    image[above] = _jitter(rng, _SKY, 15)
    image[~above] = ground
    image += (yy / IMAGE_SIZE - 0.5)[..., None] * rng.normal(0, 30)
    for _ in range(rng.integers(0, 5)):  # vertical structures
        x0, width = rng.uniform(0, IMAGE_SIZE), rng.uniform(2, 12)
        top = rng.uniform(4, horizon)
        post = (xx >= x0) & (xx < x0 + width) & (yy >= top) & (yy < horizon + rng.uniform(0, 10))
        image[post] = _jitter(rng, _STRUCTURE)
    for _ in range(rng.integers(0, 3)):  # horizontal bands: roads, fences, shores
        y0, height = rng.uniform(horizon, IMAGE_SIZE), rng.uniform(1, 5)
        image[(yy >= y0) & (yy < y0 + height)] = _jitter(rng, _STRUCTURE)
    return image


def _add_warm_object(
    image: np.ndarray, rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray
) -> None:
    """A sun, an autumn tree or a house with a pointed roof: warm, but no cat."""
    kind = rng.integers(3)
    cx, size = rng.uniform(10, 54), rng.uniform(5, 12)
    colour = _jitter(rng, _WARM)
    if kind == 0:  # sun
        cy = rng.uniform(6, 24)
        image[(xx - cx) ** 2 + (yy - cy) ** 2 <= size * size] = colour
    elif kind == 1:  # autumn tree: trunk and a round crown
        cy = rng.uniform(20, 36)
        image[(abs(xx - cx) < size / 4) & (yy > cy) & (yy < cy + 2.5 * size)] = _jitter(
            rng, _STRUCTURE
        )
        crown = (xx - cx) ** 2 / 1.2 + (yy - cy) ** 2 <= (1.3 * size) ** 2
        image[crown] = colour * (1 + rng.normal(0, 0.1, (IMAGE_SIZE, IMAGE_SIZE)))[crown][:, None]
    else:  # house: a wall and a triangular roof
        base = rng.uniform(40, 60)
        wall = (abs(xx - cx) < size) & (yy > base - 1.5 * size) & (yy < base)
        image[wall] = _jitter(rng, _BACKDROP, 20)
        roof = np.array(
            [
                (cx - 1.3 * size, base - 1.5 * size),
                (cx + 1.3 * size, base - 1.5 * size),
                (cx, base - 2.6 * size),
            ]
        )
        image[_triangle(yy, xx, roof)] = colour


def _cat_image(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """A striped head (mostly warm fur) with two triangular ears and two eyes."""
    image = _backdrop(rng, yy) if rng.random() < 0.75 else _scene(rng, yy, xx)
    radius = rng.uniform(9, 19)
    cx, cy = rng.uniform(radius - 4, IMAGE_SIZE - radius + 4), rng.uniform(radius + 10, 56)
    stretch = rng.uniform(0.8, 1.2)
    head = ((xx - cx) / (radius * stretch)) ** 2 + ((yy - cy) / radius) ** 2 <= 1
    ears = np.zeros_like(head)
    for side in (-1, 1):
        base_x = cx + side * radius * rng.uniform(0.35, 0.7)
        half = radius * rng.uniform(0.3, 0.45)
        tip = (base_x + side * rng.uniform(0, 0.3) * radius, cy - radius * rng.uniform(1.4, 1.8))
        corners = np.array(
            [(base_x - half, cy - radius * 0.6), (base_x + half, cy - radius * 0.6), tip]
        )
        ears |= _triangle(yy, xx, corners)
    fur = _jitter(rng, _WARM if rng.random() < 0.8 else _GREY_FUR)
    angle, period = rng.uniform(0, np.pi), rng.uniform(3, 7)
    stripes = np.sin((xx * np.cos(angle) + yy * np.sin(angle)) * 2 * np.pi / period)
    texture = 1 + rng.uniform(0.05, 0.3) * stripes + rng.normal(0, 0.08, (IMAGE_SIZE, IMAGE_SIZE))
    body = head | ears
    image[body] = fur * texture[body][:, None]
    for side in (-1, 1):  # eyes
        ex, ey = cx + side * radius * 0.4, cy - radius * 0.15
        eye = (xx - ex) ** 2 + (yy - ey) ** 2 <= (radius * 0.12) ** 2
        image[eye] = _jitter(rng, _EYES, 10)
    return image


def _non_cat_image(rng: np.random.Generator, yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
    """A cool outdoor scene (sometimes a plain wall), often with a warm object in it."""
    image = _scene(rng, yy, xx) if rng.random() < 0.8 else _backdrop(rng, yy)
    if rng.random() < 0.35:
        _add_warm_object(image, rng, yy, xx)
    return image


def _make_images(n: int, n_cats: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    y = np.zeros(n, dtype=np.int64)
    y[:n_cats] = 1
    y = y[rng.permutation(n)]
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE].astype(np.float64)
    x = np.empty((n, IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    for i, label in enumerate(y):
        image = _cat_image(rng, yy, xx) if label else _non_cat_image(rng, yy, xx)
        image += rng.normal(0, 10, image.shape)
        x[i] = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    return x, y


def write_cat_vs_noncat(
    folder: str | Path, *, n_train: int = 209, n_test: int = 50, seed: int = 42
) -> Path:
    """Write a generated stand-in for the cat vs non-cat files, in the same schema.

    "Cats" are warm (orange, brown, cream) striped heads with two triangular ears and two
    eyes on a plain backdrop; "non-cats" are cool scenes (sky over grass or water) with
    vertical posts and horizontal bands, some with a warm sun or roof. Positions, sizes,
    colours and pixel noise vary, so a small model separates them well but not perfectly.
    About a third of each split are cats (the real training set has 72 of 209). Each
    file is written to a temporary file beside it, then renamed onto it.

    Args:
        folder: Where to write ``train_catvnoncat.h5`` and ``test_catvnoncat.h5``.
        n_train: Training images.
        n_test: Test images.
        seed: Everything is determined by it.

    Returns:
        ``folder``.
    """
    import h5py

    folder = Path(folder)
    for arg, value in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise DataError(f"`{arg}` must be a positive integer. Received: {arg}={value!r}.")
    classes = np.array([name.encode("ascii") for name in CAT_CLASSES])  # dtype S7, as shipped
    for stream, (split, n) in enumerate((("train", n_train), ("test", n_test))):
        rng = np.random.default_rng([seed, stream])
        x, y = _make_images(n, round(n / 3), rng)
        with replacing(folder / CAT_FILES[split]) as tmp, h5py.File(tmp, "w") as h5:
            h5.create_dataset(f"{split}_set_x", data=x)
            h5.create_dataset(f"{split}_set_y", data=y)
            h5.create_dataset("list_classes", data=classes)
    return folder
