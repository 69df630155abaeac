"""Streaming CSV reader: HIGGS's layout written here and read back in slices, what a
slice costs in compressed bytes, and every way a file can be wrong."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pytest

from neuralab.data.tabular import make_higgs_like, read_csv, write_higgs_like_csv
from neuralab.errors import DataError


@pytest.fixture(scope="module")
def higgs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A HIGGS-like file of 2,000 rows (label first, 28 features, no header)."""
    return write_higgs_like_csv(tmp_path_factory.mktemp("higgs") / "HIGGS.csv.gz", 2_000)


def _write(path: Path, text: str, *, gz: bool = False) -> Path:
    data = text.encode("utf-8")
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def _error(path: Path | str, **kw: object) -> str:
    with pytest.raises(DataError) as info:
        read_csv(path, **kw)  # type: ignore[arg-type]
    return str(info.value)


# ------------------------------------------------------------------------------ the layout
def test_written_file_has_the_higgs_layout(higgs):
    raw = higgs.read_bytes()
    assert raw[:2] == b"\x1f\x8b"
    lines = gzip.decompress(raw).decode("ascii").splitlines()
    assert len(lines) == 2_000
    fields = lines[0].split(",")
    assert len(fields) == 29
    assert fields[0] in ("0.000000000000000000e+00", "1.000000000000000000e+00")
    assert all(len(f.lstrip("-")) == len("8.692932128906250000e-01") for f in fields)
    # The same arguments give the same bytes (gzip header without a timestamp).
    again = write_higgs_like_csv(higgs.parent / "again.csv.gz", 2_000)
    assert gzip.decompress(again.read_bytes()) == gzip.decompress(raw)
    assert again.read_bytes()[4:8] == b"\x00\x00\x00\x00"  # mtime 0
    assert sorted(p.name for p in higgs.parent.iterdir()) == ["HIGGS.csv.gz", "again.csv.gz"]


@pytest.mark.parametrize(("skip", "take"), [(0, 100), (100, 1000), (1_990, 10), (1_500, None)])
def test_skip_take_returns_exactly_those_rows(higgs, skip, take):
    x, y = make_higgs_like(2_000)
    data = read_csv(higgs, skip=skip, take=take)
    stop = 2_000 if take is None else skip + take
    assert data.x.dtype == np.float32 and data.y.dtype == np.int64
    assert data.x.shape == (stop - skip, 28)
    np.testing.assert_array_equal(data.x, x[skip:stop])  # float32 values survive %.18e
    np.testing.assert_array_equal(data.y, y[skip:stop])
    assert data.name == "HIGGS"
    assert data.source == f"HIGGS.csv.gz rows {skip + 1:,}-{stop:,}"
    assert data.class_names == ("0", "1")


def test_chapter_slices_and_class_names(higgs):
    validation = read_csv(higgs, take=1000, class_names=["background", "signal"], name="higgs")
    train = read_csv(higgs, skip=1000, take=1000)
    assert validation.source == "HIGGS.csv.gz rows 1-1,000"
    assert train.source == "HIGGS.csv.gz rows 1,001-2,000"
    assert validation.class_names == ("background", "signal") and validation.name == "higgs"
    both = read_csv(higgs)
    np.testing.assert_array_equal(np.concatenate([validation.x, train.x]), both.x)


def test_make_higgs_like_is_balanced_noisy_and_seeded():
    x, y = make_higgs_like(4_000, n_features=5, label_noise=0.25, seed=3)
    clean_x, clean_y = make_higgs_like(4_000, n_features=5, label_noise=0.0, seed=3)
    assert x.shape == (4_000, 5) and x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(x, clean_x)
    assert int((y != clean_y).sum()) == 1_000  # exactly label_noise of the labels flipped
    assert clean_y.mean() == 0.5  # threshold at the median
    np.testing.assert_array_equal(
        make_higgs_like(4_000, n_features=5, label_noise=0.25, seed=3)[1], y
    )
    assert not np.array_equal(make_higgs_like(4_000, n_features=5, seed=4)[0], x)
    with pytest.raises(DataError, match=r"`label_noise` must be in \[0, 0.5\)"):
        make_higgs_like(10, label_noise=0.5)


