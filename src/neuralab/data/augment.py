"""Image augmentation in ``ImageDataGenerator``'s names and units, built as Keras 3 layers.

The CNN chapter augments with Keras 2's (deprecated) ``ImageDataGenerator(rotation_range=20,
shear_range=0.2, zoom_range=0.2, width_shift_range=0.2, height_shift_range=0.2,
horizontal_flip=True)``. An ``augment`` section takes the same keys **in the same units** and
compiles them to preprocessing layers whose random draws have ImageDataGenerator's documented
meaning. The Keras 3 layers use other units, so every value is converted:

===================  ==========================================  ================================
key                  ImageDataGenerator meaning                  Keras 3 layer
===================  ==========================================  ================================
rotation_range=r     angle uniform in [-r, r] degrees            ``RandomRotation(factor=r/360)``
                                                                 (factor = fraction of a turn)
width_shift_range,   < 1: fraction of width/height;              ``RandomTranslation`` (fraction);
height_shift_range   >= 1: pixels, uniform in (-n, n)            pixels: :class:`RandomShift`,
                                                                 a RandomTranslation made with
                                                                 n/size once the size is known
shear_range=s        shear ANGLE uniform in [-s, s] degrees      :class:`RandomShearAngle`:
                     (not a fraction: 0.2 means 0.2°)            x += tan(angle)·(y - centre)
zoom_range=z or      zoom factor uniform in [1-z, 1+z] (or       ``RandomZoom(height_factor=
[lo, hi]             [lo, hi]), drawn separately for x and y;    (lo-1, hi-1), width_factor=same)``
                     factor < 1 zooms IN (the object grows)      (same sign convention)
horizontal_flip,     each mirror independently, half the time    ``RandomFlip("horizontal")``,
vertical_flip                                                    ``RandomFlip("vertical")``
brightness_range     pixel values MULTIPLIED by a factor         :class:`RandomBrightnessFactor`
=[lo, hi]            uniform in [lo, hi] (PIL ImageEnhance)      (clipped to the value range)
fill_mode, cval      "nearest" by default                        ``fill_mode``, ``fill_value``
seed                 int                                         one seed per layer, derived
===================  ==========================================  ================================

Why not the obvious layer in three places:

- ``keras.layers.RandomShear`` shears about the image's top-left corner (its matrix has no
  centre offset), so a 20° shear also slides the picture sideways by up to tan(20°)·H/2, and
  its factor is a tangent sampled uniformly; ImageDataGenerator shears about the centre with an
  angle sampled uniformly. :class:`RandomShearAngle` does the latter.
- ``RandomFlip("horizontal_and_vertical")`` draws ONE coin per image and flips both axes
  together (identity or a 180° turn); ImageDataGenerator tosses one coin per axis. Two layers
  reproduce that.
- ``keras.layers.RandomBrightness`` ADDS a delta; ImageDataGenerator's brightness multiplies.

Layers run in ImageDataGenerator's order: rotation, shift, shear, zoom (the order of its one
composed affine matrix), then flips, then brightness. Each geometric layer resamples the image
on its own (bilinear), where ImageDataGenerator resampled once. All layers are identity when
called with ``training=False`` (``model.predict``/``evaluate``), like ImageDataGenerator, which
only touched the training flow.

Where the legacy implementation (``keras/src/legacy/preprocessing/image.py``) strays from its
documentation, the documentation wins: that code applies ``width_shift_range`` along the rows
and ``height_shift_range`` along the columns, centres its matrix on (h/2, h/2) even for
non-square images, and its shear matrix ``[[1, -sin s], [0, cos s]]`` tilts vertical lines by
atan(sin s) (18.9° for s = 20°) while stretching them by 1/cos s. A shift given in pixels is
drawn continuously in [-n, n] here, where ImageDataGenerator drew whole pixels in (-n, n).

The three custom layers are defined (and registered with Keras for saving) on first use;
:func:`custom_objects` returns them. Keras is imported inside the functions:
``import neuralab.data.augment`` does not import Keras, and :func:`describe_augmentation`
never needs it.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from neuralab.errors import SpecError, did_you_mean, one_of

if TYPE_CHECKING:
    import keras

__all__ = [
    "AUGMENT_KEYS",
    "augmentation_layers",
    "build_augmentation",
    "custom_objects",
    "describe_augmentation",
]

AUGMENT_KEYS: tuple[str, ...] = (
    "rotation_range",
    "width_shift_range",
    "height_shift_range",
    "shear_range",
    "zoom_range",
    "horizontal_flip",
    "vertical_flip",
    "brightness_range",
    "fill_mode",
    "cval",
    "seed",
)

FILL_MODES: tuple[str, ...] = ("constant", "nearest", "reflect", "wrap")

# ImageDataGenerator options an augment section cannot take, and what to do instead.
_NORMALIZE = "put a keras.layers.Normalization layer in the model instead"
UNSUPPORTED: dict[str, str] = {
    "featurewise_center": (
        "It normalises with statistics of the whole training set (ImageDataGenerator.fit), "
        f"which is preprocessing, not augmentation: {_NORMALIZE}."
    ),
    "featurewise_std_normalization": (
        "It normalises with statistics of the whole training set (ImageDataGenerator.fit), "
        f"which is preprocessing, not augmentation: {_NORMALIZE}."
    ),
    "samplewise_center": (
        "It standardises every image (at inference too), which is preprocessing, not a random "
        "augmentation; remove it."
    ),
    "samplewise_std_normalization": (
        "It standardises every image (at inference too), which is preprocessing, not a random "
        "augmentation; remove it."
    ),
    "zca_whitening": "ZCA whitening has no Keras 3 layer; remove it.",
    "zca_epsilon": "ZCA whitening has no Keras 3 layer; remove it.",
    "channel_shift_range": (
        "Random channel shifts have no Keras 3 layer; remove it (`brightness_range` gives a "
        "random brightness change)."
    ),
    "rescale": (
        "Image data sets carry their scale (rescale = 1/255) and the model gets a Rescaling "
        "layer in front, for training and inference alike; remove `rescale` here."
    ),
    "preprocessing_function": "A Python function cannot be written in a spec; remove it.",
    "validation_split": "Splitting the data belongs to the data section; remove it here.",
    "interpolation_order": (
        "The layers interpolate bilinearly, ImageDataGenerator's default "
        "(interpolation_order=1); remove it."
    ),
    "data_format": "Images are channels_last, (batch, height, width, channels); remove it.",
    "dtype": "Augmented images are float32; remove it.",
}

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


@dataclass(frozen=True)
class _Plan:
    steps: tuple[_Step, ...]
    fill_mode: str
    cval: float
    seed: int | None
    notes: tuple[str, ...]


# --------------------------------------------------------------------------- validation


def _fmt(x: float) -> str:
    """A short decimal: 0.05555 -> '0.0556', 0.2 -> '0.2', 20.0 -> '20'."""
    text = f"{x:.4f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def _is_number(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _pair(value: object) -> tuple[float, float] | None:
    """``value`` as two numbers, or None if it is not a list/tuple of two numbers."""
    if isinstance(value, list | tuple) and len(value) == 2 and all(_is_number(v) for v in value):
        return float(value[0]), float(value[1])
    return None


def _bad(where: str, key: str, rule: str, value: object) -> SpecError:
    return SpecError(f"{where}.{key}: `{key}` {rule}. Received: {key}={value!r}.")


def _plan(params: Mapping[str, Any], where: str, value_range: tuple[float, float]) -> _Plan:
    """Check ``params`` and convert every key to the arguments of its layer."""
    if not isinstance(params, Mapping):
        raise SpecError(
            f"{where}: must be a table of ImageDataGenerator options, e.g. "
            f"{{rotation_range = 20, horizontal_flip = true}}. Received: {params!r}."
        )
    for key in params:
        if key in AUGMENT_KEYS:
            continue
        if key in UNSUPPORTED:
            raise SpecError(
                f"{where}.{key}: ImageDataGenerator's `{key}` is not supported. {UNSUPPORTED[key]}"
            )
        raise SpecError(
            f"{where}.{key}: unknown augmentation option {key!r}."
            f"{did_you_mean(str(key), AUGMENT_KEYS)} Allowed: {', '.join(AUGMENT_KEYS)}."
        )

    steps: list[_Step] = []

    # rotation: degrees -> fraction of a full turn.
    if "rotation_range" in params:
        r = params["rotation_range"]
        if not _is_number(r) or not 0 <= r <= 180:
            raise _bad(where, "rotation_range", "must be between 0 and 180 degrees", r)
        if r:
            factor = float(r) / 360.0
            steps.append(
                _Step(
                    "rotation",
                    {"factor": factor},
                    f"rotation_range={r!r} -> RandomRotation(factor={_fmt(factor)}) "
                    f"(±{_fmt(r)}°; the factor is a fraction of a full turn, {_fmt(r)}/360)",
                )
            )

    # shifts: fraction (< 1) or pixels (>= 1), per axis.
    shifts: dict[str, float] = {}
    for key, size in (("width_shift_range", "width"), ("height_shift_range", "height")):
        if key in params:
            v = params[key]
            if not _is_number(v) or v < 0:
                raise _bad(
                    where,
                    key,
                    f"must be a fraction of the image {size} (0 <= value < 1) or a number of "
                    "pixels (>= 1)",
                    v,
                )
            if v:
                shifts[key] = float(v)
    if shifts:
        given = [
            f"{k}={params[k]!r}" for k in ("width_shift_range", "height_shift_range") if k in shifts
        ]
        w = shifts.get("width_shift_range", 0.0)
        h = shifts.get("height_shift_range", 0.0)
        meaning = []
        for v, size, direction in ((w, "width", "left/right"), (h, "height", "up/down")):
            if v >= 1:
                meaning.append(f"{direction} ±{_fmt(v)} pixels")
            elif v:
                meaning.append(f"{direction} ±{_fmt(100 * v)}% of the {size}")
        if w >= 1 or h >= 1:
            hf = f"{_fmt(h)}/height" if h >= 1 else _fmt(h)
            wf = f"{_fmt(w)}/width" if w >= 1 else _fmt(w)
            steps.append(
                _Step(
                    "shift",
                    {"height_shift_range": h, "width_shift_range": w},
                    f"{', '.join(given)} -> RandomShift, a RandomTranslation(height_factor={hf}, "
                    f"width_factor={wf}) made when the image size is known "
                    f"({', '.join(meaning)})",
                )
            )
        else:
            steps.append(
                _Step(
                    "translation",
                    {"height_factor": h, "width_factor": w},
                    f"{', '.join(given)} -> RandomTranslation(height_factor={_fmt(h)}, "
                    f"width_factor={_fmt(w)}) ({', '.join(meaning)})",
                )
            )

    # shear: an angle in degrees, about the image centre.
    if "shear_range" in params:
        s = params["shear_range"]
        if not _is_number(s) or not 0 <= s < 90:
            raise _bad(
                where,
                "shear_range",
                "is an angle in degrees and must be at least 0 and below 90",
                s,
            )
        if s:
            note = f"; the unit is degrees, so {_fmt(s)} is almost no shear" if s <= 1 else ""
            steps.append(
                _Step(
                    "shear",
                    {"max_degrees": float(s)},
                    f"shear_range={s!r} -> RandomShearAngle(max_degrees={_fmt(s)}) (shear angle "
                    f"±{_fmt(s)}° about the centre, |tan| <= {_fmt(math.tan(math.radians(s)))}"
                    f"{note})",
                )
            )

    # zoom: ImageDataGenerator's factor z is RandomZoom's 1 + factor (z < 1 zooms in in both).
    if "zoom_range" in params:
        z = params["zoom_range"]
        rule = "must be a number in [0, 1) or a pair [lower, upper] with 0 < lower <= upper <= 2"
        if _is_number(z):
            if not 0 <= z < 1:
                raise _bad(where, "zoom_range", rule, z)
            lo, hi = 1.0 - float(z), 1.0 + float(z)
        else:
            pair = _pair(z)
            if pair is None or not 0 < pair[0] <= pair[1] <= 2:
                raise _bad(where, "zoom_range", rule, z)
            lo, hi = pair
        if (lo, hi) != (1.0, 1.0):
            zoom = (round(lo - 1.0, 12), round(hi - 1.0, 12))  # 0.8 - 1 -> -0.2, not -0.19..96
            factor_text = f"({_fmt(zoom[0])}, {_fmt(zoom[1])})"
            steps.append(
                _Step(
                    "zoom",
                    {"height_factor": zoom, "width_factor": zoom},
                    f"zoom_range={z!r} -> RandomZoom(height_factor={factor_text}, "
                    f"width_factor={factor_text}) (zoom factor in [{_fmt(lo)}, {_fmt(hi)}], "
                    "drawn separately for height and width; < 1 zooms in, > 1 zooms out)",
                )
            )

    # flips: one coin per axis, like ImageDataGenerator.
    for key, mode, text in (
        ("horizontal_flip", "horizontal", "left-right"),
        ("vertical_flip", "vertical", "top-bottom"),
    ):
        if key in params:
            v = params[key]
            if not isinstance(v, bool):
                raise _bad(where, key, "must be true or false", v)
            if v:
                steps.append(
                    _Step(
                        f"flip_{mode}",
                        {"mode": mode},
                        f"{key}=True -> RandomFlip({mode!r}) ({text} mirror half of the time)",
                    )
                )

    # brightness: multiplicative.
    if "brightness_range" in params:
        b = params["brightness_range"]
        pair = _pair(b)
        if pair is None or not 0 <= pair[0] <= pair[1]:
            raise _bad(
                where,
                "brightness_range",
                "must be a pair [lower, upper] of factors with 0 <= lower <= upper",
                b,
            )
        if pair != (1.0, 1.0):
            steps.append(
                _Step(
                    "brightness",
                    {"factor": pair, "value_range": value_range},
                    f"brightness_range={b!r} -> RandomBrightnessFactor(factor=({_fmt(pair[0])}, "
                    f"{_fmt(pair[1])})) (pixel values multiplied by a factor in "
                    f"[{_fmt(pair[0])}, {_fmt(pair[1])}], clipped to "
                    f"[{_fmt(value_range[0])}, {_fmt(value_range[1])}]; "
                    "keras.layers.RandomBrightness would add, not multiply)",
                )
            )

    fill_mode = params.get("fill_mode", "nearest")
    if fill_mode not in FILL_MODES:
        raise SpecError(f"{where}.fill_mode: {one_of('fill_mode', fill_mode, FILL_MODES)}")
    cval = params.get("cval", 0.0)
    if not _is_number(cval):
        raise _bad(where, "cval", "must be a number", cval)
    seed = params.get("seed")
    if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
        raise _bad(where, "seed", "must be a non-negative integer", seed)

    notes: list[str] = []
    if any(step.kind in _GEOMETRIC for step in steps):
        source = "" if "fill_mode" in params else " (default, as in ImageDataGenerator)"
        cval_text = f", cval={cval!r}" if fill_mode == "constant" else ""
        notes.append(f"fill_mode={fill_mode!r}{cval_text}{source} for the geometric layers")
    if seed is not None and steps:
        notes.append(f"seed={seed!r}: each layer is seeded with seed + a fixed offset")
    return _Plan(tuple(steps), str(fill_mode), float(cval), seed, tuple(notes))


# --------------------------------------------------------------------------- custom layers


@functools.cache
def _custom_classes() -> dict[str, type]:
    """Define (once, on first use) the layers Keras 3 lacks; see the module docstring."""
    import keras
    from keras import ops

    def _batched(images: Any) -> tuple[Any, bool]:
        if len(images.shape) == 3:
            return ops.expand_dims(images, 0), True
        return images, False

    @keras.saving.register_keras_serializable(package="neuralab")
    class RandomShearAngle(keras.layers.Layer):
        """Horizontal shear about the image centre by an angle uniform in ±``max_degrees``.

        Output pixel (x, y) is read from input (x - tan(a)·(y - cy), y), cy = (height - 1)/2:
        a vertical line through the centre turns by ``a`` (counter-clockwise on screen for
        a > 0) and the centre stays put. This is ImageDataGenerator's ``shear_range`` (an angle
        in degrees); ``keras.layers.RandomShear`` shears about the top-left corner instead.
        Identity when ``training=False``. Images are channels_last.
        """

        def __init__(
            self,
            max_degrees: float,
            fill_mode: str = "nearest",
            fill_value: float = 0.0,
            interpolation: str = "bilinear",
            seed: int | None = None,
            **kwargs: Any,
        ) -> None:
            super().__init__(**kwargs)
            if not 0 <= max_degrees < 90:
                raise ValueError(
                    "`max_degrees` must be at least 0 and below 90. "
                    f"Received: max_degrees={max_degrees!r}."
                )
            if fill_mode not in FILL_MODES:
                raise ValueError(one_of("fill_mode", fill_mode, FILL_MODES))
            if interpolation not in ("nearest", "bilinear"):
                raise ValueError(one_of("interpolation", interpolation, ("nearest", "bilinear")))
            self.max_degrees = float(max_degrees)
            self.fill_mode = fill_mode
            self.fill_value = float(fill_value)
            self.interpolation = interpolation
            self.seed = seed
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, images: Any, training: bool = True) -> Any:
            images = ops.cast(images, self.compute_dtype)
            if not training:
                return images
            images, unbatched = _batched(images)
            shape = ops.shape(images)
            radians = keras.random.uniform(
                (shape[0],),
                minval=-self.max_degrees,
                maxval=self.max_degrees,
                seed=self.seed_generator,
                dtype="float32",
            ) * (math.pi / 180.0)
            k = ops.tan(radians)
            cy = (ops.cast(shape[1], "float32") - 1.0) / 2.0
            ones, zeros = ops.ones_like(k), ops.zeros_like(k)
            transform = ops.stack([ones, -k, k * cy, zeros, ones, zeros, zeros, zeros], axis=1)
            out = ops.image.affine_transform(
                images,
                transform,
                interpolation=self.interpolation,
                fill_mode=self.fill_mode,
                fill_value=self.fill_value,
                data_format="channels_last",
            )
            return ops.squeeze(out, 0) if unbatched else out

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

        def get_config(self) -> dict[str, Any]:
            return {
                **super().get_config(),
                "max_degrees": self.max_degrees,
                "fill_mode": self.fill_mode,
                "fill_value": self.fill_value,
                "interpolation": self.interpolation,
                "seed": self.seed,
            }

    @keras.saving.register_keras_serializable(package="neuralab")
    class RandomBrightnessFactor(keras.layers.Layer):
        """Multiply each image's brightness by a factor uniform in ``factor = (lower, upper)``.

        ``out = clip(lo + (x - lo) * f, lo, hi)`` with ``(lo, hi) = value_range``: for images
        in [0, 1] that is ``clip(x * f, 0, 1)``, PIL's ``ImageEnhance.Brightness`` used by
        ImageDataGenerator's ``brightness_range``. (``keras.layers.RandomBrightness`` adds a
        delta instead.) One factor per image; identity when ``training=False``.
        """

        def __init__(
            self,
            factor: tuple[float, float],
            value_range: tuple[float, float] = (0.0, 1.0),
            seed: int | None = None,
            **kwargs: Any,
        ) -> None:
            super().__init__(**kwargs)
            lower, upper = (float(v) for v in factor)
            if not 0 <= lower <= upper:
                raise ValueError(
                    "`factor` must be (lower, upper) with 0 <= lower <= upper. "
                    f"Received: factor={factor!r}."
                )
            lo, hi = (float(v) for v in value_range)
            if not lo < hi:
                raise ValueError(
                    f"`value_range` must be (low, high) with low < high. "
                    f"Received: value_range={value_range!r}."
                )
            self.factor = (lower, upper)
            self.value_range = (lo, hi)
            self.seed = seed
            self.seed_generator = keras.random.SeedGenerator(seed)

        def call(self, images: Any, training: bool = True) -> Any:
            images = ops.cast(images, self.compute_dtype)
            if not training:
                return images
            shape = ops.shape(images)
            factor_shape = (shape[0], 1, 1, 1) if len(shape) == 4 else (1, 1, 1)
            f = keras.random.uniform(
                factor_shape,
                minval=self.factor[0],
                maxval=self.factor[1],
                seed=self.seed_generator,
                dtype=self.compute_dtype,
            )
            lo, hi = self.value_range
            return ops.clip(lo + (images - lo) * f, lo, hi)

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

        def get_config(self) -> dict[str, Any]:
            return {
                **super().get_config(),
                "factor": list(self.factor),
                "value_range": list(self.value_range),
                "seed": self.seed,
            }

    @keras.saving.register_keras_serializable(package="neuralab")
    class RandomShift(keras.layers.Layer):
        """ImageDataGenerator's ``height_shift_range`` / ``width_shift_range``.

        A value < 1 is a fraction of the height/width, a value >= 1 a number of pixels; the
        shift is uniform in ±value. Builds a ``keras.layers.RandomTranslation`` once the image
        size is known (pixels / size = its factor) and delegates to it.
        """

        def __init__(
            self,
            height_shift_range: float = 0.0,
            width_shift_range: float = 0.0,
            fill_mode: str = "nearest",
            fill_value: float = 0.0,
            interpolation: str = "bilinear",
            seed: int | None = None,
            **kwargs: Any,
        ) -> None:
            super().__init__(**kwargs)
            for name, v in (
                ("height_shift_range", height_shift_range),
                ("width_shift_range", width_shift_range),
            ):
                if not v >= 0:
                    raise ValueError(f"`{name}` must be >= 0. Received: {name}={v!r}.")
            self.height_shift_range = float(height_shift_range)
            self.width_shift_range = float(width_shift_range)
            self.fill_mode = fill_mode
            self.fill_value = float(fill_value)
            self.interpolation = interpolation
            self.seed = seed
            self.translation: Any = None

        def _factor(self, key: str, value: float, size: int | None, what: str) -> float:
            if value < 1:
                return value
            if size is None:
                raise SpecError(
                    f"`{key}` in pixels needs images of a fixed {what}; give a fraction < 1 "
                    f"instead. Received: {key}={value!r}."
                )
            if value > size:
                raise SpecError(
                    f"`{key}` is {_fmt(value)} pixels, more than the image {what} ({size}); "
                    f"give at most {size} pixels or a fraction < 1. Received: {key}={value!r}."
                )
            return value / size

        def build(self, input_shape: Any) -> None:
            height, width = input_shape[-3], input_shape[-2]
            self.translation = keras.layers.RandomTranslation(
                height_factor=self._factor(
                    "height_shift_range", self.height_shift_range, height, "height"
                ),
                width_factor=self._factor(
                    "width_shift_range", self.width_shift_range, width, "width"
                ),
                fill_mode=self.fill_mode,
                fill_value=self.fill_value,
                interpolation=self.interpolation,
                seed=self.seed,
                data_format="channels_last",
                name="translation",
            )

        def call(self, images: Any, training: bool = True) -> Any:
            return self.translation(images, training=training)

        def compute_output_shape(self, input_shape: Any) -> Any:
            return input_shape

        def get_config(self) -> dict[str, Any]:
            return {
                **super().get_config(),
                "height_shift_range": self.height_shift_range,
                "width_shift_range": self.width_shift_range,
                "fill_mode": self.fill_mode,
                "fill_value": self.fill_value,
                "interpolation": self.interpolation,
                "seed": self.seed,
            }

    return {
        "RandomShearAngle": RandomShearAngle,
        "RandomBrightnessFactor": RandomBrightnessFactor,
        "RandomShift": RandomShift,
    }


def custom_objects() -> dict[str, type]:
    """neuralab's own augmentation layer classes, e.g. for ``keras.saving.load_model``.

    Calling it (or building any augmentation) also registers them with Keras, so a saved
    model containing them loads without ``custom_objects``.
    """
    return dict(_custom_classes())


# --------------------------------------------------------------------------- public API


def augmentation_layers(
    params: Mapping[str, Any],
    *,
    where: str = "augment",
    value_range: tuple[float, float] = (0.0, 1.0),
) -> list[keras.layers.Layer]:
    """The Keras 3 layers for an ImageDataGenerator-style ``augment`` table, in order.

    Args:
        params: ImageDataGenerator keyword arguments (see :data:`AUGMENT_KEYS`).
        where: Where ``params`` came from, to start error messages (``"augment"``).
        value_range: Range of the pixel values the layers see, for clipping brightness;
            (0, 1) after ``rescale = 1/255``.

    Raises:
        SpecError: an unknown or unsupported key, or an invalid value.
    """
    if (
        not isinstance(value_range, tuple | list)
        or len(value_range) != 2
        or not all(_is_number(v) for v in value_range)
        or not value_range[0] < value_range[1]
    ):
        raise ValueError(
            "`value_range` must be (low, high) with low < high. "
            f"Received: value_range={value_range!r}."
        )
    value_range = (float(value_range[0]), float(value_range[1]))
    plan = _plan(params, where, value_range)
    if not plan.steps:
        return []

    import keras

    custom = _custom_classes()
    geometric = {
        "fill_mode": plan.fill_mode,
        "fill_value": plan.cval,
        "interpolation": "bilinear",
    }
    layers: list[keras.layers.Layer] = []
    for step in plan.steps:
        seed = None if plan.seed is None else plan.seed + _SEED_OFFSETS[step.kind]
        kind, args = step.kind, step.args
        if kind == "rotation":
            layer = keras.layers.RandomRotation(
                **args, **geometric, seed=seed, data_format="channels_last", name="augment_rotation"
            )
        elif kind == "translation":
            layer = keras.layers.RandomTranslation(
                **args, **geometric, seed=seed, data_format="channels_last", name="augment_shift"
            )
        elif kind == "shift":
            layer = custom["RandomShift"](**args, **geometric, seed=seed, name="augment_shift")
        elif kind == "shear":
            layer = custom["RandomShearAngle"](**args, **geometric, seed=seed, name="augment_shear")
        elif kind == "zoom":
            layer = keras.layers.RandomZoom(
                **args, **geometric, seed=seed, data_format="channels_last", name="augment_zoom"
            )
        elif kind.startswith("flip_"):
            layer = keras.layers.RandomFlip(
                **args, seed=seed, data_format="channels_last", name=f"augment_{kind}"
            )
        else:  # brightness
            layer = custom["RandomBrightnessFactor"](**args, seed=seed, name="augment_brightness")
        layers.append(layer)
    return layers


def build_augmentation(
    params: Mapping[str, Any],
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
    params: Mapping[str, Any],
    *,
    where: str = "augment",
    value_range: tuple[float, float] = (0.0, 1.0),
) -> list[str]:
    """One human line per layer (and notes on fill mode and seed); [] for no augmentation.

    Example:
        >>> describe_augmentation({"rotation_range": 20})[0]
        'rotation_range=20 -> RandomRotation(factor=0.0556) (±20°; the factor is a fraction of a full turn, 20/360)'
    """  # noqa: E501
    plan = _plan(params, where, (float(value_range[0]), float(value_range[1])))
    return [step.line for step in plan.steps] + list(plan.notes)
