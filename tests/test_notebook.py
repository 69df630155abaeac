"""Labs as notebooks: generated for every lab, executed top to bottom by a real kernel.

Every lab's quick notebook (one seed) runs through nbclient and an ipykernel kernel of this
interpreter: circles and fashion-mnist in the fast tests, the other labs (tens of seconds
each) as ``slow`` tests; some in Portuguese. Every lab's notebook is also generated and
validated in both languages in the fast tests.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from neuralab.cli import app
from neuralab.errors import NeuralabError
from neuralab.labs.registry import LABS, lab_narratives, load_lab_spec
from neuralab.notebooks import ProgressBar, lab_notebook, progress_bars, write_notebook

nbformat = pytest.importorskip("nbformat")

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def _code_cells(notebook: Any) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def _markdown(notebook: Any) -> str:
    return "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "markdown")


# ------------------------------------------------------------------ generated, every lab


@pytest.mark.parametrize("lang", ["en", "pt"])
@pytest.mark.parametrize("name", sorted(LABS))
def test_every_lab_has_a_valid_notebook(name: str, lang: str) -> None:
    notebook = lab_notebook(name, lang=lang, quick=True)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    assert notebook.metadata.neuralab == {"lab": name, "lang": lang, "quick": True, "seeds": None}
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    code = _code_cells(notebook)
    for source in code:
        ast.parse(source)  # every code cell is valid Python
    setup = code[0]
    assert f'LAB = "{name}"' in setup and f'LANG = "{lang}"' in setup
    assert "QUICK = True" in setup and "use_backend" in setup
    assert any(
        "run_lab(" in c and "quick=QUICK" in c and "progress=progress_bars()" in c for c in code
    )
    # One cell per experiment, under its text from the chapter; the lab's result last.
    spec = load_lab_spec(name)
    for experiment in spec.names():
        assert f'lab["{experiment}"]' in code, experiment
    assert code[-1] == "lab"
    texts = lab_narratives(name)[lang]
    markdown = _markdown(notebook)
    for key in ("intro", *spec.names()):
        if key in texts:
            words = re.sub(r"<[^>]+>", "", texts[key]).split()[:6]
            assert " ".join(words).replace("`", "") in markdown.replace("`", ""), key
    assert "<p>" not in markdown and "<code>" not in markdown  # narrative HTML -> Markdown


def test_portuguese_notebook_speaks_portuguese() -> None:
    notebook = lab_notebook("circles", lang="pt", quick=True)
    markdown = _markdown(notebook)
    for heading in ("## Configuração", "## Executando o laboratório", "## Os modelos"):
        assert heading in markdown
    assert "**Modo rápido**" in markdown and "círculo interno" in markdown
    english = _markdown(lab_notebook("circles", lang="en", quick=False))
    assert "## Set-up" in english and "Quick mode" not in english and "QUICK = True" in english


def _titles(name: str) -> tuple[dict[str, str], set[str]]:
    """Lab ``name``'s titles in Portuguese by key, and its English titles with another
    Portuguese text (the English-only ones)."""
    narratives = lab_narratives(name)
    english, portuguese = narratives["en"], narratives["pt"]
    keys = [k for k in english if k == "title" or k.endswith(".title")]
    assert keys and all(k in portuguese for k in keys), name  # every title has its pt text
    return {k: portuguese[k] for k in keys}, {english[k] for k in keys} - set(portuguese.values())


def _listed_titles(notebook: Any, name: str) -> str:
    """What the notebook's cell listing the experiments prints, run here on the lab's spec."""
    import contextlib
    import io

    from neuralab.labs.registry import lab_narrative

    setup, listing = _code_cells(notebook)[:2]
    assert "lab_narrative" in setup and "experiments.experiments" in listing
    namespace = {
        "LAB": name,
        "LANG": notebook.metadata.neuralab["lang"],
        "experiments": load_lab_spec(name),
        "lab_narrative": lab_narrative,
    }
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(listing, namespace)
    return out.getvalue()


@pytest.mark.parametrize("name", sorted(LABS))
def test_portuguese_notebooks_give_the_titles_in_portuguese(name: str) -> None:
    portuguese, english_only = _titles(name)
    notebook = lab_notebook(name, lang="pt", quick=True)
    markdown = _markdown(notebook)
    listed = _listed_titles(notebook, name)
    spec = load_lab_spec(name)
    assert markdown.startswith(f"# {portuguese['title']}")
    for experiment in spec.names():
        title = portuguese[f"{experiment}.title"]
        assert f"### {experiment} · {title}" in markdown, experiment
        assert re.search(rf"^{re.escape(experiment)} +{re.escape(title)}$", listed, re.M), listed
    everything = "\n".join([markdown, *_code_cells(notebook), listed])
    assert english_only and not [t for t in english_only if t in everything]
    # The English notebook keeps the lab file's own titles.
    english = _listed_titles(lab_notebook(name, lang="en", quick=True), name)
    for experiment in spec.names():
        assert f"{experiment:12} {spec[experiment].title}" in english


def test_the_range_test_cell_shows_its_suggestions() -> None:
    notebook = lab_notebook("circles")
    assert 'lab["model_9"].lr_test["suggestions"]' in _code_cells(notebook)
    assert "### The learning-rate range test" in _markdown(notebook)


def test_seeds_are_passed_on() -> None:
    setup = _code_cells(lab_notebook("circles", seeds=1))[0]
    assert "SEEDS = 1" in setup
    with pytest.raises(NeuralabError, match="Received: seeds=0"):
        lab_notebook("circles", seeds=0)


def test_cli_writes_the_notebook(tmp_path: Path) -> None:
    target = tmp_path / "sub" / "circles-pt.ipynb"
    result = _invoke("notebook", "circles", "--lang", "pt", "--quick", "-o", str(target))
    assert result.exit_code == 0, result.output
    assert f"Notebook: {target}" in result.output
    notebook = nbformat.read(target, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.neuralab["lang"] == "pt"
    assert [p.name for p in target.parent.iterdir()] == ["circles-pt.ipynb"]


def test_cli_default_file_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = _invoke("notebook", "fashion-mnist")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "fashion-mnist.ipynb").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["circle"], "Received: lab='circle'. Did you mean 'circles'?"),
        (["circles", "--lang", "de"], "Received: lang='de'"),
        (["circles", "--seeds", "0"], "Received: seeds=0"),
        (["circles", "-o", "{tmp}/notes.txt"], "must end in .ipynb. Received:"),
        (["circles", "-o", "{tmp}/folder.ipynb"], "is a folder"),
        (["circles", "-o", "{tmp}/file/x.ipynb"], "cannot write the notebook there"),
    ],
)
def test_cli_bad_input_is_one_clear_error(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "folder.ipynb").mkdir()
    (tmp_path / "file").write_text("not a folder")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    result = _invoke("notebook", *[a.format(tmp=tmp_path) for a in args])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error:") and "Traceback" not in result.output
    assert message in result.output, result.output
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written


def test_write_notebook_replaces_a_file_whole(tmp_path: Path) -> None:
    target = tmp_path / "circles.ipynb"
    target.write_text("old")
    write_notebook("circles", target, quick=True)
    assert json.loads(target.read_text())["metadata"]["neuralab"]["quick"] is True
    assert [p.name for p in tmp_path.iterdir()] == ["circles.ipynb"]


# ------------------------------------------------------------------ progress bars


def test_progress_bar_outside_a_kernel_prints_one_line(capsys: pytest.CaptureFixture) -> None:
    bar = progress_bars()("model_1")
    assert isinstance(bar, ProgressBar)
    bar.start("model_1", 3)
    for _ in range(3):
        bar.advance(1, loss=0.5, accuracy=0.75, learning_rate=0.01)
    bar.finish()
    out = capsys.readouterr().out.strip()
    assert re.fullmatch(r"model_1: 3/3 epochs  loss 0\.5000  accuracy 0\.7500  \[\d+\.\d s\]", out)
    html = bar._repr_html_()
    assert "<progress value='3' max='3'" in html and "accuracy 0.7500" in html


def test_progress_bar_updates_one_display_in_a_kernel(monkeypatch: pytest.MonkeyPatch) -> None:
    shown: list[tuple[str, str]] = []

    class Handle:
        def update(self, obj: Any) -> None:
            shown.append(("update", obj._repr_html_()))

    def display(obj: Any, display_id: bool = False) -> Handle:
        shown.append(("display", obj._repr_html_()))
        return Handle()

    import IPython.display

    monkeypatch.setattr(IPython.display, "display", display)
    bar = ProgressBar("model_2", live=True)
    bar.start("model_2", 100)
    for _ in range(100):
        bar.advance(1, loss=0.25)  # fast epochs: redrawn at most every REFRESH_SECONDS
    bar.finish()
    assert shown[0][0] == "display" and "0/100" in shown[0][1]
    assert shown[-1][0] == "update" and "100/100 epochs" in shown[-1][1]
    assert len(shown) < 20


# ------------------------------------------------------------------ summaries (_repr_html_)

SPEC = """
title = "summaries"
[defaults]
seed = 3
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
[defaults.model]
layers = [
  {type = "Dense", units = 4, activation = "relu"},
  {type = "Dense", units = 1, activation = "sigmoid"},
]

