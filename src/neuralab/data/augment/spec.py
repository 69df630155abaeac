"""The ``augment`` section as a validated spec, in ``ImageDataGenerator``'s names and units.

:class:`AugmentSpec` checks every value where it is given and keeps it in one normal form
(``zoom_range`` as the factor bounds ``(lower, upper)``); :func:`parse_augmentation` turns a
table (TOML, CLI, Python) into one, with the table's location in front of every message.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, Literal, Self, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    ModelWrapValidatorHandler,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from neuralab.errors import SpecError, did_you_mean, one_of

__all__ = [
    "AUGMENT_KEYS",
    "FILL_MODES",
    "UNSUPPORTED",
    "AugmentSpec",
    "format_number",
    "parse_augmentation",
]

FillMode = Literal["constant", "nearest", "reflect", "wrap"]
FILL_MODES: tuple[str, ...] = get_args(FillMode)

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

_ZOOM_RULE = "must be a number in [0, 1) or a pair [lower, upper] with 0 < lower <= upper <= 2"


def format_number(x: float) -> str:
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


def _bad(key: str, rule: str, value: object) -> ValueError:
    return ValueError(f"`{key}` {rule}. Received: {key}={value!r}.")


class AugmentSpec(BaseModel):
    """ImageDataGenerator's augmentation arguments, checked, in ImageDataGenerator's units.

    Args:
        rotation_range: Degrees, 0-180: the angle is uniform in ±``rotation_range``.
        width_shift_range: A fraction of the width (< 1) or pixels (>= 1); 0 = no shift.
        height_shift_range: The same for the height.
        shear_range: The shear ANGLE in degrees, 0 <= value < 90 (0.2 means 0.2°).
        zoom_range: Zoom factor bounds ``(lower, upper)``; given as ``z`` in [0, 1) it is
            ``(1 - z, 1 + z)``, or as a pair with 0 < lower <= upper <= 2. Default (1, 1).
        horizontal_flip: Mirror left-right half of the time.
        vertical_flip: Mirror top-bottom half of the time.
        brightness_range: Factor bounds ``(lower, upper)`` that multiply the pixel values,
            0 <= lower <= upper; None (default) for no brightness change.
        fill_mode: ``"constant"``, ``"nearest"`` (default), ``"reflect"`` or ``"wrap"``.
        cval: The value outside the image when ``fill_mode="constant"``. Default 0.
        seed: A non-negative integer for reproducible draws, or None.

    Each value is also remembered as it was written (:meth:`as_written`), so that
    descriptions quote the user's ``20`` or ``[0.8, 1.2]`` rather than ``20.0`` or
    ``(0.8, 1.2)``; two specs that differ only in how a value was written are not equal.

    Example:
        >>> AugmentSpec(rotation_range=20, horizontal_flip=True)
        AugmentSpec(rotation_range=20.0, horizontal_flip=True)
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    rotation_range: float = 0.0
    width_shift_range: float = 0.0
    height_shift_range: float = 0.0
    shear_range: float = 0.0
    zoom_range: tuple[float, float] = (1.0, 1.0)
    horizontal_flip: bool = False
    vertical_flip: bool = False
    brightness_range: tuple[float, float] | None = None
    fill_mode: FillMode = "nearest"
    cval: float = 0.0
    seed: int | None = None

    _written: dict[str, str] = PrivateAttr(default_factory=dict)

    def __repr_args__(self) -> Any:  # show only what differs from the defaults
        for name, field in type(self).model_fields.items():
            value = getattr(self, name)
            if value != field.get_default(call_default_factory=True):
                yield name, value

    def as_written(self, key: str) -> str:
        """``key``'s value as it was given (its repr), or the repr of its default."""
        return self._written.get(key, repr(getattr(self, key)))

    @model_validator(mode="wrap")
    @classmethod
    def _remember_written(cls, data: Any, handler: ModelWrapValidatorHandler[Self]) -> Self:
        spec = handler(data)
        if isinstance(data, Mapping):
            spec._written = {str(key): repr(value) for key, value in data.items()}
        return spec

    # Each check sees the value as written (mode="before"), so that messages quote it.

    @field_validator("rotation_range", mode="before")
    @classmethod
    def _check_rotation(cls, value: Any) -> Any:
        if not _is_number(value) or not 0 <= value <= 180:
            raise _bad("rotation_range", "must be between 0 and 180 degrees", value)
        return value

    @field_validator("width_shift_range", "height_shift_range", mode="before")
    @classmethod
    def _check_shift(cls, value: Any, info: ValidationInfo) -> Any:
        key = str(info.field_name)
        size = key.removesuffix("_shift_range")
        if not _is_number(value) or value < 0:
            rule = (
                f"must be a fraction of the image {size} (0 <= value < 1) or a number of "
                "pixels (>= 1)"
            )
            raise _bad(key, rule, value)
        return value

    @field_validator("shear_range", mode="before")
    @classmethod
    def _check_shear(cls, value: Any) -> Any:
        if not _is_number(value) or not 0 <= value < 90:
            rule = "is an angle in degrees and must be at least 0 and below 90"
            raise _bad("shear_range", rule, value)
        return value

    @field_validator("zoom_range", mode="before")
    @classmethod
    def _check_zoom(cls, value: Any) -> tuple[float, float]:
        # ImageDataGenerator's number z means the factor bounds [1 - z, 1 + z].
        if _is_number(value):
            if not 0 <= value < 1:
                raise _bad("zoom_range", _ZOOM_RULE, value)
            return 1.0 - float(value), 1.0 + float(value)
        pair = _pair(value)
        if pair is None or not 0 < pair[0] <= pair[1] <= 2:
            raise _bad("zoom_range", _ZOOM_RULE, value)
        return pair

    @field_validator("horizontal_flip", "vertical_flip", mode="before")
    @classmethod
    def _check_flip(cls, value: Any, info: ValidationInfo) -> Any:
        if not isinstance(value, bool):
            raise _bad(str(info.field_name), "must be true or false", value)
        return value

    @field_validator("brightness_range", mode="before")
    @classmethod
    def _check_brightness(cls, value: Any) -> tuple[float, float]:
        pair = _pair(value)
        if pair is None or not 0 <= pair[0] <= pair[1]:
            rule = "must be a pair [lower, upper] of factors with 0 <= lower <= upper"
            raise _bad("brightness_range", rule, value)
        return pair

    @field_validator("fill_mode", mode="before")
    @classmethod
    def _check_fill_mode(cls, value: Any) -> Any:
        if value not in FILL_MODES:
            raise ValueError(one_of("fill_mode", value, FILL_MODES))
        return value

    @field_validator("cval", mode="before")
    @classmethod
    def _check_cval(cls, value: Any) -> Any:
        if not _is_number(value):
            raise _bad("cval", "must be a number", value)
        return value

    @field_validator("seed", mode="before")
    @classmethod
    def _check_seed(cls, value: Any) -> Any:
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise _bad("seed", "must be a non-negative integer", value)
        return value


