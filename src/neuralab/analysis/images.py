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
    images, captions = [], []
    for i in rng.permutation(len(files)):
        path, label = files[int(i)]
        try:
            with Image.open(path) as img:
                img.seek(0)
                array = np.asarray(img.convert("RGB"))
        except (OSError, ValueError, SyntaxError):
            continue  # unreadable: `neuralab data info` lists those
        images.append(array)
        captions.append(f"{label} {array.shape[1]}x{array.shape[0]}")
        if len(images) == n:
            break
    return _grid_of_any_sizes(images, captions, title=title)


def _grid_of_any_sizes(images: Sequence[np.ndarray], captions: Sequence[str], *, title: str) -> Any:
    plt = _pyplot()
    n = len(images)
    columns = min(3 if n <= 9 else 5, n)
    rows = -(-n // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 3.4 * rows), squeeze=False)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.02, top=0.9, wspace=0.08, hspace=0.25)
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
