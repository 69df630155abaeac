"""A learner's own table as a spec data set (``name = "csv"``, ``npz``, ``h5``): the format
sniffed, columns typed, missing cells, and every way a table can be wrong (each message
names the file, line, column or key, and the fix)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from neuralab.config import load_experiments
from neuralab.data.arrays import describe_arrays
from neuralab.data.dataset import Splits
from neuralab.data.registry import load_dataset
from neuralab.data.table import (
    TableDataset,
    TableFit,
    category_code,
    describe_table,
    fill_missing,
    fit_table,
    read_new_rows,
    read_table,
)
from neuralab.data.table_format import parse_number, sniff_format
from neuralab.errors import DataError, SpecError

BRAZILIAN = (
    "nota_média;frequência;turno;aprovado\r\n"
    "7,5;0,92;manhã;sim\r\n"
    "4,0;0,60;noite;não\r\n"
    ";0,75;tarde;sim\r\n"
    "8,25;0,88;;sim\r\n"
    "1.234,5;0,70;manhã;não\r\n"
)


def _write(path: Path, text: str, *, encoding: str = "utf-8", gz: bool = False) -> Path:
    data = text.encode(encoding)
    path.write_bytes(gzip.compress(data, mtime=0) if gz else data)
    return path


def _error(path: Path, **kw: object) -> str:
    with pytest.raises(DataError) as info:
        read_table(path, **kw)  # type: ignore[arg-type]
    return str(info.value)


# ------------------------------------------------------------------------------ format
def test_a_brazilian_export_is_sniffed(tmp_path):
    path = _write(tmp_path / "alunos.csv", BRAZILIAN, encoding="latin-1")
    fmt = sniff_format(path)
    assert (fmt.delimiter, fmt.decimal, fmt.header, fmt.encoding) == (";", ",", True, "cp1252")
    assert "not UTF-8" in fmt.notes[0] and "Latin-1" in fmt.notes[0]
    data = read_table(path, label="aprovado", missing="fill")
    assert isinstance(data, TableDataset)
    assert [c.name for c in data.columns] == ["nota_média", "frequência", "turno"]
    assert [c.kind for c in data.columns] == ["numeric", "numeric", "categorical"]
    assert data.class_names == ("não", "sim")  # text classes, alphabetical
    np.testing.assert_array_equal(data.y, [1, 0, 1, 1, 0])
    np.testing.assert_allclose(data.x[[0, 1, 4], 0], [7.5, 4.0, 1234.5])  # 1.234,5: thousands
    assert np.isnan(data.x[2, 0]) and np.isnan(data.x[3, 2])  # empty cells, to fill
    assert data.x[0, 2] == category_code("manhã") == category_code(" manha\u0303 ")  # NFC
    assert data.source == "alunos.csv (5 rows, 3 features)"
    assert any("decimal comma" in note for note in data.notes)


def test_utf8_comma_file_with_a_bom_and_quotes(tmp_path):
    text = '\ufeffcity,"size, m2",kind\n"São Paulo",1.5,a\nRio,2.5,b\nRio,3,a\n'
    path = _write(tmp_path / "t.csv", text)
    fmt = sniff_format(path)
    assert (fmt.delimiter, fmt.decimal, fmt.header, fmt.encoding) == (",", ".", True, "utf-8-sig")
    assert fmt.notes == ()
    data = read_table(path, label="kind")
    assert [c.name for c in data.columns] == ["city", "size, m2"]
    assert data.columns[0].categories == ("Rio", "São Paulo")


def test_gzip_by_content_and_tab_without_header(tmp_path):
    rows = "".join(f"{i % 3}\t{i * 0.5}\t{'ab'[i % 2]}\n" for i in range(30))
    path = _write(tmp_path / "rows.data", rows, gz=True)  # no .gz in the name
    fmt = sniff_format(path)
    assert (fmt.gzip, fmt.delimiter, fmt.header) == (True, "\t", False)
    data = read_table(path, label="col_3")
    assert [c.name for c in data.columns] == ["col_1", "col_2"]
    assert data.class_names == ("a", "b")
    assert data.n_samples == 30  # line 1 is data
    with pytest.raises(DataError, match=r"no column 'label'.*numbered; set header = true"):
        read_table(path, label="label")


def test_options_override_the_sniffing(tmp_path):
    path = _write(tmp_path / "t.csv", "a|b|y\n1|2|0\n3|4|1\n")
    data = read_table(path, label="y", delimiter="|", header=True, encoding="ascii")
    assert data.class_names == ("0", "1") and data.x.shape == (2, 2)
    assert "decimal" in _error(path, label="y", decimal=";")
    assert "not a text encoding" in _error(path, label="y", encoding="klingon")
    assert "one character" in _error(path, label="y", delimiter=";;")
    assert "`header` must be true or false" in _error(path, label="y", header="yes")


def test_numbers_and_class_order():
    assert parse_number("1.234,5", ",") == 1234.5
    assert parse_number("7,5", ",") == 7.5
    assert parse_number("1,234.5", ".") == 1234.5
    assert parse_number("7.5", ",") == 7.5  # a point in a decimal-comma file still reads
    for text in ("inf", "nan", "1_000", "sete", "", "7,5"):
        assert parse_number(text, ".") is None


def test_numeric_labels_are_ordered_by_value(tmp_path):
    path = _write(tmp_path / "t.csv", "x;y\n1;10\n2;2\n3;2,0\n4;10\n")
    data = read_table(path, label="y")
    assert data.class_names == ("2", "10")  # 2 and 2,0 are one class
    np.testing.assert_array_equal(data.y, [1, 0, 0, 1])


# ------------------------------------------------------------------------------ missing
def test_missing_cells_error_drop_or_fill(tmp_path):
    path = _write(tmp_path / "alunos.csv", BRAZILIAN)
    message = _error(path, label="aprovado")
    assert message.startswith(f"{path}:4, column 'nota_média': empty cell.")
    assert 'missing = "drop"' in message and 'missing = "fill"' in message
    dropped = read_table(path, label="aprovado", missing="drop")
    assert dropped.n_samples == 3 and not np.isnan(dropped.x).any()
    assert any("2 rows with an empty cell were left out" in n for n in dropped.notes)
    filled = read_table(path, label="aprovado", missing="fill")
    splits = fill_missing(Splits(train=filled.take(slice(0, 4)), test=filled.take(slice(4, 5))))
    x = splits.train.x
    assert x[2, 0] == pytest.approx(np.mean([7.5, 4.0, 8.25]))  # the training mean
    assert x[3, 2] == category_code("manhã") or x[3, 2] in {
        category_code(t) for t in ("noite", "tarde")
    }
    assert not np.isnan(x).any()
    assert "`missing` must be one of" in _error(path, label="aprovado", missing="mean")


def test_the_fit_uses_the_training_split_only(tmp_path):
    text = "v;c;y\n" + "".join(f"{i};{'ab'[i % 2]};{i % 2}\n" for i in range(8)) + "100;z;1\n"
    data = read_table(_write(tmp_path / "t.csv", text), label="y", categorical=["c"])
    fit = fit_table(data.take(slice(0, 8)))
    assert fit.columns[0].mean == pytest.approx(3.5)  # not pulled by the test row's 100
    assert fit.columns[1].vocabulary == tuple(sorted(("a", "b"), key=category_code))
    assert "z" not in fit.columns[1].vocabulary  # only in the held-out row
    assert TableFit.from_config(fit.to_config()) == fit


# ------------------------------------------------------------------------------ bad input
def test_unknown_column_names_the_nearest(tmp_path):
    path = _write(tmp_path / "alunos.csv", BRAZILIAN)
    message = _error(path, label="aprovdo")
    assert "alunos.csv has no column 'aprovdo'. Did you mean 'aprovado'?" in message
    assert "Columns: nota_média, frequência, turno, aprovado." in message
    assert "Did you mean 'frequência'?" in _error(path, label="aprovado", features=["frequencia"])
    assert "listed in `categorical` but is not a feature" in _error(
        path, label="aprovado", features=["frequência"], categorical=["turno"]
    )
    assert "also listed in `features`" in _error(path, label="aprovado", features=["aprovado"])
    assert "write features = ['turno']" in _error(path, label="aprovado", features="turno")


def test_a_label_with_one_class(tmp_path):
    path = _write(tmp_path / "t.csv", "x;y\n1;sim\n2;sim\n3; sim\n")
    assert _error(path, label="y") == (
        "t.csv: the label column 'y' has one class ('sim') in all 3 rows; a classifier needs "
        "at least two. Is it the right column?"
    )


def test_a_text_value_in_a_numeric_column(tmp_path):
    rows = "".join(f"{i},5;{'ab'[i % 2]}\n" for i in range(30))
    path = _write(tmp_path / "t.csv", f"nota;y\n{rows}sete;a\n")
    assert _error(path, label="y").startswith(
        f"{path}:32, column 'nota': 'sete' is not a number, but the column holds numbers "
        "(read with a decimal comma). Fix the value, or list the column in `categorical`"
    )
    data = read_table(path, label="y", categorical=["nota"])  # as categories, it reads
    assert data.columns[0].kind == "categorical" and len(data.columns[0].categories) == 31


def test_a_column_empty_everywhere(tmp_path):
    path = _write(tmp_path / "t.csv", "x;vazia;y\n1;;a\n2;;b\n3; ;a\n")
    for missing in ("error", "drop", "fill"):
        assert _error(path, label="y", missing=missing) == (
            "t.csv: column 'vazia' is empty in all 3 rows. Leave it out with `features` "
            "(list the columns to use) or fill it in."
        )
    assert read_table(path, label="y", features=["x"]).x.shape == (3, 1)


def test_other_bad_tables(tmp_path):
    ids = "".join(f"{i};aluno {i};{'ab'[i % 2]}\n" for i in range(40))
    path = _write(tmp_path / "ids.csv", "x;nome;y\n" + ids)
    assert "column 'nome' looks like an identifier or free text: 40 different values" in _error(
        path, label="y"
    )
    bad = _write(tmp_path / "bad.csv", "x;y\n1;a\n2;b;3\n")
    assert _error(bad, label="y").startswith(f"{bad}:3: expected 2 fields (like line 1), found 3")
    empty_label = _write(tmp_path / "e.csv", "x;y\n1;a\n2;\n3;b\n")
    assert _error(empty_label, label="y").startswith(f"{empty_label}:3, column 'y': the label is")
    assert read_table(empty_label, label="y", missing="drop").n_samples == 2
    assert "no such file" in _error(tmp_path / "nope.csv", label="y")
    assert "the file is empty" in _error(_write(tmp_path / "z.csv", ""), label="y")
    assert "one field for each of" in _error(_write(tmp_path / "one.csv", "a\n1\n2\n"), label="a")
    assert "`take` must be a whole number" in _error(path, label="y", take=0)


def test_take_reads_only_the_first_rows(tmp_path):
    rows = "".join(f"{i};{i % 2}\n" for i in range(5000))
    path = _write(tmp_path / "big.csv.gz", "x;y\n" + rows, gz=True)
    data = read_table(path, label="y", take=100)
    assert data.n_samples == 100 and data.x[-1, 0] == 99


def test_progress_is_reported_in_bytes(tmp_path):
    path = _write(tmp_path / "t.csv", "x;y\n" + "".join(f"{i};{i % 2}\n" for i in range(200)))
    seen: list[tuple[str, int, int | None]] = []
    read_table(path, label="y", progress=lambda *a: seen.append(a))
    assert seen[-1] == ("t.csv", path.stat().st_size, path.stat().st_size)


# ------------------------------------------------------------------------------ new rows
def test_new_rows_by_name_with_unseen_categories(tmp_path):
    data = read_table(_write(tmp_path / "a.csv", BRAZILIAN), label="aprovado", missing="fill")
    fit = fit_table(data)
    new = _write(tmp_path / "n.csv", "turno,nota_média,extra,frequência\nintegral,5.5,x,0.8\n")
    rows = read_new_rows(new, fit)  # another delimiter, decimal and column order
    np.testing.assert_allclose(rows.x, [[5.5, 0.8, 0.0]])  # unseen -> 0, the unknown slot
    assert rows.labels is None
    assert rows.unseen == {"turno": {"integral": 2}}
    assert "column 'turno': 'integral' (line 2) never appeared in training" in rows.notes[0]
    lacking = _write(tmp_path / "m.csv", "nota_media;turno\n5;manhã\n")
    with pytest.raises(DataError) as info:
        read_new_rows(lacking, fit)
    assert str(info.value).startswith(
        f"{lacking}: missing the training columns 'nota_média', 'frequência'; the model needs"
    )
    assert str(info.value).endswith(" Did you mean 'nota_media' for 'nota_média'?")
    text = _write(tmp_path / "t.csv", "nota_média;frequência;turno\ndez;0,8;manhã\n")
    with pytest.raises(DataError, match=r"t.csv:2, column 'nota_média': 'dez' is not a number"):
        read_new_rows(text, fit)


# ------------------------------------------------------------------------------ specs
def test_csv_spec_paths_are_relative_to_the_spec_file(tmp_path, write_toml):
    folder = tmp_path / "curso"
    folder.mkdir()
    _write(folder / "alunos.csv", BRAZILIAN, encoding="latin-1")
    spec = folder / "spec.toml"
    spec.write_text(
        '[data]\nname = "csv"\npath = "alunos.csv"\nlabel = "aprovado"\nmissing = "drop"\n'
        '[model]\npreset = "mlp"\n',
        encoding="utf-8",
    )
    exp = load_experiments(spec).experiments[0]
    assert exp.data.params["path"] == str(folder / "alunos.csv")
    data = load_dataset(exp.data.name, exp.data.params)
    assert isinstance(data, TableDataset) and data.n_samples == 3
    exp_bad = exp.data.params | {"label": "aprovdo"}
    with pytest.raises(DataError) as info:
        load_dataset("csv", exp_bad, where="spec.toml: experiments[0] (spec).data")
    assert str(info.value).startswith(
        "spec.toml: experiments[0] (spec).data.label: alunos.csv has no column 'aprovdo'. "
        "Did you mean 'aprovado'?"
    )
    with pytest.raises(SpecError, match=r"data.label: required for the 'csv' data set"):
        load_dataset("csv", {"path": "x.csv"}, where="spec.toml: data")


def test_npz_and_h5_data_sets(tmp_path):
    import h5py

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (20, 4, 4), dtype=np.uint8)
    np.savez(tmp_path / "d.npz", imagens=x, classes=np.array(["gato", "cão"] * 10))
    data = load_dataset(
        "npz", {"path": str(tmp_path / "d.npz"), "x_key": "imagens", "y_key": "classes"}
    )
    assert data.class_names == ("cão", "gato") and data.x.max() <= 1.0  # uint8 -> /255
    np.savez(tmp_path / "s.npz", x=x, y=np.arange(20) % 2, xt=x[:5], yt=np.arange(5) % 2)
    splits = load_dataset(
        "npz", {"path": str(tmp_path / "s.npz"), "x_test_key": "xt", "y_test_key": "yt", "scale": 1}
    )
    assert isinstance(splits, Splits) and splits.test is not None and splits.test.n_samples == 5
    assert splits.train.x.max() > 1  # scale = 1 keeps the values
    with pytest.raises(DataError, match=r"no array 'imagem' \(x_key\).*Did you mean 'imagens'"):
        load_dataset(
            "npz", {"path": str(tmp_path / "d.npz"), "x_key": "imagem", "y_key": "classes"}
        )
    with h5py.File(tmp_path / "d.h5", "w") as h5:
        h5["grupo/pontos"] = rng.normal(size=(30, 2)).astype(np.float32)
        h5["grupo/rotulos"] = np.arange(30) % 3
    data = load_dataset(
        "h5", {"path": str(tmp_path / "d.h5"), "x_key": "grupo/pontos", "y_key": "grupo/rotulos"}
    )
    assert data.x.shape == (30, 2) and data.n_classes == 3
    with pytest.raises(DataError, match=r"no dataset 'grupo/ponto'.*Did you mean 'grupo/pontos'"):
        load_dataset("h5", {"path": str(tmp_path / "d.h5"), "x_key": "grupo/ponto"})
    # `neuralab data info` lists the keys to give
    assert describe_arrays(tmp_path / "d.npz") == [
        ("imagens", (20, 4, 4), "uint8"),
        ("classes", (20,), "<U4"),
    ]
    assert describe_arrays(tmp_path / "d.h5") == [
        ("grupo/pontos", (30, 2), "float32"),
        ("grupo/rotulos", (30,), "int64"),
    ]


def test_describe_table_for_data_info(tmp_path):
    path = _write(tmp_path / "alunos.csv", BRAZILIAN, encoding="latin-1")
    info = describe_table(path, n_first=2)
    kinds = {c.name: (c.kind, c.values, c.missing) for c in info.columns}
    assert kinds == {
        "nota_média": ("numeric", 4, 1),
        "frequência": ("numeric", 5, 0),
        "turno": ("categorical", 4, 1),
        "aprovado": ("categorical", 5, 0),
    }
    assert info.label == "aprovado" and info.class_counts() == {"sim": 3, "não": 2}
    assert info.n_rows == 5 and info.first_rows[0] == ["7,5", "0,92", "manhã", "sim"]
