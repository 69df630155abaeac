"""Image folders: the chapters' ``flow_from_directory`` layouts, decoded once and cached.

Two layouts are recognised:

- ``root/{train,test}/<class>/*`` (and optionally ``validation``/``valid``/``val``), the CNN
  chapter's ``pizza_steak/`` folder;
- ``root/<class>/*``, split into train / validation / test by fractions, stratified and seeded.

Class names are the sorted sub-folder names. JPEG, PNG, BMP and GIF (first frame) files are
read; grayscale, RGBA, palette and CMYK images are converted to RGB and resized to
``target_size`` (bilinear). Other files are ignored. An unreadable image is skipped with a
warning naming it (or is an error with ``strict=True``).

Decoded, resized images are stored as one uint8 ``.npy`` per split in the cache
(``$NEURALAB_DATA/../images`` by default), keyed by the files' contents and the target size;
later loads memory-map it, so neither the next epoch nor the next run decodes again, and a data
set larger than memory is read from disk as needed. The data keep their 0-255 pixels and carry
``rescale = 1/255``: the model gets a ``Rescaling`` layer in front (as ``ImageDataGenerator(
rescale=1/255.)`` did), so a saved model takes raw images.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from neuralab.data.dataset import Dataset, Splits
from neuralab.errors import DataError

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
SPLIT_FOLDERS = {
    "train": "train",
    "test": "test",
    "validation": "validation",
    "valid": "validation",
    "val": "validation",
}
CACHE_VERSION = 1
LabelMode = Literal["int", "binary", "categorical"]


# --------------------------------------------------------------------------- scanning


@dataclass(frozen=True)
class ImageFolder:
    """What is in an image folder, before any image is decoded."""

    root: Path
    layout: Literal["split", "classes"]
    class_names: tuple[str, ...]
    files: dict[str, list[tuple[Path, int]]]  # split ("train", "test", ... or "all") -> files
    ignored: tuple[Path, ...] = ()

    def counts(self) -> dict[str, dict[str, int]]:
        """Images per split and class."""
        out: dict[str, dict[str, int]] = {}
        for split, items in self.files.items():
            per = dict.fromkeys(self.class_names, 0)
            for _, label in items:
                per[self.class_names[label]] += 1
            out[split] = per
        return out

    @property
    def n_images(self) -> int:
        return sum(len(items) for items in self.files.values())


def _is_image(path: Path) -> bool:
    return (
        path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith(".")
    )


def _class_folders(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _scan_classes(folder: Path, ignored: list[Path]) -> dict[str, list[Path]]:
    classes: dict[str, list[Path]] = {}
    for class_dir in _class_folders(folder):
        images: list[Path] = []
        for path in sorted(class_dir.rglob("*")):
            if _is_image(path):
                images.append(path)
            elif path.is_file():
                ignored.append(path)
        classes[class_dir.name] = images
    for path in sorted(folder.iterdir()):
        if path.is_file():
            ignored.append(path)
    return classes


def _check_classes(where: Path, classes: dict[str, list[Path]]) -> None:
    if not classes:
        raise DataError(
            f"{where}: no class folders. Put the images in one sub-folder per class "
            "(e.g. pizza/ and steak/), optionally under train/ and test/."
        )
    for name, images in classes.items():
        if not images:
            raise DataError(
                f"{where / name}: the class folder {name!r} has no images (JPEG, PNG, BMP or "
                "GIF). Add images or remove the folder."
            )
    if len(classes) == 1:
        only = next(iter(classes))
        raise DataError(
            f"{where}: only one class ({only!r}) found: a classifier needs at least two class "
            "folders."
        )


def scan_image_folder(root: str | Path) -> ImageFolder:
    """Find the layout, classes and image files of ``root`` (nothing is decoded).

    Raises:
        DataError: the folder does not exist, has no class folders, an empty class folder,
            only one class, or splits with different class sets (named).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(
            f"{root}: no such folder. Give a folder with one sub-folder per class, or with "
            "train/ and test/ sub-folders holding the class folders."
        )
    ignored: list[Path] = []
    split_dirs = {
        SPLIT_FOLDERS[p.name.lower()]: p
        for p in _class_folders(root)
        if p.name.lower() in SPLIT_FOLDERS
    }
    if "train" in split_dirs:
        ignored += sorted(p for p in root.iterdir() if p.is_file())
        per_split = {split: _scan_classes(folder, ignored) for split, folder in split_dirs.items()}
        reference = sorted(per_split["train"])
        for split, classes in per_split.items():
            _check_classes(split_dirs[split], classes)
            if sorted(classes) != reference:
                missing = sorted(set(reference) - set(classes))
                extra = sorted(set(classes) - set(reference))
                parts = []
                if missing:
                    parts.append(f"missing in {split}: {', '.join(missing)}")
                if extra:
                    parts.append(f"only in {split}: {', '.join(extra)}")
                raise DataError(
                    f"{root}: train and {split} have different classes ({'; '.join(parts)}). "
                    "Every split needs the same class folders."
                )
        names = tuple(reference)
        files = {
            split: [(path, names.index(c)) for c in names for path in classes[c]]
            for split, classes in per_split.items()
        }
        return ImageFolder(root, "split", names, files, tuple(ignored))
    classes = _scan_classes(root, ignored)
    _check_classes(root, classes)
    names = tuple(sorted(classes))
    files = {"all": [(path, names.index(c)) for c in names for path in classes[c]]}
    return ImageFolder(root, "classes", names, files, tuple(ignored))


