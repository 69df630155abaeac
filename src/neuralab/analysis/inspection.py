"""Looking inside a model: a layer table and weight summaries.

These stand in for the notebook's ``model.layers``, ``model.get_layer('dense')`` and
``get_weights()`` dump: instead of printing 235,200 numbers, summarise them (shape, mean,
standard deviation, range, a histogram).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from neuralab.analysis.figures import _pyplot, tight_layout
from neuralab.errors import SpecError, did_you_mean


def layer_table(model: Any) -> list[dict[str, Any]]:
    """One row per layer: name, type, output shape, parameters (trainable or not)."""
    rows = []
    for layer in model.layers:
        try:
            shape = tuple(layer.output.shape)
            shown = "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"
        except (AttributeError, ValueError):
            shown = "?"
        rows.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "output_shape": shown,
                "params": int(layer.count_params()) if layer.built else 0,
                "trainable": bool(layer.trainable),
            }
        )
    return rows


def _stats(values: np.ndarray) -> dict[str, Any]:
    flat = values.reshape(-1).astype(np.float64)
    return {
        "shape": list(values.shape),
        "size": int(flat.size),
        "mean": float(flat.mean()) if flat.size else 0.0,
        "std": float(flat.std()) if flat.size else 0.0,
        "min": float(flat.min()) if flat.size else 0.0,
        "max": float(flat.max()) if flat.size else 0.0,
        "zeros": float(np.mean(flat == 0)) if flat.size else 0.0,
    }


def weight_summary(model: Any, layer: str | int | None = None, *, bins: int = 60) -> dict[str, Any]:
    """Statistics of every weight array, and a histogram of the chosen layer's weights.

    Args:
        model: A built Keras model.
        layer: Name or index of the layer to detail; default the first layer with weights
            (the notebook looks at ``model.layers[1]``, its first Dense layer).
        bins: Histogram bins.

    Returns:
        ``{"layers": [{"layer", "weight", shape, mean, std, min, max, zeros}], "detail":
        {"layer", "weights": [{name, shape, ..., "histogram": {"counts", "edges"}}]}}``

    Raises:
        SpecError: no layer of that name or index.
    """
    with_weights = [lyr for lyr in model.layers if lyr.weights]
    if not with_weights:
        return {"layers": [], "detail": None}
    if layer is None:
        chosen = with_weights[0]
    elif isinstance(layer, int):
        if not -len(model.layers) <= layer < len(model.layers):
            raise SpecError(
                f"layer index {layer} is out of range: the model has {len(model.layers)} layers."
            )
        chosen = model.layers[layer]
    else:
        names = [lyr.name for lyr in model.layers]
        if layer not in names:
            raise SpecError(
                f"no layer named {layer!r}.{did_you_mean(layer, names)} Layers: {', '.join(names)}."
            )
        chosen = model.get_layer(layer)
    rows = []
    for lyr in with_weights:
        for weight in lyr.weights:
            rows.append({"layer": lyr.name, "weight": weight.name, **_stats(np.asarray(weight))})
    detail = []
    for weight in chosen.weights:
        values = np.asarray(weight)
        counts, edges = np.histogram(values.reshape(-1), bins=bins)
        detail.append(
            {
                "name": weight.name,
                **_stats(values),
                "histogram": {"counts": counts.tolist(), "edges": edges.tolist()},
            }
        )
    return {"layers": rows, "detail": {"layer": chosen.name, "weights": detail}}


def plot_weight_histograms(
    detail: Mapping[str, Any], *, title: str = "", labels: Mapping[str, str] | None = None
) -> Any:
    """One histogram per weight array of a layer (kernel, bias), from :func:`weight_summary`."""
    plt = _pyplot()
    words = dict(labels or {})
    weights = list(detail["weights"])
    fig, axes = plt.subplots(1, len(weights), figsize=(5.2 * len(weights), 3.6), squeeze=False)
    for ax, item in zip(axes[0], weights, strict=True):
        counts = np.asarray(item["histogram"]["counts"])
        edges = np.asarray(item["histogram"]["edges"])
        ax.stairs(counts, edges, fill=True, color="tab:blue", alpha=0.8)
        shape = "x".join(str(d) for d in item["shape"])
        ax.set_title(
            f"{item['name']} ({shape}): {words.get('mean', 'mean')} {item['mean']:.3g}, "
            f"{words.get('std', 'std')} {item['std']:.3g}",
            fontsize=10,
        )
        ax.set_xlabel(words.get("value", "value"))
        ax.set_ylabel(words.get("count", "count"))
        ax.grid(True, alpha=0.3)
    fig.suptitle(title or str(detail.get("layer", "")))
    tight_layout(fig)
    return fig
