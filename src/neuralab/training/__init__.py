"""Training: the trainer, the fused JAX trainer, LR schedules and the LR finder.

Importing this package does not import Keras.
"""

from neuralab.training.lr_finder import LRFinderResult as LRFinderResult
from neuralab.training.lr_finder import find_learning_rate as find_learning_rate
from neuralab.training.lr_finder import suggest_learning_rates as suggest_learning_rates
from neuralab.training.schedules import EpochSchedule as EpochSchedule
from neuralab.training.trainer import TrainingResult as TrainingResult
from neuralab.training.trainer import train as train

__all__ = [
    "EpochSchedule",
    "LRFinderResult",
    "TrainingResult",
    "find_learning_rate",
    "suggest_learning_rates",
    "train",
]
