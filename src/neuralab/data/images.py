"""Image folders: the chapters' ``flow_from_directory`` layouts, decoded once and cached.

Two layouts are recognised:

- ``root/{train,test}/<class>/*`` (and optionally ``validation``/``valid``/``val``), the CNN
  chapter's ``pizza_steak/`` folder;
- ``root/<class>/*``, split into train / validation / test by fractions, stratified and seeded.

Class names are the sorted sub-folder names. JPEG, PNG, BMP and GIF (first frame) files are
read; grayscale, RGBA, palette and CMYK images are converted to RGB and resized to
``target_size`` (bilinear). Other files are ignored. An unreadable image (corrupt, truncated)
is skipped with one warning per load naming it (or is an error with ``strict=True``);
:func:`find_unreadable_images` applies the same check without loading (``neuralab data info``).

Decoded, resized images are stored as one uint8 ``.npy`` per split in the cache
(``$NEURALAB_DATA/../images`` by default), keyed by the files' contents and the target size;
later loads memory-map it, so neither the next epoch nor the next run decodes again, and a data
set larger than memory is read from disk as needed. The data keep their 0-255 pixels and carry
``rescale = 1/255``: the model gets a ``Rescaling`` layer in front (as ``ImageDataGenerator(
rescale=1/255.)`` did), so a saved model takes raw images.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal

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
#: What Pillow raises for a file it cannot read as an image (corrupt, truncated, not an image).
UNREADABLE_ERRORS = (OSError, ValueError, SyntaxError)
#: New files' bytes, read once to hash them, are kept for decoding up to this total size.
HELD_BYTES = 256 << 20
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


def decode_image(path: str | Path | BinaryIO, target_size: tuple[int, int]) -> np.ndarray:
    """One image as uint8 RGB ``(height, width, 3)``, resized (bilinear); GIF: first frame.

    ``path`` may also be a binary file object (e.g. ``io.BytesIO`` of the file's bytes).

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


def _decode_or_reason(
    path: Path, blob: bytes | None, target_size: tuple[int, int]
) -> np.ndarray | str:
    """``path``'s pixels (decoded from ``blob``, the file's bytes, when given), or why the image
    cannot be read: the one check behind both :func:`decode_images` and
    :func:`find_unreadable_images`, so that they find the same images."""
    try:
        try:
            return decode_image(path if blob is None else io.BytesIO(blob), target_size)
        except UNREADABLE_ERRORS:
            if blob is None:
                raise
            return decode_image(path, target_size)  # Pillow's message names the file
    except UNREADABLE_ERRORS as exc:
        return f"{type(exc).__name__}: {exc}"


def find_unreadable_images(
    paths: Sequence[Path],
    *,
    target_size: tuple[int, int] = (224, 224),
    workers: int | None = None,
) -> dict[Path, str]:
    """The images that loading would skip (corrupt or truncated files), with why.

    Each image is decoded as :func:`load_image_folder` decodes it (header and all pixel data:
    a truncated JPEG has a readable header), in ``workers`` threads; nothing is cached.

    Args:
        paths: Image files.
        target_size: ``(height, width)`` to decode at (the loader's default).
        workers: Threads (default: one per CPU, up to 8).

    Returns:
        ``{path: reason}`` in ``paths`` order, e.g. ``"OSError: image file is truncated"``.
    """
    n_workers = max(1, workers or _default_workers())

    def check(path: Path) -> str | None:
        result = _decode_or_reason(path, None, target_size)
        return result if isinstance(result, str) else None  # pixels dropped at once

    with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="neuralab-check") as pool:
        reasons = list(pool.map(check, paths))
    return {path: why for path, why in zip(paths, reasons, strict=True) if why is not None}


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


def _default_workers() -> int:
    return min(8, os.cpu_count() or 2)