# --------------------------------------------------------------------------- decoding


def check_target_size(target_size: Any, where: str = "target_size") -> tuple[int, int]:
    """``(height, width)`` from an int or a pair of positive ints.

    Raises:
        DataError: anything else, Keras style.
    """
    value = target_size
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    if (
        not isinstance(value, list | tuple)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) and 8 <= v <= 4096 for v in value)
    ):
        raise DataError(
            f"`{where}` must be (height, width) with whole numbers from 8 to 4096, e.g. "
            f"[224, 224]. Received: {where}={target_size!r}."
        )
    return int(value[0]), int(value[1])


def decode_image(path: str | Path, target_size: tuple[int, int]) -> np.ndarray:
    """One image as uint8 RGB ``(height, width, 3)``, resized (bilinear); GIF: first frame.

    Raises:
        OSError / ValueError from Pillow for unreadable or truncated files.
    """
    from PIL import Image

    height, width = target_size
    with Image.open(path) as img:
        if getattr(img, "n_frames", 1) > 1:
            img.seek(0)
        if img.format == "JPEG":
            img.draft("RGB", (width, height))  # decode at a reduced scale when much larger
        if img.mode in ("RGBA", "LA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            rgb = Image.alpha_composite(background, rgba).convert("RGB")
        elif img.mode == "RGB":
            rgb = img  # no copy: convert() would duplicate the decoded pixels
        else:
            rgb = img.convert("RGB")
        if rgb.size != (width, height):
            rgb = rgb.resize((width, height), Image.Resampling.BILINEAR)
        array = np.asarray(rgb, dtype=np.uint8)
    return array


def image_size(path: Path) -> tuple[int, int] | None:
    """``(width, height)`` from the header, or None if unreadable."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            return int(img.size[0]), int(img.size[1])
    except (OSError, ValueError):
        return None


def default_image_cache() -> Path:
    from neuralab.data.download import datasets_dir

    return datasets_dir().parent / "images"


def _digest(path: Path, index: dict[str, Any]) -> str:
    stat = path.stat()
    key = os.path.abspath(path)
    known = index.get(key)
    if known and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
        return str(known[2])
    digest = hashlib.blake2b(path.read_bytes(), digest_size=16).hexdigest()
    index[key] = [stat.st_size, stat.st_mtime_ns, digest]
    return digest


@dataclass
class DecodeReport:
    """What decoding a list of images found."""

    decoded: int = 0
    from_cache: bool = False
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    cache_file: Path | None = None


def decode_images(
    paths: Sequence[Path],
    target_size: tuple[int, int],
    *,
    strict: bool = False,
    cache_dir: str | Path | None = None,
    workers: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, np.ndarray, DecodeReport]:
    """Decode and resize ``paths`` into one uint8 array, using the on-disk cache.

    Returns:
        ``(images, kept, report)``: images ``(n_kept, h, w, 3)`` (memory-mapped when cached),
        the indices of ``paths`` that were kept, and what happened.

    Raises:
        DataError: an unreadable image with ``strict=True``.
    """
    cache = Path(cache_dir) if cache_dir is not None else default_image_cache()
    report = DecodeReport()
    index_file = cache / "index.json"
    try:
        index: dict[str, Any] = json.loads(index_file.read_text()) if index_file.exists() else {}
    except (OSError, ValueError):
        index = {}
    digests = [_digest(p, index) for p in paths]
    h, w = target_size
    key = hashlib.blake2b(
        f"v{CACHE_VERSION}:{h}x{w}:bilinear:{strict}:{','.join(digests)}".encode(), digest_size=16
    ).hexdigest()
    array_file = cache / f"{key}.npy"
    meta_file = cache / f"{key}.json"
    if array_file.exists() and meta_file.exists():
        meta = json.loads(meta_file.read_text())
        report.from_cache = True
        report.cache_file = array_file
        report.skipped = [(Path(p), why) for p, why in meta["skipped"]]
        for path, why in report.skipped:
            logger.warning("skipped %s: %s", path, why)
        images = np.load(array_file, mmap_mode="r")
        return images, np.asarray(meta["kept"], dtype=np.int64), report

    def load(i: int) -> tuple[int, np.ndarray | None, str]:
        try:
            return i, decode_image(paths[i], target_size), ""
        except (OSError, ValueError, SyntaxError) as exc:
            return i, None, f"{type(exc).__name__}: {exc}"

    results: list[np.ndarray | None] = [None] * len(paths)
    reasons: dict[int, str] = {}
    n_workers = workers or min(8, (os.cpu_count() or 2) + 1)
    with ThreadPoolExecutor(max_workers=n_workers) as pool:
        for done, (i, image, why) in enumerate(pool.map(load, range(len(paths))), start=1):
            if image is None:
                if strict:
                    raise DataError(
                        f"{paths[i]}: cannot read this image ({why}). Remove or replace it, or "
                        "drop --strict to skip unreadable images with a warning."
                    )
                reasons[i] = why
                logger.warning("skipped %s: %s", paths[i], why)
            results[i] = image
            if progress:
                progress(done, len(paths))
    kept = np.asarray([i for i in range(len(paths)) if results[i] is not None], dtype=np.int64)
    report.decoded = len(kept)
    report.skipped = [(paths[i], reasons[i]) for i in sorted(reasons)]
    try:
        cache.mkdir(parents=True, exist_ok=True)
        from neuralab.fileio import atomic_write_text, replacing

        stacked = np.empty((len(kept), h, w, 3), dtype=np.uint8)
        for j, i in enumerate(kept):
            stacked[j] = results[i]
        with replacing(array_file, suffix=".npy") as tmp, open(tmp, "wb") as handle:
            np.save(handle, stacked)
        atomic_write_text(
            meta_file,
            json.dumps(
                {"kept": kept.tolist(), "skipped": [[str(p), why] for p, why in report.skipped]}
            ),
        )
        atomic_write_text(index_file, json.dumps(index))
        report.cache_file = array_file
        return np.load(array_file, mmap_mode="r"), kept, report
    except OSError as exc:  # read-only cache: keep going in memory
        logger.warning("image cache %s not writable (%s); decoding again next time", cache, exc)
        stacked = (
            np.stack([results[i] for i in kept]) if len(kept) else np.zeros((0, h, w, 3), np.uint8)
        )
        return stacked, kept, report


# --------------------------------------------------------------------------- data sets


def _labels(ids: np.ndarray, n_classes: int, mode: LabelMode, where: str) -> np.ndarray:
    if mode == "int":
        return ids.astype(np.int64)
    if mode == "binary":
        if n_classes != 2:
            raise DataError(
                f"{where}: label_mode 'binary' needs exactly 2 classes, found {n_classes}. Use "
                "'int' (with sparse_categorical_crossentropy) or 'categorical'."
            )
        return ids.astype(np.float32)
    if mode == "categorical":
        return np.eye(n_classes, dtype=np.float32)[ids]
    raise DataError(
        "`label_mode` must be one of 'int', 'binary', 'categorical'. "
        f"Received: label_mode={mode!r}."
    )


def _stratified_split(
    labels: np.ndarray, fractions: dict[str, float], seed: int
) -> dict[str, np.ndarray]:
    """Indices per part; each class is split by the same fractions (rounded), shuffled."""
    rng = np.random.default_rng(seed)
    parts: dict[str, list[int]] = {name: [] for name in ("train", *fractions)}
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        start = 0
        for name, fraction in fractions.items():
            count = round(fraction * len(members))
            parts[name].extend(members[start : start + count].tolist())
            start += count
        parts["train"].extend(members[start:].tolist())
    return {name: rng.permutation(np.asarray(idx, dtype=np.int64)) for name, idx in parts.items()}


def load_image_folder(
    path: str | Path,
    *,
    target_size: Any = (224, 224),
    validation_split: float = 0.0,
    test_split: float = 0.0,
    label_mode: LabelMode = "int",
    seed: int = 42,
    strict: bool = False,
    cache_dir: str | Path | None = None,
    name: str | None = None,
) -> Splits:
    """An image folder as train / validation / test splits (see the module docstring).

    Args:
        path: The folder.
        target_size: ``(height, width)`` (or one int) every image is resized to.
        validation_split: Fraction of the training images (of all images for a folder
            without train/test) held out for validation, stratified and seeded.
        test_split: For a folder without train/test: fraction held out for testing.
        label_mode: ``int`` class ids, ``binary`` 0/1 floats, or ``categorical`` one-hot.
        seed: Seed of the stratified split and of the file order.
        strict: Raise on an unreadable image instead of skipping it with a warning.
        cache_dir: Where decoded images are cached.
        name: Data set name (default: the folder's name).

    Raises:
        DataError: see :func:`scan_image_folder`, bad ``target_size`` or fractions.
    """
    size = check_target_size(target_size)
    for key, value in (("validation_split", validation_split), ("test_split", test_split)):
        if not 0 <= value < 1:
            raise DataError(f"`{key}` must be a fraction in [0, 1). Received: {key}={value!r}.")
    folder = scan_image_folder(path)
    if folder.layout == "split" and test_split:
        raise DataError(
            f"{folder.root}: the folder already has a test/ split; remove `test_split`."
        )
    label = name or folder.root.name
    n_classes = len(folder.class_names)
    splits: dict[str, Dataset] = {}

    def dataset(items: list[tuple[Path, int]], split: str) -> Dataset:
        paths = [p for p, _ in items]
        ids = np.asarray([c for _, c in items], dtype=np.int64)
        images, kept, report = decode_images(paths, size, strict=strict, cache_dir=cache_dir)
        notes = tuple(f"skipped unreadable image {p} ({why})" for p, why in report.skipped)
        return Dataset(
            x=images,
            y=_labels(ids[kept], n_classes, label_mode, str(folder.root)),
            class_names=folder.class_names,
            name=label,
            source=f"image folder {folder.root} ({split}, {size[0]}x{size[1]})",
            notes=notes,
            rescale=1 / 255,
            files=tuple(str(paths[i]) for i in kept),
        )

    if folder.layout == "split":
        train_items = folder.files["train"]
        if validation_split and "validation" not in folder.files:
            ids = np.asarray([c for _, c in train_items])
            parts = _stratified_split(ids, {"validation": validation_split}, seed)
            splits["validation"] = dataset(
                [train_items[i] for i in np.sort(parts["validation"])], "validation"
            )
            train_items = [train_items[i] for i in np.sort(parts["train"])]
        elif "validation" in folder.files:
            splits["validation"] = dataset(folder.files["validation"], "validation")
        splits["train"] = dataset(train_items, "train")
        if "test" in folder.files:
            splits["test"] = dataset(folder.files["test"], "test")
    else:
        items = folder.files["all"]
        ids = np.asarray([c for _, c in items])
        fractions = {k: v for k, v in (("validation", validation_split), ("test", test_split)) if v}
        parts = _stratified_split(ids, fractions, seed)
        for split, index in parts.items():
            splits[split] = dataset([items[i] for i in np.sort(index)], split)
    return Splits(
        train=splits["train"],
        validation=splits.get("validation"),
        test=splits.get("test"),
    )


def image_folder(
    path: str,
    target_size: list[int] | int = 224,
    validation_split: float = 0.0,
    test_split: float = 0.0,
    label_mode: str = "int",
    strict: bool = False,
    seed: int = 42,
) -> Splits:
    """Registry loader ``name = "image_folder"`` (``path`` required)."""
    return load_image_folder(
        path,
        target_size=target_size,
        validation_split=validation_split,
        test_split=test_split,
        label_mode=label_mode,  # type: ignore[arg-type]
        strict=strict,
        seed=seed,
    )
