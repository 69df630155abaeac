"""Seeding Keras without paying for a TensorFlow import.

``keras.utils.set_random_seed`` also seeds TensorFlow whenever TensorFlow is installed,
which imports it (about 4 s here) even on the JAX backend. neuralab never uses tf.data
on JAX or torch, so there it seeds everything else exactly as Keras does.
"""

from __future__ import annotations

import random
import sys

import numpy as np


def set_random_seed(seed: int) -> None:
    """Seed Python, NumPy and Keras's global seed generator (and TF or torch when in use)."""
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow" or "tensorflow" in sys.modules:
        keras.utils.set_random_seed(seed)
        return
    # Mirrors keras.utils.set_random_seed minus the TensorFlow import.
    from neuralab._keras_compat import set_global_seed

    set_global_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    if backend == "torch":
        import torch

        torch.manual_seed(seed)
