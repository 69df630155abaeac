"""Figure data that needs the trained model, saved so reports can be redrawn without Keras."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from neuralab.data.dataset import Dataset, Splits
from neuralab.record import EvaluationRecord, LayersRecord, RunDir, WeightsRecord, files

if TYPE_CHECKING:
    import keras

    from neuralab.analysis.evaluation import ClassificationEvaluation
    from neuralab.config import ReportSpec


def save_decision_boundary(run: RunDir, model: keras.Model, splits: Splits) -> bool:
    """Predict the model on a grid over all points and save grid and points (2-D data only).

    Returns:
        True if saved, False when the data do not have exactly 2 features.
    """
    from neuralab.analysis.decision_boundary import DecisionBoundaryDisplay

    if not splits.train.plane:
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
    run.write_bytes(files.BOUNDARY, buffer.getvalue())
    return True


def _evaluation_split(splits: Splits, choice: str) -> tuple[str, Dataset] | None:
    available = dict(splits.items())
    if choice != "auto":
        return (choice, available[choice]) if choice in available else None
    for name in ("test", "validation", "train"):
        if name in available:
            return name, available[name]
    return None


def _is_image(sample_shape: tuple[int, ...]) -> bool:
    return len(sample_shape) == 2 or (len(sample_shape) == 3 and sample_shape[-1] in (1, 3, 4))


def save_evaluation(
    run: RunDir,
    model: keras.Model,
    splits: Splits,
    *,
    from_logits: bool = False,
    evaluate_on: str = "auto",
    n_predictions: int = 10,
) -> ClassificationEvaluation | None:
    """Confusion matrix and classification report (``evaluation.json``) of a classifier, and
    for image data the first and the worst predictions with their images
    (``plots/predictions.npz``).

    Returns:
        The evaluation, or None when the labels are not classes or the split is missing.
    """
    from neuralab.analysis.evaluation import ClassificationEvaluation

    chosen = _evaluation_split(splits, evaluate_on)
    if chosen is None or chosen[1].label_kind not in ("binary", "int", "onehot"):
        return None
    split, part = chosen
    evaluation = ClassificationEvaluation.from_model(
        model, part.x, part.y, part.class_names, from_logits=from_logits, split=split
    )
    run.write(EvaluationRecord(**evaluation.to_dict()))
    if _is_image(part.sample_shape) and n_predictions:
        first = np.arange(min(n_predictions, part.n_samples))
        worst = evaluation.top_losses(min(n_predictions, part.n_samples))
        arrays: dict[str, Any] = {"class_names": np.array(part.class_names), "split": split}
        for key, index in (("first", first), ("top_losses", worst)):
            arrays[f"{key}_index"] = index
            arrays[f"{key}_x"] = part.x[index]
            arrays[f"{key}_true"] = evaluation.y_true[index]
            arrays[f"{key}_pred"] = evaluation.y_pred[index]
            arrays[f"{key}_confidence"] = evaluation.confidence[index]
            arrays[f"{key}_true_probability"] = evaluation.true_probability[index]
        import io

        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        run.write_bytes(files.PREDICTIONS, buffer.getvalue())
    return evaluation


def save_model_inspection(run: RunDir, model: keras.Model, *, layer: str | int | None) -> None:
    """The layer table (``layers.json``) and weight statistics (``weights.json``)."""
    from neuralab.analysis.inspection import layer_table, weight_summary

    run.write(LayersRecord(layers=tuple(layer_table(model))))
    run.write(WeightsRecord(**weight_summary(model, layer)))


def write_run_plots(
    run: RunDir,
    *,
    model: keras.Model,
    splits: Splits,
    from_logits: bool = False,
    report: ReportSpec | None = None,
) -> None:
    """Save what only the live model can give: the decision-boundary grid, the evaluation,
    predictions, the layer table and weight statistics."""
    from neuralab.config import ReportSpec

    report = report or ReportSpec()
    save_decision_boundary(run, model, splits)
    save_evaluation(
        run,
        model,
        splits,
        from_logits=from_logits,
        evaluate_on=report.evaluate_on,
        n_predictions=report.predictions,
    )
    save_model_inspection(run, model, layer=report.weights_layer)
