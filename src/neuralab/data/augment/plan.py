"""From an :class:`AugmentSpec` to Keras 3 layers, in ImageDataGenerator's order.

The plan is a list of steps, one per layer, each with its converted arguments and a line
saying what the conversion was: rotation, shift, shear, zoom (the order of
ImageDataGenerator's one composed affine matrix), then flips, then brightness. Steps whose
value does nothing (a zero range, a ``[1, 1]`` factor) are left out.

Keras is imported only by the functions that build layers (and the custom layers' module
with it), so planning and :func:`describe_augmentation` never need it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from neuralab.data.augment.spec import AugmentSpec, format_number, parse_augmentation

if TYPE_CHECKING:
    import keras

__all__ = [
    "augmentation_layers",
    "build_augmentation",
    "custom_objects",
    "describe_augmentation",
]

# Each layer gets seed + its offset, so that two layers never draw the same numbers.
_SEED_OFFSETS = {
    "rotation": 0,
    "translation": 1,
    "shift": 1,
    "shear": 2,
    "zoom": 3,
    "flip_horizontal": 4,
    "flip_vertical": 5,
    "brightness": 6,
}
_GEOMETRIC = {"rotation", "translation", "shift", "shear", "zoom"}


@dataclass(frozen=True)
class _Step:
    """One layer to build: its kind, its converted arguments and a human description."""

    kind: str
    args: dict[str, Any]
    line: str


# --------------------------------------------------------------------------- steps


def _rotation_steps(spec: AugmentSpec) -> list[_Step]:
    """Degrees -> a fraction of a full turn."""
    r = spec.rotation_range
    if not r:
        return []
    factor = r / 360.0
    line = (
        f"rotation_range={spec.as_written('rotation_range')} -> "
        f"RandomRotation(factor={format_number(factor)}) (±{format_number(r)}°; the factor "
        f"is a fraction of a full turn, {format_number(r)}/360)"
    )
    return [_Step("rotation", {"factor": factor}, line)]


def _shift_meaning(w: float, h: float) -> str:
    meaning = []
    for v, size, direction in ((w, "width", "left/right"), (h, "height", "up/down")):
        if v >= 1:
            meaning.append(f"{direction} ±{format_number(v)} pixels")
        elif v:
            meaning.append(f"{direction} ±{format_number(100 * v)}% of the {size}")
    return ", ".join(meaning)


def _shift_steps(spec: AugmentSpec) -> list[_Step]:
    """Fractions (< 1) -> RandomTranslation; pixels (>= 1) -> RandomShift, made when built."""
    w, h = spec.width_shift_range, spec.height_shift_range
    if not (w or h):
        return []
    given = ", ".join(
        f"{key}={spec.as_written(key)}"
        for key, v in (("width_shift_range", w), ("height_shift_range", h))
        if v
    )
    meaning = _shift_meaning(w, h)
    if w >= 1 or h >= 1:
        hf = f"{format_number(h)}/height" if h >= 1 else format_number(h)
        wf = f"{format_number(w)}/width" if w >= 1 else format_number(w)
        line = (
            f"{given} -> RandomShift, a RandomTranslation(height_factor={hf}, "
            f"width_factor={wf}) made when the image size is known ({meaning})"
        )
        return [_Step("shift", {"height_shift_range": h, "width_shift_range": w}, line)]
    line = (
        f"{given} -> RandomTranslation(height_factor={format_number(h)}, "
        f"width_factor={format_number(w)}) ({meaning})"
    )
    return [_Step("translation", {"height_factor": h, "width_factor": w}, line)]


def _shear_steps(spec: AugmentSpec) -> list[_Step]:
    """An angle in degrees, about the image centre."""
    s = spec.shear_range
    if not s:
        return []
    note = f"; the unit is degrees, so {format_number(s)} is almost no shear" if s <= 1 else ""
    line = (
        f"shear_range={spec.as_written('shear_range')} -> "
        f"RandomShearAngle(max_degrees={format_number(s)}) (shear angle ±{format_number(s)}° "
        f"about the centre, |tan| <= {format_number(math.tan(math.radians(s)))}{note})"
    )
    return [_Step("shear", {"max_degrees": s}, line)]


def _zoom_steps(spec: AugmentSpec) -> list[_Step]:
    """ImageDataGenerator's factor z is RandomZoom's 1 + factor (z < 1 zooms in in both)."""
    lo, hi = spec.zoom_range
    if (lo, hi) == (1.0, 1.0):
        return []
    zoom = (round(lo - 1.0, 12), round(hi - 1.0, 12))  # 0.8 - 1 -> -0.2, not -0.19..96
    factor_text = f"({format_number(zoom[0])}, {format_number(zoom[1])})"
    line = (
        f"zoom_range={spec.as_written('zoom_range')} -> RandomZoom(height_factor={factor_text}, "
        f"width_factor={factor_text}) (zoom factor in [{format_number(lo)}, "
        f"{format_number(hi)}], drawn separately for height and width; < 1 zooms in, "
        "> 1 zooms out)"
    )
    return [_Step("zoom", {"height_factor": zoom, "width_factor": zoom}, line)]


def _flip_steps(spec: AugmentSpec) -> list[_Step]:
    """One coin per axis, like ImageDataGenerator (one RandomFlip for both tosses one coin)."""
    steps = []
    for key, wanted, mode, text in (
        ("horizontal_flip", spec.horizontal_flip, "horizontal", "left-right"),
        ("vertical_flip", spec.vertical_flip, "vertical", "top-bottom"),
    ):
        if wanted:
            line = f"{key}=True -> RandomFlip({mode!r}) ({text} mirror half of the time)"
            steps.append(_Step(f"flip_{mode}", {"mode": mode}, line))
    return steps


def _brightness_steps(spec: AugmentSpec, value_range: tuple[float, float]) -> list[_Step]:
    """Multiplicative, clipped to the value range."""
    if spec.brightness_range is None or spec.brightness_range == (1.0, 1.0):
        return []
    lower, upper = (format_number(v) for v in spec.brightness_range)
    low, high = (format_number(v) for v in value_range)
    line = (
        f"brightness_range={spec.as_written('brightness_range')} -> "
        f"RandomBrightnessFactor(factor=({lower}, {upper})) (pixel values multiplied by a "
        f"factor in [{lower}, {upper}], clipped to [{low}, {high}]; "
        "keras.layers.RandomBrightness would add, not multiply)"
    )
    args = {"factor": spec.brightness_range, "value_range": value_range}
    return [_Step("brightness", args, line)]


def _plan(spec: AugmentSpec, value_range: tuple[float, float]) -> list[_Step]:
    """The layers to build, in ImageDataGenerator's order."""
    return [
        *_rotation_steps(spec),
        *_shift_steps(spec),
        *_shear_steps(spec),
        *_zoom_steps(spec),
        *_flip_steps(spec),
        *_brightness_steps(spec, value_range),
    ]


