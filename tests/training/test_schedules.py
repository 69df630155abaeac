from __future__ import annotations

import math

import pytest

from neuralab.errors import SpecError
from neuralab.training.schedules import EpochSchedule


def test_chapter_schedule_by_hand():
    schedule = EpochSchedule("1e-4 * 10**(epoch/20)")
    # 1e-4 at epoch 0, 10x every 20 epochs: 1e-3 at 20, 1e-2 at 40, 1e-1 at 60.
    for epoch, expected in [
        (0, 1e-4),
        (20, 1e-3),
        (40, 1e-2),
        (60, 1e-1),
        (10, 1e-4 * math.sqrt(10)),
    ]:
        assert schedule(epoch) == pytest.approx(expected, rel=1e-12)


def test_uses_current_rate_and_conditionals():
    schedule = EpochSchedule("lr if epoch < 10 else lr * exp(-0.1)")
    assert schedule(5, 0.01) == 0.01
    assert schedule(10, 0.01) == pytest.approx(0.01 * math.exp(-0.1))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("__import__('os').system('true')", "may only call"),
        ("epoch.real", "Attribute is not allowed"),
        ("1e-4 *", "not a valid expression"),
        ("rate * 2", "unknown name 'rate'"),
        ("'0.1'", "may only contain numbers"),
        ("0 * epoch", "must give a positive learning rate"),
    ],
)
def test_rejects_anything_but_arithmetic(text, match):
    with pytest.raises(SpecError, match=match):
        EpochSchedule(text)
