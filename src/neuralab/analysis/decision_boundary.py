"""Decision boundaries of 2-feature classifiers (the circles chapter's ``plot_decision``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from neuralab.analysis.figures import _pyplot, tight_layout
from neuralab.errors import DataError

Predict = Callable[[np.ndarray], Any]


def _check_2d(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != 2:
        n = x.shape[1] if x.ndim == 2 else "not 2-D"
        raise DataError(
            f"Decision boundaries need 2 input features; the data have {n} (shape {x.shape}). "
            "Plot two features, or project the data to 2-D first."
        )
    return x


def _class_ids(y: np.ndarray) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:
        return np.argmax(y, axis=1)
    return y.reshape(len(y)).astype(np.int64)


def predictions_to_classes(probabilities: Any) -> np.ndarray:
    """Class ids from model outputs: ``round`` for one sigmoid unit, ``argmax`` otherwise."""
    p = np.asarray(probabilities)
    if p.ndim == 1 or p.shape[1] == 1:
        return (p.reshape(len(p)) >= 0.5).astype(np.int64)
    return np.argmax(p, axis=1)


def make_grid(
    x: np.ndarray, *, resolution: int = 100, margin: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """A ``resolution x resolution`` mesh over the points' extent plus ``margin``."""
    x = _check_2d(x)
    x_min, x_max = x[:, 0].min() - margin, x[:, 0].max() + margin
    y_min, y_max = x[:, 1].min() - margin, x[:, 1].max() + margin
    return np.meshgrid(np.linspace(x_min, x_max, resolution), np.linspace(y_min, y_max, resolution))


class DecisionBoundaryDisplay:
    """Predicted class regions on a grid, with the data points on top.

    Follows scikit-learn's Display pattern: build with :meth:`from_model` or
    :meth:`from_predict`, draw with :meth:`plot`, find the figure in ``figure_``/``ax_``.

    Args:
        xx: Grid x coordinates, shape ``(resolution, resolution)``.
        yy: Grid y coordinates, same shape.
        predictions: Predicted class id at each grid point, same shape.
        x: Points, shape ``(n, 2)``.
        y: Their true classes (ids ``(n,)`` or one-hot ``(n, k)``).
        class_names: Legend names by class id.
        title: Axes title.

    Example:
        >>> disp = DecisionBoundaryDisplay.from_model(model, x_test, y_test, title="Test")
        >>> disp.plot().figure_.savefig("boundary.png")
    """

    def __init__(
        self,
        *,
        xx: np.ndarray,
        yy: np.ndarray,
        predictions: np.ndarray,
        x: np.ndarray,
        y: np.ndarray,
        class_names: Sequence[str] | None = None,
        title: str = "",
    ) -> None:
        self.xx = xx
        self.yy = yy
        self.predictions = predictions
        self.x = _check_2d(x)
        self.y = _class_ids(y)
        n_classes = int(max(self.y.max(initial=0), predictions.max(initial=0))) + 1
        self.class_names = list(class_names) if class_names else [str(i) for i in range(n_classes)]
        self.title = title

    @classmethod
    def from_predict(
        cls,
        predict: Predict,
        x: np.ndarray,
        y: np.ndarray,
        *,
        class_names: Sequence[str] | None = None,
        resolution: int = 100,
        margin: float = 0.1,
        title: str = "",
    ) -> DecisionBoundaryDisplay:
        """Evaluate ``predict`` (``(n, 2) -> (n, 1) or (n, k)`` probabilities) on a grid."""
        xx, yy = make_grid(x, resolution=resolution, margin=margin)
        grid = np.c_[xx.ravel(), yy.ravel()].astype(np.float32)
        classes = predictions_to_classes(predict(grid)).reshape(xx.shape)
        return cls(
            xx=xx, yy=yy, predictions=classes, x=x, y=y, class_names=class_names, title=title
        )

    @classmethod
    def from_model(
        cls, model: Any, x: np.ndarray, y: np.ndarray, **kwargs: Any
    ) -> DecisionBoundaryDisplay:
        """Like :meth:`from_predict` with ``model.predict`` (one batch for the whole grid)."""

        def predict(grid: np.ndarray) -> Any:
            return model.predict(grid, batch_size=len(grid), verbose=0)

        return cls.from_predict(predict, x, y, **kwargs)

    def plot(
        self,
        ax: Any = None,
        *,
        cmap: str = "RdYlBu",
        alpha: float = 0.7,
        xlabel: str = "x0",
        ylabel: str = "x1",
        legend: bool = True,
    ) -> DecisionBoundaryDisplay:
        """Draw filled class regions and the points coloured by their true class."""
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 5.4))
        n = len(self.class_names)
        colormap = plt.get_cmap(cmap)
        levels = np.arange(n + 1) - 0.5
        norm_max = max(n - 1, 1)
        ax.contourf(
            self.xx,
            self.yy,
            self.predictions,
            levels=levels,
            cmap=colormap,
            alpha=alpha,
            vmin=0,
            vmax=norm_max,
        )
        for k, name in enumerate(self.class_names):
            mask = self.y == k
            if mask.any():
                ax.scatter(
                    self.x[mask, 0],
                    self.x[mask, 1],
                    s=22,
                    color=colormap(k / norm_max),
                    edgecolors="black",
                    linewidths=0.4,
                    label=name,
                )
        ax.set_xlim(self.xx.min(), self.xx.max())
        ax.set_ylim(self.yy.min(), self.yy.max())
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        if self.title:
            ax.set_title(self.title)
        if legend:
            ax.legend(loc="upper right", fontsize=9, framealpha=0.85)
        self.ax_ = ax
        self.figure_ = ax.figure
        return self


