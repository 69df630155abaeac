"""The shape doctor: data/model/loss mismatches found before training, explained in words.

The circles chapter's first warning is that shape mismatches are among the most common
problems when building networks. Keras reports them late (mid-``fit``) and in tensor
terms; here they are caught before the first step and explained with the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from neuralab.data.dataset import Dataset, label_kind
from neuralab.errors import ShapeError

if TYPE_CHECKING:
    import keras

Severity = Literal["error", "warning"]

_BINARY_LOSSES = {"binary_crossentropy", "binary_focal_crossentropy", "bce"}
_SPARSE_LOSSES = {"sparse_categorical_crossentropy"}
_CATEGORICAL_LOSSES = {
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "kl_divergence",
}
_FLATTENERS = (
    "Flatten",
    "GlobalAveragePooling",
    "GlobalMaxPooling",
    "Reshape",
    "GlobalAvgPool",
    "GlobalMaxPool",
)


@dataclass(frozen=True)
class Finding:
    """One problem found by the doctor."""

    severity: Severity
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.message}"


def loss_name(loss: Any) -> str:
    """A canonical snake_case name for a loss given as string, function or Loss object."""
    if isinstance(loss, str):
        return loss.lower()
    fn = getattr(loss, "fn", None)  # LossFunctionWrapper
    if fn is not None:
        return str(getattr(fn, "__name__", "")).lower()
    name = getattr(loss, "name", None) or getattr(loss, "__name__", "") or type(loss).__name__
    return str(name).lower()


def from_logits(loss: Any) -> bool:
    if isinstance(loss, str):
        return False
    cfg = getattr(loss, "get_config", None)
    if cfg is not None:
        try:
            return bool(cfg().get("from_logits", False))
        except (TypeError, NotImplementedError):
            return False
    return False


def _activation_name(layer: Any) -> str:
    act = getattr(layer, "activation", None)
    if act is None:
        return "linear"
    return str(getattr(act, "__name__", act)).lower()


def diagnose(model: keras.Model, data: Dataset, *, loss: Any) -> list[Finding]:
    """Check a built model, a data set and a loss against each other.

    Args:
        model: A built Keras model (its input and output shapes are known).
        data: The training data.
        loss: The loss as given to ``compile`` (name, function or ``keras.losses.Loss``).

    Returns:
        Findings, errors first. Errors would fail or silently mis-train; warnings are
        legal but usually unintended (e.g. a linear output with a probability loss).
    """
    findings: list[Finding] = []
    sample_shape = data.sample_shape
    in_shape = tuple(model.input_shape[1:]) if getattr(model, "inputs", None) else None
    if in_shape is not None and (
        len(in_shape) != len(sample_shape)
        or any(m is not None and m != d for m, d in zip(in_shape, sample_shape, strict=False))
    ):
        findings.append(
            Finding(
                "error",
                "input_shape",
                f"the model expects samples of shape {in_shape} but the data's samples have "
                f"shape {sample_shape}. Set `input_shape = {list(sample_shape)}` (or leave it "
                "out: neuralab takes it from the data).",
            )
        )
        return findings

    layer_types = [type(layer).__name__ for layer in model.layers]
    if len(sample_shape) > 1 and "Dense" in layer_types:
        first_dense = layer_types.index("Dense")
        before = layer_types[:first_dense]
        if not any(t.startswith(_FLATTENERS) for t in before):
            findings.append(
                Finding(
                    "error",
                    "dense_without_flatten",
                    f"the samples are {len(sample_shape)}-D {sample_shape} (images or "
                    "sequences) but they reach a Dense layer without a Flatten: Dense acts "
                    "only on the last axis, so the model would make one prediction per row "
                    'instead of one per sample. Add {type = "Flatten"} before the first Dense.',
                )
            )
            return findings

    out_shape = tuple(model.output_shape)
    if len(out_shape) != 2:
        findings.append(
            Finding(
                "error",
                "output_rank",
                f"the model outputs shape {out_shape[1:]} per sample, but a classifier must "
                "output one vector per sample. Flatten (or pool) before the output layer.",
            )
        )
        return findings
    width = int(out_shape[1])
    name = loss_name(loss)
    kind = label_kind(data.y)
    last = model.layers[-1] if model.layers else None
    activation = _activation_name(last)
    logits = from_logits(loss)
    n_classes = data.n_classes

    if activation == "softmax" and width == 1:
        findings.append(
            Finding(
                "error",
                "softmax_one_unit",
                "the output layer is Dense(1, softmax): softmax over one unit always outputs "
                "1.0, so nothing can be learned. For two classes use Dense(1, sigmoid) with "
                "binary_crossentropy, or Dense(2, softmax) with sparse_categorical_crossentropy.",
            )
        )

    if name in _BINARY_LOSSES:
        if kind in ("int",) or (n_classes > 2 and kind != "multilabel"):
            values = np.unique(data.class_ids())
            findings.append(
                Finding(
                    "error",
                    "binary_loss_labels",
                    f"binary_crossentropy needs labels in {{0, 1}}, but the labels take "
                    f"{len(values)} values ({_preview(values)}), i.e. {n_classes} classes with "
                    f"a {width}-unit output. Use Dense({max(n_classes, 3)}, "
                    "activation='softmax') with sparse_categorical_crossentropy.",
                )
            )
        elif kind == "onehot" and width != data.y.shape[1]:
            findings.append(
                Finding(
                    "error",
                    "binary_onehot",
                    f"the labels are one-hot with {data.y.shape[1]} columns but the output has "
                    f"{width} unit(s). Use class ids 0/1 with Dense(1, sigmoid), or "
                    "categorical_crossentropy with a softmax output.",
                )
            )
        elif kind == "binary" and width != 1:
            findings.append(
                Finding(
                    "error",
                    "binary_width",
                    f"binary_crossentropy with 0/1 labels needs a 1-unit output, but the "
                    f"output layer has {width} units. Use Dense(1, activation='sigmoid'), or "
                    "keep the width and use sparse_categorical_crossentropy with softmax.",
                )
            )
        if not logits and activation not in ("sigmoid",):
            findings.append(
                Finding(
                    "warning",
                    "binary_activation",
                    f"the output activation is {activation!r} but binary_crossentropy expects "
                    "probabilities in [0, 1]: use activation='sigmoid' on the output layer, or "
                    "from_logits=True in the loss. (The circles chapter's models 1-6 learn "
                    "nothing for this reason.)",
                )
            )
    elif name in _SPARSE_LOSSES:
        if kind == "onehot":
            findings.append(
                Finding(
                    "error",
                    "onehot_with_sparse",
                    f"the labels are one-hot ({data.y.shape[1]} columns) but "
                    "sparse_categorical_crossentropy expects class ids. Use "
                    "categorical_crossentropy, or pass class ids (argmax of the one-hot rows).",
                )
            )
        elif kind in ("int", "binary"):
            top = int(np.max(data.class_ids())) if data.n_samples else -1
            if width == 1:
                findings.append(
                    Finding(
                        "error",
                        "sparse_one_unit",
                        "sparse_categorical_crossentropy needs one output unit per class, but "
                        f"the output layer has 1 unit for {max(n_classes, top + 1)} classes. "
                        f"Use Dense({max(n_classes, top + 1)}, activation='softmax').",
                    )
                )
            elif top >= width:
                findings.append(
                    Finding(
                        "error",
                        "class_id_range",
                        f"the labels go up to class id {top} but the output layer has only "
                        f"{width} units (ids 0..{width - 1}). Use Dense({top + 1}) or check "
                        "the labels.",
                    )
                )
            elif n_classes and width > n_classes:
                shown = _preview(np.asarray(data.class_names))
                findings.append(
                    Finding(
                        "error",
                        "output_wider_than_classes",
                        f"the output layer has {width} units (one per class) but the data have "
                        f"{n_classes} classes ({shown}): {width - n_classes} outputs would "
                        f"stand for classes that never occur. Use Dense({n_classes}, "
                        "activation='softmax'), or check that this is the right data set.",
                    )
                )
        if not logits and activation != "softmax" and width > 1:
            findings.append(
                Finding(
                    "warning",
                    "categorical_activation",
                    f"the output activation is {activation!r} but the loss expects "
                    "probabilities: use activation='softmax', or from_logits=True in the loss.",
                )
            )
    elif name in _CATEGORICAL_LOSSES:
        if kind in ("int", "binary"):
            findings.append(
                Finding(
                    "error",
                    "ids_with_categorical",
                    "categorical_crossentropy expects one-hot labels, but the labels are class "
                    "ids. Use sparse_categorical_crossentropy, or one-hot encode the labels.",
                )
            )
        elif kind == "onehot" and data.y.shape[1] != width:
            findings.append(
                Finding(
                    "error",
                    "onehot_width",
                    f"the one-hot labels have {data.y.shape[1]} columns but the output layer "
                    f"has {width} units; they must match.",
                )
            )
    if data.class_names and kind in ("int", "binary") and data.n_samples:
        top = int(np.max(data.class_ids()))
        if top >= len(data.class_names):
            findings.append(
                Finding(
                    "error",
                    "class_names",
                    f"{len(data.class_names)} class names are given but the labels go up to "
                    f"class id {top}. Give one name per class.",
                )
            )
    findings.sort(key=lambda f: f.severity != "error")
    return findings


def _preview(values: np.ndarray, n: int = 5) -> str:
    shown = ", ".join(str(v) for v in values[:n])
    return shown + (", ..." if len(values) > n else "")


def check_model_fits_data(
    model: keras.Model, data: Dataset, *, loss: Any, where: str = ""
) -> list[Finding]:
    """Run :func:`diagnose`; raise :class:`ShapeError` on the first error, return warnings."""
    findings = diagnose(model, data, loss=loss)
    errors = [f for f in findings if f.severity == "error"]
    if errors:
        prefix = f"{where}: " if where else ""
        raise ShapeError(f"{prefix}data and model do not fit: {errors[0].message}")
    return findings
