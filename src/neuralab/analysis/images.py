"""Looking at image data: a grid of random images (the chapter's ``view_random_image``) and
original-vs-augmented pairs (its augmentation figure)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.analysis.evaluation import plot_image_grid
from neuralab.analysis.figures import _pyplot


def random_images_figure(
    files: Sequence[tuple[Path, str]],
    *,
    n: int = 9,
    seed: int | None = None,
    title: str = "",
) -> Any:
    """Random images from ``(path, class name)`` pairs, each titled with its class and shape."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(files), size=min(n, len(files)), replace=False)
    images, captions = [], []
    for i in chosen:
        path, label = files[int(i)]
        with Image.open(path) as img:
            img.seek(0)
            array = np.asarray(img.convert("RGB"))
        images.append(array)
        captions.append(f"{label} {array.shape[1]}x{array.shape[0]}")
    return _grid_of_any_sizes(images, captions, title=title)


def _grid_of_any_sizes(images: Sequence[np.ndarray], captions: Sequence[str], *, title: str) -> Any:
    plt = _pyplot()
    n = len(images)
    columns = min(3 if n <= 9 else 5, n)
    rows = -(-n // columns)
    fig, axes = plt.subplots(
        rows, columns, figsize=(3.2 * columns, 3.2 * rows), squeeze=False, layout="constrained"
    )
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i])
            ax.set_title(captions[i], fontsize=10)
    if title:
        fig.suptitle(title)
    return fig


def augmentation_figure(
    originals: np.ndarray,
    augmented: np.ndarray,
    captions: Sequence[str],
    *,
    title: str = "",
    labels: Mapping[str, str] | None = None,
) -> Any:
    """Each original image next to an augmented version of it (two rows per pair)."""
    words = dict(labels or {})
    pairs = []
    texts = []
    for original, changed, caption in zip(originals, augmented, captions, strict=True):
        pairs += [original, changed]
        texts += [
            f"{caption}: {words.get('original', 'original')}",
            words.get("augmented", "augmented"),
        ]
    return plot_image_grid(np.asarray(pairs), texts, title=title, columns=4)