def plot_decision_boundaries(
    model_or_predict: Any,
    splits: Sequence[tuple[str, np.ndarray, np.ndarray]],
    *,
    class_names: Sequence[str] | None = None,
    title: str = "",
    xlabel: str = "x0",
    ylabel: str = "x1",
    resolution: int = 100,
) -> Any:
    """The chapter's train/test figure: one panel per ``(title, x, y)``, one shared grid.

    The model is evaluated once, on a grid covering all panels' points.
    """
    x_all = np.concatenate([_check_2d(x) for _, x, _ in splits])
    predict = (
        model_or_predict
        if callable(model_or_predict) and not hasattr(model_or_predict, "predict")
        else (lambda g: model_or_predict.predict(g, batch_size=len(g), verbose=0))
    )
    grid = DecisionBoundaryDisplay.from_predict(
        predict, x_all, np.zeros(len(x_all), dtype=np.int64), resolution=resolution
    )
    return plot_boundary_panels(
        grid.xx,
        grid.yy,
        grid.predictions,
        splits,
        class_names=class_names,
        title=title,
        xlabel=xlabel,
        ylabel=ylabel,
    )


def plot_boundary_panels(
    xx: np.ndarray,
    yy: np.ndarray,
    predictions: np.ndarray,
    splits: Sequence[tuple[str, np.ndarray, np.ndarray]],
    *,
    class_names: Sequence[str] | None = None,
    title: str = "",
    xlabel: str = "x0",
    ylabel: str = "x1",
) -> Any:
    """Side-by-side panels over one already-predicted grid (e.g. loaded from a run)."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, len(splits), figsize=(6 * len(splits), 5.4), squeeze=False)
    for ax, (panel, x, y) in zip(axes[0], splits, strict=True):
        DecisionBoundaryDisplay(
            xx=xx, yy=yy, predictions=predictions, x=x, y=y, class_names=class_names, title=panel
        ).plot(ax=ax, xlabel=xlabel, ylabel=ylabel)
    if title:
        fig.suptitle(title)
    tight_layout(fig)
    return fig
