"""A learner's own spreadsheet end to end: a Brazilian export (Latin-1, ``;``, decimal comma,
accented header, text classes, empty cells) trained from a spec with ``name = "csv"`` by
``neuralab run``, compared with a logistic regression on the same split, then ``neuralab
predict`` on new rows from the saved run alone; the other table layouts and arrays too."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from neuralab.cli import app
from neuralab.record import MetricsRecord, RunDir, files

runner = CliRunner()

SPEC = """
[data]
name = "csv"
path = "alunos.csv"
label = "aprovado"
missing = "fill"
test_size = 0.25
shuffle = true

[model]
preset = "mlp"
preset_args = {hidden_units = [8]}

[compile]
learning_rate = 0.01

[fit]
epochs = 30
batch_size = 32
"""

SHIFTS = {"manhã": 0.5, "tarde": 0.0, "noite": -0.7}


def write_alunos(
    path: Path, n: int, *, seed: int, label: bool = True, unseen: bool = False
) -> None:
    """Students passing ("sim") by a logistic rule on grade, attendance and shift, with noise;
    written as a Brazilian spreadsheet exports it, with some cells left empty."""
    rng = np.random.default_rng(seed)
    grade = rng.uniform(0, 10, n)
    attendance = rng.uniform(0.4, 1.0, n)
    shift = rng.choice(list(SHIFTS), n)
    score = 1.1 * (grade - 5.5) + 6.0 * (attendance - 0.7) + rng.logistic(0, 0.6, n)
    score += np.array([SHIFTS[s] for s in shift])
    passed = np.where(score > 0, "sim", "não")
    lines = ["nota_média;frequência;turno" + (";aprovado" if label else "")]
    for i in range(n):
        cells = [f"{grade[i]:.1f}".replace(".", ","), f"{attendance[i]:.2f}".replace(".", ",")]
        cells.append("integral" if unseen and i == 1 else str(shift[i]))
        if i % 97 == 5:
            cells[0] = ""
        if i % 89 == 7:
            cells[2] = ""
        lines.append(";".join(cells + ([str(passed[i])] if label else [])))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))


def _invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("curso")
    write_alunos(folder / "alunos.csv", 600, seed=0)
    (folder / "alunos.toml").write_text(SPEC, encoding="utf-8")
    result = _invoke("--quiet", "run", str(folder / "alunos.toml"), "-o", str(folder / "runs"))
    assert result.exit_code == 0, result.output
    (lab,) = (folder / "runs").iterdir()
    return lab / "alunos"


def _logistic_regression_accuracy(path: Path, seed: int = 42, test_size: float = 0.25) -> float:
    """scikit-learn on the same rows and split: pandas reads the file, the training split
    fills, scales and one-hot encodes."""
    import pandas as pd
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    table = pd.read_csv(path, sep=";", decimal=",", encoding="latin-1")
    order = np.random.default_rng(seed).permutation(len(table))
    n_train = len(table) - round(test_size * len(table))
    train, test = table.iloc[order[:n_train]], table.iloc[order[n_train:]]

    def features(part: pd.DataFrame) -> np.ndarray:
        out = pd.DataFrame(
            {c: part[c].fillna(train[c].mean()) for c in ("nota_média", "frequência")}
        )
        shift = part["turno"].fillna(train["turno"].mode()[0])
        for value in sorted(train["turno"].dropna().unique()):
            out[value] = (shift == value).astype(float)
        return out.to_numpy()

    scaler = StandardScaler().fit(features(train))
    model = LogisticRegression().fit(scaler.transform(features(train)), train["aprovado"])
    return float(np.mean(model.predict(scaler.transform(features(test))) == test["aprovado"]))


def test_a_brazilian_spreadsheet_trains_as_well_as_a_logistic_regression(trained):
    record = RunDir(trained).read(MetricsRecord)
    assert record.class_names == ("não", "sim")
    ours = record.metric("test", "accuracy")
    reference = _logistic_regression_accuracy(trained.parents[2] / "alunos.csv")
    assert ours is not None and reference > 0.85
    assert abs(ours - reference) <= 0.04, (ours, reference)
    summary = RunDir(trained).read_text(files.SUMMARY)
    assert "table_encoding (TableEncoding)" in summary
    result = _invoke("evaluate", str(trained))  # reads the table again, from the stored spec
    assert result.exit_code == 0, result.output
    assert f"accuracy {100 * ours:.1f}% on 150 samples" in result.output


def test_predict_new_rows_from_the_saved_run_alone(trained, tmp_path):
    new = tmp_path / "novos.csv"
    write_alunos(new, 40, seed=7, unseen=True)
    (trained.parents[2] / "alunos.csv").unlink()  # the run needs no training file
    result = _invoke("predict", str(trained), str(new))
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("novos.csv:")]
    assert len(lines) == 40 and lines[0].split()[1] in ("sim", "não")
    assert "column 'turno': 'integral' (line 3) never appeared in training" in result.output
    assert "Accuracy on the 40 rows with a label: " in result.output
    accuracy = float(result.output.split("rows with a label: ")[1].split("%")[0])
    assert accuracy >= 80
    written = trained / "novos.predictions.csv"
    header, first = written.read_text(encoding="utf-8").splitlines()[:2]
    assert header == (
        "line;nota_média;frequência;turno;aprovado;predicted;probability;p(não);p(sim);correct"
    )
    cells = first.split(";")
    assert cells[0] == "2" and cells[5] in ("sim", "não") and "," in cells[6]  # decimal comma
    assert cells[9] in ("yes", "no")

    unlabelled = tmp_path / "sem_rotulo.csv"
    write_alunos(unlabelled, 5, seed=8, label=False)
    result = _invoke("predict", str(trained), str(unlabelled))
    assert result.exit_code == 0, result.output
    assert "Accuracy" not in result.output
    assert (trained / "sem_rotulo.predictions.csv").exists()


def test_predict_names_a_missing_training_column(trained, tmp_path):
    bad = tmp_path / "faltando.csv"
    bad.write_text("nota_media;turno\n7,5;manhã\n", encoding="utf-8")
    result = _invoke("predict", str(trained), str(bad))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    message = " ".join(result.output.split())
    assert f"{bad}: missing the training columns 'nota_média', 'frequência';" in message
    assert "Did you mean 'nota_media' for 'nota_média'?" in message


def test_model_keras_takes_raw_rows_and_loads_with_the_same_predictions(tmp_path):
    import keras

    from neuralab._keras_compat import no_tensorflow_probe
    from neuralab.data.table import TableColumn, TableDataset, category_code, fit_table
    from neuralab.models.preprocessing import TableEncoding, table_encoding

    codes = [category_code(t) for t in ("a", "b", "c")]
    x = np.array([[1.0, codes[0]], [3.0, codes[1]], [np.nan, codes[0]], [5.0, np.nan]], "float32")
    data = TableDataset(
        x=x,
        y=np.array([0, 1, 0, 1]),
        columns=(TableColumn("v", "numeric"), TableColumn("c", "categorical", ("a", "b", "c"))),
        label="y",
        missing="fill",
    )
    fit = fit_table(data)
    layer = table_encoding(fit)
    raw = np.array([[3.0, codes[1]], [np.nan, codes[2]], [1.0, 0.0]], "float32")
    encoded = np.asarray(layer(raw))
    # v: (x - 3) / std, NaN -> the mean 3; c: one-hot of a and b (ordered by code); "c"
    # never in training and code 0 are "unknown": a row of zeros
    slots = {code: i for i, code in enumerate(sorted(codes[:2]))}
    expected = np.zeros((3, 3), "float32")
    expected[:, 0] = [0.0, 0.0, -2 / np.sqrt(8 / 3)]
    expected[0, 1 + slots[codes[1]]] = 1
    np.testing.assert_allclose(encoded, expected, rtol=1e-5, atol=1e-6)
    assert layer.weights == []  # statistics are constants of the config, not weights

    model = keras.Sequential(
        [keras.Input((2,)), layer, keras.layers.Dense(3, activation="softmax")]
    )
    before = model.predict(raw, verbose=0)
    with no_tensorflow_probe():  # as the runs save models: no TensorFlow import on JAX
        model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", compile=False)
    assert isinstance(loaded.layers[0], TableEncoding)
    assert loaded.layers[0].table_fit == fit
    np.testing.assert_allclose(loaded.predict(raw, verbose=0), before, rtol=1e-6)


TABLE = """
seed = 3
data = {name = "csv", path = "linhas.data", label = "col_3", test_size = 0.2}
model = {preset = "mlp", preset_args = {hidden_units = [4]}}
fit = {epochs = 2, batch_size = 16}
"""

ARRAYS = """
[defaults]
model = {preset = "mlp", preset_args = {hidden_units = [4]}}

