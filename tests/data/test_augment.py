"""ImageDataGenerator-style augmentation: each conversion keeps ImageDataGenerator's meaning.

Every geometric test draws many augmentations of one synthetic image (a batch of copies; each
copy gets its own random draw) and measures the result with image moments on a non-square
image (48 x 64, so a width/height mix-up shows). Bounds are ImageDataGenerator's documented
ranges plus a small tolerance for bilinear resampling.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest

from neuralab.data.augment import (
    AUGMENT_KEYS,
    augmentation_layers,
    build_augmentation,
    custom_objects,
    describe_augmentation,
)
from neuralab.errors import SpecError

H, W = 48, 64
N = 128  # draws per test
CY, CX = (H - 1) / 2, (W - 1) / 2
YY, XX = np.mgrid[0:H, 0:W].astype(np.float64)

# The CNN chapter's ImageDataGenerator arguments (its `rescale=1/255.` is the data's job).
CHAPTER = {
    "rotation_range": 20,
    "shear_range": 0.2,
    "zoom_range": 0.2,
    "width_shift_range": 0.2,
    "height_shift_range": 0.2,
    "horizontal_flip": True,
}


def batch(image: np.ndarray, n: int = N) -> np.ndarray:
    return np.repeat(image[None].astype("float32"), n, axis=0)


def run(params: dict, images: np.ndarray, *, training: bool = True, **kwargs) -> np.ndarray:
    out = build_augmentation({"seed": 1, **params}, **kwargs)(images, training=training)
    return np.asarray(keras.ops.convert_to_numpy(out))


def moments(img: np.ndarray) -> tuple[float, float, float, float, float]:
    """Centroid (y, x), variances (y, x) and covariance of the intensity of channel 0."""
    g = img[..., 0].astype(np.float64)
    m = g.sum()
    cy, cx = (g * YY).sum() / m, (g * XX).sum() / m
    vy = (g * (YY - cy) ** 2).sum() / m
    vx = (g * (XX - cx) ** 2).sum() / m
    cov = (g * (YY - cy) * (XX - cx)).sum() / m
    return cy, cx, vy, vx, cov


def bar(horizontal: bool) -> np.ndarray:
    """A 32 x 2 bright bar centred on the image centre."""
    img = np.zeros((H, W, 3))
    if horizontal:
        img[23:25, 16:48] = 1.0
    else:
        img[8:40, 31:33] = 1.0
    return img


def square(side: int) -> np.ndarray:
    img = np.zeros((H, W, 3))
    top, left = (H - side) // 2, (W - side) // 2
    img[top : top + side, left : left + side] = 1.0
    return img


# --------------------------------------------------------------------------- geometry


def test_rotation_range_is_degrees_uniform_in_plus_minus_range():
    out = run({"rotation_range": 20}, batch(bar(horizontal=True)))
    angles = []
    for img in out:
        _, _, vy, vx, cov = moments(img)
        # Orientation of the bar from its second moments (y grows downwards).
        angles.append(math.degrees(0.5 * math.atan2(2 * cov, vx - vy)))
    angles_ = np.array(angles)
    assert np.abs(angles_).max() <= 20.3  # never past 20 degrees
    assert np.abs(angles_).max() >= 19.3 and (np.abs(angles_) > 19).sum() >= 2  # and nears it
    assert (angles_ > 10).sum() >= 10 and (angles_ < -10).sum() >= 10  # both ways, often > 10°
    assert 8 <= np.abs(angles_).mean() <= 12  # uniform in [-20, 20]: mean |angle| = 10


def test_shear_range_is_an_angle_in_degrees_about_the_centre():
    out = run({"shear_range": 20}, batch(bar(horizontal=False)))
    angles, centres = [], []
    rows = np.arange(8, 40)
    for img in out:
        g = img[..., 0].astype(np.float64)
        assert g[:6].sum() < 1e-3 and g[42:].sum() < 1e-3  # a horizontal shear: rows stay put
        cx_per_row = (g[rows] * XX[rows]).sum(1) / g[rows].sum(1)
        slope = np.polyfit(rows, cx_per_row, 1)[0]  # dx/dy of the sheared bar
        angles.append(math.degrees(math.atan(slope)))
        centres.append(cx_per_row.mean())
    angles_ = np.array(angles)
    assert np.abs(angles_).max() <= 20.2
    # ... and nears it (ImageDataGenerator's own sin/cos matrix would stop at 18.9°).
    assert np.abs(angles_).max() >= 19.3 and (np.abs(angles_) > 19).sum() >= 2
    assert (angles_ > 10).sum() >= 10 and (angles_ < -10).sum() >= 10
    # About the centre: the bar's middle does not move (keras.layers.RandomShear's corner
    # origin would slide it by up to tan(20°) * 23.5 = 8.6 pixels).
    assert np.abs(np.array(centres) - CX).max() < 0.05


def test_chapter_shear_of_0_2_is_0_2_degrees():
    out = run({"shear_range": 0.2}, batch(bar(horizontal=False)))
    rows = np.arange(8, 40)
    for img in out:
        g = img[..., 0].astype(np.float64)
        slope = np.polyfit(rows, (g[rows] * XX[rows]).sum(1) / g[rows].sum(1), 1)[0]
        assert abs(math.degrees(math.atan(slope))) <= 0.21


def zoom_factors(out: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """ImageDataGenerator's zoom factor per axis: original size / apparent size."""
    _, _, vy0, vx0, _ = moments(square(side))
    zy, zx = [], []
    for img in out:
        cy, cx, vy, vx, _ = moments(img)
        assert abs(cy - CY) < 0.05 and abs(cx - CX) < 0.05  # zoom about the centre
        zy.append(math.sqrt(vy0 / vy))
        zx.append(math.sqrt(vx0 / vx))
    return np.array(zy), np.array(zx)


