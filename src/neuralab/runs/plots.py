"""Figure data that needs the trained model, saved so reports can be redrawn without Keras."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from neuralab.data.dataset import Splits
from neuralab.runs.store import RunDir

if TYPE_CHECKING:
    import keras

BOUNDARY_FILE = "plots/decision_boundary.npz"


def save_decision_boundary(run: RunDir, model: keras.Model, splits: Splits) -> bool:
    """Predict the model on a grid over all points and save grid and points (2-D data only).

    Returns:
        True if saved, False when the data do not have exactly 2 features.
    """
    from neuralab.analysis.decision_boundary import DecisionBoundaryDisplay

    if splits.train.sample_shape != (2,):
        return False
    x_all = np.concatenate([part.x for _, part in splits.items()])
    y_all = np.concatenate([part.class_ids() for _, part in splits.items()])
    display = DecisionBoundaryDisplay.from_model(model, x_all, y_all)
    arrays: dict[str, Any] = {
        "xx": display.xx,
        "yy": display.yy,
        "predictions": display.predictions,
        "class_names": np.array(splits.train.class_names),
        "splits": np.array([name for name, _ in splits.items()]),
    }
    for name, part in splits.items():
        arrays[f"x_{name}"] = part.x
        arrays[f"y_{name}"] = part.class_ids()
    import io

    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    run.write_bytes(BOUNDARY_FILE, buffer.getvalue())
    return True


def write_run_plots(run: RunDir, *, model: keras.Model, splits: Splits) -> None:
    """Save what only the live model can give (the decision-boundary grid)."""
    save_decision_boundary(run, model, splits)