def _notes(spec: AugmentSpec, steps: list[_Step]) -> list[str]:
    """What applies to several layers: the fill mode and the seed."""
    notes: list[str] = []
    if any(step.kind in _GEOMETRIC for step in steps):
        given = "fill_mode" in spec.model_fields_set
        source = "" if given else " (default, as in ImageDataGenerator)"
        cval = f", cval={spec.as_written('cval')}" if spec.fill_mode == "constant" else ""
        notes.append(f"fill_mode={spec.fill_mode!r}{cval}{source} for the geometric layers")
    if spec.seed is not None and steps:
        notes.append(f"seed={spec.seed!r}: each layer is seeded with seed + a fixed offset")
    return notes


# --------------------------------------------------------------------------- layers


def _layer(step: _Step, spec: AugmentSpec) -> keras.layers.Layer:
    """The Keras layer of one step, seeded with the spec's seed + the step's offset."""
    import keras

    from neuralab.data.augment import layers as custom

    seed = None if spec.seed is None else spec.seed + _SEED_OFFSETS[step.kind]
    geometric: dict[str, Any] = {
        "fill_mode": spec.fill_mode,
        "fill_value": spec.cval,
        "interpolation": "bilinear",
    }
    kind, args = step.kind, step.args
    if kind == "rotation":
        return keras.layers.RandomRotation(
            **args, **geometric, seed=seed, data_format="channels_last", name="augment_rotation"
        )
    if kind == "translation":
        return keras.layers.RandomTranslation(
            **args, **geometric, seed=seed, data_format="channels_last", name="augment_shift"
        )
    if kind == "shift":
        return custom.RandomShift(**args, **geometric, seed=seed, name="augment_shift")
    if kind == "shear":
        return custom.RandomShearAngle(**args, **geometric, seed=seed, name="augment_shear")
    if kind == "zoom":
        return keras.layers.RandomZoom(
            **args, **geometric, seed=seed, data_format="channels_last", name="augment_zoom"
        )
    if kind.startswith("flip_"):
        return keras.layers.RandomFlip(
            **args, seed=seed, data_format="channels_last", name=f"augment_{kind}"
        )
    return custom.RandomBrightnessFactor(**args, seed=seed, name="augment_brightness")


