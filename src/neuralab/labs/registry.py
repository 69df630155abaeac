"""The labs: one TOML experiment file each (plus a narrative), run by the generic runner."""

from __future__ import annotations

import importlib
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


def lab_narrative(name: str, lang: str) -> dict[str, str]:
    """Narrative texts of a lab by key (``intro``, experiment names), or {} if none."""
    info = LABS.get(name)
    if info is None or info.narrative_module is None:
        return {}
    module = importlib.import_module(info.narrative_module)
    texts: dict[str, dict[str, str]] = module.NARRATIVE
    return texts.get(lang, texts.get("en", {}))


def lab_narratives(name: str) -> dict[str, dict[str, str]]:
    """Every language's narrative of lab ``name`` (``{lang: {key: text}}``), or {}."""
    info = LABS.get(name)
    if info is None or info.narrative_module is None:
        return {}
    module = importlib.import_module(info.narrative_module)
    texts: dict[str, dict[str, str]] = module.NARRATIVE
    return {lang: dict(values) for lang, values in texts.items()}