def test_gzip_is_detected_from_the_bytes_not_the_name(tmp_path):
    text = "1,2.5,3\n0,4,5\n"
    plain = read_csv(_write(tmp_path / "looks.csv.gz", text))
    packed = read_csv(_write(tmp_path / "looks.csv", text, gz=True))
    for data in (plain, packed):
        np.testing.assert_array_equal(data.x, [[2.5, 3], [4, 5]])
        np.testing.assert_array_equal(data.y, [1, 0])


def test_header_names_label_last_and_other_delimiters(tmp_path):
    path = _write(
        tmp_path / "table.tsv",
        "\ufeffa\tb\tc\tclass\n0.5\t1\t9\t2\n1.5\t2\t8\t0\n\n2.5\t3\t7\t1\n",
    )
    data = read_csv(path, header=True, label="class", features=["c", "a"], delimiter="\t")
    np.testing.assert_array_equal(data.x, [[9, 0.5], [8, 1.5], [7, 2.5]])
    np.testing.assert_array_equal(data.y, [2, 0, 1])
    assert data.name == "table" and data.source == "table.tsv rows 1-3"
    by_index = read_csv(path, header=True, label=-1, delimiter="\t", skip=1)
    np.testing.assert_array_equal(by_index.x, [[1.5, 2, 8], [2.5, 3, 7]])


def test_file_object_is_read_from_its_position_and_left_open(tmp_path):
    raw = io.BytesIO(gzip.compress(b"1,2\n0,3\n1,4\n"))
    data = read_csv(raw, skip=1)
    np.testing.assert_array_equal(data.y, [0, 1])
    assert data.source == "<stream> rows 2-3" and data.name == "csv"
    assert not raw.closed


class CountingFile:
    """A file object that counts the bytes it hands out (read, readinto, readline)."""

    def __init__(self, path: Path) -> None:
        self._file = path.open("rb")
        self.name = str(path)
        self.consumed = 0

    def read(self, size: int = -1) -> bytes:
        data = self._file.read(size)
        self.consumed += len(data)
        return data

    def readinto(self, buffer: bytearray) -> int:
        n = self._file.readinto(buffer)
        self.consumed += n
        return n

    def readline(self, size: int = -1) -> bytes:
        data = self._file.readline(size)
        self.consumed += len(data)
        return data

    def close(self) -> None:
        self._file.close()


def test_a_slice_reads_only_a_prefix_of_a_large_gzip_file(tmp_path):
    small = write_higgs_like_csv(tmp_path / "small.csv.gz", 11_000)
    # 198,000 rows (about 58 MB): 18 copies of the 11,000, as gzip members one after the
    # other (what `cat a.gz b.gz` makes; gzip readers read them as one stream).
    big = tmp_path / "big.csv.gz"
    big.write_bytes(small.read_bytes() * 18)
    size = big.stat().st_size
    assert size > 50_000_000
    counting = CountingFile(big)
    try:
        data = read_csv(counting, skip=1000, take=10_000)
    finally:
        counting.close()
    x, y = make_higgs_like(11_000)
    np.testing.assert_array_equal(data.x, x[1000:])
    np.testing.assert_array_equal(data.y, y[1000:])
    assert data.source == "big.csv.gz rows 1,001-11,000"
    # 11,000 of 198,000 rows is 5.6% of the file, plus read-ahead buffers.
    assert 0 < counting.consumed < 0.07 * size
    # The first rows of a file cost only their own size.
    counting = CountingFile(big)
    try:
        assert read_csv(counting, take=10).n_samples == 10
    finally:
        counting.close()
    assert counting.consumed < 64 * 1024
    # ... and the copies are read as rows: row 11,001 is row 1 again.
    np.testing.assert_array_equal(read_csv(big, skip=11_000, take=5).x, x[:5])


# ------------------------------------------------------------------------------ errors
def test_missing_file(tmp_path):
    path = tmp_path / "HIGGS.csv.gz"
    assert _error(path) == f"{path}: no such file."
    assert _error(tmp_path) == f"{tmp_path}: is a folder, not a CSV file. Give the file's path."