def _parts(n: int, workers: int) -> list[range]:
    """``range(n)`` in contiguous parts, a few per worker: fewer, larger pool tasks."""
    size = max(1, min(32, -(-n // (4 * workers))))
    return [range(start, min(n, start + size)) for start in range(0, n, size)]


def _digests(
    paths: Sequence[Path], index: dict[str, Any], pool: ThreadPoolExecutor, workers: int
) -> tuple[list[str], list[bytes | None]]:
    """Each file's contents digest: from ``index`` while its size and mtime match, else read
    and hashed in ``pool`` (and recorded in ``index``). The bytes read come back too, so that
    decoding need not read the files again (``None`` for the files not read, and for all when
    they add up to more than :data:`HELD_BYTES`)."""
    digests = [""] * len(paths)
    blobs: list[bytes | None] = [None] * len(paths)
    unknown: list[tuple[int, str, os.stat_result]] = []
    for i, path in enumerate(paths):
        stat = path.stat()
        key = os.path.abspath(path)
        known = index.get(key)
        if known and known[0] == stat.st_size and known[1] == stat.st_mtime_ns:
            digests[i] = str(known[2])
        else:
            unknown.append((i, key, stat))
    hold = sum(stat.st_size for _, _, stat in unknown) <= HELD_BYTES

    def read(part: range) -> list[tuple[str, bytes | None]]:
        out: list[tuple[str, bytes | None]] = []
        for j in part:
            data = paths[unknown[j][0]].read_bytes()
            out.append((hashlib.blake2b(data, digest_size=16).hexdigest(), data if hold else None))
        return out

    done = 0
    for part in pool.map(read, _parts(len(unknown), workers)):
        for digest, data in part:
            i, key, stat = unknown[done]
            digests[i], blobs[i] = digest, data
            index[key] = [stat.st_size, stat.st_mtime_ns, digest]
            done += 1
    return digests, blobs


@dataclass
class DecodeReport:
    """What decoding a list of images found."""

    decoded: int = 0
    from_cache: bool = False
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    cache_file: Path | None = None


class _NpyWriter:
    """An uint8 ``.npy`` file written image by image (from several threads), in place."""

    def __init__(self, path: Path, shape: tuple[int, ...]) -> None:
        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "|u1", "fortran_order": False, "shape": shape}
        )
        self.frame = int(np.prod(shape[1:]))
        self.offset = len(header.getvalue())
        self._lock = threading.Lock()
        self._handle = open(path, "r+b")  # noqa: SIM115 - closed by close()
        try:
            self._handle.write(header.getvalue())
            self._handle.truncate(self.offset + shape[0] * self.frame)
            self._handle.flush()
        except BaseException:
            self._handle.close()
            raise

    def put(self, i: int, pixels: np.ndarray) -> None:
        data = np.ascontiguousarray(pixels, dtype=np.uint8).data.cast("B")
        position = self.offset + i * self.frame
        if hasattr(os, "pwrite"):  # no lock, and the GIL is released while writing
            fd = self._handle.fileno()
            while data:
                written = os.pwrite(fd, data, position)
                data, position = data[written:], position + written
        else:  # pragma: no cover - Windows
            with self._lock:
                self._handle.seek(position)
                self._handle.write(data)

    def close(self) -> None:
        self._handle.close()


def _decode_all(
    paths: Sequence[Path],
    blobs: list[bytes | None],
    target_size: tuple[int, int],
    put: Callable[[int, np.ndarray], Any],
    pool: ThreadPoolExecutor,
    workers: int,
    *,
    strict: bool,
    progress: Callable[[int, int], None] | None,
) -> dict[int, str]:
    """Decode ``paths`` in ``pool``, giving each image to ``put(i, pixels)``. ``blobs[i]``, when
    set, holds the file's bytes (released once decoded). Returns why each unreadable image was
    skipped (the caller logs it, once per load).

    Raises:
        DataError: with ``strict``, naming the first unreadable image in ``paths`` order.
    """
    stop = threading.Event()
    first_bad = [len(paths)]  # strict: images after a bad one need not be decoded

    def run(part: range) -> list[tuple[int, str]]:
        failed: list[tuple[int, str]] = []
        for i in part:
            if stop.is_set() or i > first_bad[0]:
                break
            blob, blobs[i] = blobs[i], None
            pixels = _decode_or_reason(paths[i], blob, target_size)
            if isinstance(pixels, str):
                failed.append((i, pixels))
                if strict:
                    first_bad[0] = min(first_bad[0], i)
                continue
            put(i, pixels)
        return failed

    parts = _parts(len(paths), workers)
    futures = [pool.submit(run, part) for part in parts]
    reasons: dict[int, str] = {}
    try:
        done = 0
        for future, part in zip(futures, parts, strict=True):
            for i, why in future.result():  # in order: the first bad image is found first
                if strict:
                    raise DataError(
                        f"{paths[i]}: cannot read this image ({why}). Remove or replace it, or "
                        "drop --strict to skip unreadable images with a warning."
                    )
                reasons[i] = why
            for _ in part:
                done += 1
                if progress:
                    progress(done, len(paths))
    finally:
        stop.set()
        for future in futures:
            future.cancel()
        wait(futures)
    return reasons


def _compact(path: Path, kept: np.ndarray) -> None:
    """Keep only the images ``kept`` of the ``.npy`` file ``path`` (rewritten atomically)."""
    from neuralab.fileio import replacing

    with replacing(path, suffix=".npy") as tmp:
        source = np.load(path, mmap_mode="r")
        writer = _NpyWriter(Path(tmp), (len(kept), *source.shape[1:]))
        try:
            for j, i in enumerate(kept):
                writer.put(j, source[i])
        finally:
            writer.close()
            del source  # unmapped before the file is replaced


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

    ``workers`` threads (default: one per CPU, up to 8) read each new file once, hash it for the
    cache key, decode it from the same bytes and write the pixels straight into the cache file.

    Returns:
        ``(images, kept, report)``: images ``(n_kept, h, w, 3)`` (memory-mapped when cached),
        the indices of ``paths`` that were kept, and what happened.

    Raises:
        DataError: an unreadable image with ``strict=True``.
    """
    from neuralab.fileio import atomic_write_text, replacing

    cache = Path(cache_dir) if cache_dir is not None else default_image_cache()
    report = DecodeReport()
    index_file = cache / "index.json"
    try:
        index: dict[str, Any] = json.loads(index_file.read_text()) if index_file.exists() else {}
    except (OSError, ValueError):
        index = {}
    n_workers = max(1, workers or _default_workers())
    h, w = target_size
    with ThreadPoolExecutor(max_workers=n_workers, thread_name_prefix="neuralab-images") as pool:
        digests, blobs = _digests(paths, index, pool, n_workers)
        key = hashlib.blake2b(
            f"v{CACHE_VERSION}:{h}x{w}:bilinear:{strict}:{','.join(digests)}".encode(),
            digest_size=16,
        ).hexdigest()
        array_file = cache / f"{key}.npy"
        meta_file = cache / f"{key}.json"
        if array_file.exists() and meta_file.exists():
            meta = json.loads(meta_file.read_text())
            report.from_cache = True
            report.cache_file = array_file
            report.skipped = [(Path(p), why) for p, why in meta["skipped"]]
            _warn_skipped(report.skipped)
            images = np.load(array_file, mmap_mode="r")
            return images, np.asarray(meta["kept"], dtype=np.int64), report

        def decode(put: Callable[[int, np.ndarray], Any]) -> dict[int, str]:
            return _decode_all(
                paths, blobs, target_size, put, pool, n_workers, strict=strict, progress=progress
            )

        shape = (len(paths), h, w, 3)
        loaded: np.ndarray | None = None
        try:
            with replacing(array_file, suffix=".npy") as tmp:
                writer = _NpyWriter(Path(tmp), shape)
                try:
                    reasons = decode(writer.put)
                finally:
                    writer.close()
                kept = np.asarray([i for i in range(len(paths)) if i not in reasons], np.int64)
                if reasons:
                    _compact(Path(tmp), kept)
            loaded = np.load(array_file, mmap_mode="r")
            skipped = [[str(paths[i]), reasons[i]] for i in sorted(reasons)]
            atomic_write_text(meta_file, json.dumps({"kept": kept.tolist(), "skipped": skipped}))
            atomic_write_text(index_file, json.dumps(index))
            report.cache_file = array_file
        except OSError as exc:  # read-only or full cache: keep going in memory
            logger.warning("image cache %s not writable (%s); decoding again next time", cache, exc)
            if loaded is None:
                memory = np.empty(shape, dtype=np.uint8)
                reasons = decode(memory.__setitem__)
                kept = np.asarray([i for i in range(len(paths)) if i not in reasons], np.int64)
                loaded = memory[kept] if reasons else memory
    report.decoded = len(kept)
    report.skipped = [(paths[i], reasons[i]) for i in sorted(reasons)]
    # Here, not while decoding: a cache write failing midway decodes again, in memory.
    _warn_skipped(report.skipped)
    return loaded, kept, report


def _warn_skipped(skipped: Sequence[tuple[Path, str]]) -> None:
    for path, why in skipped:
        logger.warning("skipped unreadable image %s (%s)", path, why)


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
    for label in sorted(set(labels.tolist())):  # np.unique would import numpy.ma
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
