"""Fetching data files safely: checksums, resume, all-or-nothing results, safe extraction.

A data set is fetched into ``<cache>/datasets/<name>/`` (see :func:`datasets_dir`). Files are
downloaded into a hidden staging folder beside it (``.<name>.download/``), each as
``<file>.part`` until it is complete and its checksum verified; an interrupted download
resumes from the bytes already there (HTTP ``Range``). Only when every file is verified (and
archives extracted) is the staging folder renamed to the data set's folder, so a failed fetch
never leaves a partial data set where loaders look.

A file is verified against its pinned checksum, else against the digest the server publishes
for it. With neither (e.g. a mirror that publishes no digest) the fetch is refused before any
byte is written, unless ``allow_unverified=True`` (``--allow-unverified``): then the file is
accepted on its size alone, with a warning, and ``<file>.unverified.json`` beside it in the
cache records that it is unverified and where it came from.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import os
import shutil
import stat
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from neuralab.errors import DataError

logger = logging.getLogger(__name__)

#: ``progress(file_name, bytes_done, bytes_total_or_None)`` during a download.
DownloadProgress = Callable[[str, int, int | None], None]

CHUNK = 1 << 16
DEFAULT_TIMEOUT = 30.0
#: Beside a file accepted without any checksum: that it is unverified, and where it came from.
UNVERIFIED_SUFFIX = ".unverified.json"


def datasets_dir() -> Path:
    """Where fetched data sets live: ``$NEURALAB_DATA``, else ``~/.cache/neuralab/datasets``."""
    from neuralab.backend import default_cache_dir

    if os.environ.get("NEURALAB_DATA"):
        return Path(os.environ["NEURALAB_DATA"])
    return default_cache_dir() / "datasets"


@dataclass(frozen=True)
class RemoteFile:
    """One file to download.

    Args:
        name: File name in the data set's folder (for an archive: the archive's name).
        url: Where to get it (http or https).
        checksum: ``"sha256:<hex>"`` or ``"md5:<hex>"`` (as published upstream), or None
            when upstream publishes none (then ``size`` and the data set's layout are checked).
        size: Size in bytes, if known (for the progress bar).
        extract: Unpack this zip archive into the data set's folder (then delete it).
    """

    name: str
    url: str
    checksum: str | None
    size: int | None = None
    extract: bool = False


@dataclass(frozen=True)
class RemoteDataset:
    """A data set that can be fetched: its files and where they come from."""

    name: str
    files: tuple[RemoteFile, ...]
    description: str = ""
    homepage: str = ""

    def with_mirror(self, base_url: str) -> RemoteDataset:
        """The same files, fetched from ``base_url/<file name>`` instead."""
        base = base_url.rstrip("/")
        files = tuple(
            RemoteFile(f.name, f"{base}/{f.url.rsplit('/', 1)[-1]}", f.checksum, f.size, f.extract)
            for f in self.files
        )
        return RemoteDataset(self.name, files, self.description, self.homepage)


# --------------------------------------------------------------------------- checksums


def _parse_checksum(checksum: str) -> tuple[str, str]:
    algorithm, _, digest = checksum.partition(":")
    if algorithm not in ("sha256", "md5") or not digest:
        raise ValueError(f"checksum must be 'sha256:<hex>' or 'md5:<hex>', got {checksum!r}")
    return algorithm, digest.lower()


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """Hex digest of a file, read in chunks."""
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_matches(path: str | Path, checksum: str) -> bool:
    algorithm, expected = _parse_checksum(checksum)
    return file_digest(path, algorithm) == expected


def unverified_record(path: str | Path) -> Path:
    """Where the record of an unverified download of ``path`` is: ``<path>.unverified.json``
    (it exists only for files accepted with ``allow_unverified=True``)."""
    path = Path(path)
    return path.with_name(path.name + UNVERIFIED_SUFFIX)


def _unverified_error(url: str, dest: Path) -> DataError:
    return DataError(
        f"{url}: cannot verify {dest.name}: no checksum is pinned for it and the server "
        "publishes no digest (Repr-Digest, x-goog-hash or Content-MD5), so a wrong or tampered "
        "file would go unnoticed. Nothing was downloaded. Fetch it from an address that "
        "publishes a digest (e.g. without --mirror), or accept it unverified with "
        "--allow-unverified (allow_unverified=True in Python): it is then checked by size only "
        f"and recorded as unverified in {unverified_record(dest).name}."
    )


# --------------------------------------------------------------------------- download


def published_checksum(headers: Any, *, whole: bool) -> str | None:
    """The checksum a server publishes for the whole file, as ``"sha256:<hex>"``/``"md5:<hex>"``.

    Read from ``Repr-Digest: sha-256=:<base64>:`` (RFC 9530), Google Cloud Storage's
    ``x-goog-hash: md5=<base64>`` (where the chapter's zip is), or ``Content-MD5`` (only for a
    whole-file response: on a range response it covers the range alone). SHA-256 first.
    """
    found: dict[str, str] = {}
    for part in (headers.get("Repr-Digest") or "").split(","):
        algorithm, _, value = part.strip().partition("=")
        if algorithm.lower() == "sha-256" and value.startswith(":") and value.endswith(":"):
            found["sha256"] = value[1:-1]
    for part in (headers.get("x-goog-hash") or "").split(","):
        algorithm, _, value = part.strip().partition("=")
        if algorithm.lower() == "md5" and value:
            found.setdefault("md5", value)
    if whole and headers.get("Content-MD5"):
        found.setdefault("md5", headers["Content-MD5"].strip())
    for algorithm, size in (("sha256", 32), ("md5", 16)):
        if algorithm in found:
            try:
                raw = base64.b64decode(found[algorithm], validate=True)
            except ValueError:
                continue
            if len(raw) == size:
                return f"{algorithm}:{raw.hex()}"
    return None


def _open(url: str, start: int, timeout: float) -> tuple[BinaryIO, int, int | None, str | None]:
    """Open ``url`` from byte ``start``.

    Returns:
        The stream, the actual start, the total size (or None) and the checksum the server
        publishes for the whole file (or None).
    """
    import urllib.error
    import urllib.request

    from neuralab import __version__

    headers = {"User-Agent": f"neuralab/{__version__}"}
    if start:
        headers["Range"] = f"bytes={start}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and start:  # the partial file is not a prefix: start over
            return _open(url, 0, timeout)
        raise
    length = response.headers.get("Content-Length")
    if response.status == 206:
        content_range = response.headers.get("Content-Range", "")
        # "bytes START-END/TOTAL"
        try:
            span, _, total = content_range.split(" ", 1)[1].partition("/")
            served_from = int(span.split("-", 1)[0])
        except (IndexError, ValueError):
            response.close()
            return _open(url, 0, timeout)
        if served_from != start:
            response.close()
            return _open(url, 0, timeout)
        published = published_checksum(response.headers, whole=False)
        return response, start, int(total) if total.isdigit() else None, published
    published = published_checksum(response.headers, whole=True)
    return response, 0, int(length) if length and length.isdigit() else None, published


def download(
    url: str,
    dest: str | Path,
    *,
    checksum: str | None = None,
    size: int | None = None,
    progress: DownloadProgress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    allow_unverified: bool = False,
) -> Path:
    """Download ``url`` to ``dest``, resuming a previous partial download, verifying it.

    The bytes go to ``dest + ".part"``; an interrupted download keeps them and the next call
    asks the server for the rest. ``dest`` itself appears (by a rename) only once the file is
    complete and matches ``checksum`` (or the digest the server publishes). An existing
    ``dest`` whose checksum matches is kept.

    Args:
        url: An ``http://`` or ``https://`` address.
        dest: The file to write.
        checksum: ``"sha256:<hex>"`` or ``"md5:<hex>"``; None: the digest the server
            publishes (``Repr-Digest``, ``x-goog-hash``, ``Content-MD5``) is checked.
        size: Expected size in bytes (checked after the checksum), if known.
        progress: Called as ``progress(name, done, total)`` while bytes arrive.
        timeout: Seconds to wait for the server.
        allow_unverified: With no ``checksum`` and no published digest, accept the file on
            its size alone (a warning, and :func:`unverified_record` beside it says so and
            where it came from) instead of refusing it.

    Returns:
        ``dest``.

    Raises:
        DataError: not http(s), the server failed, the checksum or size does not match (the
            download is deleted then), or nothing to verify the file against and
            ``allow_unverified`` is False (nothing is written then).
    """
    import urllib.error

    if not url.startswith(("http://", "https://")):
        raise DataError(f"{url}: only http:// and https:// addresses can be downloaded.")
    dest = Path(dest)
    if checksum:
        _parse_checksum(checksum)
    if dest.exists() and (checksum is None or checksum_matches(dest, checksum)):
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    try:
        stream, start, total, published = _open(url, start, timeout)
        if checksum is None and published is None and start and not allow_unverified:
            # Content-MD5 covers only what is sent: a whole-file response may publish it.
            stream.close()
            stream, start, total, published = _open(url, 0, timeout)
        if checksum is None and published is None:
            if size is not None and total is not None and total != size:
                stream.close()
                raise DataError(
                    f"{url}: expected {size:,} bytes, got {total:,}. Nothing was downloaded; "
                    "check that the address serves the right file."
                )
            if not allow_unverified:
                stream.close()
                raise _unverified_error(url, dest)
        with stream, open(part, "ab" if start else "wb") as out:
            done = start
            if progress:
                progress(dest.name, done, total)
            for block in iter(lambda: stream.read(CHUNK), b""):
                out.write(block)
                done += len(block)
                if progress:
                    progress(dest.name, done, total)
        if total is not None and done < total:
            raise DataError(
                f"downloading {url} stopped at {done:,} of {total:,} bytes. The bytes are kept "
                f"in {part}; run the command again to resume."
            )
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        kept = part.stat().st_size if part.exists() else 0
        if not kept:
            with contextlib.suppress(FileNotFoundError):
                part.unlink()
        reason = getattr(exc, "reason", None) or exc
        resume = (
            f" {kept:,} bytes are kept in {part}; run the command again to resume."
            if kept
            else " Check the address and your connection, then try again."
        )
        raise DataError(f"downloading {url} failed: {reason}.{resume}") from None
    # A pinned checksum, else the one the server publishes for the file (no pinned SHA-256
    # exists for some upstream files, e.g. the chapter's zip on Cloud Storage).
    expected_checksum = checksum or published
    if expected_checksum:
        algorithm, expected = _parse_checksum(expected_checksum)
        actual = file_digest(part, algorithm)
        if actual != expected:
            part.unlink()
            whose = "" if checksum else " (published by the server)"
            raise DataError(
                f"{url}: checksum mismatch: expected {algorithm} {expected}{whose}, got "
                f"{actual}. The download was deleted; try again, or check that the address "
                "serves the right file."
            )
    actual_size = part.stat().st_size
    if size is not None and actual_size != size:
        part.unlink()
        raise DataError(
            f"{url}: expected {size:,} bytes, got {actual_size:,}. The download was deleted; "
            "try again, or check that the address serves the right file."
        )
    record = unverified_record(dest)
    if expected_checksum:
        record.unlink(missing_ok=True)  # from an earlier, unverified download
    else:
        _record_unverified(record, url=url, part=part, name=dest.name)
    os.replace(part, dest)
    return dest


def _record_unverified(record: Path, *, url: str, part: Path, name: str) -> None:
    """Write ``record`` (before the file it describes appears) and say so."""
    from datetime import UTC, datetime

    from neuralab.fileio import atomic_write_text

    sha256 = file_digest(part)
    info = {
        "file": name,
        "verified": False,
        "reason": "no checksum pinned and the server published no digest",
        "url": url,
        "size": part.stat().st_size,
        "sha256": sha256,
        "downloaded": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic_write_text(record, json.dumps(info, indent=2) + "\n")
    logger.warning(
        "%s: accepted UNVERIFIED (--allow-unverified): no checksum pinned or published; "
        "sha256 %s, recorded in %s beside the file",
        url,
        sha256,
        record.name,
    )


# --------------------------------------------------------------------------- extraction


def _unsafe_reason(info: zipfile.ZipInfo) -> str | None:
    name = info.filename
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "is a symbolic link"
    if name.startswith(("/", "\\")) or (len(name) > 1 and name[1] == ":"):
        return "has an absolute path"
    parts = PurePosixPath(name.replace("\\", "/")).parts
    if ".." in parts:
        return "contains '..'"
    return None


def extract_zip(archive: str | Path, dest: str | Path) -> Path:
    """Extract a zip archive into the new folder ``dest``, refusing unsafe entries.

    Every entry is checked before anything is written: absolute paths, ``..`` components
    and symbolic links are refused (the "zip slip" attack). Extraction goes to a temporary
    folder that is renamed to ``dest`` at the end, so a failure leaves nothing behind.

    Raises:
        DataError: not a zip file, an unsafe entry (named), or ``dest`` already exists.
    """
    archive, dest = Path(archive), Path(dest)
    if dest.exists():
        raise DataError(f"{dest} already exists; delete it first to extract {archive.name} again.")
    try:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                reason = _unsafe_reason(info)
                if reason:
                    raise DataError(
                        f"{archive}: refusing to extract: entry {info.filename!r} {reason}. "
                        "The archive may be malicious; nothing was extracted."
                    )
            dest.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
            try:
                root = staging.resolve()
                for info in zf.infolist():
                    target = (staging / info.filename).resolve()
                    if root not in target.parents and target != root:
                        raise DataError(
                            f"{archive}: refusing to extract: entry {info.filename!r} would be "
                            "written outside the destination."
                        )
                    zf.extract(info, staging)
                os.replace(staging, dest)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
    except zipfile.BadZipFile as exc:
        raise DataError(f"{archive}: not a valid zip archive ({exc}).") from None
    return dest


# --------------------------------------------------------------------------- data sets


def dataset_path(name: str, root: str | Path | None = None) -> Path:
    """The folder of fetched data set ``name`` (it may not exist)."""
    return Path(root) if root is not None else datasets_dir() / name


def fetch_dataset(
    remote: RemoteDataset,
    *,
    root: str | Path | None = None,
    progress: DownloadProgress | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    allow_unverified: bool = False,
) -> Path:
    """Download (and extract) every file of ``remote``; returns the data set's folder.

    Already fetched data sets are returned as they are. See the module docstring for the
    staging and resume rules, and :func:`download` for ``allow_unverified`` (the records of
    unverified files are kept in the data set's folder, also for extracted archives).
    """
    target = dataset_path(remote.name, root)
    if target.exists():
        return target
    staging = target.with_name(f".{target.name}.download")
    staging.mkdir(parents=True, exist_ok=True)
    try:
        for remote_file in remote.files:
            download(
                remote_file.url,
                staging / remote_file.name,
                checksum=remote_file.checksum,
                size=remote_file.size,
                progress=progress,
                timeout=timeout,
                allow_unverified=allow_unverified,
            )
    except BaseException:
        with contextlib.suppress(OSError):
            staging.rmdir()  # only if empty: partial downloads are kept to resume
        raise
    assembled = target.with_name(f".{target.name}.assembled")
    shutil.rmtree(assembled, ignore_errors=True)
    archives = [f for f in remote.files if f.extract]
    try:
        if archives:
            extract_zip(staging / archives[0].name, assembled)
            for extra in archives[1:]:
                _merge(extract_zip(staging / extra.name, assembled.with_suffix(".x")), assembled)
            for plain in _plain_files(remote.files):
                shutil.copy2(staging / plain.name, assembled / plain.name)
            for remote_file in remote.files:
                record = unverified_record(staging / remote_file.name)
                if record.exists():
                    shutil.copy2(record, assembled / record.name)
            os.replace(assembled, target)
            shutil.rmtree(staging, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(assembled, ignore_errors=True)
        raise
    return target


def _plain_files(files: Sequence[RemoteFile]) -> list[RemoteFile]:
    return [f for f in files if not f.extract]


def _merge(source: Path, into: Path) -> None:
    for item in source.iterdir():
        os.replace(item, into / item.name)
    source.rmdir()