def test_wrong_column_count_names_the_line(tmp_path):
    path = _write(tmp_path / "d.csv", "1,2,3\n0,4,5\n1,6\n", gz=True)
    assert _error(path) == (
        f"{path}:3: expected 3 columns (like line 1), found 2. Check the delimiter or repair "
        "the row."
    )
    # Skipped rows are checked too: a row split in two shifts every row after it.
    assert _error(path, skip=2, take=None).startswith(f"{path}:3: expected 3 columns")


def test_wrong_column_count_counts_the_header_line(tmp_path):
    path = _write(tmp_path / "d.csv", "y,a,b\n1,2,3\n0,4,5,6\n")
    assert _error(path, header=True) == (
        f"{path}:3: expected 3 columns (like line 1), found 4. Check the delimiter or repair "
        "the row."
    )


def test_value_that_is_not_a_number(tmp_path):
    path = _write(tmp_path / "d.csv", "1,2,3,4,5,6\n0,2,3,4,5,abc\n")
    assert _error(path) == f"{path}:2, column 5: 'abc' is not a number."
    named = _write(tmp_path / "n.csv", "label,a,m_jj\n1,2,3\n0,x1,4\n")
    assert _error(named, header=True) == f"{named}:3, column 1 ('a'): 'x1' is not a number."
    label = _write(tmp_path / "l.csv", "1,2\nyes,3\n")
    assert _error(label) == f"{label}:2, column 0: 'yes' is not a number."


def test_earlier_problem_is_reported_first(tmp_path):
    path = _write(tmp_path / "d.csv", "1,2\n0,nan\n1,abc\n")
    assert _error(path).startswith(f"{path}:2, column 1: NaN")


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ("", "empty value"),
        (" ", "empty value"),
        ("nan", "NaN (a missing value)"),
        ("NA", "missing value ('NA')"),
        ("?", "missing value ('?')"),
        ("inf", "infinite value (inf)"),
        ("-1e999", "infinite value (-inf)"),
    ],
)
def test_missing_and_infinite_values(tmp_path, value, what):
    path = _write(tmp_path / "d.csv", f"1,2,3\n0,4,{value}\n")
    assert _error(path) == (
        f"{path}:2, column 2: {what}. Missing and infinite values are not allowed; drop those "
        "rows or impute the values first."
    )


def test_missing_value_with_header_name(tmp_path):
    path = _write(tmp_path / "d.csv", "y,a,b\n1,,3\n")
    assert _error(path, header=True) == (
        f"{path}:2, column 1 ('a'): empty value. Missing and infinite values are not allowed; "
        "drop those rows or impute the values first."
    )


def test_labels_must_be_class_ids(tmp_path):
    half = _write(tmp_path / "h.csv", "1.0,2\n0.5,3\n")
    assert _error(half) == (
        f"{half}:2, column 0: label 0.5 is not a whole number. Labels must be class ids "
        "0, 1, 2, ...; check that this is the label column."
    )
    negative = _write(tmp_path / "n.csv", "1,2\n-1,3\n")
    assert _error(negative) == (
        f"{negative}:2, column 0: label -1 is negative. Labels must be class ids 0, 1, 2, ...; "
        "map the labels to those first."
    )
    three = _write(tmp_path / "t.csv", "1,2\n2,3\n")
    assert _error(three, class_names=["a", "b"]) == (
        f"{three}:2, column 0: label 2 has no class name: class_names has 2 names (ids 0 to "
        "1). Pass one name per class."
    )


def test_asking_for_more_rows_than_the_file_has(higgs):
    assert _error(higgs, skip=1000, take=10_000) == (
        f"{higgs}: asks for rows 1,001 to 11,000 (skip=1000, take=10000) but the file has only "
        "2,000 data rows. Use a smaller skip or take."
    )
    assert _error(higgs, skip=2_000) == (
        f"{higgs}: asks for the rows after row 2,000 (skip=2000) but the file has only 2,000 "
        "data rows. Use a smaller skip."
    )


