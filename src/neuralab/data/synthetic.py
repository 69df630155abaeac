"""Generated 2-D classification problems (scikit-learn's generators and spirals)."""

from __future__ import annotations

import numpy as np

from neuralab.data.dataset import Dataset
from neuralab.errors import DataError


def _positive(name: str, value: int) -> None:
    if value <= 0:
        raise DataError(f"`{name}` must be a positive integer. Received: {name}={value!r}.")


def make_circles(
    n_samples: int = 1000, *, noise: float = 0.03, factor: float = 0.8, seed: int = 42
) -> Dataset:
    """Two concentric circles (the circles chapter's data).

    Args:
        n_samples: Total points, half per class.
        noise: Standard deviation of Gaussian noise added to the points.
        factor: Scale of the inner circle relative to the outer one, in (0, 1).
        seed: ``random_state`` of :func:`sklearn.datasets.make_circles`.

    Returns:
        x of shape ``(n_samples, 2)``; y in {0 (outer), 1 (inner)}.
    """
    from sklearn.datasets import make_circles as _make

    _positive("n_samples", n_samples)
    if not 0 < factor < 1:
        raise DataError(f"`factor` must be in (0, 1). Received: factor={factor!r}.")
    x, y = _make(n_samples, noise=noise, factor=factor, random_state=seed)
    return Dataset(
        x=x.astype(np.float32),
        y=y.astype(np.int64),
        class_names=("outer", "inner"),
        name="circles",
        source=f"sklearn make_circles(n_samples={n_samples}, noise={noise}, random_state={seed})",
    )


def make_moons(n_samples: int = 1000, *, noise: float = 0.1, seed: int = 42) -> Dataset:
    """Two interleaving half circles."""
    from sklearn.datasets import make_moons as _make

    _positive("n_samples", n_samples)
    x, y = _make(n_samples, noise=noise, random_state=seed)
    return Dataset(
        x=x.astype(np.float32),
        y=y.astype(np.int64),
        class_names=("upper", "lower"),
        name="moons",
        source=f"sklearn make_moons(n_samples={n_samples}, noise={noise}, random_state={seed})",
    )


def make_blobs(
    n_samples: int = 1000,
    *,
    n_classes: int = 3,
    n_features: int = 2,
    cluster_std: float = 1.0,
    seed: int = 42,
) -> Dataset:
    """Gaussian blobs, one per class."""
    from sklearn.datasets import make_blobs as _make

    _positive("n_samples", n_samples)
    _positive("n_classes", n_classes)
    _positive("n_features", n_features)
    x, y = _make(
        n_samples,
        centers=n_classes,
        n_features=n_features,
        cluster_std=cluster_std,
        random_state=seed,
    )
    return Dataset(
        x=x.astype(np.float32),
        y=y.astype(np.int64),
        class_names=tuple(f"class {i}" for i in range(n_classes)),
        name="blobs",
        source=f"sklearn make_blobs(n_samples={n_samples}, centers={n_classes}, "
        f"random_state={seed})",
    )


def make_spirals(
    n_samples: int = 900, *, n_classes: int = 3, noise: float = 0.2, seed: int = 42
) -> Dataset:
    """Interleaved spirals (CS231n's classic), one arm per class.

    Args:
        n_samples: Total points, split evenly across arms.
        n_classes: Number of spiral arms.
        noise: Standard deviation of the angle noise, in radians.
        seed: Random seed.
    """
    _positive("n_samples", n_samples)
    _positive("n_classes", n_classes)
    rng = np.random.default_rng(seed)
    per = n_samples // n_classes
    xs, ys = [], []
    for k in range(n_classes):
        r = np.linspace(0.0, 1.0, per)
        t = np.linspace(k * 4, (k + 1) * 4, per) + rng.normal(0, noise, per)
        xs.append(np.c_[r * np.sin(t), r * np.cos(t)])
        ys.append(np.full(per, k))
    return Dataset(
        x=np.concatenate(xs).astype(np.float32),
        y=np.concatenate(ys).astype(np.int64),
        class_names=tuple(f"arm {i}" for i in range(n_classes)),
        name="spirals",
        source=f"spirals(n_samples={per * n_classes}, n_classes={n_classes}, noise={noise})",
    )
