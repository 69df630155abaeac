"""Arrays a learner saved as data sets of a spec: ``npz`` (NumPy) and ``h5`` (HDF5).

``data = {name = "npz", path = "dados.npz", x_key = "x", y_key = "y"}`` and
``data = {name = "h5", path = "dados.h5", x_key = "images", y_key = "labels"}``: features
and labels are arrays named by keys (an HDF5 key may be a path, ``group/images``). Test
arrays in the same file (``x_test_key``, ``y_test_key``) make a ready test split. Labels are
class ids 0, 1, ... or (npz) text, whose sorted values become the class names.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.data.dataset import Dataset, Splits
from neuralab.data.hdf5 import read_h5
from neuralab.errors import DataError, did_you_mean

_LISTED = 30


def _scale_of(scale: float | str, dtype: np.dtype[Any], where: str) -> float | None:
    if scale == "auto":
        return 1 / 255 if dtype == np.uint8 else None
    if isinstance(scale, bool) or not isinstance(scale, int | float) or not scale > 0:
        raise DataError(
            f"{where}: `scale` must be a positive number (1: keep the values) or 'auto' "
            f"(1/255 for bytes, else none). Received: scale={scale!r}."
        )
    return None if scale == 1 else float(scale)


# ------------------------------------------------------------------------------ npz
def _npz_array(arrays: Any, key: str, path: Path, arg: str, taken: tuple[str, ...]) -> np.ndarray:
    keys = list(arrays.files)
    if key not in keys:
        listed = ", ".join(keys[:_LISTED]) or "no arrays"
        hint = did_you_mean(key, [k for k in keys if k not in taken])
        raise DataError(
            f"{path}: no array {key!r} ({arg}). The file has: {listed}.{hint} Give the key "
            f"of the array as {arg}."
        )
    try:
        return np.asarray(arrays[key])
    except ValueError as exc:  # object arrays need pickle, which is not allowed
        raise DataError(
            f"{path}: array {key!r} holds Python objects (saved with pickle), which are not "
            "read for safety. Save numbers, or text as a fixed-width string array."
        ) from exc


def _labels(y: np.ndarray, n: int, path: Path, key: str) -> tuple[np.ndarray, tuple[str, ...]]:
    if y.ndim == 2 and 1 in y.shape:
        y = y.reshape(-1)
    if y.ndim != 1 or len(y) != n:
        raise DataError(
            f"{path}: {key!r} has shape {y.shape}; labels must be one per row of the features, "
            f"shape ({n},)."
        )
    if y.dtype.kind in "US":
        texts = np.char.strip(y.astype(str))
        names = tuple(sorted(set(texts.tolist())))
        return np.searchsorted(np.asarray(names), texts).astype(np.int64), names
    if y.dtype.kind == "f":
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.floor(y)))
        if len(bad):
            raise DataError(
                f"{path}: {key}[{int(bad[0])}] is {float(y[bad[0]])!r}, not a whole number; "
                "labels must be class ids 0, 1, 2, ... or text."
            )
    elif y.dtype.kind not in "iub":
        raise DataError(
            f"{path}: {key!r} holds {y.dtype} values; labels must be class ids 0, 1, 2, ... "
            "or text."
        )
    ids = y.astype(np.int64)
    if len(ids) and ids.min() < 0:
        index = int(np.argmax(ids < 0))
        raise DataError(f"{path}: {key}[{index}] is {int(ids[index])}; class ids start at 0.")
    return ids, ()


def _features(x: np.ndarray, path: Path, key: str, scale: float | str) -> np.ndarray:
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim == 0 or not (np.issubdtype(x.dtype, np.number) or x.dtype == np.bool_):
        raise DataError(
            f"{path}: {key!r} holds {x.dtype} values of shape {x.shape}; features must be "
            "numbers with one row per sample."
        )
    factor = _scale_of(scale, x.dtype, str(path))
    values = x.astype(np.float64) * factor if factor is not None else x
    return np.asarray(values, dtype=np.float32)


def npz_arrays(
    path: str,
    x_key: str = "x",
    y_key: str = "y",
    x_test_key: str | None = None,
    y_test_key: str | None = None,
    classes_key: str | None = None,
    scale: float | str = "auto",
) -> Dataset | Splits:
    """The ``npz`` data set of a spec: arrays of a ``.npz`` file (``np.savez``) by key.

    Args:
        path: The ``.npz`` file.
        x_key, y_key: Keys of the features ``(n, ...)`` and labels ``(n,)``.
        x_test_key, y_test_key: Keys of test arrays, if the file has its own test split.
        classes_key: Key of the class names (text), in label order.
        scale: Factor for the features; ``"auto"``: 1/255 for uint8 (pixels), else none.
    """
    file = Path(path)
    if not file.is_file():
        raise DataError(f"{file}: no such file." if not file.is_dir() else f"{file}: is a folder.")
    taken = tuple(k for k in (x_key, y_key, x_test_key, y_test_key, classes_key) if k)
    if (x_test_key is None) != (y_test_key is None):
        raise DataError(f"{file}: give both x_test_key and y_test_key, or neither.")
    try:
        arrays = np.load(file, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DataError(
            f"{file}: not a NumPy .npz file ({exc}). Save arrays with np.savez(path, x=..., y=...)."
        ) from exc
    if not hasattr(arrays, "files"):
        raise DataError(f"{file}: holds one array (.npy), not named arrays; save with np.savez.")
    with arrays:
        parts = [("train", x_key, y_key)]
        if x_test_key and y_test_key:
            parts.append(("test", x_test_key, y_test_key))
        names: tuple[str, ...] = ()
        if classes_key:
            raw = _npz_array(arrays, classes_key, file, "classes_key", taken)
            names = tuple(str(v).strip() for v in raw.reshape(-1).tolist())
        out: dict[str, Dataset] = {}
        for split, xk, yk in parts:
            x = _features(_npz_array(arrays, xk, file, "x_key", taken), file, xk, scale)
            y, text_names = _labels(_npz_array(arrays, yk, file, "y_key", taken), len(x), file, yk)
            out[split] = Dataset(
                x=x,
                y=y,
                class_names=names or text_names,
                name=file.stem,
                source=f"{file.name} ({xk}, {yk})",
            )
    if "test" in out and out["test"].class_names != out["train"].class_names:
        raise DataError(
            f"{file}: the test labels have other classes ({', '.join(out['test'].class_names)})"
            f" than the training labels ({', '.join(out['train'].class_names)})."
        )
    _check_ids(out, file, names)
    return Splits(train=out["train"], test=out["test"]) if "test" in out else out["train"]


def _check_ids(parts: dict[str, Dataset], path: Path, names: tuple[str, ...]) -> None:
    for part in parts.values():
        if names and len(part.y) and part.y.max() >= len(names):
            raise DataError(
                f"{path}: label {int(part.y.max())} has no class name: there are "
                f"{len(names)} names ({', '.join(names)})."
            )


# ------------------------------------------------------------------------------ h5
def h5_arrays(
    path: str,
    x_key: str = "x",
    y_key: str = "y",
    x_test_key: str | None = None,
    y_test_key: str | None = None,
    classes_key: str | None = None,
    scale: float | str = "auto",
) -> Dataset | Splits:
    """The ``h5`` data set of a spec: datasets of an HDF5 file by name (any names, paths
    such as ``group/images`` included); arguments as for :func:`npz_arrays`."""
    file = Path(path)
    if (x_test_key is None) != (y_test_key is None):
        raise DataError(f"{file}: give both x_test_key and y_test_key, or neither.")
    parts = [("train", x_key, y_key)]
    if x_test_key and y_test_key:
        parts.append(("test", x_test_key, y_test_key))
    out: dict[str, Dataset] = {}
    for split, xk, yk in parts:
        data = read_h5(file, x_key=xk, y_key=yk, classes_key=classes_key, scale=None)
        factor = _scale_of(scale, _h5_dtype(file, xk), str(file))
        if factor is not None:
            data = Dataset(
                x=(data.x.astype(np.float64) * factor).astype(np.float32),
                y=data.y,
                class_names=data.class_names,
                name=data.name,
                source=data.source,
            )
        out[split] = data
    return Splits(train=out["train"], test=out["test"]) if "test" in out else out["train"]


def _h5_dtype(path: Path, key: str) -> np.dtype[Any]:
    import h5py

    with h5py.File(path, "r") as h5:
        return np.dtype(h5[key].dtype)


# ------------------------------------------------------------------------------ info
ARRAY_SUFFIXES = (".npz", ".h5", ".hdf5")


def describe_arrays(path: str | Path) -> list[tuple[str, tuple[int, ...], str]]:
    """``(key, shape, dtype)`` of every array of a ``.npz`` or HDF5 file (``data info``)."""
    file = Path(path)
    if not file.is_file():
        raise DataError(f"{file}: no such file.")
    if file.suffix.lower() == ".npz":
        try:
            with np.load(file, allow_pickle=False) as arrays:
                return [(k, *_npz_header(arrays, k)) for k in arrays.files]
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise DataError(f"{file}: not a NumPy .npz file ({exc}).") from exc
    import h5py

    if not h5py.is_hdf5(file):
        raise DataError(f"{file}: not an HDF5 file (no HDF5 signature).")
    found: list[tuple[str, tuple[int, ...], str]] = []
    with h5py.File(file, "r") as h5:

        def visit(name: str, item: Any) -> None:
            if isinstance(item, h5py.Dataset):
                found.append((name, tuple(int(d) for d in item.shape), str(item.dtype)))

        h5.visititems(visit)
    return sorted(found)


def _npz_header(arrays: Any, key: str) -> tuple[tuple[int, ...], str]:
    try:
        value = arrays[key]
    except ValueError:  # an object array (pickle)
        return (), "object (not read)"
    return tuple(int(d) for d in value.shape), str(value.dtype)
