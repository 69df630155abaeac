"""The overfitting chapter's HIGGS data (CSV.gz, streamed: only the rows used are read), with a
generated offline stand-in read through the same loader."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from neuralab.data.dataset import Dataset, Splits
from neuralab.data.download import datasets_dir
from neuralab.errors import DataError

HIGGS_CLASSES = ("background", "signal")


def _with_note(splits: Splits, note: str) -> Splits:
    """``splits`` with ``note`` added to every part's notes."""
    return Splits(**{k: replace(v, notes=(*v.notes, note)) for k, v in splits.items()})


def higgs(
    path: str | None = None, validation: int = 1000, train: int = 10_000, seed: int = 42
) -> Splits:
    """The chapter's HIGGS protocol: the first ``validation`` rows validate, the next ``train``
    rows train; only those rows are read from the (2.6 GB) ``HIGGS.csv.gz``.

    Args:
        path: ``HIGGS.csv.gz`` (label first, 28 features, no header). None: a generated
            Higgs-like file (28 features, label noise) written to the data cache on first use.
        validation: Rows for validation (the chapter's N_VALIDATION).
        train: Rows for training (N_TRAIN).
        seed: Seed of the generated file.
    """
    from neuralab.data.tabular import read_csv, write_higgs_like_csv

    if validation <= 0 or train <= 0:
        raise DataError(
            f"`validation` and `train` must be positive row counts. Received: "
            f"validation={validation}, train={train}."
        )
    generated = path is None
    if generated:
        file = datasets_dir() / f"higgs-like-{validation + train}-{seed}.csv.gz"
        if not file.exists():
            write_higgs_like_csv(file, n_rows=validation + train, seed=seed)
    else:
        file = Path(str(path))
    rows = read_csv(file, take=validation + train, class_names=HIGGS_CLASSES, name="higgs")
    name = "higgs_generated" if generated else "higgs"
    full = Dataset(x=rows.x, y=rows.y, class_names=HIGGS_CLASSES, name=name, source=rows.source)
    splits = Splits(
        train=full.take(slice(validation, None)), validation=full.take(slice(0, validation))
    )
    if generated:
        splits = _with_note(
            splits,
            "No HIGGS.csv.gz was given, so this ran on a generated Higgs-like problem (28 "
            "features, a non-linear rule, 20% of labels flipped so that large models overfit "
            "visibly), written as CSV.gz and read through the same loader. Pass --data "
            "HIGGS.csv.gz for the real data.",
        )
    return splits
