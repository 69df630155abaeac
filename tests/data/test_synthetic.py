from __future__ import annotations

import numpy as np
import pytest

from neuralab.data import (
    Dataset,
    label_kind,
    load_dataset,
    make_circles,
    make_spirals,
    split_dataset,
)
from neuralab.errors import DataError, SpecError


def test_circles_match_the_chapter():
    data = make_circles(1000, noise=0.03, seed=42)
    assert data.x.shape == (1000, 2) and data.y.shape == (1000,)
    # The chapter's printed values.
    np.testing.assert_allclose(data.x[0], [0.75424625, 0.23148074], rtol=1e-6)
    np.testing.assert_allclose(data.x[-1], [0.28105665, 0.96382443], rtol=1e-6)
    assert data.y[:10].tolist() == [1, 1, 1, 1, 0, 1, 1, 1, 1, 0]
    assert np.bincount(data.y).tolist() == [500, 500]
    assert data.label_kind == "binary" and data.n_classes == 2


def test_chapter_split_is_first_800_last_200():
    data = make_circles(1000, noise=0.03, seed=42)
    splits = split_dataset(data, test_size=200)
    assert splits.train.n_samples == 800 and splits.test is not None
    np.testing.assert_array_equal(splits.test.x, data.x[800:])
    assert splits.validation is None


def test_split_fractions_and_shuffle_are_seeded():
    data = make_spirals(300, n_classes=3, seed=0)
    a = split_dataset(data, test_size=0.2, validation_size=0.1, shuffle=True, seed=3)
    b = split_dataset(data, test_size=0.2, validation_size=0.1, shuffle=True, seed=3)
    assert (a.train.n_samples, a.validation.n_samples, a.test.n_samples) == (216, 24, 60)
    np.testing.assert_array_equal(a.test.x, b.test.x)
    assert data.n_classes == 3 and data.label_kind == "int"


def test_split_leaving_nothing_to_train():
    data = make_circles(100)
    with pytest.raises(
        DataError, match=r"`test_size` asks for 100 of 100 rows.*Received: test_size=100"
    ):
        split_dataset(data, test_size=100)


def test_label_kinds():
    assert label_kind(np.array([0, 1, 1])) == "binary"
    assert label_kind(np.array([0, 2, 1])) == "int"
    assert label_kind(np.eye(3)[[0, 2, 1]]) == "onehot"
    assert label_kind(np.array([0.5, 1.2])) == "continuous"


def test_nan_in_features_is_an_error_naming_row_and_column():
    x = np.zeros((5, 2), dtype=np.float32)
    x[3, 1] = np.nan
    x[4, 0] = np.inf
    data = Dataset(x=x, y=np.array([0, 1, 0, 1, 0]), name="mine")
    with pytest.raises(
        DataError, match=r"2 NaN or infinite values in 2 rows \(first at row 3, column 1\)"
    ):
        data.check_finite()


def test_length_mismatch():
    with pytest.raises(DataError, match="x has 3 rows, y has 2"):
        Dataset(x=np.zeros((3, 2)), y=np.zeros(2))


def test_registry_unknown_dataset_lists_valid_names():
    with pytest.raises(
        SpecError,
        match=r"`name` must be one of \{'blobs', 'cat_vs_noncat', 'circles', 'csv', 'digits', 'fashion_mnist', 'h5', 'higgs', 'idx', 'image_folder', 'moons', 'npz', 'pizza_steak', 'spirals'\}\. Received: name='circle'\. Did you mean 'circles'\?",
    ):
        load_dataset("circle")


def test_registry_unknown_parameter():
    with pytest.raises(
        SpecError,
        match=r"data.nosie: the 'circles' data set has no parameter 'nosie'. Did you mean 'noise'\?",
    ):
        load_dataset("circles", {"nosie": 0.1})


def test_registry_bad_value():
    with pytest.raises(
        DataError, match=r"`n_samples` must be a positive integer. Received: n_samples=-5"
    ):
        load_dataset("circles", {"n_samples": -5})


def test_invalid_value_rejected_by_scikit_learn():
    with pytest.raises(
        DataError, match="data: invalid value for the 'blobs' data set: The 'cluster_std'"
    ):
        load_dataset("blobs", {"cluster_std": float("nan"), "n_samples": 30})


def test_loaded_data_with_nan_is_an_error(monkeypatch):
    def broken(n_samples: int = 10) -> Dataset:
        x = np.ones((n_samples, 2), dtype=np.float32)
        x[2, 0] = np.nan
        return Dataset(
            x=x, y=np.zeros(n_samples, dtype=np.int64), name="broken", source="broken.csv"
        )

    from neuralab.data import registry

    monkeypatch.setitem(registry.DATASETS, "broken", broken)
    with pytest.raises(DataError, match=r"broken.csv: features contain 1 NaN or infinite values"):
        load_dataset("broken")