def test_row_count_excludes_the_header(tmp_path):
    path = _write(tmp_path / "d.csv", "y,a\n1,2\n0,3\n")
    assert _error(path, header=True, take=3) == (
        f"{path}: asks for rows 1 to 3 (skip=0, take=3) but the file has only 2 data rows "
        "after the header. Use a smaller skip or take."
    )
    header_only = _write(tmp_path / "h.csv", "y,a\n")
    assert _error(header_only, header=True) == (
        f"{header_only}: the file has no data rows after the header."
    )
    empty = _write(tmp_path / "e.csv.gz", "", gz=True)
    assert _error(empty) == f"{empty}: the file is empty."


def test_unknown_column_name_lists_the_header(tmp_path):
    path = _write(tmp_path / "d.csv", "label,lepton_pT,lepton_eta\n1,2,3\n")
    assert _error(path, header=True, label="lable") == (
        f"{path}: no column named 'lable' (label). The header (line 1) has: label, lepton_pT, "
        "lepton_eta. Did you mean 'label'?"
    )
    assert _error(path, header=True, features=["lepton_eta", "lepton_pt"]).endswith(
        "(features). The header (line 1) has: label, lepton_pT, lepton_eta. Did you mean "
        "'lepton_pT'?"
    )
    assert _error(path, header=True, features=["lepton_eta", "jet"]) == (
        f"{path}: no column named 'jet' (features). The header (line 1) has: label, lepton_pT, "
        "lepton_eta."
    )


def test_names_need_a_header(tmp_path):
    path = _write(tmp_path / "d.csv", "1,2,3\n")
    assert _error(path, label="label") == (
        f"{path}: label='label' is a column name, but header=False. Pass header=True if line 1 "
        "holds the column names, or give 0-based column indices."
    )


def test_column_index_out_of_range(tmp_path):
    path = _write(tmp_path / "d.csv", "1,2,3\n")
    assert _error(path, label=3) == (
        f"{path}: label=3 is out of range: line 1 has 3 columns (indices 0 to 2, or -3 to -1)."
    )
    assert _error(path, features=[1, -4]) == (
        f"{path}: features=-4 is out of range: line 1 has 3 columns (indices 0 to 2, or -3 to -1)."
    )


def test_one_column_suggests_the_delimiter(tmp_path):
    path = _write(tmp_path / "d.csv", "1;2;3\n0;4;5\n")
    assert _error(path) == (
        f"{path}: line 1 has only one column ('1;2;3'), so there are no feature columns. Is "
        "the delimiter ';'? Pass delimiter=';'."
    )


def test_bad_arguments(tmp_path):
    path = _write(tmp_path / "d.csv", "1,2\n")
    assert _error(path, skip=-1) == "`skip` must be a whole number, 0 or more. Received: skip=-1."
    assert _error(path, take=0) == (
        "`take` must be a whole number, 1 or more, or None for all rows. Received: take=0."
    )
    assert _error(path, delimiter=", ") == (
        "`delimiter` must be one character (',', ';', '\\t', ...). Received: delimiter=', '."
    )
    assert _error(path, features="a") == (
        f"{path}: `features` must be a list of column indices or names, not one string. "
        "Received: features='a'; use features=['a']."
    )


def test_text_mode_file_object(tmp_path):
    path = _write(tmp_path / "d.csv", "1,2\n")
    with path.open() as text:
        message = _error(text)  # type: ignore[arg-type]
    assert message == (
        f"{path}: the file object is open in text mode. Open it in binary mode "
        "(open(path, 'rb')) so that gzip files can be recognised."
    )


def test_binary_and_corrupt_files(tmp_path):
    binary = tmp_path / "model.h5"
    binary.write_bytes(b"\x89HDF\r\n\x1a\n\xff\xfe\x00\x00" * 10)
    assert _error(binary).startswith(f"{binary}: not UTF-8 text near line 1 (")
    truncated = write_higgs_like_csv(tmp_path / "t.csv.gz", 500)
    truncated.write_bytes(truncated.read_bytes()[:-100])
    assert read_csv(truncated, take=10).n_samples == 10  # the start is still readable
    assert _error(truncated).startswith(f"{truncated}: the gzip stream is truncated or corrupt")