def test_zoom_range_float_is_a_factor_in_1_plus_minus_z_per_axis():
    zy, zx = zoom_factors(run({"zoom_range": 0.2}, batch(square(16))), 16)
    for z in (zy, zx):
        assert z.min() >= 0.8 - 0.01 and z.max() <= 1.2 + 0.01
        assert z.min() <= 0.83 and z.max() >= 1.17  # spans most of [0.8, 1.2]
        # The object's apparent scale is 1/z: from 1/1.2 (zoomed out) to 1/0.8 (zoomed in).
        assert (1 / z).min() >= 1 / 1.21 and (1 / z).max() <= 1 / 0.79
    # Drawn separately for height and width, like ImageDataGenerator's zx, zy.
    assert np.abs(np.log(zx / zy)).max() > 0.15


@pytest.mark.parametrize(
    ("zoom_range", "grows"),
    [([0.5, 0.8], True), ([1.25, 1.6], False)],
)
def test_zoom_factor_below_1_zooms_in(zoom_range, grows):
    lo, hi = zoom_range
    zy, zx = zoom_factors(run({"zoom_range": zoom_range}, batch(square(16))), 16)
    for z in (zy, zx):
        assert z.min() >= lo - 0.015 and z.max() <= hi + 0.015
    # Apparent size = 16 / z: factors < 1 make the square bigger (zoom in).
    assert ((16 / zx) > 16).all() == grows and ((16 / zx) < 16).all() == (not grows)


