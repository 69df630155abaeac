"""The three augmentation layers Keras 3 lacks, registered with Keras for saving.

- :class:`RandomShearAngle`: ImageDataGenerator's shear, an angle about the image centre
  (``keras.layers.RandomShear`` shears about the top-left corner by a uniform tangent).
- :class:`RandomBrightnessFactor`: brightness MULTIPLIED by a factor
  (``keras.layers.RandomBrightness`` adds a delta).
- :class:`RandomShift`: shifts given in pixels, a ``RandomTranslation`` made once the image
  size is known.

This module imports Keras; :mod:`neuralab.data.augment` imports it only when it builds layers.
The registered names (``neuralab>RandomShearAngle`` and so on) are what saved models refer
to: keep them.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from neuralab.data.augment.spec import FILL_MODES, format_number
from neuralab.errors import SpecError, one_of

__all__ = ["CUSTOM_OBJECTS", "RandomBrightnessFactor", "RandomShearAngle", "RandomShift"]


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
                f"`{key}` is {format_number(value)} pixels, more than the image {what} "
                f"({size}); give at most {size} pixels or a fraction < 1. "
                f"Received: {key}={value!r}."
            )
        return value / size

    def build(self, input_shape: Any) -> None:
        height, width = input_shape[-3], input_shape[-2]
        self.translation = keras.layers.RandomTranslation(
            height_factor=self._factor(
                "height_shift_range", self.height_shift_range, height, "height"
            ),
            width_factor=self._factor("width_shift_range", self.width_shift_range, width, "width"),
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


#: The classes by name, e.g. for ``keras.saving.load_model(..., custom_objects=...)``.
CUSTOM_OBJECTS: dict[str, type[keras.layers.Layer]] = {
    "RandomShearAngle": RandomShearAngle,
    "RandomBrightnessFactor": RandomBrightnessFactor,
    "RandomShift": RandomShift,
}
