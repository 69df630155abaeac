"""The labs: one TOML experiment file each (plus a narrative), run by the generic runner."""

from __future__ import annotations

import importlib
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from neuralab.config import ExperimentFile, load_experiments
from neuralab.errors import NeuralabError, one_of


@dataclass(frozen=True)
class LabInfo:
    """A lab: its experiment file, narrative module and seed chapter."""

    name: str
    file: str
    summary: str
    seed: str
    narrative_module: str | None = None
    data_param: str | None = None  # loader parameter that `--data PATH` sets
    remote: str | None = None  # data set that `neuralab lab NAME --fetch` downloads first


LABS: dict[str, LabInfo] = {
    "circles": LabInfo(
        name="circles",
        file="circles.toml",
        summary="Binary classification of make_circles: 10 models, decision boundaries, "
        "learning-rate range test",
        seed="circles-chapter.md",
        narrative_module="neuralab.labs.circles",
    ),
    "fashion-mnist": LabInfo(
        name="fashion-mnist",
        file="fashion_mnist.toml",
        summary="Multi-class MLP on Fashion-MNIST (IDX files; scikit-learn's digits offline): "
        "confusion matrix, predictions, layers and weights",
        seed="fashion-mnist-notebook.md",
        narrative_module="neuralab.labs.fashion_mnist",
        data_param="path",
        remote="fashion-mnist",
    ),
    "pizza-steak": LabInfo(
        name="pizza-steak",
        file="pizza_steak.toml",
        summary="CNNs on pizza/steak photos (a generated folder offline): TinyVGG vs dense "
        "networks, pooling, data augmentation, evaluation",
        seed="cnn-pizza-steak-chapter.md",
        narrative_module="neuralab.labs.pizza_steak",
        data_param="path",
        remote="pizza-steak",
    ),
    "higgs-overfitting": LabInfo(
        name="higgs-overfitting",
        file="higgs_overfitting.toml",
        summary="Overfitting on HIGGS (a generated Higgs-like CSV.gz offline): model sizes "
        "Tiny to Giant, L2, dropout, early stopping, TensorBoard",
        seed="overfitting-lab.md",
        narrative_module="neuralab.labs.higgs_overfitting",
        data_param="path",
    ),
    "cat-vs-noncat": LabInfo(
        name="cat-vs-noncat",
        file="cat_vs_noncat.toml",
        summary="Overfitting on 64x64 cat / non-cat images (generated h5 files offline): "
        "three sizes and a regularized model, precision/recall/F1 per model",
        seed="overfitting-lab.md",
        narrative_module="neuralab.labs.cat_vs_noncat",
        data_param="path",
    ),
}


def lab_info(name: str) -> LabInfo:
    if name not in LABS:
        raise NeuralabError(one_of("lab", name, LABS) + " List them with `neuralab labs`.")
    return LABS[name]


def lab_file(name: str) -> Path:
    """Path of the lab's TOML file inside the installed package."""
    info = lab_info(name)
    return Path(str(resources.files("neuralab.labs").joinpath(info.file)))


def load_lab_spec(name: str, data: str | Path | None = None) -> ExperimentFile:
    """The validated experiments of lab ``name``, on the data in ``data`` if given.

    Raises:
        NeuralabError: unknown lab, or ``data`` for a lab whose data are generated.
    """
    experiments = load_experiments(lab_file(name))
    if data is None:
        return experiments
    info = lab_info(name)
    if info.data_param is None:
        raise NeuralabError(
            f"the {name!r} lab generates its own data and takes no --data. Labs that read "
            f"data: {', '.join(n for n, i in LABS.items() if i.data_param) or 'none'}."
        )
    updated = []
    for spec in experiments.experiments:
        params = {**spec.data.params, info.data_param: str(data)}
        updated.append(
            spec.model_copy(update={"data": spec.data.model_copy(update={"params": params})})
        )
    return experiments.model_copy(update={"experiments": tuple(updated)})


# The fields of a lab file that a report shows as text. Their English is the lab file's; every
# other language's text for them is in the lab's narrative module, under the key that
# :func:`lab_file_texts` gives them.
SHOWN_FIELDS = ("title", "description", "note", "baseline_label")


def lab_file_texts(name: str) -> dict[str, str]:
    """The texts of lab ``name``'s TOML file that reports show, in English, by key.

    A key is the field's path in the file, with each experiment and comparison named by its
    ``name``: ``title``, ``description``, ``model_1.title``, ``model_1.reference.note``,
    ``mlp.when.digits.reference.note``, ``defaults.report.baseline_label``,
    ``augmentation.title``.
    """
    doc = tomllib.loads(lab_file(name).read_text(encoding="utf-8"))
    found: dict[str, str] = {}

    def walk(value: object, path: tuple[str, ...]) -> None:
        if isinstance(value, Mapping):
            for key, item in value.items():
                if key in SHOWN_FIELDS and isinstance(item, str) and item:
                    found[".".join((*path, key))] = item
                else:
                    walk(item, (*path, str(key)))
        elif isinstance(value, list):
            # [[experiments]] and [[compare]] are named: their texts are keyed by the name.
            for item in value:
                if isinstance(item, Mapping) and isinstance(item.get("name"), str):
                    top = path[:-1] if path in (("experiments",), ("compare",)) else path
                    walk(item, (*top, item["name"]))

    walk(doc, ())
    return found


def lab_narratives(name: str) -> dict[str, dict[str, str]]:
    """Every text of lab ``name`` by language and key (``{lang: {key: text}}``), or {}.

    One place per text: the English of the lab file's shown fields (titles, description,
    reference notes, baseline labels) is the file's own (:func:`lab_file_texts`); the
    narrative module's ``NARRATIVE`` holds the narrative in every language (``intro``, a
    paragraph per experiment or comparison, ``lr_test``) and, in the other languages, the
    file's texts under the same keys. The lab record stores the result, so a report in any
    language can be rebuilt from the record alone.
    """
    info = LABS.get(name)
    if info is None or info.narrative_module is None:
        return {}
    module = importlib.import_module(info.narrative_module)
    texts: dict[str, dict[str, str]] = module.NARRATIVE
    narratives = {lang: dict(values) for lang, values in texts.items()}
    narratives["en"] = {**lab_file_texts(name), **narratives.get("en", {})}
    return narratives


def lab_narrative(name: str, lang: str) -> dict[str, str]:
    """The texts of lab ``name`` in ``lang`` by key (English where ``lang`` has none), or {}."""
    narratives = lab_narratives(name)
    return {**narratives.get("en", {}), **narratives.get(lang, {})}
