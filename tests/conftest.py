"""Test set-up: JAX backend (dense models), Agg plots, quiet TensorFlow."""

from __future__ import annotations

import os

# The backend must be chosen before Keras is imported anywhere.
os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tempfile
from pathlib import Path

import pytest

from neuralab.backend import enable_compilation_cache

SRC = Path(__file__).resolve().parents[1] / "src"

# Compiled epoch programs are shared between tests that train same-shaped models.
enable_compilation_cache(Path(tempfile.gettempdir()) / "neuralab-test-xla-cache")


@pytest.fixture
def write_toml(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write TOML text to a file in tmp_path and return its path."""

    def _write(text: str, name: str = "spec.toml") -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return _write


TINY_SPEC = """
title = "tiny"
[defaults]
seed = 1
[defaults.data]
name = "circles"
n_samples = 200
test_size = 40
[defaults.compile]
loss = "binary_crossentropy"
optimizer = "Adam"
learning_rate = 0.01
[defaults.fit]
epochs = 3
batch_size = 32

[[experiments]]
name = "small"
model.layers = [
  {type = "Dense", units = 4, activation = "relu"},
  {type = "Dense", units = 1, activation = "sigmoid"},
]
"""


@pytest.fixture
def tiny_spec(write_toml):  # type: ignore[no-untyped-def]
    return write_toml(TINY_SPEC)


@pytest.fixture
def tiny_spec_text() -> str:
    return TINY_SPEC