AUGMENT_KEYS: tuple[str, ...] = tuple(AugmentSpec.model_fields)


def _check_keys(params: Mapping[Any, Any], where: str) -> None:
    """Unknown and unsupported keys first, in the order written, before any value."""
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


def _spec_error(exc: ValidationError, where: str) -> SpecError:
    """The first failed key as ``where.key: message`` (keys are checked in AUGMENT_KEYS order)."""
    error = exc.errors()[0]
    key = ".".join(str(part) for part in error["loc"])
    cause = error.get("ctx", {}).get("error")
    message = str(cause) if isinstance(cause, ValueError) else f"{error['msg']}."
    return SpecError(f"{where}.{key}: {message}")


def parse_augmentation(params: Mapping[str, Any], *, where: str = "augment") -> AugmentSpec:
    """Check an ``augment`` table (ImageDataGenerator keyword arguments) into a spec.

    Args:
        params: ImageDataGenerator keyword arguments (see :data:`AUGMENT_KEYS`).
        where: Where ``params`` came from, to start error messages (``"augment"``).

    Returns:
        The :class:`AugmentSpec`.

    Raises:
        SpecError: not a table, an unknown or unsupported key, or an invalid value.

    Example:
        >>> parse_augmentation({"zoom_range": 0.2}).zoom_range
        (0.8, 1.2)
    """
    if not isinstance(params, Mapping):
        raise SpecError(
            f"{where}: must be a table of ImageDataGenerator options, e.g. "
            f"{{rotation_range = 20, horizontal_flip = true}}. Received: {params!r}."
        )
    _check_keys(params, where)
    try:
        return AugmentSpec.model_validate(dict(params))
    except ValidationError as exc:
        raise _spec_error(exc, where) from exc