[[experiments]]
name = "arrays"
data = {name = "npz", path = "dados.npz", x_key = "pontos", y_key = "classes"}

[[experiments]]
name = "hdf5"
data = {name = "h5", path = "dados.h5", x_key = "g/x", y_key = "g/y", x_test_key = "g/xt", y_test_key = "g/yt"}
model = {preset = "mlp", preset_args = {hidden_units = [4], n_outputs = 3, output_activation = "softmax"}}
compile = {loss = "sparse_categorical_crossentropy"}
"""


def _points() -> np.ndarray:
    return np.random.default_rng(0).normal(size=(60, 2))


def test_a_gzip_tab_table_without_header_in_a_spec(tmp_path):
    rows = "".join(f"{a:.3f}\t{b:.3f}\t{'sim' if a + b > 0 else 'não'}\n" for a, b in _points())
    (tmp_path / "linhas.data").write_bytes(gzip.compress(rows.encode("utf-8"), mtime=0))
    (tmp_path / "tabela.toml").write_text(TABLE, encoding="utf-8")
    out = tmp_path / "runs"
    result = _invoke("--quiet", "run", str(tmp_path / "tabela.toml"), "-o", str(out))
    assert result.exit_code == 0, result.output
    (lab,) = out.iterdir()
    run = lab / "tabela"
    assert RunDir(run).read(MetricsRecord).class_names == ("não", "sim")
    # Two numeric columns: the decision boundary is drawn in the table's own units.
    assert (run / files.BOUNDARY).exists()
    new = tmp_path / "novas.tsv"
    new.write_text("0.5\t0.7\n-1.0\t-0.2\n", encoding="utf-8")  # no header: col_1, col_2
    result = _invoke("predict", str(run), str(new))
    assert result.exit_code == 0, result.output
    assert "novas.tsv:1 " in result.output and "novas.tsv:2 " in result.output


def test_npz_and_h5_data_sets_in_a_spec(tmp_path):
    import h5py

    from neuralab.config import load_experiments
    from neuralab.runs.prepare import prepare_experiment

    points = _points()
    np.savez(tmp_path / "dados.npz", pontos=points, classes=np.where(points[:, 0] > 0, "b", "a"))
    with h5py.File(tmp_path / "dados.h5", "w") as h5:
        h5["g/x"], h5["g/y"] = points[:50], np.arange(50) % 3
        h5["g/xt"], h5["g/yt"] = points[50:], np.arange(10) % 3
    (tmp_path / "arrays.toml").write_text(ARRAYS, encoding="utf-8")
    experiments = load_experiments(tmp_path / "arrays.toml")
    npz, h5 = (prepare_experiment(e) for e in experiments.experiments)
    assert npz.splits.train.class_names == ("a", "b") and npz.splits.train.n_samples == 60
    assert h5.splits.test is not None and h5.splits.test.n_samples == 10
    assert h5.model.output_shape == (None, 3)


def test_spec_errors_name_the_spec_file_and_key(tmp_path):
    write_alunos(tmp_path / "alunos.csv", 30, seed=1)
    spec = tmp_path / "erro.toml"
    spec.write_text(SPEC.replace('label = "aprovado"', 'label = "aprovdo"'), encoding="utf-8")
    result = _invoke("run", str(spec), "-o", str(tmp_path / "runs"))
    assert result.exit_code == 1 and "Traceback" not in result.output
    message = " ".join(result.output.split())
    assert (
        f"Error: {spec}: experiments[0] (erro).data.label: alunos.csv has no column 'aprovdo'. "
        "Did you mean 'aprovado'?"
    ) in message
    result = _invoke("data", "info", str(tmp_path / "alunos.csv"), "--rows", "2")
    assert result.exit_code == 0, result.output
    for text in ("';'-separated, decimal comma", "nota_média", "numeric", "Class balance"):
        assert text in result.output, result.output
