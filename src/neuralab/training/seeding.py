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
    # Mirrors keras.src.utils.rng_utils.set_random_seed minus the TensorFlow import.
    from keras.src.backend.common import global_state
    from keras.src.random import seed_generator
    from keras.src.utils.rng_utils import GLOBAL_RANDOM_SEED

    global_state.set_global_attribute(GLOBAL_RANDOM_SEED, seed)
    global_state.set_global_attribute(seed_generator.GLOBAL_SEED_GENERATOR, None)
    random.seed(seed)
    np.random.seed(seed)
    if backend == "torch":
        import torch

        torch.manual_seed(seed)
