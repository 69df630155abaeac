from __future__ import annotations

import pytest

from neuralab.config import CompileSpec, Layer, ModelSpec
from neuralab.errors import SpecError
from neuralab.models import build_model, count_params, model_summary
from neuralab.models.builder import build_callback, build_loss, build_metrics, build_optimizer


def _build(*layers, input_shape=(2,)):
    return build_model(ModelSpec(layers=tuple(layers)), input_shape=input_shape)


def test_param_counts_of_the_chapter_models():
    # model_3: Dense(100) -> Dense(10) -> Dense(1) on 2 features: 300 + 1010 + 11.
    m3 = _build(Layer("Dense", units=100), Layer("Dense", units=10), Layer("Dense", units=1))
    assert count_params(m3)["total"] == 1321
    # model_7: 4-4-1 ReLU/sigmoid: 12 + 20 + 5.
    m7 = _build(
        Layer("Dense", units=4, activation="relu"),
        Layer("Dense", units=4, activation="relu"),
        Layer("Dense", units=1, activation="sigmoid"),
    )
    assert count_params(m7) == {"trainable": 37, "non_trainable": 0, "total": 37}
    assert "Total params: 37" in model_summary(m7)


def test_fashion_mlp_param_count():
    model = _build(
        Layer("Flatten"),
        Layer("Dense", units=300, activation="relu"),
        Layer("Dense", units=100, activation="relu"),
        Layer("Dense", units=10, activation="softmax"),
        input_shape=(28, 28),
    )
    assert count_params(model)["total"] == 266_610


def test_conv_layers_with_toml_lists():
    model = _build(
        Layer("Conv2D", filters=10, kernel_size=[3, 3], activation="relu"),
        Layer("MaxPool2D", pool_size=2),
        Layer("Flatten"),
        Layer("Dense", units=1, activation="sigmoid"),
        input_shape=(32, 32, 3),
    )
    # Conv: 3*3*3*10 + 10 = 280; Flatten of 15x15x10 = 2250 -> Dense(1): 2251.
    assert count_params(model)["total"] == 280 + 2251


def test_regularizer_shorthand():
    model = _build(
        Layer("Dense", units=3, kernel_regularizer={"l2": 0.001}), Layer("Dense", units=1)
    )
    reg = model.layers[0].kernel_regularizer
    assert type(reg).__name__ == "L2" and reg.l2 == pytest.approx(0.001)


@pytest.mark.parametrize(
    ("layer_args", "match"),
    [
        (
            {"kernel_regularizer": {"l2": -1}},
            r"model\.layers\[0\]\.kernel_regularizer: Keras rejected the regularizer "
            r"\{'l2': -1\}: .*non-negative.*Write non-negative factors, e\.g\. \{l2 = 0\.001\}",
        ),
        ({"bias_regularizer": -0.5}, r"layers\[0\]\.bias_regularizer: Keras rejected"),
        ({"kernel_regularizer": {"l2": "big"}}, r"kernel_regularizer: Keras rejected.*'big'"),
        ({"kernel_regularizer": {"l1": [1]}}, r"kernel_regularizer: Keras rejected"),
        (
            {"activity_regularizer": {"type": "L1L2", "l1": -1}},
            r"layers\[0\]\.activity_regularizer: Keras rejected",
        ),
        ({"kernel_initializer": "zeroes"}, r"layers\[0\]: Keras rejected Dense\(.*zeroes"),
        ({"kernel_constraint": {"type": "MaxNorm"}}, r"layers\[0\]: Keras rejected Dense"),
    ],
)
def test_values_keras_rejects_name_the_key(layer_args, match):
    with pytest.raises(SpecError, match=match) as info:
        _build(Layer("Dense", units=3, **layer_args), Layer("Dense", units=1))
    assert isinstance(info.value.__cause__, ValueError | TypeError)


@pytest.mark.parametrize(
    ("layer_args", "match"),
    [
        ({"input_shape": ["a", 2]}, r"model\.input_shape: dimensions must be positive integers"),
        ({"input_dim": "x"}, r"Received: \('x',\)"),
        ({"input_shape": [2**63]}, r"below 2\*\*31\. Received: \(9223372036854775808,\)"),
        ({"input_shape": 3}, r"layers\[0\]\.input_shape: must be a list of dimensions"),
    ],
)
def test_bad_input_shapes_on_the_first_layer(layer_args, match):
    # The fuzzer's finds (tests/test_fuzz_spec.py): TypeError and ValueError before.
    with pytest.raises(SpecError, match=match):
        _build(Layer("Dense", units=1, **layer_args))


def test_input_shape_on_first_layer_is_lifted():
    model = _build(Layer("Dense", units=1, input_shape=[5]))
    assert model.input_shape == (None, 5)


