from __future__ import annotations

import pytest

from neuralab.config import (
    ExperimentSpec,
    Layer,
    ModelSpec,
    load_experiments,
    parse_experiments,
)
from neuralab.errors import SpecError

BASE = """
[defaults.data]
name = "circles"
[[experiments]]
name = "a"
model.layers = [{type = "Dense", units = 1, activation = "sigmoid"}]
"""


def test_defaults_are_merged_into_every_experiment(write_toml):
    path = write_toml(
        BASE
        + """
fit.epochs = 7
[[experiments]]
name = "b"
data.noise = 0.1
model.preset = "mlp"
"""
    )
    spec = load_experiments(path)
    assert spec.names() == ["a", "b"]
    assert spec["a"].fit.epochs == 7
    assert spec["b"].fit.epochs == 10
    assert spec["b"].data.name == "circles"
    assert spec["b"].data.params == {"noise": 0.1}
    assert spec["b"].model.preset == "mlp"


def test_single_experiment_file_takes_its_name_from_the_file(write_toml):
    path = write_toml(
        """
data.name = "moons"
model.layers = [{type = "Dense", units = 1, activation = "sigmoid"}]
fit.epochs = 2
""",
        name="my_exp.toml",
    )
    spec = load_experiments(path)
    assert spec.names() == ["my_exp"]
    assert spec.experiments[0].fit.epochs == 2


def test_round_trip_through_to_dict():
    spec = parse_experiments(
        {
            "experiments": [
                {
                    "name": "x",
                    "data": {"name": "circles", "noise": 0.03, "test_size": 200},
                    "model": {"layers": [{"type": "Dense", "units": 4, "activation": "relu"}]},
                    "compile": {
                        "learning_rate": 0.01,
                        "loss": {"type": "BinaryCrossentropy", "from_logits": True},
                    },
                    "fit": {"callbacks": [{"type": "EarlyStopping", "patience": 3}]},
                }
            ]
        }
    ).experiments[0]
    again = ExperimentSpec.model_validate(spec.to_dict())
    assert again == spec
    assert spec.to_dict()["model"]["layers"] == [
        {"type": "Dense", "units": 4, "activation": "relu"}
    ]


def test_python_objects_equal_toml():
    from_python = ExperimentSpec(
        name="a",
        data={"name": "circles"},  # type: ignore[arg-type]
        model=ModelSpec(layers=(Layer("Dense", units=1, activation="sigmoid"),)),
    )
    from_toml = parse_experiments(
        {
            "experiments": [
                {
                    "name": "a",
                    "data": {"name": "circles"},
                    "model": {"layers": [{"type": "Dense", "units": 1, "activation": "sigmoid"}]},
                }
            ]
        }
    ).experiments[0]
    assert from_python == from_toml


def test_missing_file(tmp_path):
    with pytest.raises(SpecError, match=r"nope\.toml: spec file not found"):
        load_experiments(tmp_path / "nope.toml")


def test_directory_instead_of_file(tmp_path):
    with pytest.raises(SpecError, match="is a directory"):
        load_experiments(tmp_path)


def test_unreadable_file(write_toml):
    path = write_toml("x = 1")
    path.write_bytes(b"\xff\xfe not utf8")
    with pytest.raises(SpecError, match="cannot read the spec file"):
        load_experiments(path)


def test_malformed_toml_names_line_and_column(write_toml):
    path = write_toml('[data]\nname = "circles"\nepochs = = 3\n')
    with pytest.raises(SpecError, match=r"malformed TOML: .*line 3, column 10"):
        load_experiments(path)


