"""The classification report neuralab computes from the confusion matrix is scikit-learn's."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import classification_report

from neuralab.analysis.evaluation import ClassificationEvaluation


def _cases() -> list[tuple[np.ndarray, np.ndarray, tuple[str, ...]]]:
    rng = np.random.default_rng(0)
    cases = []
    for trial in range(120):
        k = int(rng.integers(2, 6))
        n = int(rng.integers(1, 40))
        y_true = rng.integers(0, k, n)
        y_pred = rng.integers(0, k, n)
        if trial % 5 == 0:
            y_pred[:] = 0  # one class predicted for everything (zero divisions)
        names = tuple(f"c{i}" * int(rng.integers(1, 5)) for i in range(k))
        cases.append((y_true, y_pred, names))
    cases.append((np.array([2, 2]), np.array([0, 0]), ("a", "b", "não")))  # nothing right
    return cases


@pytest.mark.parametrize("digits", [2, 3])
def test_report_is_scikit_learns(digits: int) -> None:
    for y_true, y_pred, names in _cases():
        evaluation = ClassificationEvaluation(
            y_true=y_true,
            y_pred=y_pred,
            confidence=np.ones(len(y_true)),
            true_probability=np.ones(len(y_true)),
            class_names=names,
        )
        kwargs = {"labels": list(range(len(names))), "target_names": list(names)}
        assert evaluation.report_text(digits) == classification_report(
            y_true, y_pred, digits=digits, zero_division=0, **kwargs
        )
        expected = classification_report(
            y_true, y_pred, output_dict=True, zero_division=0, **kwargs
        )
        ours = evaluation.report()
        assert list(ours) == list(expected)
        for key, value in expected.items():
            assert ours[key] == (
                pytest.approx(value, rel=1e-12) if isinstance(value, dict) else value
            ), key