def _check_value_range(value_range: Any) -> tuple[float, float]:
    if (
        not isinstance(value_range, tuple | list)
        or len(value_range) != 2
        or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in value_range
        )
        or not value_range[0] < value_range[1]
    ):
        raise ValueError(
            "`value_range` must be (low, high) with low < high. "
            f"Received: value_range={value_range!r}."
        )
    return float(value_range[0]), float(value_range[1])


def _as_spec(params: Mapping[str, Any] | AugmentSpec, where: str) -> AugmentSpec:
    return params if isinstance(params, AugmentSpec) else parse_augmentation(params, where=where)


# --------------------------------------------------------------------------- public API


def augmentation_layers(
    params: Mapping[str, Any] | AugmentSpec,
    *,
    where: str = "augment",
    value_range: tuple[float, float] = (0.0, 1.0),
) -> list[keras.layers.Layer]:
    """The Keras 3 layers for an ImageDataGenerator-style ``augment`` table, in order.

    Args:
        params: ImageDataGenerator keyword arguments (see :data:`AUGMENT_KEYS`), or an
            :class:`AugmentSpec`.
        where: Where ``params`` came from, to start error messages (``"augment"``).
        value_range: Range of the pixel values the layers see, for clipping brightness;
            (0, 1) after ``rescale = 1/255``.

    Returns:
        The layers; [] when nothing is augmented.

    Raises:
        SpecError: an unknown or unsupported key, or an invalid value.
        ValueError: ``value_range`` is not (low, high) with low < high.
    """
    checked_range = _check_value_range(value_range)
    spec = _as_spec(params, where)
    return [_layer(step, spec) for step in _plan(spec, checked_range)]


def build_augmentation(
    params: Mapping[str, Any] | AugmentSpec,
    *,
    where: str = "augment",
    value_range: tuple[float, float] = (0.0, 1.0),
    name: str = "augmentation",
) -> keras.Sequential:
    """:func:`augmentation_layers` in a ``keras.Sequential`` named ``name``.

    Empty ``params`` (or only zero ranges) give an identity: a Sequential holding a single
    ``keras.layers.Identity`` (Keras cannot call a Sequential without layers).
    """
    import keras

    layers = augmentation_layers(params, where=where, value_range=value_range)
    if not layers:
        layers = [keras.layers.Identity(name="no_augmentation")]
    return keras.Sequential(layers, name=name)


def describe_augmentation(
    params: Mapping[str, Any] | AugmentSpec,
    *,
    where: str = "augment",
    value_range: tuple[float, float] = (0.0, 1.0),
) -> list[str]:
    """One human line per layer (and notes on fill mode and seed); [] for no augmentation.

    Example:
        >>> describe_augmentation({"rotation_range": 20})[0]
        'rotation_range=20 -> RandomRotation(factor=0.0556) (±20°; the factor is a fraction of a full turn, 20/360)'
    """  # noqa: E501
    checked_range = (float(value_range[0]), float(value_range[1]))
    spec = _as_spec(params, where)
    steps = _plan(spec, checked_range)
    return [step.line for step in steps] + _notes(spec, steps)


def custom_objects() -> dict[str, type]:
    """neuralab's own augmentation layer classes, e.g. for ``keras.saving.load_model``.

    Calling it (or building any augmentation) imports them, which registers them with Keras,
    so a saved model containing them loads without ``custom_objects``.
    """
    from neuralab.data.augment.layers import CUSTOM_OBJECTS

    return dict(CUSTOM_OBJECTS)
