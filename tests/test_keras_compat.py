"""The one module that may use private Keras names, and its version check."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import keras
import pytest

from neuralab import _keras_compat
from neuralab._keras_compat import SUPPORTED_KERAS, check_keras_version

PACKAGE_DIR = Path(__file__).resolve().parents[1] / "src" / "neuralab"


@pytest.mark.parametrize("version", ["3.14.2", "3.16.0", "4.0.0", "3.16.0rc1", "not-a-version"])
def test_an_unsupported_keras_warns_naming_both_versions(monkeypatch, version):
    monkeypatch.setattr(keras, "__version__", version)
    with pytest.warns(UserWarning) as caught:
        check_keras_version()
    assert len(caught) == 1
    message = str(caught[0].message)
    assert f"keras {version} is installed" in message
    assert ">=3.15,<3.16" in message
    assert "private Keras APIs neuralab uses may have changed" in message


@pytest.mark.parametrize("version", ["3.15.0", "3.15.1", "3.15.2rc1"])
def test_a_supported_keras_is_silent(monkeypatch, version):
    monkeypatch.setattr(keras, "__version__", version)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_keras_version()


def test_the_installed_keras_is_supported():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_keras_version()


def test_supported_range_matches_pyproject():
    pyproject = (PACKAGE_DIR.parents[1] / "pyproject.toml").read_text(encoding="utf-8")
    assert f'"keras{SUPPORTED_KERAS}"' in pyproject


def test_the_first_compat_call_checks_once(monkeypatch):
    monkeypatch.setattr(_keras_compat, "_version_checked", False)
    monkeypatch.setattr(keras, "__version__", "3.16.0")
    optimizer = keras.optimizers.SGD(learning_rate=0.5)
    with pytest.warns(UserWarning, match="3.16.0") as caught:
        _keras_compat.stored_learning_rate(optimizer)
        _keras_compat.stored_learning_rate(optimizer)
        with _keras_compat.stateless_scope([]):
            pass
    assert len(caught) == 1


def test_importing_the_compat_module_does_not_import_keras():
    code = "import sys, neuralab._keras_compat; print('keras' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"


def test_stored_learning_rate_round_trip():
    optimizer = keras.optimizers.SGD(
        learning_rate=keras.optimizers.schedules.ExponentialDecay(
            0.1, decay_steps=10, decay_rate=0.5
        )
    )
    schedule = _keras_compat.stored_learning_rate(optimizer)
    variable = keras.Variable(0.01, name="learning_rate", trainable=False)
    _keras_compat.set_stored_learning_rate(optimizer, variable)
    assert float(_keras_compat.current_learning_rate_tensor(optimizer)) == pytest.approx(0.01)
    _keras_compat.set_stored_learning_rate(optimizer, schedule)
    _keras_compat.untrack_optimizer_variable(optimizer, variable)
    assert all(v is not variable for v in optimizer.variables)
    assert float(_keras_compat.current_learning_rate_tensor(optimizer)) == pytest.approx(0.1)


def test_no_other_module_names_keras_src():
    offenders = [
        str(path.relative_to(PACKAGE_DIR.parent))
        for path in sorted(PACKAGE_DIR.rglob("*.py"))
        if path.name != "_keras_compat.py" and "keras.src" in path.read_text(encoding="utf-8")
    ]
    # A pointer to Keras's source in a comment can be written as a path: keras/src/....
    assert offenders == [], (
        f"{offenders} name keras.src: add a function to neuralab/_keras_compat.py instead"
    )