def centroid_shifts(out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cy0, cx0, *_ = moments(square(6))
    dy, dx = [], []
    for img in out:
        cy, cx, *_ = moments(img)
        dy.append(cy - cy0)
        dx.append(cx - cx0)
    return np.array(dy), np.array(dx)


@pytest.mark.parametrize(
    ("params", "max_dy", "max_dx"),
    [
        ({"width_shift_range": 0.2}, 0.0, 0.2 * W),
        ({"height_shift_range": 0.1}, 0.1 * H, 0.0),
        ({"width_shift_range": 0.1, "height_shift_range": 0.2}, 0.2 * H, 0.1 * W),
        ({"width_shift_range": 5}, 0.0, 5.0),  # int: pixels
        ({"height_shift_range": 3.0}, 3.0, 0.0),  # float >= 1: pixels
        ({"width_shift_range": 0.25, "height_shift_range": 4}, 4.0, 0.25 * W),  # mixed units
    ],
)
def test_shift_ranges_move_along_their_own_axis_by_at_most_the_range(params, max_dy, max_dx):
    dy, dx = centroid_shifts(run(params, batch(square(6))))
    for d, limit in ((dy, max_dy), (dx, max_dx)):
        if limit == 0:
            assert np.abs(d).max() < 1e-3
        else:
            assert np.abs(d).max() <= limit + 0.02
            assert d.max() >= 0.8 * limit and d.min() <= -0.8 * limit


def test_flips_are_exact_mirrors_one_coin_per_axis():
    x = np.random.default_rng(0).random((H, W, 3))
    variants = {"id": x, "lr": x[:, ::-1], "ud": x[::-1], "both": x[::-1, ::-1]}

    def outcomes(params: dict) -> dict[str, int]:
        counts = dict.fromkeys(variants, 0)
        for img in run(params, batch(x)):
            hits = [k for k, v in variants.items() if np.array_equal(img, v.astype("float32"))]
            assert len(hits) == 1
            counts[hits[0]] += 1
        return counts

    h = outcomes({"horizontal_flip": True})
    assert h["id"] >= 32 and h["lr"] >= 32 and h["ud"] == h["both"] == 0
    v = outcomes({"vertical_flip": True})
    assert v["id"] >= 32 and v["ud"] >= 32 and v["lr"] == v["both"] == 0
    # Both: each axis on its own coin, so all four outcomes occur (a single
    # RandomFlip("horizontal_and_vertical") would only give "id" and "both").
    both = outcomes({"horizontal_flip": True, "vertical_flip": True})
    assert min(both.values()) >= 16


# --------------------------------------------------------------------------- brightness


def test_brightness_range_multiplies_by_a_factor_in_range():
    grey = np.full((H, W, 3), 0.5)
    out = run({"brightness_range": [0.5, 1.5]}, batch(grey))
    ratio = out.reshape(N, -1).mean(1) / 0.5
    assert out.reshape(N, -1).std(1).max() < 1e-6  # one factor per image
    assert ratio.min() >= 0.5 - 1e-6 and ratio.max() <= 1.5 + 1e-6
    assert ratio.min() <= 0.6 and ratio.max() >= 1.4  # spans the range
    assert (ratio < 1).sum() >= 16 and (ratio > 1).sum() >= 16
    # Multiplicative, not additive: a darker pixel changes by less.
    img = np.concatenate([np.full((H, W // 2, 3), 0.2), np.full((H, W // 2, 3), 0.4)], axis=1)
    out = run({"brightness_range": [0.5, 1.5]}, batch(img))
    assert np.allclose(out[:, :, : W // 2] * 2, out[:, :, W // 2 :], atol=1e-6)


def test_brightness_clips_to_the_value_range():
    out = run({"brightness_range": [1.5, 2.0]}, batch(np.full((H, W, 3), 0.8)))
    assert np.all(out == 1.0)
    raw = np.full((H, W, 3), 200.0)
    out = run({"brightness_range": [1.5, 2.0]}, batch(raw), value_range=(0.0, 255.0))
    assert np.all(out == 255.0)
    out = run({"brightness_range": [0.5, 0.5]}, batch(raw), value_range=(0.0, 255.0))
    assert np.allclose(out, 100.0)


# --------------------------------------------------------------------------- pipeline

EVERYTHING = {
    **CHAPTER,
    "shear_range": 20,
    "vertical_flip": True,
    "brightness_range": [0.5, 1.5],
    "height_shift_range": 4,
}


def test_every_layer_is_identity_at_inference_and_keeps_shape_and_dtype():
    x = np.random.default_rng(1).random((N, H, W, 3)).astype("float32")
    for layer in augmentation_layers({**EVERYTHING, "seed": 3}):
        out = keras.ops.convert_to_numpy(layer(x, training=False))
        assert np.array_equal(out, x), layer.name
    pipeline = build_augmentation({**EVERYTHING, "seed": 3})
    assert np.array_equal(keras.ops.convert_to_numpy(pipeline(x, training=False)), x)
    out = keras.ops.convert_to_numpy(pipeline(x, training=True))
    assert out.shape == x.shape and out.dtype == np.float32
    assert not np.allclose(out, x)
    assert out.min() >= 0.0 and out.max() <= 1.0
    for layer in augmentation_layers(EVERYTHING)[1:]:  # one unbatched image
        if type(layer).__name__ in custom_objects():  # (Keras's own layers take them too)
            single = keras.ops.convert_to_numpy(layer(x[0], training=True))
            assert single.shape == x[0].shape and single.dtype == np.float32, layer.name


def test_seed_makes_the_draws_reproducible_and_layers_independent():
    x = batch(square(6))
    params = {"width_shift_range": 0.2, "height_shift_range": 0.2}
    a, b = run({**params, "seed": 5}, x), run({**params, "seed": 5}, x)
    assert np.array_equal(a, b)
    assert not np.array_equal(a, run({**params, "seed": 6}, x))
    dy, dx = centroid_shifts(a)
    assert not np.allclose(dy / H, dx / W)  # height and width are drawn separately
    seeds = [layer.seed for layer in augmentation_layers({**EVERYTHING, "seed": 10})]
    assert len(set(seeds)) == len(seeds)


def test_empty_params_give_an_identity_sequential():
    assert augmentation_layers({}) == []
    assert augmentation_layers({"rotation_range": 0, "fill_mode": "reflect", "seed": 1}) == []
    model = build_augmentation({})
    assert isinstance(model, keras.Sequential) and model.name == "augmentation"
    x = np.random.default_rng(2).random((2, H, W, 3)).astype("float32")
    assert np.array_equal(keras.ops.convert_to_numpy(model(x, training=True)), x)
    assert describe_augmentation({}) == []


def test_chapter_dict_builds_with_converted_units():
    layers = augmentation_layers(CHAPTER)
    assert [type(la).__name__ for la in layers] == [
        "RandomRotation",
        "RandomTranslation",
        "RandomShearAngle",
        "RandomZoom",
        "RandomFlip",
    ]
    rotation, shift, shear, zoom, flip = layers
    assert rotation.factor == pytest.approx((-20 / 360, 20 / 360))
    assert (shift.height_factor, shift.width_factor) == (0.2, 0.2)
    assert shear.max_degrees == 0.2
    assert zoom.height_factor == pytest.approx((-0.2, 0.2))
    assert zoom.width_factor == pytest.approx((-0.2, 0.2))
    assert flip.mode == "horizontal"
    assert {la.fill_mode for la in layers[:4]} == {"nearest"}
    model = build_augmentation(CHAPTER, name="aug")
    assert model.name == "aug" and len(model.layers) == 5


def test_describe_lists_the_chapter_conversions():
    assert describe_augmentation(CHAPTER) == [
        "rotation_range=20 -> RandomRotation(factor=0.0556) (±20°; the factor is a fraction "
        "of a full turn, 20/360)",
        "width_shift_range=0.2, height_shift_range=0.2 -> RandomTranslation(height_factor=0.2, "
        "width_factor=0.2) (left/right ±20% of the width, up/down ±20% of the height)",
        "shear_range=0.2 -> RandomShearAngle(max_degrees=0.2) (shear angle ±0.2° about the "
        "centre, |tan| <= 0.0035; the unit is degrees, so 0.2 is almost no shear)",
        "zoom_range=0.2 -> RandomZoom(height_factor=(-0.2, 0.2), width_factor=(-0.2, 0.2)) "
        "(zoom factor in [0.8, 1.2], drawn separately for height and width; < 1 zooms in, "
        "> 1 zooms out)",
        "horizontal_flip=True -> RandomFlip('horizontal') (left-right mirror half of the time)",
        "fill_mode='nearest' (default, as in ImageDataGenerator) for the geometric layers",
    ]
    lines = describe_augmentation(
        {"width_shift_range": 5, "brightness_range": [0.5, 1.5], "seed": 1}
    )
    assert lines == [
        "width_shift_range=5 -> RandomShift, a RandomTranslation(height_factor=0, "
        "width_factor=5/width) made when the image size is known (left/right ±5 pixels)",
        "brightness_range=[0.5, 1.5] -> RandomBrightnessFactor(factor=(0.5, 1.5)) (pixel values "
        "multiplied by a factor in [0.5, 1.5], clipped to [0, 1]; keras.layers.RandomBrightness "
        "would add, not multiply)",
        "fill_mode='nearest' (default, as in ImageDataGenerator) for the geometric layers",
        "seed=1: each layer is seeded with seed + a fixed offset",
    ]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"rotaton_range": 20},
            "augment.rotaton_range: unknown augmentation option 'rotaton_range'. Did you mean "
            "'rotation_range'? Allowed: " + ", ".join(AUGMENT_KEYS) + ".",
        ),
        (
            {"Horizontal_Flip": True},
            "augment.Horizontal_Flip: unknown augmentation option 'Horizontal_Flip'. Did you "
            "mean 'horizontal_flip'? Allowed: " + ", ".join(AUGMENT_KEYS) + ".",
        ),
        (
            {"featurewise_center": True},
            "augment.featurewise_center: ImageDataGenerator's `featurewise_center` is not "
            "supported. It normalises with statistics of the whole training set "
            "(ImageDataGenerator.fit), which is preprocessing, not augmentation: put a "
            "keras.layers.Normalization layer in the model instead.",
        ),
        (
            {"channel_shift_range": 10.0},
            "augment.channel_shift_range: ImageDataGenerator's `channel_shift_range` is not "
            "supported. Random channel shifts have no Keras 3 layer; remove it "
            "(`brightness_range` gives a random brightness change).",
        ),
        (
            {"rescale": 1 / 255, **CHAPTER},
            "augment.rescale: ImageDataGenerator's `rescale` is not supported. Image data sets "
            "carry their scale (rescale = 1/255) and the model gets a Rescaling layer in front, "
            "for training and inference alike; remove `rescale` here.",
        ),
        (
            {"rotation_range": 200},
            "augment.rotation_range: `rotation_range` must be between 0 and 180 degrees. "
            "Received: rotation_range=200.",
        ),
        (
            {"rotation_range": -5},
            "augment.rotation_range: `rotation_range` must be between 0 and 180 degrees. "
            "Received: rotation_range=-5.",
        ),
        (
            {"shear_range": 90},
            "augment.shear_range: `shear_range` is an angle in degrees and must be at least 0 "
            "and below 90. Received: shear_range=90.",
        ),
        (
            {"zoom_range": 0},
            None,  # valid: no zoom
        ),
        (
            {"zoom_range": 1.0},
            "augment.zoom_range: `zoom_range` must be a number in [0, 1) or a pair [lower, "
            "upper] with 0 < lower <= upper <= 2. Received: zoom_range=1.0.",
        ),
        (
            {"zoom_range": [0, 1.2]},
            "augment.zoom_range: `zoom_range` must be a number in [0, 1) or a pair [lower, "
            "upper] with 0 < lower <= upper <= 2. Received: zoom_range=[0, 1.2].",
        ),
        (
            {"zoom_range": [1.2, 0.8]},
            "augment.zoom_range: `zoom_range` must be a number in [0, 1) or a pair [lower, "
            "upper] with 0 < lower <= upper <= 2. Received: zoom_range=[1.2, 0.8].",
        ),
        (
            {"width_shift_range": -0.1},
            "augment.width_shift_range: `width_shift_range` must be a fraction of the image "
            "width (0 <= value < 1) or a number of pixels (>= 1). Received: "
            "width_shift_range=-0.1.",
        ),
        (
            {"height_shift_range": [-1, 0, 1]},
            "augment.height_shift_range: `height_shift_range` must be a fraction of the image "
            "height (0 <= value < 1) or a number of pixels (>= 1). Received: "
            "height_shift_range=[-1, 0, 1].",
        ),
        (
            {"horizontal_flip": "yes"},
            "augment.horizontal_flip: `horizontal_flip` must be true or false. Received: "
            "horizontal_flip='yes'.",
        ),
        (
            {"brightness_range": [1.5, 0.5]},
            "augment.brightness_range: `brightness_range` must be a pair [lower, upper] of "
            "factors with 0 <= lower <= upper. Received: brightness_range=[1.5, 0.5].",
        ),
        (
            {"brightness_range": 0.2},
            "augment.brightness_range: `brightness_range` must be a pair [lower, upper] of "
            "factors with 0 <= lower <= upper. Received: brightness_range=0.2.",
        ),
        (
            {"rotation_range": 10, "fill_mode": "nearst"},
            "augment.fill_mode: `fill_mode` must be one of {'constant', 'nearest', 'reflect', "
            "'wrap'}. Received: fill_mode='nearst'. Did you mean 'nearest'?",
        ),
        (
            {"seed": 1.5},
            "augment.seed: `seed` must be a non-negative integer. Received: seed=1.5.",
        ),
        (
            {"cval": "black"},
            "augment.cval: `cval` must be a number. Received: cval='black'.",
        ),
    ],
)
def test_errors_name_the_key_and_the_received_value(params, message):
    if message is None:
        augmentation_layers(params)
        return
    with pytest.raises(SpecError) as info:
        augmentation_layers(params)
    assert str(info.value) == message
    with pytest.raises(SpecError):
        describe_augmentation(params)


def test_error_prefix_follows_where_and_spec_must_be_a_table():
    with pytest.raises(SpecError, match=r"^lab.toml: experiments\[0\].augment.zoom_range: "):
        augmentation_layers({"zoom_range": -1}, where="lab.toml: experiments[0].augment")
    with pytest.raises(SpecError, match=r"^augment: must be a table"):
        augmentation_layers([("rotation_range", 20)])  # type: ignore[arg-type]


def test_pixel_shift_larger_than_the_image_is_an_error_when_built():
    pipeline = build_augmentation({"width_shift_range": 100})
    with pytest.raises(
        SpecError,
        match=r"`width_shift_range` is 100 pixels, more than the image width \(64\); give at "
        r"most 64 pixels or a fraction < 1. Received: width_shift_range=100.0.",
    ):
        pipeline(np.zeros((1, H, W, 3), "float32"))


# --------------------------------------------------------------------------- Keras integration


def test_custom_layers_build_symbolically_and_draw_anew_under_jit():
    import jax

    aug = build_augmentation(
        {"shear_range": 20, "height_shift_range": 4, "brightness_range": [0.5, 1.5], "seed": 2}
    )
    assert [type(la).__name__ for la in aug.layers] == [
        "RandomShift",
        "RandomShearAngle",
        "RandomBrightnessFactor",
    ]
    model = keras.Sequential([keras.Input((H, W, 3)), aug])  # symbolic build
    assert model.output_shape == (None, H, W, 3)
    # What model.fit does on JAX: a jitted stateless call that returns the advanced
    # seed-generator states, so that every step draws new transformations.
    step = jax.jit(lambda ntv, x: model.stateless_call([], ntv, x, training=True))
    states = [v.value for v in model.non_trainable_variables]
    assert len(states) == 3
    x = batch(square(16))
    out1, states = step(states, x)
    out2, states = step(states, x)
    assert out1.shape == x.shape and not np.allclose(out1, out2)
    # Registered, so a saved model loads (saving is checked in the TensorFlow run below:
    # Keras's get_config imports TensorFlow, which takes ~9 s).
    for layer in aug.layers:
        cls = type(layer)
        assert keras.saving.get_registered_object(f"neuralab>{cls.__name__}") is cls
    assert set(custom_objects()) == {"RandomShearAngle", "RandomBrightnessFactor", "RandomShift"}


def test_importing_and_describing_does_not_import_keras():
    code = (
        "import sys; from neuralab.data.augment import describe_augmentation; "
        f"lines = describe_augmentation({CHAPTER!r}); "
        "assert len(lines) == 6, lines; "
        "assert not any(m.split('.')[0] in ('keras', 'jax', 'tensorflow') for m in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]


TF_SCRIPT = textwrap.dedent(
    """
    import json, os, tempfile
    import numpy as np, keras
    from neuralab.data.augment import build_augmentation
    params = {
        "rotation_range": 20, "shear_range": 20, "zoom_range": 0.2, "width_shift_range": 0.2,
        "height_shift_range": 4, "horizontal_flip": True, "vertical_flip": True,
        "brightness_range": [0.5, 1.5], "seed": 1,
    }
    aug = build_augmentation(params)
    x = np.random.default_rng(0).random((4, 32, 32, 3)).astype("float32")
    out = keras.ops.convert_to_numpy(aug(x, training=True))
    assert out.shape == x.shape and out.dtype == np.float32 and not np.allclose(out, x)
    assert np.array_equal(keras.ops.convert_to_numpy(aug(x, training=False)), x)
    model = keras.Sequential([keras.Input((32, 32, 3)), aug, keras.layers.Flatten(),
                              keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros(4), batch_size=2, epochs=1, verbose=0)
    # Saved and loaded (the custom layers are registered): same layers, same predictions.
    path = os.path.join(tempfile.mkdtemp(), "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    configs = lambda model: json.dumps([l.get_config() for l in model.layers])  # tuples: lists
    assert configs(loaded.layers[0]) == configs(aug)
    assert np.allclose(model.predict(x, verbose=0), loaded.predict(x, verbose=0))
    print("OK", keras.backend.backend())
    """
)


TF_TEST = "test_layers_work_on_the_tensorflow_backend"


@pytest.fixture(scope="module", autouse=True)
def tensorflow_run(request):
    """Start the TensorFlow-backend check (~10 s, mostly importing TensorFlow) with this
    module's first test, so that it runs alongside the others; its test collects it."""
    if not any(item.name == TF_TEST for item in request.session.items):
        yield None
        return
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.Popen(
        [sys.executable, "-c", TF_SCRIPT],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.communicate()


def test_layers_work_on_the_tensorflow_backend(tensorflow_run):
    stdout, stderr = tensorflow_run.communicate(timeout=120)
    assert tensorflow_run.returncode == 0, stderr[-3000:]
    assert stdout.strip().endswith("OK tensorflow")
