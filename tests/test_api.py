"""The Python API shown in the README."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import keras
import numpy as np

import neuralab

SRC = Path(__file__).resolve().parents[1] / "src"


def test_importing_neuralab_does_not_import_keras():
    code = "import sys, neuralab; neuralab.load_experiments; print('keras' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": str(SRC)},
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "False"


def test_readme_any_keras_model_example():
    data = neuralab.data.make_circles(1000)
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((2,)),
            keras.layers.Dense(4, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    result = neuralab.train(model, data.x, data.y, epochs=2)
    weights = [w.copy() for w in model.get_weights()]
    found = neuralab.find_learning_rate(model, data.x, data.y)
    assert result.epochs_run == 2 and set(found.suggestions) == {
        "minimum/10",
        "steepest",
        "valley",
        "midpoint",
    }
    for a, b in zip(weights, model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert "TrainingResult(epochs_run=2" in repr(result)
    assert repr(data).startswith("Dataset(name='circles', n_samples=1000")