def test_preset_mlp():
    model = build_model(
        ModelSpec(preset="mlp", preset_args={"hidden_units": [8, 8]}), input_shape=(2,)
    )
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense", "Dense"]
    assert count_params(model)["total"] == 24 + 72 + 9


def test_unknown_layer_suggests_nearest():
    with pytest.raises(
        SpecError, match=r"model.layers\[0\].type: unknown layer 'Dens'. Did you mean 'Dense'\?"
    ):
        _build(Layer("Dens", units=1))


def test_wrong_layer_argument():
    with pytest.raises(
        SpecError,
        match=r"model.layers\[1\].unit: Dense has no argument 'unit'. Did you mean 'units'\?",
    ):
        _build(Layer("Dense", units=2), Layer("Dense", unit=1))


def test_invalid_layer_value_reports_keras_reason():
    with pytest.raises(SpecError, match=r"Keras rejected Dense\(units=-1\).*Received: units=-1"):
        _build(Layer("Dense", units=-1))


def test_unknown_preset():
    with pytest.raises(
        SpecError,
        match=r"`preset` must be one of \{'conv_stack', 'logistic_regression', 'mlp', 'tinyvgg'\}. Received: preset='mpl'",
    ):
        build_model(ModelSpec(preset="mpl"), input_shape=(2,))


def test_unknown_loss_optimizer_metric_callback():
    with pytest.raises(
        SpecError, match="unknown loss 'binary_crosentropy'. Did you mean 'binary_crossentropy'"
    ):
        build_loss(CompileSpec(loss="binary_crosentropy"))  # type: ignore[arg-type]
    with pytest.raises(
        SpecError, match=r"unknown optimizer 'Adamm'. Did you mean 'Adam'\? Valid optimizers: .*SGD"
    ):
        build_optimizer(CompileSpec(optimizer="Adamm"))  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="unknown metric 'acuracy'. Did you mean 'accuracy'"):
        build_metrics(CompileSpec(metrics=("acuracy",)))
    with pytest.raises(
        SpecError, match="unknown callback 'EarlyStoping'. Did you mean 'EarlyStopping'"
    ):
        build_callback("EarlyStoping", {}, where="fit.callbacks[0]")


def test_loss_name_with_arguments_uses_the_class():
    loss = build_loss(CompileSpec(loss={"type": "binary_crossentropy", "from_logits": True}))  # type: ignore[arg-type]
    assert loss.get_config()["from_logits"] is True


def test_optimizer_case_insensitive_and_learning_rate():
    opt = build_optimizer(CompileSpec(optimizer="adam"), 0.02)  # type: ignore[arg-type]
    assert type(opt).__name__ == "Adam"
    assert float(opt.learning_rate) == pytest.approx(0.02)


def test_learning_rate_given_twice():
    with pytest.raises(SpecError, match="given twice"):
        build_optimizer(CompileSpec(optimizer={"type": "Adam", "learning_rate": 0.1}), 0.01)  # type: ignore[arg-type]


def test_layer_names_are_numbered_per_model_like_a_fresh_session():
    first = _build(Layer("Flatten"), Layer("Dense", units=3), Layer("Dense", units=2))
    second = _build(
        Layer("Dense", units=3, name="dense_1"), Layer("Dense", units=3), Layer("Dense", units=2)
    )
    assert [layer.name for layer in first.layers] == ["flatten", "dense", "dense_1"]
    assert [layer.name for layer in second.layers] == ["dense_1", "dense", "dense_2"]


def test_metric_names_are_the_same_in_every_build():
    # Keras names the second AUC() of a process 'auc_1'; `expect = test_auc` needs 'auc'.
    spec = CompileSpec(metrics=("AUC", {"type": "Precision"}, {"type": "AUC", "name": "roc"}))
    for _ in range(2):
        names = [m.name for m in build_metrics(spec)]
        assert names == ["auc", "precision", "roc"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            {"patience": "x"},
            r"callbacks\[0\]\.patience: `patience` must be a number \(the default is 0\)\. Received: patience='x'\.",
        ),
        (
            {"restore_best_weights": "yes"},
            r"\.restore_best_weights: `restore_best_weights` must be true or false",
        ),
        ({"monitor": 3}, r"\.monitor: `monitor` must be a string \(the default is 'val_loss'\)"),
    ],
)
def test_callback_arguments_of_the_wrong_kind_are_named_before_training(args, message):
    from neuralab.models.builder import build_callback

    with pytest.raises(SpecError, match=message):
        build_callback("EarlyStopping", args, where="f.toml: experiments[0] (m).fit.callbacks[0]")
    # Numbers of either kind where the default is a number, and None, are fine.
    stop = build_callback(
        "EarlyStopping", {"patience": 3, "min_delta": 0.001, "baseline": None}, where="w"
    )
    assert stop.patience == 3
