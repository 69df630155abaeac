"""Every text a report shows exists in every report language: the reports' own words
(``reports.i18n``), the labs' texts (lab files and narrative modules), the loaders' notes on
their data and the shape doctor's warnings."""

from __future__ import annotations

import re
import string

import pytest

from neuralab.labs.registry import LABS, lab_file_texts, lab_narratives, load_lab_spec
from neuralab.reports.i18n import (
    DATA_NOTES,
    DATA_SOURCES,
    FINDINGS,
    LANGUAGES,
    STRINGS,
    translate_data_note,
    translate_data_source,
    translate_finding,
)

# Code and model names a translation keeps as they are (a title made only of these, numbers
# and punctuation may read the same in every language).
NAMES = {
    "Adam",
    "CNN",
    "Conv2D",
    "Dense",
    "elu",
    "Flatten",
    "linear",
    "MaxPool2D",
    "MLP",
    "relu",
    "SGD",
    "sigmoid",
    "softmax",
    "TinyVGG",
    "x",
}


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def _tags(text: str) -> list[str]:
    return re.findall(r"</?\w+", text)


def _only_names(text: str) -> bool:
    """True if ``text`` holds nothing to translate: names, numbers and punctuation."""
    text = re.sub(r"(?<![A-Za-z_])\d+(\.\d+)?(e-?\d+)?", " ", text)
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)
    return all(w in NAMES or "_" in w or any(c.isdigit() for c in w) for w in words)


def test_languages_are_english_and_portuguese():
    assert LANGUAGES == ("en", "pt") and set(STRINGS) == set(LANGUAGES)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_report_string_is_in_every_language(lang):
    english = STRINGS["en"]
    assert set(STRINGS[lang]) == set(english), set(STRINGS[lang]) ^ set(english)
    for key, text in STRINGS[lang].items():
        assert text.strip(), (lang, key)
        # The same {fields}: a template formats every language with the same values.
        assert _fields(text) == _fields(english[key]), (lang, key)


def test_report_strings_are_translated():
    same = [k for k, v in STRINGS["pt"].items() if v == STRINGS["en"][k] and not _only_names(v)]
    # Words Portuguese borrows as they are (the course says "backend" and "F1").
    assert set(same) <= {"backend", "f1"}, same


@pytest.mark.parametrize(
    "templates", [*DATA_NOTES, *DATA_SOURCES, *FINDINGS.values()], ids=lambda t: t["en"][:30]
)
def test_every_stored_text_template_is_in_every_language(templates):
    assert set(templates) == set(LANGUAGES)
    for lang, text in templates.items():
        assert text.strip() and _fields(text) == _fields(templates["en"]), lang
    assert templates["pt"] != templates["en"]


@pytest.mark.parametrize("lab", sorted(LABS))
def test_every_lab_text_is_in_every_language(lab):
    texts = lab_narratives(lab)
    assert set(texts) == set(LANGUAGES), lab
    english = texts["en"]
    for lang in LANGUAGES:
        missing = set(english) ^ set(texts[lang])
        assert not missing, f"{lab}: keys only in one of en/{lang}: {sorted(missing)}"
        for key, text in texts[lang].items():
            assert text.strip(), (lab, lang, key)
            assert _tags(text) == _tags(english[key]), (lab, lang, key)  # the same markup
            if lang != "en" and text == english[key]:
                assert _only_names(text), f"{lab}: {key!r} is not translated to {lang}: {text!r}"


@pytest.mark.parametrize("lab", sorted(LABS))
def test_lab_file_texts_live_in_the_file_and_every_model_has_a_title(lab):
    from importlib import import_module

    file_texts = lab_file_texts(lab)
    module = import_module(LABS[lab].narrative_module or "")
    # One home per text: the English of the file's texts is the file's, never repeated.
    assert not set(module.NARRATIVE["en"]) & set(file_texts), lab
    spec = load_lab_spec(lab)
    assert {"title", "description"} <= set(file_texts), lab
    for name in [*spec.names(), *(c.name for c in spec.compare)]:
        assert f"{name}.title" in file_texts, (lab, name)


