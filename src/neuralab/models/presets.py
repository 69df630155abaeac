"""Named model presets: functions returning a list of :class:`~neuralab.config.LayerSpec`.

They are defined in :mod:`neuralab.config`, which resolves them while validating a
``ModelSpec`` (the backend rule reads a preset's layer types), and re-exported here.
"""

from neuralab.config import PRESETS as PRESETS
from neuralab.config import conv_stack as conv_stack
from neuralab.config import logistic_regression as logistic_regression
from neuralab.config import mlp as mlp
from neuralab.config import preset_layer_types as preset_layer_types
from neuralab.config import preset_layers as preset_layers
from neuralab.config import tinyvgg as tinyvgg

__all__ = [
    "PRESETS",
    "conv_stack",
    "logistic_regression",
    "mlp",
    "preset_layer_types",
    "preset_layers",
    "tinyvgg",
]
