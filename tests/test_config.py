from __future__ import annotations

import subprocess
import sys

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
            "compile.learning_rate: must be a finite positive number, e.g. 0.001. "
            "Received: learning_rate=-0.1.",
        ),
        (
            "compile.learning_rate = 0.0",
            "compile.learning_rate: must be a finite positive number, e.g. 0.001. "
            "Received: learning_rate=0.0.",
        ),
        (
            "compile.learning_rate = inf",
            "compile.learning_rate: must be a finite positive number, e.g. 0.001. "
            "Received: learning_rate=inf.",
        ),
        (
            "compile.learning_rate = nan",
            "compile.learning_rate: must be a finite positive number, e.g. 0.001. "
            "Received: learning_rate=nan.",
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


def test_huge_power_in_lr_schedule_is_refused_at_once(write_toml):
    # 10**10**10 used to run for hours; a subprocess timeout bounds the test (a signal
    # cannot interrupt Python's integer power).
    path = write_toml(BASE + 'fit.lr_schedule = "10**10**10"\n')
    code = (
        "import sys\n"
        "from neuralab.config import load_experiments\n"
        "from neuralab.errors import SpecError\n"
        "try:\n"
        "    load_experiments(sys.argv[1])\n"
        "except SpecError as exc:\n"
        "    print(exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert (
        f"{path}: experiments[0] (a).fit.lr_schedule: `lr_schedule` would compute "
        "10 ** 10000000000 at epoch 0" in done.stdout
    ), done.stdout
    assert "powers must stay below 2**1024" in done.stdout
    assert "Received: lr_schedule='10**10**10'. Keep exponents small" in done.stdout


def test_lr_schedule_arithmetic_errors_name_the_key(write_toml):
    path = write_toml(BASE + 'fit.lr_schedule = "0.1 / (epoch - epoch)"\n')
    with pytest.raises(
        SpecError,
        match=r"experiments\[0\] \(a\)\.fit\.lr_schedule: `lr_schedule` cannot be computed at "
        r"epoch 0 \(lr=0\.001\): float division by zero\. Received: lr_schedule='0\.1 / \(epoch - "
        r"epoch\)'\. Write arithmetic",
    ):
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


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("modelo_ção", "modelo_ção"),
        ("modelo_c\u0327a\u0303o", "modelo_ção"),  # decomposed: normalized to NFC
        ("模型-1.b", "模型-1.b"),
        ("Ωmega_2", "Ωmega_2"),
    ],
)
def test_unicode_experiment_names(name, expected):
    document = {
        "experiments": [{"name": name, "data": {"name": "circles"}, "model": {"preset": "mlp"}}]
    }
    assert parse_experiments(document).names() == [expected]


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("a/b", "'/' is not allowed"),
        ("a\\b", r"'\\\\' is not allowed"),
        ("a..b", "'..' is not allowed"),
        ("..", "it starts with '.'"),
        (".hidden", "it starts with '.'"),
        ("-x", "it starts with '-'"),
        ("a\x00b", r"'\\x00' is not allowed"),
        ("a\nb", r"'\\n' is not allowed"),
        ("a\u202eb", r"'\\u202e' is not allowed"),  # right-to-left override
        ("a b", "' ' is not allowed"),
        ("", "it is empty"),
        ("ç" * 101, "is 202 bytes long in UTF-8; at most 200"),
    ],
)
def test_experiment_names_that_are_not_directory_names(name, problem):
    document = {
        "experiments": [{"name": name, "data": {"name": "circles"}, "model": {"preset": "mlp"}}]
    }
    with pytest.raises(SpecError, match=r"experiments\[0\].*\.name: .*" + problem):
        parse_experiments(document, source="spec.toml")


def test_unicode_name_gets_its_run_directory(tmp_path):
    from neuralab.runs.runner import run_experiment

    spec = parse_experiments(
        {
            "experiments": [
                {
                    "name": "modelo_c\u0327a\u0303o",
                    "data": {"name": "circles", "n_samples": 100, "test_size": 20},
                    "model": {"preset": "mlp"},
                    "fit": {"epochs": 1},
                }
            ]
        }
    ).experiments[0]
    result = run_experiment(spec, output=tmp_path, write_report=False)
    (run,) = tmp_path.iterdir()
    assert run.name.startswith("modelo_ção"), run.name
    assert result.path == run
    assert (run / "metrics.json").exists()


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


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        ({"seed": -1}, r"\.seed: Input should be greater than or equal to 0\. Received: seed=-1\."),
        ({"seed": 2**32}, r"\.seed: Input should be less than 4294967296\. Received: seed="),
        (
            {"data": {"name": "circles", "test_size": float("nan")}},
            r"\.data\.test_size: must be a row count >= 0 or a fraction in \[0, 1\)\. "
            r"Received: test_size=nan\.",
        ),
        (
            {"model": {"preset": "mlp", "preset_args": {"hidden_units": "many"}}},
            r"model\.preset_args: invalid value for the 'mlp' preset: .*'m'\. "
            r"Received: preset_args=\{'hidden_units': 'many'\}\.",
        ),
        (
            {"model": {"preset": "tinyvgg", "preset_args": {"blocks": 10**9}}},
            r"model\.preset_args: `blocks` must be an integer from 0 to 100\. "
            r"Received: blocks=1000000000\.",
        ),
        (
            {
                "compile": {
                    "metrics": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]
                }
            },
            r"experiments\[0\]\.compile\.metrics\[0\](\[0\])+: nested more than 32 levels deep",
        ),
    ],
)
def test_values_the_fuzzer_found(extra, match):
    # Each of these raised ValueError, RecursionError or hung before (tests/test_fuzz_spec.py).
    from neuralab.config import preset_layers

    experiment = {"name": "a", "data": {"name": "circles"}, "model": {"preset": "mlp"}, **extra}
    with pytest.raises(SpecError, match=match):
        spec = parse_experiments({"experiments": [experiment]}, source="spec.toml").experiments[0]
        preset_layers(spec.model.preset or "", spec.model.preset_args)  # as the builder does


def test_toml_nested_too_deeply_to_read(write_toml):
    path = write_toml(BASE + "compile.metrics = " + "[" * 2000 + "]" * 2000 + "\n")
    with pytest.raises(SpecError, match=r"malformed TOML: arrays or tables nested too deeply"):
        load_experiments(path)


def test_a_when_override_of_data_path_is_relative_to_the_spec_file_too(tmp_path):
    folder = tmp_path / "curso"
    folder.mkdir()
    spec = folder / "spec.toml"
    spec.write_text(
        '[[experiments]]\nname = "e"\ndata = {name = "csv", path = "full.csv", label = "y"}\n'
        '[experiments.model]\npreset = "mlp"\n'
        '[experiments.when.quick]\ndata.path = "small.csv"\n',
        encoding="utf-8",
    )
    exp = load_experiments(spec).experiments[0]
    assert exp.data.params["path"] == str(folder / "full.csv")
    assert exp.for_data("quick").data.params["path"] == str(folder / "small.csv")
    assert exp.for_data("quick").data.params["label"] == "y"
