"""The first stage of a model trained on a table: raw columns in, numbers for Dense layers out.

:class:`TableEncoding` takes one row of raw values per sample, as
:class:`neuralab.data.table.TableDataset` holds them (numbers as read, a category's code, NaN
for a missing cell), and gives the Dense layers:

- numeric columns: missing cells filled with the training mean, then
  ``keras.layers.Normalization`` with the training split's mean and variance;
- categorical columns: the code looked up among the categories seen in training (slot 0,
  "unknown", for any other), then ``keras.layers.CategoryEncoding(output_mode="one_hot")``;
  the unknown slot's column is dropped, so an unseen category (or a category of a column
  the training split never filled) is a row of zeros: no evidence, not an untrained weight.

Why these layers and not ``StringLookup`` or ``keras.utils.FeatureSpace``: on the JAX
backend a model is one compiled XLA program, and those two run TensorFlow string ops, which
Keras documents as unusable inside a compiled model on any backend but TensorFlow. Texts
are therefore turned into codes before the model (a fixed hash, :func:`category_code`, the
same in every file), and the lookup of codes and the one-hot encoding run in the model. The
statistics and vocabularies are constants in the layer's config, not weights: saved in
``model.keras``, and no report mistakes them for learned weights.
"""

from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import ops

from neuralab.data.table import TableFit


@keras.saving.register_keras_serializable(package="neuralab")
class TableEncoding(keras.layers.Layer):
    """Raw table columns -> normalised numbers and one-hot categories (see the module).

    Args:
        columns, label, class_names, missing: :meth:`TableFit.to_config` (what the training
            split says about each column; the label and class names travel with the model).
    """

    def __init__(
        self,
        columns: list[dict[str, Any]],
        label: str = "",
        class_names: list[str] | None = None,
        missing: str = "error",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.table_fit = TableFit.from_config(
            {
                "columns": columns,
                "label": label,
                "class_names": class_names or [],
                "missing": missing,
            }
        )
        numeric = [c for c in self.table_fit.columns if c.kind == "numeric"]
        self._numeric = [i for i, c in enumerate(self.table_fit.columns) if c.kind == "numeric"]
        self._categorical = [
            i for i, c in enumerate(self.table_fit.columns) if c.kind == "categorical"
        ]
        self._fills = np.asarray([c.fill for c in self.table_fit.columns], dtype=np.float32)
        self.normalization = (
            keras.layers.Normalization(
                mean=[c.mean for c in numeric],
                variance=[c.variance for c in numeric],
                name="normalization",
            )
            if numeric
            else None
        )
        self.one_hot = [
            keras.layers.CategoryEncoding(
                num_tokens=len(self.table_fit.columns[i].codes) + 1,
                output_mode="one_hot",
                name=f"one_hot_{k}",
            )
            for k, i in enumerate(self._categorical)
        ]

    @property
    def output_width(self) -> int:
        return len(self._numeric) + sum(
            len(self.table_fit.columns[i].codes) for i in self._categorical
        )

    def build(self, input_shape: Any) -> None:
        width = input_shape[-1]
        if width is not None and width != len(self.table_fit.columns):
            raise ValueError(
                f"TableEncoding takes {len(self.table_fit.columns)} columns; received {width}."
            )
        if self.normalization is not None:
            self.normalization.build((None, len(self._numeric)))
        for layer in self.one_hot:
            layer.build((None,))
        self.built = True

    def call(self, inputs: Any) -> Any:
        x = ops.cast(inputs, "float32")
        x = ops.where(ops.isnan(x), ops.convert_to_tensor(self._fills)[None, :], x)
        parts = []
        if self.normalization is not None:
            parts.append(self.normalization(ops.take(x, self._numeric, axis=1)))
        for layer, i in zip(self.one_hot, self._categorical, strict=True):
            codes = np.asarray(self.table_fit.columns[i].codes, dtype=np.float32)
            column = x[:, i]
            if len(codes) == 0:
                slot = ops.zeros_like(column, dtype="int32")
            else:
                known = ops.convert_to_tensor(codes)
                position = ops.minimum(ops.searchsorted(known, column), len(codes) - 1)
                found = ops.equal(ops.take(known, position), column)
                slot = ops.where(found, ops.cast(position, "int32") + 1, 0)
            # Slot 0 never occurs in training, so its weights would stay as initialised:
            # "unknown" is encoded as no category at all (a row of zeros) instead.
            parts.append(layer(slot)[:, 1:])
        return ops.concatenate(parts, axis=-1) if len(parts) > 1 else parts[0]

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        return (input_shape[0], self.output_width)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), **self.table_fit.to_config()}


def table_encoding(fit: TableFit) -> TableEncoding:
    """The first layer of a model for a table fitted as ``fit``."""
    return TableEncoding(**fit.to_config(), name="table_encoding")


def find_table_encoding(model: Any) -> TableFit | None:
    """What the model's :class:`TableEncoding` knows, or None for a model without one."""
    for layer in getattr(model, "layers", []):
        if isinstance(layer, TableEncoding):
            return layer.table_fit
    return None


def custom_objects() -> dict[str, type]:
    """The layer classes of this module (registered with Keras on import)."""
    return {"TableEncoding": TableEncoding}
