"""Downloads against a real HTTP server on 127.0.0.1: checksums, resume, all-or-nothing data
sets, and safe zip extraction."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import stat
import zipfile

import pytest

from neuralab.data.download import (
    RemoteDataset,
    RemoteFile,
    download,
    extract_zip,
    fetch_dataset,
    published_checksum,
)
from neuralab.errors import DataError

PAYLOAD = bytes(range(256)) * 1000  # 256 kB


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def test_download_verifies_and_writes(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    seen = []
    path = download(
        http_server.url("/a.bin"),
        tmp_path / "a.bin",
        checksum=sha256(PAYLOAD),
        progress=lambda name, done, total: seen.append((name, done, total)),
    )
    assert path.read_bytes() == PAYLOAD
    assert seen[-1] == ("a.bin", len(PAYLOAD), len(PAYLOAD))
    assert not (tmp_path / "a.bin.part").exists()


def test_md5_checksums_work_too(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    md5 = "md5:" + hashlib.md5(PAYLOAD).hexdigest()
    assert download(http_server.url("/a.bin"), tmp_path / "a", checksum=md5).exists()


def test_checksum_mismatch_deletes_the_download(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    wrong = "sha256:" + "0" * 64
    with pytest.raises(DataError) as info:
        download(http_server.url("/a.bin"), tmp_path / "a.bin", checksum=wrong)
    assert str(info.value) == (
        f"{http_server.url('/a.bin')}: checksum mismatch: expected sha256 {'0' * 64}, got "
        f"{hashlib.sha256(PAYLOAD).hexdigest()}. The download was deleted; try again, or check "
        "that the address serves the right file."
    )
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_resumes_with_a_range_request(http_server, tmp_path):
    http_server.files["/a.bin"] = PAYLOAD
    http_server.cut_after["/a.bin"] = 100_000
    with pytest.raises(
        DataError, match=r"stopped at 100,000 of 256,000 bytes.*run the command again to resume"
    ):
        download(http_server.url("/a.bin"), tmp_path / "a.bin", checksum=sha256(PAYLOAD))
    assert (tmp_path / "a.bin.part").stat().st_size == 100_000
    assert not (tmp_path / "a.bin").exists()
    download(http_server.url("/a.bin"), tmp_path / "a.bin", checksum=sha256(PAYLOAD))
    assert (tmp_path / "a.bin").read_bytes() == PAYLOAD
    assert http_server.requests[-1] == ("/a.bin", "bytes=100000-")


def test_missing_file_is_a_clear_error(http_server, tmp_path):
    with pytest.raises(DataError, match=r"downloading http://127.0.0.1:\d+/nope failed: Not Found"):
        download(http_server.url("/nope"), tmp_path / "x")
    assert list(tmp_path.iterdir()) == []


def test_only_http_urls(tmp_path):
    with pytest.raises(DataError, match=r"file:///etc/passwd: only http:// and https://"):
        download("file:///etc/passwd", tmp_path / "x")


def _zip(entries: dict[str, bytes], links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return buffer.getvalue()


def test_extract_zip(tmp_path):
    archive = tmp_path / "ok.zip"
    archive.write_bytes(_zip({"data/train/a.txt": b"a", "data/test/b.txt": b"b"}))
    out = extract_zip(archive, tmp_path / "out")
    assert (out / "data" / "train" / "a.txt").read_bytes() == b"a"


@pytest.mark.parametrize(
    ("entries", "links", "reason"),
    [
        ({"../evil.txt": b"x"}, None, "contains '..'"),
        ({"data/../../evil.txt": b"x"}, None, "contains '..'"),
        ({"/tmp/evil.txt": b"x"}, None, "has an absolute path"),
        ({"ok.txt": b"x"}, {"data/link": "/etc/passwd"}, "is a symbolic link"),
    ],
)
def test_zip_slip_is_refused_and_nothing_is_written(tmp_path, entries, links, reason):
    archive = tmp_path / "evil.zip"
    archive.write_bytes(_zip({"first.txt": b"fine", **entries}, links))
    with pytest.raises(DataError) as info:
        extract_zip(archive, tmp_path / "out")
    bad = next(iter(links)) if links else next(iter(entries))
    assert str(info.value) == (
        f"{archive}: refusing to extract: entry {bad!r} {reason}. The archive may be "
        "malicious; nothing was extracted."
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.zip"]
    assert not (tmp_path.parent / "evil.txt").exists()


def test_not_a_zip(tmp_path):
    archive = tmp_path / "x.zip"
    archive.write_bytes(b"not a zip")
    with pytest.raises(DataError, match=r"x.zip: not a valid zip archive"):
        extract_zip(archive, tmp_path / "out")


def test_fetch_dataset_is_all_or_nothing(http_server, tmp_path):
    one, two = b"first file", b"second file"
    http_server.files["/one.bin"] = one
    http_server.files["/two.bin"] = two
    good = RemoteDataset(
        "toy",
        (
            RemoteFile("one.bin", http_server.url("/one.bin"), sha256(one)),
            RemoteFile("two.bin", http_server.url("/two.bin"), sha256(two)),
        ),
    )
    bad = RemoteDataset(
        "toy", (good.files[0], RemoteFile("two.bin", good.files[1].url, sha256(b"other")))
    )
    with pytest.raises(DataError, match="checksum mismatch"):
        fetch_dataset(bad, root=tmp_path / "toy")
    assert not (tmp_path / "toy").exists()  # no partial data set where loaders look
    path = fetch_dataset(good, root=tmp_path / "toy")
    assert sorted(p.name for p in path.iterdir()) == ["one.bin", "two.bin"]
    assert [p.name for p in tmp_path.iterdir()] == ["toy"]  # staging folder gone
    n = len(http_server.requests)
    assert fetch_dataset(good, root=tmp_path / "toy") == path  # already there: no traffic
    assert len(http_server.requests) == n


def test_fetch_extracts_zip_archives(http_server, tmp_path):
    archive = _zip({"pizza_steak/train/pizza/1.txt": b"p"})
    http_server.files["/ps.zip"] = archive
    remote = RemoteDataset(
        "ps", (RemoteFile("ps.zip", http_server.url("/ps.zip"), sha256(archive), extract=True),)
    )
    path = fetch_dataset(remote, root=tmp_path / "ps")
    assert (path / "pizza_steak" / "train" / "pizza" / "1.txt").read_bytes() == b"p"
    assert not (path / "ps.zip").exists()


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def test_without_a_pinned_checksum_the_servers_published_md5_is_checked(http_server, tmp_path):
    # Google Cloud Storage (where the chapter's zip is) sends the object's MD5 in x-goog-hash.
    http_server.files["/a.zip"] = PAYLOAD
    md5 = hashlib.md5(PAYLOAD).digest()
    http_server.headers["/a.zip"] = {"x-goog-hash": f"crc32c=AAAAAA==, md5={_b64(md5)}"}
    assert download(http_server.url("/a.zip"), tmp_path / "a.zip").read_bytes() == PAYLOAD
    # A file that does not match what the server publishes is refused and deleted.
    http_server.files["/a.zip"] = PAYLOAD[:-1] + b"x"
    with pytest.raises(DataError) as info:
        download(http_server.url("/a.zip"), tmp_path / "b.zip")
    assert str(info.value) == (
        f"{http_server.url('/a.zip')}: checksum mismatch: expected md5 {md5.hex()} (published "
        f"by the server), got {hashlib.md5(PAYLOAD[:-1] + b'x').hexdigest()}. The download was "
        "deleted; try again, or check that the address serves the right file."
    )
    assert not (tmp_path / "b.zip").exists() and not (tmp_path / "b.zip.part").exists()


def test_a_resumed_download_is_checked_against_the_whole_files_published_digest(
    http_server, tmp_path
):
    http_server.files["/a.zip"] = PAYLOAD
    http_server.cut_after["/a.zip"] = 100_000
    digest = _b64(hashlib.sha256(b"not the payload").digest())
    # Repr-Digest (RFC 9530) covers the whole file, also on the 206 of the resumed request.
    http_server.headers["/a.zip"] = {"Repr-Digest": f"sha-256=:{digest}:"}
    with pytest.raises(DataError, match="stopped at 100,000"):
        download(http_server.url("/a.zip"), tmp_path / "a.zip")
    with pytest.raises(DataError, match=r"expected sha256 [0-9a-f]{64} \(published by the server"):
        download(http_server.url("/a.zip"), tmp_path / "a.zip")
    assert [r for _, r in http_server.requests] == [None, "bytes=100000-"]


def test_published_checksum_parsing():
    md5 = hashlib.md5(b"x").digest()
    sha = hashlib.sha256(b"x").digest()
    both = {"x-goog-hash": f"md5={_b64(md5)}", "Repr-Digest": f"sha-256=:{_b64(sha)}:"}
    assert published_checksum(both, whole=True) == f"sha256:{sha.hex()}"
    # Content-MD5 of a range response covers the range only: not the file's checksum.
    assert published_checksum({"Content-MD5": _b64(md5)}, whole=False) is None
    assert published_checksum({"Content-MD5": _b64(md5)}, whole=True) == f"md5:{md5.hex()}"
    assert published_checksum({"x-goog-hash": "md5=not base64!"}, whole=True) is None
    assert published_checksum({}, whole=True) is None


# ------------------------------------------------- issue 16: nothing to verify a file against


def _unverified_toy(http_server, data: bytes = PAYLOAD, *, extract: bool = False) -> RemoteDataset:
    name = "toy.zip" if extract else "a.bin"
    http_server.files[f"/m/{name}"] = data  # served with no Repr-Digest, x-goog-hash, MD5
    return RemoteDataset(
        "toy", (RemoteFile(name, http_server.url(f"/m/{name}"), None, len(data), extract),)
    )


def test_a_file_with_no_pinned_or_published_checksum_is_refused(http_server, tmp_path):
    remote = _unverified_toy(http_server)
    url = remote.files[0].url
    with pytest.raises(DataError) as info:
        fetch_dataset(remote, root=tmp_path / "datasets" / "toy")
    message = str(info.value)
    assert message.startswith(
        f"{url}: cannot verify a.bin: no checksum is pinned for it and the server publishes no "
        "digest"
    )
    assert "Nothing was downloaded" in message and "--allow-unverified" in message
    assert "allow_unverified=True" in message
    assert list((tmp_path / "datasets").iterdir()) == []  # no data set, no staging, no .part
    with pytest.raises(DataError, match="--allow-unverified"):
        download(url, tmp_path / "b.bin")
    assert list(tmp_path.iterdir()) == [tmp_path / "datasets"]


def test_allow_unverified_accepts_it_and_records_where_it_came_from(http_server, tmp_path, caplog):
    remote = _unverified_toy(http_server)
    url = remote.files[0].url
    with caplog.at_level(logging.WARNING, logger="neuralab.data.download"):
        path = fetch_dataset(remote, root=tmp_path / "toy", allow_unverified=True)
    assert (path / "a.bin").read_bytes() == PAYLOAD
    record = json.loads((path / "a.bin.unverified.json").read_text())
    assert record["verified"] is False and record["url"] == url and record["file"] == "a.bin"
    assert record["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
    assert record["size"] == len(PAYLOAD)
    assert [r.getMessage() for r in caplog.records] == [
        f"{url}: accepted UNVERIFIED (--allow-unverified): no checksum pinned or published; "
        f"sha256 {record['sha256']}, recorded in a.bin.unverified.json beside the file"
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["toy"]


def test_an_unverified_archive_keeps_its_record_beside_the_extracted_files(http_server, tmp_path):
    remote = _unverified_toy(http_server, _zip({"photos/a.txt": b"a"}), extract=True)
    path = fetch_dataset(remote, root=tmp_path / "toy", allow_unverified=True)
    assert sorted(p.name for p in path.iterdir()) == ["photos", "toy.zip.unverified.json"]
    assert json.loads((path / "toy.zip.unverified.json").read_text())["verified"] is False


def test_a_verified_download_replaces_an_unverified_record(http_server, tmp_path):
    remote = _unverified_toy(http_server)
    url = remote.files[0].url
    download(url, tmp_path / "a.bin", allow_unverified=True)
    assert (tmp_path / "a.bin.unverified.json").exists()
    (tmp_path / "a.bin").unlink()
    download(url, tmp_path / "a.bin", checksum=sha256(PAYLOAD))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_an_unverifiable_file_of_the_wrong_size_is_refused_before_downloading(
    http_server, tmp_path
):
    http_server.files["/m/a.bin"] = PAYLOAD
    url = http_server.url("/m/a.bin")
    with pytest.raises(DataError) as info:
        download(url, tmp_path / "a.bin", size=1000, allow_unverified=True)
    assert str(info.value) == (
        f"{url}: expected 1,000 bytes, got {len(PAYLOAD):,}. Nothing was downloaded; check "
        "that the address serves the right file."
    )
    assert list(tmp_path.iterdir()) == []


def test_a_resumed_range_without_content_md5_asks_for_the_whole_file_to_verify_it(
    http_server, tmp_path
):
    # Content-MD5 covers the bytes sent: the 206 of a resumed request has none for the file.
    http_server.files["/m/a.bin"] = PAYLOAD
    http_server.headers["/m/a.bin"] = {"Content-MD5": _b64(hashlib.md5(PAYLOAD).digest())}
    http_server.cut_after["/m/a.bin"] = 100_000
    url = http_server.url("/m/a.bin")
    with pytest.raises(DataError, match="stopped at 100,000"):
        download(url, tmp_path / "a.bin")
    assert download(url, tmp_path / "a.bin").read_bytes() == PAYLOAD
    assert [r for _, r in http_server.requests] == [None, "bytes=100000-", None]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]