def test_unknown_key_suggests_nearest(write_toml):
    path = write_toml(BASE + "fit.epoch = 5\n")
    with pytest.raises(SpecError) as info:
        load_experiments(path)
    msg = str(info.value)
    assert "experiments[0] (a).fit.epoch: unknown key 'epoch'. Did you mean 'epochs'?" in msg
    assert "Allowed keys: batch_size, callbacks, checkpoint_seconds, epochs" in msg
    assert str(path) in msg


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("fit.epochs = 0", "fit.epochs: Input should be greater than 0. Received: epochs=0."),
        (
            "fit.batch_size = -2",
            "fit.batch_size: Input should be greater than 0. Received: batch_size=-2.",
        ),
        (
            "compile.learning_rate = -0.1",
            "compile.learning_rate: must be positive. Received: learning_rate=-0.1.",
        ),
        (
            "compile.learning_rate = 0.0",
            "compile.learning_rate: must be positive. Received: learning_rate=0.0.",
        ),
    ],
)
def test_non_positive_values(write_toml, line, expected):
    path = write_toml(BASE + line + "\n")
    with pytest.raises(SpecError, match="Received") as info:
        load_experiments(path)
    assert expected in str(info.value)


def test_bad_lr_schedule_expression(write_toml):
    path = write_toml(BASE + 'fit.lr_schedule = "1e-4 * 10**(epochs/20)"\n')
    with pytest.raises(SpecError, match="unknown name 'epochs'"):
        load_experiments(path)


def test_range_test_needs_schedule(write_toml):
    path = write_toml(BASE + "fit.lr_range_test = true\n")
    with pytest.raises(SpecError, match="needs `lr_schedule`"):
        load_experiments(path)


def test_suggested_rate_must_name_an_earlier_range_test(write_toml):
    path = write_toml(BASE + 'compile.learning_rate = "suggested:model_9"\n')
    with pytest.raises(
        SpecError, match=r"must name an earlier experiment with `fit.lr_range_test = true`"
    ):
        load_experiments(path)


def test_duplicate_names(write_toml):
    path = write_toml(BASE + '[[experiments]]\nname = "a"\nmodel.preset = "mlp"\n')
    with pytest.raises(SpecError, match="the name 'a' is used twice"):
        load_experiments(path)


def test_model_needs_layers_or_preset(write_toml):
    path = write_toml(
        '[[experiments]]\nname = "a"\ndata.name = "circles"\nmodel.input_shape = [2]\n'
    )
    with pytest.raises(SpecError, match="give exactly one of `layers`"):
        load_experiments(path)


def test_missing_required_section(write_toml):
    path = write_toml('[[experiments]]\nname = "a"\nmodel.preset = "mlp"\n')
    with pytest.raises(SpecError, match=r"experiments\[0\] \(a\)\.data: required key is missing"):
        load_experiments(path)


def test_unknown_top_level_key(write_toml):
    path = write_toml("defualts = 1\n" + BASE)
    with pytest.raises(
        SpecError, match="unknown top-level key 'defualts'. Did you mean 'defaults'"
    ):
        load_experiments(path)


def test_bad_experiment_name(write_toml):
    path = write_toml(BASE.replace('name = "a"', 'name = "a b/c"'))
    with pytest.raises(SpecError, match="must start with a letter or digit"):
        load_experiments(path)


def test_split_sizes_validated(write_toml):
    path = write_toml(BASE + "data.test_size = 1.5\n")
    with pytest.raises(SpecError, match=r"data.test_size: must be a row count >= 0 or a fraction"):
        load_experiments(path)


def test_backend_value_checked(write_toml):
    path = write_toml(BASE + 'backend = "jaxx"\n')
    with pytest.raises(
        SpecError, match="backend: Input should be 'auto', 'jax', 'tensorflow' or 'torch'"
    ):
        load_experiments(path)


def test_suggested_rate_method_is_checked(write_toml):
    path = write_toml(
        BASE
        + """fit.lr_schedule = "1e-4 * 10**(epoch/20)"
fit.lr_range_test = true
[[experiments]]
name = "b"
model.preset = "mlp"
compile.learning_rate = "suggested:a:valey"
"""
    )
    with pytest.raises(
        SpecError,
        match=r"unknown suggestion 'valey'.*minimum/10, steepest, valley, midpoint. Received: learning_rate='suggested:a:valey'",
    ):
        load_experiments(path)
