"""``neuralab data``: fetch data sets into the cache and look at image folders and tables."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from rich.table import Table

from neuralab.cli._app import _say, _title, _user_errors, app, console
from neuralab.cli._progress import _download_progress
from neuralab.errors import NeuralabError

data_app = typer.Typer(
    help="Data sets: fetch them into the cache.", no_args_is_help=True, add_completion=False
)
app.add_typer(data_app, name="data")

AllowUnverifiedOpt = Annotated[
    bool,
    typer.Option(
        "--allow-unverified",
        help="Accept files that cannot be verified (no checksum pinned, none published by the "
        "server, e.g. some mirrors) on their size alone; they are recorded as unverified.",
    ),
]

CHAPTER_AUGMENTATION: dict[str, Any] = {
    "rotation_range": 20,
    "shear_range": 0.2,
    "zoom_range": 0.2,
    "width_shift_range": 0.2,
    "height_shift_range": 0.2,
    "horizontal_flip": True,
}


@data_app.command("fetch")
def data_fetch_command(
    name: Annotated[str, typer.Argument(help="Data set to download (e.g. fashion-mnist).")],
    mirror: Annotated[
        str | None,
        typer.Option("--mirror", help="Base URL of a mirror serving the same file names."),
    ] = None,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the server.")] = 30.0,
    allow_unverified: AllowUnverifiedOpt = False,
) -> None:
    """Download a data set into the cache: verified checksums, resumable, all or nothing."""
    with _user_errors():
        _fetch(name, mirror=mirror, timeout=timeout, allow_unverified=allow_unverified)


def _fetch(
    name: str, *, mirror: str | None, timeout: float, allow_unverified: bool = False
) -> Path:
    from neuralab.data.download import fetch_dataset
    from neuralab.data.registry import remote_dataset

    remote = remote_dataset(name)
    mirror = mirror or os.environ.get("NEURALAB_MIRROR")
    if mirror:
        remote = remote.with_mirror(mirror)
    with _download_progress() as progress:
        path = fetch_dataset(
            remote, progress=progress, timeout=timeout, allow_unverified=allow_unverified
        )
    _say(f"{name}: {path}")
    return path


@data_app.command("info")
def data_info_command(
    path: Annotated[
        Path,
        typer.Argument(
            help="An image folder (train/test/<class> or <class>), a CSV table, or an .npz / "
            ".h5 file."
        ),
    ],
    label: Annotated[
        str | None,
        typer.Option("--label", help="Table: the label column (default: the last column)."),
    ] = None,
    rows: Annotated[int, typer.Option("--rows", help="Table: how many first rows to show.")] = 5,
) -> None:
    """Walk an image folder (images per split and class, sizes, ignored and unreadable files)
    or read a table (columns with their type, missing cells, class balance, first rows)."""
    with _user_errors():
        if path.is_file():
            from neuralab.data.arrays import ARRAY_SUFFIXES

            if path.suffix.lower() in ARRAY_SUFFIXES:
                _arrays_info(path)
            else:
                _table_info(path, label=label, n_rows=rows)
            return
        from neuralab.data.images import find_unreadable_images, image_size, scan_image_folder

        folder = scan_image_folder(path)
        kind = "train/test folders" if folder.layout == "split" else "class folders"
        table = Table(title=_title(f"{folder.root} ({kind})"))
        table.add_column("split")
        for name in folder.class_names:
            table.add_column(name, justify="right")
        table.add_column("total", justify="right")
        for split, counts in folder.counts().items():
            table.add_row(split, *[str(v) for v in counts.values()], str(sum(counts.values())))
        console.print(table)
        files = [file for items in folder.files.values() for file, _ in items]
        # Decoded as the loader decodes them: a truncated JPEG has a readable header.
        unreadable = find_unreadable_images(files)
        sizes = [
            size
            for size in (image_size(file) for file in files if file not in unreadable)
            if size is not None
        ]
        if sizes:
            widths = np.asarray([w for w, _ in sizes])
            heights = np.asarray([h for _, h in sizes])
            _say(
                f"Image sizes: width {widths.min()}-{widths.max()} "
                f"(median {int(np.median(widths))}), "
                f"height {heights.min()}-{heights.max()} (median {int(np.median(heights))}); "
                f"{len(set(sizes))} distinct sizes in {len(sizes)} images."
            )
        listed = list(unreadable.items())[:10]
        _say(
            f"Unreadable images: {len(unreadable)}"
            + "".join(f"\n  {f} ({why})" for f, why in listed)
            + (f"\n  and {len(unreadable) - len(listed)} more" if len(unreadable) > 10 else "")
        )
        _say(
            f"Ignored (not JPEG/PNG/BMP/GIF): {len(folder.ignored)}"
            + "".join(f"\n  {f}" for f in folder.ignored[:10])
        )


def _arrays_info(path: Path) -> None:
    from neuralab.data.arrays import describe_arrays

    table = Table(title=_title(f"{path} (keys for x_key, y_key, ...)"))
    for name in ("key", "shape", "dtype"):
        table.add_column(name)
    for key, shape, dtype in describe_arrays(path):
        table.add_row(key, " x ".join(map(str, shape)) or "scalar", dtype)
    console.print(table)


def _table_info(path: Path, *, label: str | None, n_rows: int) -> None:
    from rich.markup import escape

    from neuralab.data.table import describe_table

    with _download_progress() as progress:
        info = describe_table(path, label=label, n_first=max(n_rows, 0), progress=progress)
    _say(f"{info.path}: {info.n_rows:,} rows; {info.fmt.describe()}.")
    for note in info.fmt.notes:
        _say(f"Note: {note}")
    table = Table(title=_title("Columns"))
    for name in ("column", "type", "values", "missing", "range / categories"):
        table.add_column(name, justify="right" if name in ("values", "missing") else "left")
    for column in info.columns:
        if column.kind == "numeric":
            shown = f"{column.minimum:g} to {column.maximum:g}"
        else:
            top = sorted(column.distinct.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
            more = "+" if column.capped else ""
            shown = f"{len(column.distinct)}{more} distinct: " + ", ".join(t for t, _ in top)
        kind = column.kind + (" (label)" if column.name == info.label else "")
        table.add_row(
            escape(column.name), kind, f"{column.values:,}", f"{column.missing:,}", escape(shown)
        )
    console.print(table)
    counts = info.class_counts()
    if counts:
        balance = Table(title=_title(f"Class balance of {info.label!r}"))
        for name in ("class", "rows", "share"):
            balance.add_column(name, justify="left" if name == "class" else "right")
        total = sum(counts.values())
        for name, n in list(counts.items())[:30]:
            balance.add_row(escape(name), f"{n:,}", f"{100 * n / total:.1f}%")
        console.print(balance)
    if info.first_rows:
        first = Table(title=_title(f"First {len(info.first_rows)} rows"))
        for column in info.columns:
            first.add_column(escape(column.name))
        for fields in info.first_rows:
            first.add_row(*(escape(f) for f in fields))
        console.print(first)


@data_app.command("preview")
def data_preview_command(
    path: Annotated[Path, typer.Argument(help="An image folder.")],
    n: Annotated[int, typer.Option("--n", help="How many images.")] = 9,
    split: Annotated[str, typer.Option(help="Split to draw from (train, test, all).")] = "train",
    seed: Annotated[int | None, typer.Option(help="Seed for the random choice.")] = None,
    output: Annotated[Path | None, typer.Option("--output", help="PNG file to write.")] = None,
) -> None:
    """Write a grid of random images with their class (the chapter's view_random_image)."""
    with _user_errors():
        from neuralab.analysis.figures import save_figure
        from neuralab.analysis.images import random_images_figure
        from neuralab.data.images import scan_image_folder

        folder = scan_image_folder(path)
        key = split if split in folder.files else next(iter(folder.files))
        if split not in folder.files and split != "all":
            raise NeuralabError(
                f"{folder.root}: no {split!r} split; splits: {', '.join(folder.files)}."
            )
        files = [(p, folder.class_names[c]) for p, c in folder.files[key]]
        figure = random_images_figure(files, n=n, seed=seed, title=f"{folder.root.name}: {key}")
        target = output or Path(f"{folder.root.name}-preview.png")
        _say(f"Preview: {save_figure(figure, target)}")


@data_app.command("augment-preview")
def data_augment_preview_command(
    path: Annotated[Path, typer.Argument(help="An image folder.")],
    augment: Annotated[
        str,
        typer.Option(
            help="ImageDataGenerator-style settings, e.g. 'rotation_range=20, zoom_range=0.2' "
            "(default: the CNN chapter's)."
        ),
    ] = "",
    n: Annotated[int, typer.Option("--n", help="How many images.")] = 4,
    size: Annotated[int, typer.Option(help="Image size (pixels a side).")] = 224,
    seed: Annotated[int, typer.Option(help="Seed.")] = 42,
    output: Annotated[Path | None, typer.Option("--output", help="PNG file to write.")] = None,
) -> None:
    """Write original vs augmented images side by side (the chapter's augmentation figure)."""
    with _user_errors():
        import tomllib

        from neuralab.analysis.figures import save_figure
        from neuralab.analysis.images import augmentation_figure
        from neuralab.data.images import check_target_size, decode_image, scan_image_folder

        settings = dict(CHAPTER_AUGMENTATION)
        if augment.strip():
            try:
                settings = tomllib.loads("\n".join(part.strip() for part in augment.split(",")))
            except tomllib.TOMLDecodeError as exc:
                raise NeuralabError(
                    f"--augment: write key=value pairs separated by commas, e.g. "
                    f"'rotation_range=20, horizontal_flip=true' ({exc}). Received: {augment!r}."
                ) from None
        target_size = check_target_size(size, "size")
        folder = scan_image_folder(path)
        items = folder.files.get("train") or next(iter(folder.files.values()))
        rng = np.random.default_rng(seed)
        chosen, decoded = [], []
        for i in rng.permutation(len(items)):
            try:
                decoded.append(decode_image(items[int(i)][0], target_size))
            except (OSError, ValueError, SyntaxError):
                continue  # unreadable: `neuralab data info` lists those
            chosen.append(int(i))
            if len(chosen) == n:
                break
        originals = np.stack(decoded)
        from neuralab.data.augment import build_augmentation

        pipeline = build_augmentation(settings, where="--augment")
        from neuralab.training.seeding import set_random_seed

        set_random_seed(seed)  # Keras's own imports TensorFlow even on JAX (about 3 s)
        scaled = originals.astype(np.float32) / 255.0
        augmented = np.clip(np.asarray(pipeline(scaled, training=True)), 0.0, 1.0)
        captions = [folder.class_names[items[i][1]] for i in chosen]
        figure = augmentation_figure(
            scaled, augmented, captions, title=", ".join(f"{k}={v}" for k, v in settings.items())
        )
        target = output or Path(f"{folder.root.name}-augmented.png")
        _say(f"Augmentation preview: {save_figure(figure, target)}")
