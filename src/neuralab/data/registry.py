"""Data sets by name, as used in ``[data] name = ...`` of a spec."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import Any

from neuralab.data.arrays import h5_arrays, npz_arrays
from neuralab.data.cat_vs_noncat import cat_vs_noncat
from neuralab.data.dataset import Dataset, Splits
from neuralab.data.download import RemoteDataset
from neuralab.data.food import PIZZA_STEAK, pizza_steak
from neuralab.data.higgs import higgs
from neuralab.data.images import image_folder
from neuralab.data.mnist import FASHION_MNIST, digits, fashion_mnist, idx_folder
from neuralab.data.synthetic import make_blobs, make_circles, make_moons, make_spirals
from neuralab.data.table import csv_table
from neuralab.errors import DataError, SpecError, did_you_mean, one_of

DATASETS: dict[str, Callable[..., Dataset | Splits]] = {
    "circles": make_circles,
    "moons": make_moons,
    "blobs": make_blobs,
    "spirals": make_spirals,
    "digits": digits,
    "fashion_mnist": fashion_mnist,
    "idx": idx_folder,
    "image_folder": image_folder,
    "pizza_steak": pizza_steak,
    "higgs": higgs,
    "cat_vs_noncat": cat_vs_noncat,
    # A learner's own files (paths relative to the spec file's folder).
    "csv": csv_table,
    "npz": npz_arrays,
    "h5": h5_arrays,
}


def load_dataset(
    name: str, params: Mapping[str, Any] | None = None, *, where: str = "data"
) -> Dataset | Splits:
    """Load the registered data set ``name`` with loader keyword arguments ``params``.

    Loaders of data sets that come with their own splits (Fashion-MNIST's train and test
    files) return :class:`Splits`; the others one :class:`Dataset`.

    Raises:
        SpecError: unknown name or parameter (with the valid ones).
        DataError: the loader rejected a value or the data contain NaN/inf.
    """
    if name not in DATASETS:
        raise SpecError(f"{where}.name: " + one_of("name", name, DATASETS))
    loader = DATASETS[name]
    params = dict(params or {})
    accepted = [
        p.name
        for p in inspect.signature(loader).parameters.values()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    required = [
        p.name
        for p in inspect.signature(loader).parameters.values()
        if p.default is p.empty and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    ]
    for key in required:
        if key not in params:
            raise SpecError(
                f"{where}.{key}: required for the {name!r} data set. Keys it takes: "
                f"{', '.join(accepted)}."
            )
    for key in params:
        if key not in accepted:
            raise SpecError(
                f"{where}.{key}: the {name!r} data set has no parameter {key!r}."
                f"{did_you_mean(key, accepted)} Allowed: {', '.join(accepted)}."
            )
    try:
        data = loader(**params)
    except DataError as exc:
        about = getattr(exc, "key", None)  # the spec key the problem is about, e.g. `label`
        raise DataError(f"{where}.{about}: {exc}" if about else f"{where}: {exc}") from None
    except ValueError as exc:  # e.g. scikit-learn's parameter validation
        raise DataError(f"{where}: invalid value for the {name!r} data set: {exc}") from None
    except TypeError as exc:
        raise SpecError(f"{where}: invalid parameter for {name!r}: {exc}.") from None
    parts = data.items() if isinstance(data, Splits) else [("data", data)]
    for _, part in parts:
        part.check_finite()
    return data


#: Data sets that `neuralab data fetch NAME` can download.
REMOTE_DATASETS: dict[str, RemoteDataset] = {
    "fashion-mnist": FASHION_MNIST,
    "pizza-steak": PIZZA_STEAK,
}


def remote_dataset(name: str) -> RemoteDataset:
    """The downloadable data set ``name``.

    Raises:
        DataError: unknown name (with the valid ones).
    """
    if name not in REMOTE_DATASETS:
        raise DataError(one_of("name", name, REMOTE_DATASETS) + " These can be fetched.")
    return REMOTE_DATASETS[name]