def test_narrative_keys_name_an_experiment_a_comparison_or_a_section():
    for lab in LABS:
        spec = load_lab_spec(lab)
        known = {*spec.names(), *(c.name for c in spec.compare), "intro", "lr_test"}
        for key in lab_narratives(lab)["en"]:
            head = key.split(".", 1)[0]
            assert head in known or key in ("title", "description") or head == "defaults", (
                lab,
                key,
            )


def _notes_of(splits) -> set[str]:
    return {note for _, part in splits.items() for note in part.notes}


def _sources_of(splits) -> set[str]:
    return {part.source for _, part in splits.items()}


def test_the_loaders_notes_are_translated(tmp_path):
    from PIL import Image

    from neuralab.data.cat_vs_noncat import cat_vs_noncat
    from neuralab.data.food import pizza_steak
    from neuralab.data.higgs import higgs
    from neuralab.data.images import load_image_folder
    from neuralab.data.mnist import fashion_mnist

    for label in ("a", "b"):
        for i in range(2):
            path = tmp_path / "photos" / label / f"{i}.png"
            path.parent.mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (8, 8), (40 * i, 90, 0)).save(path)
    (tmp_path / "photos" / "a" / "broken.png").write_bytes(b"not a png")
    loaded = {
        "fashion-mnist": fashion_mnist(),
        "pizza-steak": pizza_steak(n_train=1, n_test=1, target_size=8),
        "higgs": higgs(validation=5, train=10),
        "cat-vs-noncat": cat_vs_noncat(),
        "image folder": load_image_folder(tmp_path / "photos", target_size=8, test_split=0.5),
    }
    notes = {source: _notes_of(splits) for source, splits in loaded.items()}
    for source, found in notes.items():
        assert found, source
        for note in found:
            translated = translate_data_note(note, "pt")
            assert translated != note, f"{source}: no Portuguese for {note!r}"
            assert translate_data_note(note, "en") == note
    digits = translate_data_note(next(iter(notes["fashion-mnist"])), "pt")
    assert digits.startswith("O Fashion-MNIST não foi encontrado (procurado em ")
    assert "imagem ilegível ignorada: " in translate_data_note(
        next(iter(notes["image folder"])), "pt"
    )
    # A note no template knows stays as it is.
    assert translate_data_note("something else", "pt") == "something else"
    # Where the data came from, where the loader says it in words.
    sources = {
        s for name in ("fashion-mnist", "pizza-steak", "higgs") for s in _sources_of(loaded[name])
    }
    translated = {translate_data_source(s, "pt") for s in sources}
    assert not sources & translated, sources
    assert any(s.startswith("load_digits() do scikit-learn (1.797 imagens 8x8") for s in translated)
    assert any(s.startswith("pasta de imagens ") and "(treino, 8x8)" in s for s in translated)
    assert any(", linhas 1-" in s for s in translated), translated
    for source in sources:
        assert translate_data_source(source, "en") == source


def test_the_shape_doctors_warnings_are_translated():
    import keras
    import numpy as np

    from neuralab.data.dataset import Dataset
    from neuralab.models.shape_doctor import diagnose

    data = Dataset(
        x=np.zeros((6, 2), "float32"), y=np.array([0, 1, 2] * 2), class_names=("a", "b", "c")
    )
    seen = set()
    for loss, output in (("binary_crossentropy", 1), ("sparse_categorical_crossentropy", 3)):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(output)])
        binary = Dataset(x=data.x, y=data.y % 2, class_names=("a", "b"))
        for finding in diagnose(model, binary if output == 1 else data, loss=loss):
            if finding.severity == "warning":
                seen.add(finding.code)
                text = translate_finding(finding.code, finding.message, "pt")
                assert text.startswith("a ativação da saída é 'linear', mas "), text
                assert translate_finding(finding.code, finding.message, "en") == finding.message
    assert seen == set(FINDINGS)
