"""The play page's form as a spec, and the TOML it exports reading back to the same spec."""

from __future__ import annotations

import copy
import tomllib

import pytest

from neuralab.config import load_experiments
from neuralab.errors import SpecError
from neuralab.live.playspec import DEFAULT_CONFIG, Upload, document_spec, page_document
from neuralab.live.toml_text import dump_toml, toml_value


def _config(**changes):
    config = copy.deepcopy(DEFAULT_CONFIG)
    for key, value in changes.items():
        if key.startswith("data_"):
            config["data"][key.removeprefix("data_")] = value
        else:
            config[key] = value
    return config


def test_the_default_form_is_the_chapters_model_8_on_circles():
    document = page_document(DEFAULT_CONFIG)
    spec = document_spec(document)
    assert spec.data.name == "circles" and spec.data.test_size == 0.2
    assert [(layer.type, layer.args.get("units")) for layer in spec.model.layers] == [
        ("Dense", 4),
        ("Dense", 4),
        ("Dense", 1),
    ]
    assert spec.model.layers[-1].args["activation"] == "sigmoid"
    assert spec.compile.loss.type == "binary_crossentropy"


def test_more_classes_give_a_softmax_output_and_dropout_and_l2_are_layers():
    config = _config(data_name="spirals", data_n_classes=4, l2=0.001)
    config["layers"][0]["dropout"] = 0.2
    spec = document_spec(page_document(config))
    types = [layer.type for layer in spec.model.layers]
    assert types == ["Dense", "Dropout", "Dense", "Dense"]
    assert spec.model.layers[-1].args == {
        "units": 4,
        "activation": "softmax",
        "kernel_regularizer": {"l2": 0.001},
    }
    assert spec.compile.loss.type == "sparse_categorical_crossentropy"
    assert spec.data.params["n_classes"] == 4


@pytest.mark.parametrize(
    ("config", "message"),
    [
        (_config(epochs="many"), r"fit.epochs: must be a whole number. Received: epochs='many'"),
        (_config(epochs=0), r"fit.epochs: must be from 1 to 5000. Received: epochs=0"),
        (_config(learning_rate=float("nan")), r"compile.learning_rate: must be from"),
        (_config(optimizer="Adamm"), r"Did you mean 'Adam'"),
        (_config(data_name="mnist"), r"data.name: `name` must be one of"),
        (_config(data_n_samples=10**9), r"data.n_samples: must be from 20 to 5000"),
        (_config(layers=[{"units": 4, "activation": "relux"}]), r"layers\[0\].activation"),
        (_config(layers=[{"units": 4}] * 9), r"at most 8 hidden layers"),
        (_config(lr_schedule="__import__('os')"), r"fit.lr_schedule"),
        (_config(data_name="csv"), r"no table uploaded yet"),
    ],
)
def test_a_bad_form_gets_one_message_naming_the_field(config, message):
    with pytest.raises(SpecError, match=message):
        document_spec(page_document(config))


def test_a_learning_rate_schedule_goes_through_the_bounded_evaluator():
    spec = document_spec(page_document(_config(lr_schedule="1e-4 * 10**(epoch/20)")))
    assert spec.fit.lr_schedule == "1e-4 * 10**(epoch/20)"


def test_exported_toml_reads_back_to_the_same_spec(tmp_path):
    config = _config(data_name="blobs", data_n_classes=3, l2=0.01, seed=7, epochs=12)
    config["layers"].append({"units": 8, "activation": "tanh", "dropout": 0.5})
    document = page_document(config, epochs=9)
    text = dump_toml(document, header="made by a test\nsecond line")
    assert text.startswith("# made by a test\n# second line\n")
    path = tmp_path / "play.toml"
    path.write_text(text, encoding="utf-8")
    assert load_experiments(path).experiments[0] == document_spec(document)
    assert document_spec(document).fit.epochs == 9


def test_an_uploaded_table_is_named_by_path_and_label():
    upload = Upload(
        id="x",
        name="t.csv",
        path="/tmp/t.csv",
        label="class",
        n_classes=3,
        n_rows=10,
        params={"path": "/tmp/t.csv", "label": "class"},
    )
    document = page_document(_config(data_name="csv"), upload=upload)
    assert document["data"]["path"] == "/tmp/t.csv" and document["data"]["label"] == "class"
    assert document["model"]["layers"][-1]["units"] == 3


def test_toml_values_escape_strings_and_refuse_what_toml_cannot_hold():
    text = 'a "quoted" \\ back\nslash\x01'
    assert tomllib.loads(f"v = {toml_value(text)}")["v"] == text
    assert tomllib.loads(f"v = {toml_value(1e-07)}")["v"] == 1e-07
    with pytest.raises(SpecError, match="finite"):
        toml_value(float("inf"))
    with pytest.raises(SpecError, match="NoneType cannot be written"):
        toml_value(None)
