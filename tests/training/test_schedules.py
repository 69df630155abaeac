from __future__ import annotations

import math
import subprocess
import sys

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


def test_huge_power_is_refused_before_it_is_computed():
    # 10**10**10 is a 4 GB integer that took hours to compute. The bound is a subprocess
    # timeout: a signal handler cannot interrupt Python's integer power.
    code = (
        "from neuralab.errors import SpecError\n"
        "from neuralab.training.schedules import EpochSchedule\n"
        "for text in ('10**10**10', '1e-4 * 10.0**(10**9)', '(epoch + 10)**10**10'):\n"
        "    try:\n"
        "        EpochSchedule(text)\n"
        "    except SpecError as exc:\n"
        "        print(exc)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3, done.stdout
    assert lines[0] == (
        "`lr_schedule` would compute 10 ** 10000000000 at epoch 0, about 2**3.32e+10; powers "
        "must stay below 2**1024 (the largest float, about 1.8e308). Received: "
        "lr_schedule='10**10**10'. Keep exponents small, e.g. '1e-4 * 10**(epoch/20)'."
    )
    assert lines[1].startswith("`lr_schedule` would compute 10.0 ** 1000000000 at epoch 0")
    assert lines[2].startswith("`lr_schedule` would compute 10 ** 10000000000 at epoch 0")


def test_power_limit_also_holds_at_later_epochs():
    schedule = EpochSchedule("1e-3 * 10**epoch")
    assert schedule(300) == pytest.approx(1e297)
    with pytest.raises(SpecError, match=r"would compute 10 \*\* 400 at epoch 400"):
        schedule(400)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("1 / (epoch - epoch)", "cannot be computed at epoch 0 .*division by zero"),
        ("log(epoch)", "cannot be computed at epoch 0 .*math domain error"),
        ("exp(1000)", "cannot be computed at epoch 0 .*math range error"),
        ("floor(1e308 * 10)", "cannot be computed at epoch 0 .*infinity"),
        ("2**1000 * 2**1000 * 1e-600", "cannot be computed at epoch 0 .*too large"),
        ("(-8)**0.5", "negative number -8 to the fractional power 0.5"),
        ("2.0**1024", r"would compute 2.0 \*\* 1024"),
        ("exp(1, 2)", r"calls exp\(\) with 2 argument\(s\); it takes 1"),
        ("min(1)", r"calls min\(\) with 1 argument\(s\); it takes 2 or more"),
        ("exp(x=1)", r"calls exp\(\) with 0 argument\(s\) and keywords"),
        ("-" * 200 + "1", "nested more than 100 levels deep"),
        ("+".join(["1e-3"] * 300), "is 1499 characters long; at most 1000"),
    ],
)
def test_arithmetic_errors_are_spec_errors(text, match):
    with pytest.raises(SpecError, match=match):
        EpochSchedule(text)


def test_errors_during_training_name_the_epoch():
    schedule = EpochSchedule("0.1 / (epoch - 3) if epoch != 0 else 0.1")
    assert schedule(1) == pytest.approx(-0.05)
    with pytest.raises(SpecError, match="cannot be computed at epoch 3 "):
        schedule(3)
