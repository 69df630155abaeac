from __future__ import annotations

import numpy as np
import pytest

from neuralab.config import Layer, ModelSpec
from neuralab.data import Dataset, make_blobs, make_circles
from neuralab.errors import ShapeError
from neuralab.models import build_model, check_model_fits_data, diagnose


def _model(*layers, input_shape):
    return build_model(ModelSpec(layers=tuple(layers), input_shape=input_shape))


def _codes(findings):
    return [f.code for f in findings]


IMAGES = Dataset(
    x=np.random.default_rng(0).random((20, 8, 8), dtype=np.float32),
    y=np.arange(20) % 3,
    name="images",
)


def test_healthy_binary_model_has_no_findings():
    model = _model(
        Layer("Dense", units=4, activation="relu"),
        Layer("Dense", units=1, activation="sigmoid"),
        input_shape=(2,),
    )
    assert diagnose(model, make_circles(50), loss="binary_crossentropy") == []


def test_images_into_dense_without_flatten():
    model = _model(Layer("Dense", units=3, activation="softmax"), input_shape=(8, 8))
    with pytest.raises(
        ShapeError,
        match=r"samples are 2-D \(8, 8\).*without a Flatten.*Add \{type = \"Flatten\"\} before the first Dense",
    ):
        check_model_fits_data(model, IMAGES, loss="sparse_categorical_crossentropy")


def test_flatten_fixes_it():
    model = _model(
        Layer("Flatten"), Layer("Dense", units=3, activation="softmax"), input_shape=(8, 8)
    )
    assert diagnose(model, IMAGES, loss="sparse_categorical_crossentropy") == []


def test_three_classes_with_one_sigmoid_unit():
    model = _model(Layer("Dense", units=1, activation="sigmoid"), input_shape=(2,))
    with pytest.raises(
        ShapeError,
        match=r"binary_crossentropy needs labels in \{0, 1\}.*3 values \(0, 1, 2\).*3 classes with a 1-unit output.*Dense\(3, activation='softmax'\)",
    ):
        check_model_fits_data(model, make_blobs(60, n_classes=3), loss="binary_crossentropy")


def test_onehot_labels_with_sparse_loss():
    blobs = make_blobs(60, n_classes=3)
    onehot = Dataset(x=blobs.x, y=np.eye(3)[blobs.y], name="onehot")
    model = _model(Layer("Dense", units=3, activation="softmax"), input_shape=(2,))
    with pytest.raises(
        ShapeError,
        match="labels are one-hot \\(3 columns\\) but sparse_categorical_crossentropy expects class ids",
    ):
        check_model_fits_data(model, onehot, loss="sparse_categorical_crossentropy")
    # ... and the fix passes.
    assert diagnose(model, onehot, loss="categorical_crossentropy") == []


def test_class_ids_with_categorical_loss():
    model = _model(Layer("Dense", units=3, activation="softmax"), input_shape=(2,))
    with pytest.raises(ShapeError, match="categorical_crossentropy expects one-hot labels"):
        check_model_fits_data(model, make_blobs(30, n_classes=3), loss="categorical_crossentropy")


def test_binary_loss_with_labels_outside_01():
    data = Dataset(x=np.zeros((4, 2), dtype=np.float32), y=np.array([0, 1, 2, 5]))
    model = _model(Layer("Dense", units=1, activation="sigmoid"), input_shape=(2,))
    with pytest.raises(ShapeError, match=r"needs labels in \{0, 1\}.*\(0, 1, 2, 5\)"):
        check_model_fits_data(model, data, loss="binary_crossentropy")


def test_class_ids_beyond_output_width():
    model = _model(Layer("Dense", units=3, activation="softmax"), input_shape=(2,))
    with pytest.raises(
        ShapeError, match=r"labels go up to class id 4 but the output layer has only 3 units"
    ):
        check_model_fits_data(
            model, make_blobs(50, n_classes=5), loss="sparse_categorical_crossentropy"
        )


def test_binary_labels_with_wide_output():
    model = _model(Layer("Dense", units=2, activation="sigmoid"), input_shape=(2,))
    with pytest.raises(ShapeError, match="needs a 1-unit output, but the output layer has 2 units"):
        check_model_fits_data(model, make_circles(20), loss="binary_crossentropy")


def test_input_shape_mismatch():
    model = _model(Layer("Dense", units=1, activation="sigmoid"), input_shape=(3,))
    with pytest.raises(
        ShapeError,
        match=r"model expects samples of shape \(3,\) but the data's samples have shape \(2,\)",
    ):
        check_model_fits_data(model, make_circles(20), loss="binary_crossentropy")


def test_softmax_on_one_unit():
    model = _model(Layer("Dense", units=1, activation="softmax"), input_shape=(2,))
    with pytest.raises(ShapeError, match="softmax over one unit always outputs 1.0"):
        check_model_fits_data(model, make_circles(20), loss="binary_crossentropy")


def test_linear_output_with_probability_loss_is_a_warning():
    # The chapter's models 1-6: legal, but why they learn nothing.
    model = _model(
        Layer("Dense", units=4, activation="relu"), Layer("Dense", units=1), input_shape=(2,)
    )
    findings = check_model_fits_data(model, make_circles(20), loss="binary_crossentropy")
    assert _codes(findings) == ["binary_activation"]
    assert findings[0].severity == "warning"


def test_from_logits_silences_the_warning():
    import keras

    model = _model(Layer("Dense", units=1), input_shape=(2,))
    loss = keras.losses.BinaryCrossentropy(from_logits=True)
    assert diagnose(model, make_circles(20), loss=loss) == []


def test_ten_output_classes_for_data_with_three():
    model = _model(Layer("Dense", units=10, activation="softmax"), input_shape=(2,))
    with pytest.raises(ShapeError) as info:
        check_model_fits_data(
            model, make_blobs(60, n_classes=3), loss="sparse_categorical_crossentropy"
        )
    assert str(info.value) == (
        "data and model do not fit: the output layer has 10 units (one per class) but the data "
        "have 3 classes (class 0, class 1, class 2): 7 outputs would stand for classes that never occur. Use "
        "Dense(3, activation='softmax'), or check that this is the right data set."
    )
