from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest

from neuralab.analysis import (
    DecisionBoundaryDisplay,
    LearningCurvesDisplay,
    LRRangeDisplay,
    figure_to_png,
    plot_decision_boundaries,
    save_figure,
)
from neuralab.data import make_blobs, make_circles
from neuralab.errors import DataError

PNG = b"\x89PNG\r\n\x1a\n"


def _right_half(grid: np.ndarray) -> np.ndarray:
    return (grid[:, 0:1] > 0).astype("float32")


def test_binary_boundary_from_a_known_rule():
    data = make_circles(200, seed=0)
    disp = DecisionBoundaryDisplay.from_predict(
        _right_half, data.x, data.y, class_names=["outer", "inner"], title="Train"
    )
    np.testing.assert_array_equal(disp.predictions, (disp.xx > 0).astype(int))
    assert disp.xx.shape == (100, 100)
    assert disp.xx.min() == pytest.approx(data.x[:, 0].min() - 0.1)
    disp.plot(xlabel="X0", ylabel="X1")
    assert disp.ax_.get_title() == "Train"
    assert (disp.ax_.get_xlabel(), disp.ax_.get_ylabel()) == ("X0", "X1")
    assert [t.get_text() for t in disp.ax_.get_legend().get_texts()] == ["outer", "inner"]
    assert figure_to_png(disp.figure_).startswith(PNG)


def test_multiclass_boundary_uses_argmax_and_accepts_onehot():
    data = make_blobs(150, n_classes=3, seed=0)

    def by_angle(grid: np.ndarray) -> np.ndarray:
        k = (np.floor((np.arctan2(grid[:, 1], grid[:, 0]) + np.pi) / (2 * np.pi / 3)) % 3).astype(
            int
        )
        return np.eye(3)[k]

    disp = DecisionBoundaryDisplay.from_predict(by_angle, data.x, np.eye(3)[data.y])
    assert set(np.unique(disp.predictions)) == {0, 1, 2}
    np.testing.assert_array_equal(disp.y, data.y)
    disp.plot()
    assert len(disp.ax_.get_legend().get_texts()) == 3


def test_boundary_needs_two_features():
    with pytest.raises(
        DataError,
        match=r"Decision boundaries need 2 input features; the data have 5 \(shape \(10, 5\)\)",
    ):
        DecisionBoundaryDisplay.from_predict(_right_half, np.zeros((10, 5)), np.zeros(10))


def test_boundary_of_a_real_model_and_side_by_side_panels(tmp_path):
    data = make_circles(300, seed=1)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.05))
    model.fit(data.x, data.y, epochs=40, verbose=0)
    disp = DecisionBoundaryDisplay.from_model(model, data.x, data.y)
    # The trained model puts the centre inside and a corner outside.
    centre = disp.predictions[50, 50]
    corner = disp.predictions[0, 0]
    assert (centre, corner) == (1, 0)
    fig = plot_decision_boundaries(
        model,
        [("Treino", data.x[:200], data.y[:200]), ("Teste", data.x[200:], data.y[200:])],
        title="model",
    )
    assert [ax.get_title() for ax in fig.axes] == ["Treino", "Teste"]
    path = save_figure(fig, tmp_path / "plots" / "b.png")
    assert path.read_bytes().startswith(PNG)


def test_learning_curves_panels_styles_and_labels():
    history = pd.DataFrame(
        {
            "loss": [0.7, 0.5, 0.3],
            "accuracy": [0.5, 0.7, 0.9],
            "val_loss": [0.8, 0.6, 0.4],
            "val_accuracy": [0.4, 0.6, 0.8],
            "learning_rate": [1e-3, 1e-2, 1e-1],
        }
    )
    labels = {
        "loss": "Perda",
        "accuracy": "Acurácia",
        "learning rate": "Taxa de aprendizado",
        "train": "Treino",
        "validation": "Validação",
    }
    disp = LearningCurvesDisplay.from_history(history, title="curvas").plot(
        xlabel="época", labels=labels
    )
    loss_ax, acc_ax, lr_ax = disp.axes_
    assert loss_ax.get_ylabel() == "Perda" and acc_ax.get_ylabel() == "Acurácia"
    assert [line.get_linestyle() for line in loss_ax.get_lines()] == ["-", "--"]
    assert [t.get_text() for t in loss_ax.get_legend().get_texts()] == ["Treino", "Validação"]
    assert loss_ax.get_lines()[0].get_color() == loss_ax.get_lines()[1].get_color()
    assert list(loss_ax.get_lines()[0].get_xdata()) == [1, 2, 3]
    assert lr_ax.get_yscale() == "log" and lr_ax.get_title() == "Taxa de aprendizado"
    assert loss_ax.get_xlabel() == "época"
    assert disp.figure_._suptitle.get_text() == "curvas"


def test_learning_curves_from_keras_history_dict():
    disp = LearningCurvesDisplay.from_history({"loss": [1.0, 0.5]}).plot()
    assert len(disp.axes_) == 1


def test_lr_range_plot_marks_suggestions():
    lrs = np.logspace(-4, 0, 50)
    loss = (np.log10(lrs) + 2) ** 2
    disp = LRRangeDisplay.from_range_test(
        lrs, loss, suggestions={"minimum/10": 1e-3, "steepest": 3e-3}, title="LR"
    ).plot(
        xlabel="Taxa de aprendizado", ylabel="Perda", suggestion_labels={"minimum/10": "mínimo/10"}
    )
    assert disp.ax_.get_xscale() == "log"
    assert (disp.ax_.get_xlabel(), disp.ax_.get_ylabel()) == ("Taxa de aprendizado", "Perda")
    vlines = [line.get_xdata()[0] for line in disp.ax_.get_lines() if line.get_linestyle() == ":"]
    assert vlines == pytest.approx([1e-3, 3e-3])
    legend = [t.get_text() for t in disp.ax_.get_legend().get_texts()]
    assert legend == ["mínimo/10: 1.00e-03", "steepest: 3.00e-03"]


def test_a_constant_learning_rate_is_said_in_the_title_not_drawn():
    history = {"loss": [0.7, 0.5], "accuracy": [0.5, 0.8], "learning_rate": [1e-3, 1e-3]}
    disp = LearningCurvesDisplay.from_history(history, title="curvas").plot(
        labels={"learning rate": "Taxa de aprendizado"}
    )
    assert len(disp.axes_) == 2  # loss and accuracy, no flat line
    assert disp.figure_._suptitle.get_text() == "curvas (taxa de aprendizado 0.001)"
    # Laid out once, when drawn (no tight_layout now and again when saved).
    assert disp.figure_.get_layout_engine() is not None
