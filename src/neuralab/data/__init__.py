"""Data sets: one :class:`Dataset` type, loaders by name, and splitting."""

from neuralab.data.dataset import Dataset as Dataset
from neuralab.data.dataset import Splits as Splits
from neuralab.data.dataset import label_kind as label_kind
from neuralab.data.dataset import split_dataset as split_dataset
from neuralab.data.registry import DATASETS as DATASETS
from neuralab.data.registry import load_dataset as load_dataset
from neuralab.data.synthetic import make_blobs as make_blobs
from neuralab.data.synthetic import make_circles as make_circles
from neuralab.data.synthetic import make_moons as make_moons
from neuralab.data.synthetic import make_spirals as make_spirals

__all__ = [
    "DATASETS",
    "Dataset",
    "Splits",
    "label_kind",
    "load_dataset",
    "make_blobs",
    "make_circles",
    "make_moons",
    "make_spirals",
    "split_dataset",
]
