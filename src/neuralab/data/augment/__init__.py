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

The package: :mod:`~neuralab.data.augment.spec` checks an ``augment`` table into an
:class:`AugmentSpec`; :mod:`~neuralab.data.augment.plan` turns the spec into layers (and
:func:`describe_augmentation`'s lines); :mod:`~neuralab.data.augment.layers` holds the three
custom layers, registered with Keras for saving when that module is imported, which happens
when layers are first built (:func:`custom_objects` returns them). Only that module imports
Keras: ``import neuralab.data.augment`` does not, and :func:`describe_augmentation` never
needs it.
"""

from neuralab.data.augment.plan import augmentation_layers as augmentation_layers
from neuralab.data.augment.plan import build_augmentation as build_augmentation
from neuralab.data.augment.plan import custom_objects as custom_objects
from neuralab.data.augment.plan import describe_augmentation as describe_augmentation
from neuralab.data.augment.spec import AUGMENT_KEYS as AUGMENT_KEYS
from neuralab.data.augment.spec import FILL_MODES as FILL_MODES
from neuralab.data.augment.spec import UNSUPPORTED as UNSUPPORTED
from neuralab.data.augment.spec import AugmentSpec as AugmentSpec
from neuralab.data.augment.spec import parse_augmentation as parse_augmentation

__all__ = [
    "AUGMENT_KEYS",
    "FILL_MODES",
    "UNSUPPORTED",
    "AugmentSpec",
    "augmentation_layers",
    "build_augmentation",
    "custom_objects",
    "describe_augmentation",
    "parse_augmentation",
]
