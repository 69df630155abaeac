"""The cat vs non-cat exercise's data (two HDF5 files), with generated offline stand-ins in the
same schema read through the same loader."""

from __future__ import annotations

from dataclasses import replace

from neuralab.data.dataset import Splits
from neuralab.data.download import datasets_dir


def _with_note(splits: Splits, note: str) -> Splits:
    """``splits`` with ``note`` added to every part's notes."""
    return Splits(**{k: replace(v, notes=(*v.notes, note)) for k, v in splits.items()})


def cat_vs_noncat(path: str | None = None, seed: int = 42) -> Splits:
    """The cat vs non-cat exercise's h5 files (``train_catvnoncat.h5``, ``test_catvnoncat.h5``)
    in ``path``; None: generated files in the same schema (written to the cache once)."""
    from neuralab.data.hdf5 import load_cat_vs_noncat, write_cat_vs_noncat

    if path is not None:
        splits = load_cat_vs_noncat(path)
        return Splits(**{k: replace(v, name="cat_vs_noncat") for k, v in splits.items()})
    folder = datasets_dir() / f"cat-vs-noncat-generated-{seed}"
    if not (folder / "test_catvnoncat.h5").exists():
        write_cat_vs_noncat(folder, seed=seed)
    splits = load_cat_vs_noncat(folder)
    splits = Splits(**{k: replace(v, name="cat_vs_noncat_generated") for k, v in splits.items()})
    return _with_note(
        splits,
        "No folder of h5 files was given, so this ran on generated 64x64 images in the same "
        "schema (209 training and 50 test images; cats: striped, warm-coloured heads with ears). "
        "Pass --data DIR with train_catvnoncat.h5 and test_catvnoncat.h5 for the real data.",
    )