[[experiments]]
name = "first"
title = "The first model"
reference = {value = 0.9, split = "test"}

[[experiments]]
name = "range"
title = "A range test"
fit.lr_schedule = "1e-3 * 10**(epoch/2)"
fit.lr_range_test = true
"""


@pytest.fixture(scope="module")
def file_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("summaries")
    spec = root / "spec.toml"
    spec.write_text(SPEC, encoding="utf-8")
    result = _invoke("--quiet", "run", str(spec), "--output", str(root / "runs"), "--lang", "pt")
    assert result.exit_code == 0, result.output
    (folder,) = [p for p in (root / "runs").iterdir() if p.is_dir()]
    return folder


def test_run_summary_shows_the_table_and_figures(file_dir: Path) -> None:
    from neuralab.reports.notebook_html import run_summary_html

    html = " ".join(run_summary_html(file_dir / "first", lang="en").split())
    assert "<b>first</b> · The first model" in html
    assert re.search(r'<th>Train</th> <td class="num">\d+\.\d%</td>', html)
    assert "<th>Test</th>" in html and "Chapter: Accuracy (Test) 90.0%" in html
    images = re.findall(r'<img src="data:image/png;base64,[A-Za-z0-9+/=]+" alt="([^"]+)"', html)
    assert {"Decision boundary", "Learning curves"} <= set(images), images
    assert "report.html" in html
    # In its lab, the lab's language (the file ran with --lang pt).
    assert "<th>Treino</th>" in run_summary_html(file_dir / "first")


def test_lab_summary_shows_every_experiment(file_dir: Path) -> None:
    from neuralab.reports.notebook_html import lab_summary_html

    html = " ".join(lab_summary_html(file_dir, lang="en").split())
    assert "<b>summaries</b>" in html
    assert '<td>first</td><td>The first model</td> <td class="num">3</td>' in html
    assert "<td>range</td><td>A range test</td>" in html
    assert "1e-3 * 10**(epoch/2)" in html and "midpoint" in html
    assert "Accuracy · Test" in html and "Learning-rate range test" in html
    assert 'alt="Loss vs learning rate"' in html
    assert "Acurácia · Teste" in lab_summary_html(file_dir)


# ------------------------------------------------------------------ executed by a kernel


def _outputs(cell: Any, mime: str) -> str:
    parts = []
    for output in cell.get("outputs", []):
        if output.output_type == "stream":
            parts.append(output.text)
        elif mime in output.get("data", {}):
            parts.append(output.data[mime])
    return "\n".join(parts)


def _check_executed(notebook: Any, name: str, *, table_headings: tuple[str, ...]) -> None:
    import html

    from neuralab.labs.registry import lab_narrative

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, errors
    assert _outputs(code[-1], "text/plain").strip() == sys.executable  # this interpreter
    # The experiments are listed with their titles in the notebook's language...
    lang = notebook.metadata.neuralab["lang"]
    texts = lab_narrative(name, lang)
    listed = _outputs(next(c for c in code if "experiments.experiments" in c.source), "text/plain")
    for experiment in load_lab_spec(name).names():
        assert f"{experiment:12} {texts[f'{experiment}.title']}" in listed, listed
    if lang != "en":  # ... and no output shows an English-only title
        _, english_only = _titles(name)
        shown = html.unescape(
            "\n".join(_outputs(c, m) for c in code for m in ("text/plain", "text/html"))
        )
        assert not [t for t in english_only if t in shown]
    # The run cell drew a progress bar per experiment, updated to its last epoch.
    run_cell = next(c for c in code if "run_lab(" in c.source)
    bars = _outputs(run_cell, "text/html")
    spec = load_lab_spec(name)
    for experiment in spec.names():
        assert re.search(rf"<b>{experiment}</b> <progress value='(\d+)' max='\1'", bars)
    # Each experiment's cell shows its table and figures; the last one the lab's table.
    for experiment in spec.names():
        cell = next(c for c in code if c.source == f'lab["{experiment}"]')
        html = _outputs(cell, "text/html")
        assert f"<b>{experiment}</b>" in html and "data:image/png;base64," in html, experiment
    lab_html = _outputs(code[-2], "text/html")
    assert code[-2].source == "lab"
    for heading in table_headings:
        assert heading in lab_html, heading
    for experiment in spec.names():
        assert f"<td>{experiment}</td>" in lab_html, experiment


@pytest.fixture(scope="module")
def circles_notebook(tmp_path_factory: pytest.TempPathFactory, run_notebook) -> tuple[Any, float]:
    return run_notebook("circles", tmp_path_factory.mktemp("nb-circles"), lang="pt")


def test_circles_notebook_runs_top_to_bottom(circles_notebook: tuple[Any, float]) -> None:
    notebook, seconds = circles_notebook
    print(f"circles notebook (quick, 1 seed): {seconds:.1f} s")
    _check_executed(notebook, "circles", table_headings=("Acurácia · Teste", "Taxa de aprendizado"))
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    suggestions = next(c for c in code if "lr_test" in c.source)
    assert "midpoint" in _outputs(suggestions, "text/plain")
    boundary = _outputs(next(c for c in code if c.source == 'lab["model_8"]'), "text/html")
    assert 'alt="Limite de decisão"' in boundary


def test_fashion_mnist_notebook_runs_top_to_bottom(tmp_path: Path, run_notebook) -> None:
    notebook, seconds = run_notebook("fashion-mnist", tmp_path)
    print(f"fashion-mnist notebook (quick): {seconds:.1f} s")
    _check_executed(notebook, "fashion-mnist", table_headings=("Accuracy · Test", "Parameters"))
    cell = next(c for c in notebook.cells if c.source == 'lab["mlp"]')
    assert 'alt="Confusion matrix"' in _outputs(cell, "text/html")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "lang", "table_headings"),
    [
        ("higgs-overfitting", "pt", ("Acurácia · Validação", "Parâmetros")),
        ("cat-vs-noncat", "pt", ("Acurácia · Teste", "Parâmetros")),
    ],
)
def test_other_lab_notebooks_run_top_to_bottom(
    name: str, lang: str, table_headings: tuple[str, ...], tmp_path: Path, run_notebook
) -> None:
    notebook, seconds = run_notebook(name, tmp_path, lang=lang)
    print(f"{name} notebook (quick, 1 seed, {lang}): {seconds:.1f} s")
    _check_executed(notebook, name, table_headings=table_headings)


@pytest.mark.slow
def test_pizza_steak_notebook_runs_top_to_bottom(pizza_notebook) -> None:
    # Run once for the session: the pizza-steak lab tests check the lab it trained.
    print(f"pizza-steak notebook (quick, 1 seed, en): {pizza_notebook.seconds:.1f} s")
    _check_executed(
        pizza_notebook.notebook, "pizza-steak", table_headings=("Accuracy · Test", "Parameters")
    )
