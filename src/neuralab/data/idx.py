"""IDX files (the MNIST / Fashion-MNIST format), raw or gzip-compressed.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian 32-bit size per dimension, then the values in C order. MNIST
images are unsigned bytes in 3 dimensions (magic 2051), labels unsigned bytes in 1
(magic 2049). Reference: http://yann.lecun.com/exdb/mnist/ ("FILE FORMATS").
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuralab.errors import DataError

IMAGES_MAGIC = 2051
LABELS_MAGIC = 2049

# type code -> (big-endian dtype, description)
_TYPES: dict[int, tuple[str, str]] = {
    0x08: (">u1", "unsigned bytes"),
    0x09: (">i1", "signed bytes"),
    0x0B: (">i2", "16-bit integers"),
    0x0C: (">i4", "32-bit integers"),
    0x0D: (">f4", "32-bit floats"),
    0x0E: (">f8", "64-bit floats"),
}
_EXPECTED = {
    "images": (IMAGES_MAGIC, "unsigned bytes in 3 dimensions"),
    "labels": (LABELS_MAGIC, "unsigned bytes in 1 dimension"),
}


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise DataError(f"{path}: no such file.")
    raw = path.read_bytes()
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        raise DataError(
            f"{path}: the gzip stream is truncated or corrupt ({exc}). Download the file again."
        ) from None


def read_idx(path: str | Path, kind: str | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip, detected from its first bytes).

    Args:
        path: The file.
        kind: ``"images"`` or ``"labels"`` to insist on MNIST's magic number (2051 or
            2049); None accepts any valid IDX type.

    Returns:
        The array, in native byte order, with the shape from the header.

    Raises:
        DataError: wrong magic number, truncated file (with the expected size), or extra
            bytes after the data.
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 4:
        raise DataError(f"{path}: {len(data)} bytes is too short for an IDX header (4 bytes).")
    magic = struct.unpack(">I", data[:4])[0]
    if kind is not None:
        expected, what = _EXPECTED[kind]
        if magic != expected:
            other = {IMAGES_MAGIC: "an images file", LABELS_MAGIC: "a labels file"}.get(magic)
            hint = f" It looks like {other}: were the files swapped?" if other else ""
            raise DataError(
                f"{path}: not an IDX {kind} file: magic number {magic} (0x{magic:08x}), expected "
                f"{expected} (0x{expected:08x}, {what}).{hint}"
            )
    zero, type_code, ndim = data[:2], data[2], data[3]
    if zero != b"\x00\x00" or type_code not in _TYPES or ndim == 0:
        raise DataError(
            f"{path}: not an IDX file: magic number {magic} (0x{magic:08x}) does not name a "
            "known type and dimension count."
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(
            f"{path}: truncated: the header needs {header} bytes but the file has {len(data)}."
        )
    shape = struct.unpack(f">{ndim}I", data[4:header])
    dtype, type_name = _TYPES[type_code]
    expected_size = header + int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    dims = " x ".join(f"{d:,}" for d in shape)
    if len(data) != expected_size:
        problem = "truncated" if len(data) < expected_size else "too long"
        raise DataError(
            f"{path}: {problem}: its header describes {dims} {type_name}, i.e. "
            f"{expected_size:,} bytes (uncompressed, with the header), but it has "
            f"{len(data):,}. Download the file again."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)
    return array.astype(array.dtype.newbyteorder("="))


def write_idx(path: str | Path, array: np.ndarray, *, compress: bool | None = None) -> Path:
    """Write ``array`` as an IDX file (gzip if ``compress`` or the name ends in ``.gz``)."""
    path = Path(path)
    array = np.ascontiguousarray(array)
    codes = {np.dtype(v[0]).newbyteorder("="): k for k, v in _TYPES.items()}
    native = array.dtype.newbyteorder("=")
    if native not in codes:
        raise DataError(f"IDX cannot store {array.dtype} values; use uint8, int16/32 or float.")
    code = codes[native]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    payload = header + array.astype(_TYPES[code][0]).tobytes()
    if compress or (compress is None and path.suffix == ".gz"):
        payload = gzip.compress(payload, mtime=0)
    path.write_bytes(payload)
    return path


@dataclass(frozen=True)
class IdxPair:
    """Images and their labels, read from two IDX files that agree."""

    images: np.ndarray
    labels: np.ndarray
    images_file: Path
    labels_file: Path


def read_idx_pair(
    images: str | Path, labels: str | Path, *, n_classes: int | None = None
) -> IdxPair:
    """Read an images file and its labels file and check that they belong together.

    Raises:
        DataError: wrong magic numbers, truncated files, different counts, or labels
            outside ``0 .. n_classes-1``.
    """
    images, labels = Path(images), Path(labels)
    x = read_idx(images, "images")
    y = read_idx(labels, "labels")
    if len(x) != len(y):
        raise DataError(
            f"{images} has {len(x):,} images but {labels} has {len(y):,} labels; the two "
            "files must come from the same split (e.g. train-images with train-labels)."
        )
    if n_classes is not None and len(y):
        bad = np.flatnonzero(y >= n_classes)
        if len(bad):
            raise DataError(
                f"{labels}: label {int(y[bad[0]])} at index {int(bad[0])} is out of range "
                f"0..{n_classes - 1} ({len(bad):,} labels out of range). Is this the right "
                "labels file?"
            )
    return IdxPair(images=x, labels=y.astype(np.int64), images_file=images, labels_file=labels)
