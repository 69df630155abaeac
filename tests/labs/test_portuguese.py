"""`neuralab lab circles --lang pt`, as a new user would run it: the terminal table, the lab
report and the run reports are in Portuguese, titles and model descriptions included, and the
lab's record gives the English ones back. The lab runs once for the session
(``circles_quick_pt`` in conftest): the PDF and live-page tests check the same run."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from neuralab.labs.registry import lab_narratives
from neuralab.record import files

TEXTS = lab_narratives("circles")
# The lab's English texts that Portuguese changes (titles, description, notes, narrative).
ENGLISH_ONLY = {k: v for k, v in TEXTS["en"].items() if TEXTS["pt"][k] != v}


@pytest.fixture(scope="module")
def lab_pt(circles_quick_pt: tuple[Path, str]) -> tuple[str, Path]:
    """The lab's output and folder (one run for the session, shared with the PDF tests)."""
    lab_dir, output = circles_quick_pt
    return output, lab_dir


def test_the_terminal_table_is_in_portuguese(lab_pt):
    output, _ = lab_pt
    table = output[output.index("Resultados: ") :]
    assert "Resultados: Classificação com redes neurais: make_circles" in table
    for words in ("Modelo", "Épocas", "Taxa de aprendizado", "Acurácia treino", "Acurácia teste"):
        assert words in table, table
    assert "padrão" in table and "treino" in table and "teste" in table
    for english in ("default", "Train acc", "Test acc", "Results", "LR ", "Wall time", "Report:"):
        assert english not in table, (english, table)
    assert "Relatório: " in table


def test_the_lab_report_is_in_portuguese(lab_pt):
    _, lab_dir = lab_pt
    page = (lab_dir / files.REPORT).read_text(encoding="utf-8")
    assert "<h1>Classificação com redes neurais: make_circles</h1>" in page
    assert "<title>Classificação com redes neurais: make_circles · neuralab</title>" in page
    for name in ("model_1", "model_8", "model_9", "model_10"):
        assert html.escape(TEXTS["pt"][f"{name}.title"]) in page, name
    assert "Dense(1), SGD, 5 + 200 épocas" in page
    assert ">padrão<" in page and ">default<" not in page
    # The shape doctor's warning on the linear output, and its badge.
    assert ">aviso</span> a ativação da saída é &#39;linear&#39;, mas a binary_crossentropy" in page
    assert ">warning<" not in page
    for key, english in ENGLISH_ONLY.items():
        assert html.escape(english) not in page, (key, english)


def test_the_run_reports_of_the_lab_are_in_portuguese(lab_pt):
    _, lab_dir = lab_pt
    page = (lab_dir / "model_1" / files.REPORT).read_text(encoding="utf-8")
    assert "<h1>Dense(1), SGD, 5 + 200 épocas</h1>" in page
    assert "5 épocas, depois mais 200" in page  # the chapter's note
    page = (lab_dir / "model_8" / files.REPORT).read_text(encoding="utf-8")
    assert "<h1>model_7 com Adam(0.01), 25 épocas</h1>" in page
    # The spec as stored (a <pre> block of JSON) keeps the lab file's English: it is the file.
    page = re.sub(r"<pre>.*?</pre>", "", page, flags=re.DOTALL)
    for key, english in ENGLISH_ONLY.items():
        assert html.escape(english) not in page, (key, english)


def test_the_lab_record_gives_either_language(lab_pt):
    from neuralab.reports.html import render_lab_report, render_run_report
    from neuralab.reports.views import load_lab, load_run

    _, lab_dir = lab_pt
    english = render_lab_report(load_lab(lab_dir, lang="en"))
    assert "<h1>Neural-network classification: make_circles</h1>" in english
    assert "model_7 with Adam(0.01), 25 epochs" in english and ">default<" in english
    assert "Dense(1), SGD, 5 + 200 épocas" not in english
    # A view in one language rendered in the other is reloaded in it.
    again = render_lab_report(load_lab(lab_dir, lang="en"), lang="pt")
    assert "<h1>Classificação com redes neurais: make_circles</h1>" in again
    run = load_run(lab_dir / "model_1", lang="en")
    assert run.title == "Dense(1), SGD, 5 + 200 epochs"
    assert "<h1>Dense(1), SGD, 5 + 200 épocas</h1>" in render_run_report(run, lang="pt")


def test_the_notebook_summaries_follow_the_language(lab_pt):
    from neuralab.reports.notebook_html import lab_summary_html, run_summary_html

    _, lab_dir = lab_pt
    portuguese = lab_summary_html(lab_dir)  # the lab's language
    assert "<b>Classificação com redes neurais: make_circles</b>" in portuguese
    assert html.escape(TEXTS["pt"]["model_8.title"]) in portuguese and "padrão" in portuguese
    english = lab_summary_html(lab_dir, lang="en")
    assert html.escape(TEXTS["en"]["model_8.title"]) in english and "default" in english
    assert "model_7 com Adam(0.01), 25 épocas" in run_summary_html(lab_dir / "model_8")


def test_a_quick_lab_says_so_and_claims_no_match(lab_pt):
    from neuralab.record import LabDir, MetricsRecord, RunDir

    _, lab_dir = lab_pt
    page = (lab_dir / files.REPORT).read_text(encoding="utf-8")
    for word in ("Treino", "Teste", "Perda", "Acurácia", "Taxa de aprendizado", "Execução rápida"):
        assert word in page, word
    lab = LabDir(lab_dir)
    runs = [RunDir(run.path).read(MetricsRecord) for run in lab.runs(lab.read())]
    assert [r.training.epochs_run for r in runs] == [5] * 10
    # Quick runs do not claim to match the chapter.
    assert all(e.passed is None for r in runs for e in r.expectations)
