"""A generated stand-in for the CNN chapter's ``pizza_steak/`` folder.

Deterministic, photo-like JPEGs in the same layout (``train/{pizza,steak}``,
``test/{pizza,steak}``; 750 + 250 images per class by default, like the real folder) and
varied sizes (256-512 px a side): a pizza is a round pie (golden crust, red sauce, melted
cheese, pepperoni, basil) and a steak an irregular brown slab with grill marks and sides, both
on the same kinds of tables and plates, under random light, blur, noise, rotation and JPEG
quality. It is written once into the data cache and read through the ordinary image-folder
loader.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from neuralab.data.dataset import Splits
from neuralab.data.download import RemoteDataset, RemoteFile, datasets_dir

CLASSES = ("pizza", "steak")
FOLDER_NAME = "pizza_steak_generated"


def _jitter(
    rng: np.random.Generator, color: tuple[int, int, int], amount: int
) -> tuple[int, int, int]:
    r, g, b = (int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in color)
    return r, g, b


def _background(rng: np.random.Generator, width: int, height: int) -> np.ndarray:
    tables = [
        (120, 85, 55),
        (160, 120, 80),
        (90, 60, 40),
        (200, 195, 185),
        (60, 60, 65),
        (180, 40, 40),
    ]
    base = np.array(_jitter(rng, tables[rng.integers(len(tables))], 25), dtype=np.float32)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, math.pi)
    grain = np.sin((xx * math.cos(angle) + yy * math.sin(angle)) / rng.uniform(3, 12))
    light = 1 + 0.25 * ((xx / width - rng.uniform(0, 1)) + (yy / height - rng.uniform(0, 1))) / 2
    image = base[None, None, :] * light[..., None] + 10 * grain[..., None]
    return np.clip(image, 0, 255)


def _pizza(image: Any, rng: np.random.Generator, cx: float, cy: float, r: float) -> None:
    from PIL import ImageDraw

    d = ImageDraw.Draw(image)
    squash = rng.uniform(0.85, 1.0)
    box = (cx - r, cy - r * squash, cx + r, cy + r * squash)
    d.ellipse(box, fill=_jitter(rng, (205, 150, 80), 20))
    inner = r * rng.uniform(0.8, 0.9)
    d.ellipse(
        (cx - inner, cy - inner * squash, cx + inner, cy + inner * squash),
        fill=_jitter(rng, (190, 50, 30), 25),
    )
    for _ in range(rng.integers(8, 20)):  # melted cheese
        a, rad = rng.uniform(0, 2 * math.pi), inner * math.sqrt(rng.uniform(0, 0.8))
        x, y, s = (
            cx + rad * math.cos(a),
            cy + rad * math.sin(a) * squash,
            inner * rng.uniform(0.1, 0.3),
        )
        d.ellipse((x - s, y - s * 0.7, x + s, y + s * 0.7), fill=_jitter(rng, (245, 215, 120), 15))
    for _ in range(rng.integers(0, 10)):  # pepperoni
        a, rad = rng.uniform(0, 2 * math.pi), inner * math.sqrt(rng.uniform(0, 0.75))
        x, y, s = (
            cx + rad * math.cos(a),
            cy + rad * math.sin(a) * squash,
            inner * rng.uniform(0.08, 0.14),
        )
        d.ellipse((x - s, y - s, x + s, y + s), fill=_jitter(rng, (150, 30, 25), 20))
    for _ in range(rng.integers(0, 6)):  # basil
        a, rad = rng.uniform(0, 2 * math.pi), inner * math.sqrt(rng.uniform(0, 0.7))
        x, y, s = cx + rad * math.cos(a), cy + rad * math.sin(a) * squash, inner * 0.06
        d.ellipse((x - s * 1.6, y - s, x + s * 1.6, y + s), fill=_jitter(rng, (50, 120, 40), 20))
    if rng.uniform() < 0.35:  # a slice already taken
        start = rng.uniform(0, 360)
        d.pieslice(box, start, start + rng.uniform(35, 60), fill=None)


def _steak(image: Any, rng: np.random.Generator, cx: float, cy: float, r: float) -> None:
    from PIL import Image, ImageDraw

    d = ImageDraw.Draw(image)
    n = 24
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    wobble = (
        1 + 0.18 * np.sin(angles * rng.integers(2, 4) + rng.uniform(0, 6)) + rng.normal(0, 0.05, n)
    )
    stretch = rng.uniform(1.1, 1.5)
    tilt = rng.uniform(0, math.pi)
    points = []
    for a, w in zip(angles, wobble, strict=True):
        x, y = r * w * stretch * math.cos(a), r * w * 0.75 * math.sin(a)
        points.append(
            (
                cx + x * math.cos(tilt) - y * math.sin(tilt),
                cy + x * math.sin(tilt) + y * math.cos(tilt),
            )
        )
    d.polygon(points, fill=_jitter(rng, (110, 55, 35), 25))
    inner = [(cx + (x - cx) * 0.85, cy + (y - cy) * 0.85) for x, y in points]
    d.polygon(inner, fill=_jitter(rng, (95, 45, 30), 20))
    # Grill marks, clipped to the meat: drawn on a copy and pasted through the slab's mask.
    marks = image.copy()
    marks_draw = ImageDraw.Draw(marks)
    spacing = r * rng.uniform(0.25, 0.35)
    direction = tilt + rng.uniform(0.6, 1.0)
    for k in range(-4, 5):
        ox = k * spacing * math.cos(direction + math.pi / 2)
        oy = k * spacing * math.sin(direction + math.pi / 2)
        half = r * 1.6
        x0, y0 = cx + ox - half * math.cos(direction), cy + oy - half * math.sin(direction)
        x1, y1 = cx + ox + half * math.cos(direction), cy + oy + half * math.sin(direction)
        marks_draw.line(
            (x0, y0, x1, y1), fill=_jitter(rng, (45, 25, 15), 10), width=max(2, int(r * 0.06))
        )
    mask = Image.new("L", image.size, 0)
    ImageDraw.Draw(mask).polygon(inner, fill=255)
    image.paste(marks, (0, 0), mask)
    for _ in range(rng.integers(0, 8)):  # sides: greens or fries
        a = rng.uniform(0, 2 * math.pi)
        x, y = cx + 1.5 * r * math.cos(a), cy + 1.2 * r * math.sin(a)
        s = r * rng.uniform(0.08, 0.16)
        if rng.uniform() < 0.5:
            d.ellipse(
                (x - s, y - s * 0.6, x + s, y + s * 0.6), fill=_jitter(rng, (60, 140, 50), 25)
            )
        else:
            d.rectangle(
                (x - s * 0.3, y - s * 1.5, x + s * 0.3, y + s * 1.5),
                fill=_jitter(rng, (230, 190, 90), 20),
            )


def draw_food(kind: str, seed: int) -> Any:
    """One generated photo of ``kind`` (``pizza`` or ``steak``) as a PIL image."""
    from PIL import Image, ImageDraw, ImageFilter

    rng = np.random.default_rng(seed)
    width, height = int(rng.integers(256, 513)), int(rng.integers(256, 513))
    image = Image.fromarray(_background(rng, width, height).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    cx = width * rng.uniform(0.35, 0.65)
    cy = height * rng.uniform(0.35, 0.65)
    r = min(width, height) * rng.uniform(0.22, 0.38)
    if rng.uniform() < 0.75:  # a plate
        pr = r * rng.uniform(1.25, 1.5)
        draw.ellipse(
            (cx - pr, cy - pr * 0.9, cx + pr, cy + pr * 0.9), fill=_jitter(rng, (235, 235, 230), 15)
        )
    (_pizza if kind == "pizza" else _steak)(image, rng, cx, cy, r)
    image = image.rotate(
        float(rng.uniform(-25, 25)), resample=Image.Resampling.BILINEAR, fillcolor=(90, 70, 50)
    )
    image = image.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.4, 1.6))))
    pixels = np.asarray(image, dtype=np.float64)
    pixels = pixels * rng.uniform(0.75, 1.2) + rng.normal(0, rng.uniform(3, 9), pixels.shape)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def write_food_folder(
    root: str | Path, *, n_train: int = 750, n_test: int = 250, seed: int = 42
) -> Path:
    """Write the generated ``pizza_steak`` layout into ``root`` (atomically: a temporary
    folder renamed at the end). ``n_train``/``n_test`` are images per class."""
    root = Path(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{root.name}.", dir=root.parent))
    try:
        for split, count, offset in (("train", n_train, 0), ("test", n_test, 10_000_000)):
            for c, kind in enumerate(CLASSES):
                folder = staging / split / kind
                folder.mkdir(parents=True)
                for i in range(count):
                    image_seed = seed * 100_003 + offset + c * 1_000_000 + i
                    quality = 75 + image_seed % 21
                    draw_food(kind, image_seed).save(
                        folder / f"{kind}_{i:04d}.jpg", quality=quality
                    )
        if root.exists():
            shutil.rmtree(root)
        os.replace(staging, root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return root


def generated_food_folder(*, n_train: int = 750, n_test: int = 250, seed: int = 42) -> Path:
    """The generated folder in the data cache, written on first use."""
    root = datasets_dir() / f"{FOLDER_NAME}-{n_train}-{n_test}-{seed}"
    if not (root / "train").is_dir():
        write_food_folder(root, n_train=n_train, n_test=n_test, seed=seed)
    return root


def pizza_steak(
    path: str | None = None,
    target_size: list[int] | int = 224,
    validation_split: float = 0.0,
    label_mode: str = "int",
    strict: bool = False,
    n_train: int = 750,
    n_test: int = 250,
    seed: int = 42,
) -> Splits:
    """The CNN chapter's pizza/steak folder (``path``), or the generated stand-in.

    Args:
        path: A ``pizza_steak/`` folder (train/ and test/ with pizza/ and steak/). None uses
            the folder ``neuralab data fetch pizza-steak`` downloaded, if any, else the
            generated one (written to the data cache on first use).
        target_size: Image size after resizing.
        validation_split: Fraction of the training images held out for validation.
        label_mode: ``int``, ``binary`` or ``categorical``.
        strict: Unreadable images are errors instead of skipped with a warning.
        n_train, n_test: Images per class of the generated folder.
        seed: Seed of the generated folder and of the validation split.
    """
    from neuralab.data.images import load_image_folder

    common: dict[str, Any] = {
        "target_size": target_size,
        "validation_split": validation_split,
        "label_mode": label_mode,
        "strict": strict,
        "seed": seed,
    }
    fetched = datasets_dir() / "pizza-steak" / "pizza_steak"
    if not path and (fetched / "train").is_dir():
        path = str(fetched)  # `neuralab data fetch pizza-steak` put the chapter's photos here
    if path:
        return load_image_folder(path, name="pizza_steak", **common)
    root = generated_food_folder(n_train=n_train, n_test=n_test, seed=seed)
    splits = load_image_folder(root, name="pizza_steak_generated", **common)
    note = (
        "No photo folder was given, so this ran on a generated stand-in: procedurally drawn "
        f"pizza and steak photos ({n_train} + {n_test} per class, 256-512 px, same layout as "
        "the chapter's pizza_steak/ folder). Its accuracies are not the chapter's; run `neuralab "
        "data fetch pizza-steak` or pass --data DIR for the real photos."
    )
    parts = {k: replace(v, notes=(*v.notes, note)) for k, v in splits.items()}
    return Splits(**parts)


# The chapter's zip (Food-101's pizza and steak classes, 750 + 250 images per class). The
# course publishes no checksum to pin here (and this project's build machines cannot download
# it), so the fetch verifies the MD5 that Cloud Storage publishes for the object (x-goog-hash)
# and the size; the loader then checks the layout.
PIZZA_STEAK = RemoteDataset(
    name="pizza-steak",
    files=(
        RemoteFile(
            "pizza_steak.zip",
            "https://storage.googleapis.com/ztm_tf_course/food_vision/pizza_steak.zip",
            None,
            109_497_985,
            extract=True,
        ),
    ),
    description="Food-101's pizza and steak photos, as used by the CNN chapter",
    homepage="https://data.vision.ee.ethz.ch/cvl/datasets_extra/food-101/",
)
