"""Reading progress of a spec's table file (``data = {name = "csv", ...}``) in ``neuralab run``:
a rich bar of bytes read in a terminal, a few plain lines elsewhere, nothing with ``--quiet``."""

from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from neuralab.cli import app
from neuralab.data.table import read_table
from neuralab.data.table_format import current_reading_progress, reading_progress

runner = CliRunner()

SPEC = """
title = "a large table"
[defaults]
seed = 1
data = {{name = "csv", path = "{path}", label = "label"}}
compile = {{loss = "binary_crossentropy", optimizer = "Adam", learning_rate = 0.01}}
fit = {{epochs = 1, batch_size = 1024}}
model.layers = [
  {{type = "Dense", units = 4, activation = "relu"}},
  {{type = "Dense", units = 1, activation = "sigmoid"}},
]

[[experiments]]
name = "table"
"""


@pytest.fixture(scope="module")
def big_table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CSV of about 3.5 MB: 50,000 rows of 8 numbers and a 0/1 label."""
    folder = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50_000, 8)).round(4)
    y = (x[:, 0] + x[:, 1] ** 2 > 1).astype(int)
    rows = [
        ",".join(map(str, row)) + f",{label}\n" for row, label in zip(x.tolist(), y, strict=True)
    ]
    path = folder / "big.csv"
    path.write_text("a,b,c,d,e,f,g,h,label\n" + "".join(rows), encoding="utf-8")
    assert path.stat().st_size > 3_000_000
    (folder / "spec.toml").write_text(SPEC.format(path=path.as_posix()), encoding="utf-8")
    return path


def _run(table: Path, *options: str) -> str:
    spec = table.parent / "spec.toml"
    out = table.parent / f"runs{len(list(table.parent.glob('runs*')))}"
    result = runner.invoke(app, [*options, "run", str(spec), "--output", str(out)])
    assert result.exit_code == 0, result.output
    return result.output


def test_run_writes_a_few_reading_lines_when_not_a_terminal(big_table: Path) -> None:
    output = _run(big_table)
    size = big_table.stat().st_size
    lines = [line for line in output.splitlines() if line.startswith("big.csv:")]
    mb = f"{size / 1e6:,.1f} MB"
    assert re.fullmatch(rf"big\.csv: {mb} of {mb} read  \[\d:\d\d:\d\d\]", lines[-1]), output
    assert 1 <= len(lines) <= 3, output  # no bar redrawn line by line
    assert output.index("big.csv:") < output.index("table: 1/1 epochs"), output


def test_quiet_shows_no_reading_progress(big_table: Path) -> None:
    output = _run(big_table, "--quiet")
    assert "big.csv" not in output and "MB" not in output, output


def test_run_draws_a_bar_of_bytes_read_in_a_terminal(
    big_table: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from neuralab.cli import _progress
    from neuralab.cli._app import _Console

    screen = io.StringIO()
    terminal = _Console(file=screen, force_terminal=True, width=120, color_system=None)
    monkeypatch.setattr(_progress, "err_console", terminal)
    _run(big_table)
    shown = screen.getvalue()
    mb = f"{big_table.stat().st_size / 1e6:,.1f}"
    assert re.search(rf"reading big\.csv .*{re.escape(mb)}/{re.escape(mb)} MB", shown), shown
    assert re.search(r"table .* 1/1 ", shown), shown  # the epochs' bar in the same display


def test_reading_progress_reaches_tables_read_inside_the_block(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("x;y\n" + "".join(f"{i};{i % 2}\n" for i in range(200_000)))
    size = path.stat().st_size
    seen: list[tuple[str, int, int | None]] = []
    mine: list[tuple[str, int, int | None]] = []
    assert current_reading_progress() is None
    with reading_progress(lambda *a: seen.append(a)):
        read_table(path, label="y")
        read_table(path, label="y", progress=lambda *a: mine.append(a))  # its own wins
    assert current_reading_progress() is None
    read_table(path, label="y")  # outside: nothing
    assert seen == mine
    done = [d for _, d, _ in seen]
    assert done == sorted(done) and len(done) == len(set(done)) >= 2, seen  # the end once
    assert seen[-1] == ("t.csv", size, size)
