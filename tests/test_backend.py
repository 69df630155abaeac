from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from neuralab.backend import choose_backend, has_gpu, use_backend
from neuralab.errors import NeuralabError

SRC = Path(__file__).resolve().parents[1] / "src"


@pytest.mark.skipif(has_gpu(), reason="the CPU rule applies only without a GPU")
def test_auto_rule_on_cpu():
    assert choose_backend("auto", layer_types=("Dense", "Dense")).name == "jax"
    conv = choose_backend("auto", layer_types=("Conv2D", "MaxPool2D", "Flatten", "Dense"))
    assert conv.name == "tensorflow" and "Conv2D" in conv.reason


def test_explicit_choice_wins():
    choice = choose_backend("torch", layer_types=("Conv2D",))
    assert (choice.name, choice.reason) == ("torch", "requested explicitly")


def test_unknown_backend():
    with pytest.raises(
        NeuralabError,
        match=r"`backend` must be one of \{'auto', 'jax', 'tensorflow', 'torch'\}. Received: backend='jx'",
    ):
        choose_backend("jx")


def test_cannot_switch_after_keras_import():
    import keras  # noqa: F401  (the test session runs on JAX)

    with pytest.raises(NeuralabError, match="already imported with the 'jax' backend"):
        use_backend("tensorflow")
    assert use_backend("jax").name == "jax"


def test_cli_applies_the_choice_before_keras_import(tmp_path):
    # A fresh process: the conv model gets TensorFlow, recorded in env.json.
    spec = tmp_path / "conv.toml"
    spec.write_text(
        """
[[experiments]]
name = "conv"
data = {name = "circles", n_samples = 64, test_size = 16}
model.input_shape = [2]
model.layers = [
  {type = "Reshape", target_shape = [2, 1]},
  {type = "Conv1D", filters = 2, kernel_size = 1},
  {type = "Flatten"},
  {type = "Dense", units = 1, activation = "sigmoid"},
]
fit.epochs = 1
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "KERAS_BACKEND"}
    env["PYTHONPATH"] = str(SRC)
    out = tmp_path / "runs"
    proc = subprocess.run(
        [sys.executable, "-m", "neuralab", "--quiet", "run", str(spec), "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    import json

    (env_file,) = out.glob("*/conv/env.json")
    recorded = json.loads(env_file.read_text())
    expected = "jax" if has_gpu() else "tensorflow"
    assert recorded["backend"] == expected
    assert recorded["backend_reason"].startswith(expected)
