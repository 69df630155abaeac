"""A lab as a Jupyter notebook that walks through its chapter with neuralab's API.

The notebook holds, in the chosen language: a title cell, the lab's introduction, a set-up cell
(the backend is chosen before Keras is imported), the list of experiments, one cell that runs
the lab (a progress bar per experiment), then for each experiment its chapter text and a cell
that shows its result (its table and figures, :meth:`RunResult._repr_html_`), the range test's
suggestions where the lab has one, the comparisons' texts, and a last cell that shows the
whole lab (its results table and comparison figures). Nothing in it needs the network.

The lab runs once, in one cell, through the same runner as ``neuralab lab``: the numbers in the
notebook are the report's, a range test's suggestion reaches the experiment that uses it, and
the lab folder holds the same report (``report.html``, and ``report.pdf`` with
``neuralab report --pdf``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from neuralab.errors import NeuralabError, one_of

__all__ = ["LANGUAGES", "lab_notebook", "write_notebook"]

LANGUAGES = ("en", "pt")

# The notebook's own sentences (the chapter's texts are the lab's narrative).
TEXTS: dict[str, dict[str, str]] = {
    "en": {
        "made by": "Lab `{lab}` of neuralab {version}, from the chapter `{seed}`. Run the cells "
        "from top to bottom (*Run All*); nothing needs the network.",
        "quick": "**Quick mode**: the lab's quick settings (at most {epochs} epochs a model, "
        "or the lab's own quick caps; some labs also use less data), a smoke run of seconds "
        "to minutes whose numbers are not comparable to the chapter's. Set "
        "`QUICK = False` in the set-up cell to run the whole chapter.",
        "full": "The whole chapter runs (minutes to hours on a laptop CPU depending on the "
        "lab). For a smoke run first, set `QUICK = True` in the set-up cell.",
        "setup": "## Set-up\n\nneuralab chooses the Keras backend before Keras is imported: "
        "JAX for dense models, TensorFlow for convolutions on a CPU (the rule is measured, see "
        "neuralab's design notes). `LANG` is the language of the reports and figures; `SEEDS` "
        "trains every model with that many seeds (`None`: the lab's own setting).",
        "experiments": "## The experiments\n\nThe lab is a file of {n} experiments "
        "(`load_lab_spec` reads and checks it): each names its data, its model's layers (Keras "
        "names), how it is compiled and trained, and the chapter's result to compare with.",
        "run": "## Running the lab\n\n`run_lab` trains every experiment in order (a progress "
        "bar each), evaluates it, and writes its records, figures and report into a folder "
        "under `runs/`; `progress_bars()` draws the bars in the notebook (without it the runs "
        "are silent).",
        "lr test": "### The learning-rate range test",
        "comparisons": "## Comparisons",
        "results": "## The lab's results\n\nEvery experiment in one table (with several seeds: "
        "mean ± standard deviation), and the lab's comparison figures. The full report is "
        "`lab.report`, a self-contained HTML file; `neuralab report LAB_FOLDER --pdf` (the "
        "folder printed above) prints it to an A4 PDF, for handing in.",
        "models": "## The models\n\nEach experiment with its text from the chapter, then its "
        "result: the accuracy and loss of each split, the chapter's number and the figures. "
        "`lab[{name}]` is a `RunResult` (`.metrics`, `.training.history`, `.model`, `.path`).",
    },
    "pt": {
        "made by": "Laboratório `{lab}` do neuralab {version}, do capítulo `{seed}`. Execute as "
        "células de cima para baixo (*Run All*); nada precisa de rede.",
        "quick": "**Modo rápido**: as configurações rápidas do laboratório (no máximo {epochs} "
        "épocas por modelo, ou os limites rápidos do próprio laboratório; alguns também usam "
        "menos dados), uma execução de teste de segundos a minutos cujos números não são "
        "comparáveis aos do capítulo. Use `QUICK = False` na célula de configuração para "
        "executar o capítulo inteiro.",
        "full": "O capítulo inteiro é executado (de minutos a horas em uma CPU de notebook, "
        "conforme o laboratório). Para um teste rápido antes, use `QUICK = True` na célula de "
        "configuração.",
        "setup": "## Configuração\n\nO neuralab escolhe o backend do Keras antes de o Keras ser "
        "importado: JAX para modelos densos, TensorFlow para convoluções em CPU (a regra foi "
        "medida, veja as notas de projeto do neuralab). `LANG` é o idioma dos relatórios e "
        "gráficos; `SEEDS` treina cada modelo com esse número de sementes (`None`: o que o "
        "laboratório define).",
        "experiments": "## Os experimentos\n\nO laboratório é um arquivo de {n} experimentos "
        "(`load_lab_spec` o lê e verifica): cada um diz seus dados, as camadas do modelo (nomes "
        "do Keras), como é compilado e treinado, e o resultado do capítulo para comparar.",
        "run": "## Executando o laboratório\n\n`run_lab` treina cada experimento em ordem (uma "
        "barra de progresso para cada), avalia e grava registros, gráficos e relatório em uma "
        "pasta dentro de `runs/`; `progress_bars()` desenha as barras no notebook (sem ela as "
        "execuções são silenciosas).",
        "lr test": "### O teste de faixa da taxa de aprendizado",
        "comparisons": "## Comparações",
        "results": "## Os resultados do laboratório\n\nTodos os experimentos em uma tabela (com "
        "várias sementes: média ± desvio padrão) e os gráficos de comparação do laboratório. O "
        "relatório completo é `lab.report`, um arquivo HTML autocontido; `neuralab report "
        "PASTA_DO_LAB --pdf` (a pasta mostrada acima) o imprime em PDF A4, para entregar.",
        "models": "## Os modelos\n\nCada experimento com seu texto do capítulo e depois o "
        "resultado: acurácia e perda de cada divisão, o número do capítulo e os gráficos. "
        "`lab[{name}]` é um `RunResult` (`.metrics`, `.training.history`, `.model`, `.path`).",
    },
}


def _markdown(text: str) -> str:
    """A narrative text (light HTML: ``<p>``, ``<code>``, ``<i>``, ``<b>``) as Markdown."""
    text = re.sub(r"</?code>", "`", text)
    text = re.sub(r"</?(?:i|em)>", "*", text)
    text = re.sub(r"</?(?:b|strong)>", "**", text)
    text = re.sub(r"<br\s*/?>", "\n", text)
    text = re.sub(r"\s*</p>\s*<p>\s*", "\n\n", text)
    text = re.sub(r"</?p>", "", text)
    return text.strip()


def _quoted(text: str) -> str:
    """A Python string literal in double quotes (as the project's code is formatted)."""
    return json.dumps(text, ensure_ascii=False)


def _code(lines: list[str]) -> str:
    return "\n".join(lines)


def _check(name: str, lang: str, seeds: int | None) -> None:
    from neuralab.config import MAX_REPEAT
    from neuralab.labs.registry import lab_info

    lab_info(name)  # unknown lab: "Did you mean ...?"
    if lang not in LANGUAGES:
        raise NeuralabError(one_of("lang", lang, LANGUAGES))
    if seeds is not None and (
        isinstance(seeds, bool) or not isinstance(seeds, int) or not 1 <= seeds <= MAX_REPEAT
    ):
        raise NeuralabError(
            f"`seeds` must be an integer from 1 to {MAX_REPEAT}. Received: seeds={seeds!r}."
        )


def lab_notebook(
    name: str, *, lang: str = "en", quick: bool = False, seeds: int | None = None
) -> Any:
    """The notebook of lab ``name`` (an ``nbformat`` v4 notebook node, validated).

    Args:
        name: A lab (see ``neuralab.labs.LABS``).
        lang: ``"en"`` or ``"pt"``: the notebook's texts and the reports' language.
        quick: The notebook runs the lab with its quick settings (``quick=True``).
        seeds: Seeds per experiment the notebook asks for (default: the lab's own).

    Raises:
        NeuralabError: unknown lab or language, or nbformat is not installed.
    """
    _check(name, lang, seeds)
    nbformat = _nbformat()
    from neuralab import __version__
    from neuralab.labs.registry import lab_info, lab_narrative, load_lab_spec

    info = lab_info(name)
    experiments = load_lab_spec(name)
    # The lab's texts in ``lang`` (English where it has none), as the lab's reports show them.
    texts: Mapping[str, str] = lab_narrative(name, lang)
    s = TEXTS[lang]
    v4 = nbformat.v4
    cells: list[Any] = []

    def md(text: str) -> None:
        cells.append(v4.new_markdown_cell(text))

    def code(source: str) -> None:
        cells.append(v4.new_code_cell(source))

    title = texts.get("title") or experiments.title or name
    head = [f"# {title}"]
    description = texts.get("description") or experiments.description
    if description:
        head.append(f"*{description}*")
    head.append(s["made by"].format(lab=name, version=__version__, seed=info.seed))
    if quick:
        from neuralab.runs.runner import QUICK_EPOCHS

        head.append(s["quick"].format(epochs=QUICK_EPOCHS))
    else:
        head.append(s["full"])
    md("\n\n".join(head))
    if texts.get("intro"):
        md(_markdown(texts["intro"]))

    md(s["setup"])
    code(
        _code(
            [
                "import neuralab",
                "from neuralab.backend import enable_compilation_cache",
                "from neuralab.labs import load_lab_spec",
                "from neuralab.labs.registry import lab_narrative",
                "from neuralab.notebooks import progress_bars",
                "",
                f"LAB = {_quoted(name)}",
                f"LANG = {_quoted(lang)}",
                f"QUICK = {quick!r}",
                f"SEEDS = {seeds!r}",
                "",
                "experiments = load_lab_spec(LAB)",
                "backend = neuralab.use_backend(",
                '    neuralab.choose_backend("auto", layer_types=experiments.layer_types())',
                ")",
                "enable_compilation_cache()  # compiled programs are reused by later runs (JAX)",
                "backend",
            ]
        )
    )

    md(s["experiments"].format(n=len(experiments.experiments)))
    code(
        _code(
            [
                "# The lab's texts in LANG by key (English where LANG has none): the titles.",
                "texts = lab_narrative(LAB, LANG)",
                "for spec in experiments.experiments:",
                '    title = texts.get(f"{spec.name}.title", spec.title)',
                '    print(f"{spec.name:12} {title}")',
            ]
        )
    )

    md(s["run"])
    code(
        _code(
            [
                "lab = neuralab.run_lab(",
                "    LAB,",
                "    quick=QUICK,",
                "    lang=LANG,",
                "    seeds=SEEDS,",
                "    progress=progress_bars(),",
                '    backend_reason=f"{backend.name}: {backend.reason}",',
                ")",
                "print(lab.report)",
            ]
        )
    )

    md(s["models"].format(name=_quoted(experiments.experiments[0].name)))
    for spec in experiments.experiments:
        heading = texts.get(f"{spec.name}.title") or spec.title
        parts = [f"### {spec.name}" + (f" · {heading}" if heading else "")]
        if texts.get(spec.name):
            parts.append(_markdown(texts[spec.name]))
        md("\n\n".join(parts))
        code(f"lab[{_quoted(spec.name)}]")
        if spec.fit.lr_range_test:
            parts = [s["lr test"]]
            if texts.get("lr_test"):
                parts.append(_markdown(texts["lr_test"]))
            md("\n\n".join(parts))
            code(f'lab[{_quoted(spec.name)}].lr_test["suggestions"]')

    compared = [c for c in experiments.compare if texts.get(c.name)]
    if compared:
        parts = [s["comparisons"]]
        for comparison in compared:
            heading = texts.get(f"{comparison.name}.title") or comparison.title or comparison.name
            parts.append(f"**{heading}**: {_markdown(texts[comparison.name])}")
        md("\n\n".join(parts))
    md(s["results"])
    code("lab")

    notebook = v4.new_notebook(
        cells=cells,
        metadata={
            "kernelspec": {
                "name": "python3",
                "display_name": "Python 3 (ipykernel)",
                "language": "python",
            },
            "language_info": {"name": "python"},
            "neuralab": {"lab": name, "lang": lang, "quick": quick, "seeds": seeds},
        },
    )
    nbformat.validate(notebook)
    return notebook


def _nbformat() -> Any:
    try:
        import nbformat
    except ImportError as exc:
        raise NeuralabError(
            "writing notebooks needs nbformat, which is not installed. Install it with "
            "`pip install 'neuralab[notebook]'`."
        ) from exc
    return nbformat


def write_notebook(
    name: str,
    path: str | Path | None = None,
    *,
    lang: str = "en",
    quick: bool = False,
    seeds: int | None = None,
) -> Path:
    """Write lab ``name``'s notebook (see :func:`lab_notebook`) to ``path`` atomically.

    Args:
        name: A lab.
        path: A ``.ipynb`` file (default: ``<name>.ipynb`` in the current folder). Its
            folder is created if missing.
        lang: ``"en"`` or ``"pt"``.
        quick: Run the lab with its quick settings.
        seeds: Seeds per experiment (default: the lab's own).

    Returns:
        The path written.

    Raises:
        NeuralabError: unknown lab or language, a path that is not a ``.ipynb`` file, or
            one that cannot be written (nothing is left half-written).
    """
    from neuralab.fileio import atomic_write_text

    target = Path(path) if path is not None else Path(f"{name}.ipynb")
    if target.suffix != ".ipynb":
        raise NeuralabError(
            f"the notebook's file name must end in .ipynb. Received: {str(target)!r}."
        )
    if target.is_dir():
        raise NeuralabError(f"{target}: is a folder; pass a .ipynb file name.")
    notebook = lab_notebook(name, lang=lang, quick=quick, seeds=seeds)
    nbformat = _nbformat()
    text = nbformat.writes(notebook)
    try:
        atomic_write_text(target, text if text.endswith("\n") else text + "\n")
    except OSError as exc:
        raise NeuralabError(f"{target}: cannot write the notebook there: {exc}") from exc
    return target
