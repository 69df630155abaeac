"""Evaluating a classifier: confusion matrix, classification report, most-confused pairs.

:class:`ClassificationEvaluation` holds the numbers (and converts to and from JSON, so reports
are redrawn without Keras); :class:`ConfusionMatrixDisplay` draws counts and row-normalised
rates side by side, with class names on both axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from neuralab.analysis.figures import _pyplot, tight_layout


def to_probabilities(outputs: Any, *, from_logits: bool = False) -> np.ndarray:
    """Model outputs as probabilities, shape ``(n, n_classes)`` (2 columns for one unit)."""
    out = np.asarray(outputs, dtype=np.float64)
    if out.ndim == 1:
        out = out[:, None]
    if out.shape[1] == 1:
        p1 = 1.0 / (1.0 + np.exp(-out[:, 0])) if from_logits else np.clip(out[:, 0], 0.0, 1.0)
        return np.stack([1.0 - p1, p1], axis=1)
    if from_logits:
        shifted = out - out.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True))
    return out


@dataclass(frozen=True, repr=False)
class ClassificationEvaluation:
    """How a classifier does on one split.

    Attributes:
        y_true, y_pred: Class ids.
        confidence: Probability the model gave its predicted class.
        true_probability: Probability the model gave the true class (its loss is -log).
        class_names: Name of each class id.
        split: Which split (``"test"``).
    """

    y_true: np.ndarray
    y_pred: np.ndarray
    confidence: np.ndarray
    true_probability: np.ndarray
    class_names: tuple[str, ...]
    split: str = "test"

    @classmethod
    def from_probabilities(
        cls,
        y_true: Any,
        probabilities: Any,
        class_names: Sequence[str] | None = None,
        *,
        split: str = "test",
    ) -> ClassificationEvaluation:
        """From class ids (or one-hot rows) and an ``(n, n_classes)`` probability array."""
        p = to_probabilities(probabilities)
        y = np.asarray(y_true)
        if y.ndim == 2 and y.shape[1] > 1:
            y = np.argmax(y, axis=1)
        y = y.reshape(len(y)).astype(np.int64)
        n_classes = p.shape[1]
        names = tuple(class_names) if class_names else tuple(str(i) for i in range(n_classes))
        pred = np.argmax(p, axis=1)
        rows = np.arange(len(y))
        return cls(
            y_true=y,
            y_pred=pred,
            confidence=p[rows, pred],
            true_probability=p[rows, np.clip(y, 0, n_classes - 1)],
            class_names=names,
            split=split,
        )

    @classmethod
    def from_model(
        cls,
        model: Any,
        x: Any,
        y: Any,
        class_names: Sequence[str] | None = None,
        *,
        from_logits: bool = False,
        split: str = "test",
        batch_size: int = 1024,
    ) -> ClassificationEvaluation:
        """Predict ``x`` with a Keras model and evaluate against ``y``."""
        outputs = model.predict(x, batch_size=batch_size, verbose=0)
        return cls.from_probabilities(
            y, to_probabilities(outputs, from_logits=from_logits), class_names, split=split
        )

    # ------------------------------------------------------------------ numbers
    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.y_true == self.y_pred)) if len(self.y_true) else float("nan")

    def confusion_matrix(self, normalize: bool = False) -> np.ndarray:
        """Rows: true class; columns: predicted class. ``normalize`` divides each row by its sum."""
        k = self.n_classes
        counts = np.zeros((k, k), dtype=np.int64)
        np.add.at(counts, (self.y_true, self.y_pred), 1)
        if not normalize:
            return counts
        totals = counts.sum(axis=1, keepdims=True)
        return np.divide(counts, totals, out=np.zeros((k, k)), where=totals > 0)

    def report(self) -> dict[str, Any]:
        """scikit-learn's ``classification_report`` as a dict (precision, recall, F1, support).

        Computed from the confusion matrix (the same numbers and keys as scikit-learn's, which
        spends ~25 ms validating its arguments: a lab of 50 runs asked twice each).
        """
        rows, accuracy, averages = self._report_rows()
        result: dict[str, Any] = {}
        for name, precision, recall, f1, support in rows:
            result[name] = {
                "precision": precision,
                "recall": recall,
                "f1-score": f1,
                "support": float(support),
            }
        result["accuracy"] = accuracy
        for name, precision, recall, f1, support in averages:
            result[name] = {
                "precision": precision,
                "recall": recall,
                "f1-score": f1,
                "support": float(support),
            }
        return result

    def report_text(self, digits: int = 3) -> str:
        """The same report as scikit-learn prints it."""
        rows, accuracy, averages = self._report_rows()
        if accuracy == 0.0:  # scikit-learn's supports are floats when nothing is right
            rows = [(*r[:4], float(r[4])) for r in rows]  # type: ignore[misc]
            averages = [(*r[:4], float(r[4])) for r in averages]
        headers = ("precision", "recall", "f1-score", "support")
        width = max(max((len(n) for n in self.class_names), default=0), len("weighted avg"), digits)
        text = ("{:>{width}s} " + " {:>9}" * 4).format("", *headers, width=width) + "\n\n"
        row = "{:>{width}s} " + " {:>9.{digits}f}" * 3 + " {:>9}\n"
        for name, precision, recall, f1, support in rows:
            text += row.format(name, precision, recall, f1, support, width=width, digits=digits)
        text += "\n"
        text += ("{:>{width}s} " + " {:>9.{digits}}" * 2 + " {:>9.{digits}f} {:>9}\n").format(
            "accuracy", "", "", accuracy, averages[0][4], width=width, digits=digits
        )
        for name, precision, recall, f1, support in averages:
            text += row.format(name, precision, recall, f1, support, width=width, digits=digits)
        return text

    def _report_rows(
        self,
    ) -> tuple[list[tuple[str, float, float, float, int]], float, list[Any]]:
        """Per class (name, precision, recall, F1, support), the accuracy, and the macro and
        weighted averages, as scikit-learn computes them with ``zero_division=0``."""
        counts = self.confusion_matrix()
        true_positive = np.diag(counts).astype(np.float64)
        support = counts.sum(axis=1)
        predicted = counts.sum(axis=0)
        precision = np.divide(
            true_positive, predicted, out=np.zeros_like(true_positive), where=predicted > 0
        )
        recall = np.divide(
            true_positive, support, out=np.zeros_like(true_positive), where=support > 0
        )
        both = (support + predicted).astype(np.float64)  # F1 = 2 TP / (2 TP + FP + FN)
        f1 = np.divide(2 * true_positive, both, out=np.zeros_like(true_positive), where=both > 0)
        rows = [
            (name, float(precision[i]), float(recall[i]), float(f1[i]), int(support[i]))
            for i, name in enumerate(self.class_names)
        ]
        total = int(support.sum())
        scores = (precision, recall, f1)
        averages = [
            ("macro avg", *(float(np.mean(v)) for v in scores), total),
            (
                "weighted avg",
                *(float(np.average(v, weights=support)) if total else 0.0 for v in scores),
                total,
            ),
        ]
        accuracy = float(true_positive.sum() / total) if total else 0.0
        return rows, accuracy, averages

    def most_confused(self, k: int = 5) -> list[dict[str, Any]]:
        """The ``k`` largest off-diagonal cells: which class was taken for which, how often."""
        counts = self.confusion_matrix()
        pairs = [
            (int(counts[i, j]), i, j)
            for i in range(self.n_classes)
            for j in range(self.n_classes)
            if i != j and counts[i, j] > 0
        ]
        pairs.sort(key=lambda t: (-t[0], t[1], t[2]))
        totals = counts.sum(axis=1)
        return [
            {
                "true": self.class_names[i],
                "predicted": self.class_names[j],
                "count": c,
                "rate": c / totals[i] if totals[i] else 0.0,
            }
            for c, i, j in pairs[:k]
        ]

    def top_losses(self, k: int = 9) -> np.ndarray:
        """Indices of the ``k`` samples with the largest loss (lowest true-class probability)."""
        order = np.argsort(self.true_probability, kind="stable")
        return order[:k]

    # ------------------------------------------------------------------ storage
    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "class_names": list(self.class_names),
            "n": len(self.y_true),
            "accuracy": self.accuracy,
            "confusion": self.confusion_matrix().tolist(),
            "report": self.report(),
            "report_text": self.report_text(),
            "most_confused": self.most_confused(),
        }

    def __repr__(self) -> str:
        return (
            f"ClassificationEvaluation(split={self.split!r}, n={len(self.y_true)}, "
            f"n_classes={self.n_classes}, accuracy={self.accuracy:.4f})"
        )


class ConfusionMatrixDisplay:
    """Counts and row-normalised rates side by side (true class down, predicted across).

    Example:
        >>> ConfusionMatrixDisplay(evaluation.confusion_matrix(), evaluation.class_names).plot()
    """

    def __init__(self, confusion: Any, class_names: Sequence[str], *, title: str = "") -> None:
        self.confusion = np.asarray(confusion, dtype=np.int64)
        self.class_names = [str(c) for c in class_names]
        self.title = title

    @classmethod
    def from_evaluation(
        cls, evaluation: ClassificationEvaluation | Mapping[str, Any], *, title: str = ""
    ) -> ConfusionMatrixDisplay:
        if isinstance(evaluation, ClassificationEvaluation):
            return cls(evaluation.confusion_matrix(), evaluation.class_names, title=title)
        return cls(evaluation["confusion"], evaluation["class_names"], title=title)

    def plot(
        self,
        *,
        labels: Mapping[str, str] | None = None,
    ) -> ConfusionMatrixDisplay:
        """Draw; ``labels`` translates "counts", "normalized", "true class", "predicted class"."""
        plt = _pyplot()
        words = dict(labels or {})
        k = len(self.class_names)
        totals = self.confusion.sum(axis=1, keepdims=True)
        rates = np.divide(
            self.confusion, totals, out=np.zeros(self.confusion.shape), where=totals > 0
        )
        size = max(4.5, 0.5 * k + 2.0)
        fig, axes = plt.subplots(1, 2, figsize=(2 * size + 1, size))
        small = k > 12
        for ax, values, what, fmt in (
            (axes[0], self.confusion, words.get("counts", "counts"), "d"),
            (axes[1], rates, words.get("normalized", "normalized by true class"), ".2f"),
        ):
            image = ax.imshow(values, cmap="Blues", vmin=0)
            fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
            threshold = values.max() / 2 if values.size else 0
            for i in range(k):
                for j in range(k):
                    ax.text(
                        j,
                        i,
                        format(values[i, j], fmt),
                        ha="center",
                        va="center",
                        fontsize=7 if small else 9,
                        color="white" if values[i, j] > threshold else "black",
                    )
            long_names = max((len(c) for c in self.class_names), default=0) > 3
            ax.set_xticks(
                range(k),
                self.class_names,
                rotation=45 if long_names else 0,
                ha="right" if long_names else "center",
            )
            ax.set_yticks(range(k), self.class_names)
            ax.set_xlabel(words.get("predicted class", "predicted class"))
            ax.set_ylabel(words.get("true class", "true class"))
            ax.set_title(what)
        if self.title:
            fig.suptitle(self.title)
        tight_layout(fig)
        self.figure_ = fig
        self.axes_ = list(axes)
        return self


def plot_image_grid(
    images: Any,
    captions: Sequence[str],
    *,
    correct: Sequence[bool | None] | None = None,
    title: str = "",
    columns: int = 5,
) -> Any:
    """A grid of images with a caption under each (green if correct, red if wrong)."""
    plt = _pyplot()
    images = np.asarray(images)
    n = len(images)
    columns = max(1, min(columns, n))
    rows = max(1, -(-n // columns))
    lines = max((c.count("\n") + 1 for c in captions), default=1)
    row_height = 2.3 + 0.25 * lines
    fig, axes = plt.subplots(
        rows,
        columns,
        figsize=(2.3 * columns, row_height * rows + (0.5 if title else 0.1)),
        squeeze=False,
    )
    # Fixed spacing (constrained layout is several times slower to draw for image grids).
    fig.subplots_adjust(
        left=0.02,
        right=0.98,
        bottom=0.02,
        top=1 - (0.5 if title else 0.1) / (row_height * rows + (0.5 if title else 0.1)),
        wspace=0.08,
        hspace=0.12 + 0.12 * lines,
    )
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i >= n:
            continue
        image = images[i]
        if image.ndim == 3 and image.shape[-1] == 1:
            image = image[..., 0]
        ax.imshow(image, cmap="binary" if image.ndim == 2 else None)
        ok = None if correct is None else correct[i]
        color = "black" if ok is None else ("tab:green" if ok else "tab:red")
        ax.set_title(captions[i], fontsize=9, color=color)
    if title:
        fig.suptitle(title)
    return fig
