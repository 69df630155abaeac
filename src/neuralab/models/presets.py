"""Named model presets: functions returning a list of :class:`LayerSpec`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from neuralab.config import Layer, LayerSpec
from neuralab.errors import SpecError, did_you_mean, one_of


def mlp(
    *,
    hidden_units: Sequence[int] = (4, 4),
    activation: str = "relu",
    n_outputs: int = 1,
    output_activation: str = "sigmoid",
    dropout: float = 0.0,
    flatten: bool = False,
) -> list[LayerSpec]:
    """A multilayer perceptron: ``[Flatten] -> Dense(h, activation) [-> Dropout] ... -> Dense``.

    Args:
        hidden_units: Units of each hidden layer.
        activation: Hidden activation.
        n_outputs: Output units (1 for binary, n_classes for softmax).
        output_activation: Output activation (``sigmoid``, ``softmax``, or ``linear`` for logits).
        dropout: Dropout rate after each hidden layer (0 for none).
        flatten: Start with ``Flatten`` (for image inputs).
    """
    layers: list[LayerSpec] = [Layer("Flatten")] if flatten else []
    for units in hidden_units:
        layers.append(Layer("Dense", units=int(units), activation=activation))
        if dropout:
            layers.append(Layer("Dropout", rate=float(dropout)))
    layers.append(Layer("Dense", units=int(n_outputs), activation=output_activation))
    return layers


def logistic_regression(
    *, n_outputs: int = 1, output_activation: str = "sigmoid"
) -> list[LayerSpec]:
    """One Dense layer: logistic (or softmax) regression."""
    return [Layer("Dense", units=int(n_outputs), activation=output_activation)]


def tinyvgg(
    *,
    filters: int = 10,
    kernel_size: int = 3,
    pool_size: int = 2,
    blocks: int = 2,
    n_outputs: int = 1,
    output_activation: str = "sigmoid",
) -> list[LayerSpec]:
    """TinyVGG, the CNN Explainer's network (the CNN chapter's model_1 and model_7).

    Each block is ``Conv2D(filters, kernel_size, relu) x 2 -> MaxPool2D(pool_size)``; then
    ``Flatten -> Dense(n_outputs)``. At 224x224x3 with the defaults: 31,101 parameters.
    """
    layers: list[LayerSpec] = []
    for _ in range(blocks):
        layers += [
            Layer("Conv2D", filters=filters, kernel_size=kernel_size, activation="relu"),
            Layer("Conv2D", filters=filters, kernel_size=kernel_size, activation="relu"),
            Layer("MaxPool2D", pool_size=pool_size),
        ]
    return [
        *layers,
        Layer("Flatten"),
        Layer("Dense", units=n_outputs, activation=output_activation),
    ]


def conv_stack(
    *,
    filters: int = 10,
    kernel_size: int = 3,
    convolutions: int = 3,
    pooling: bool = False,
    n_outputs: int = 1,
    output_activation: str = "sigmoid",
) -> list[LayerSpec]:
    """``Conv2D(filters, kernel_size, relu)`` x ``convolutions`` (each followed by
    ``MaxPool2D`` if ``pooling``), then ``Flatten -> Dense``: the CNN chapter's model_4
    (no pooling: 477,341 parameters at 224x224x3) and model_5/model_6 (pooling: 8,861)."""
    layers: list[LayerSpec] = []
    for _ in range(convolutions):
        layers.append(Layer("Conv2D", filters=filters, kernel_size=kernel_size, activation="relu"))
        if pooling:
            layers.append(Layer("MaxPool2D", pool_size=2))
    return [
        *layers,
        Layer("Flatten"),
        Layer("Dense", units=n_outputs, activation=output_activation),
    ]


PRESETS: dict[str, Callable[..., list[LayerSpec]]] = {
    "mlp": mlp,
    "logistic_regression": logistic_regression,
    "tinyvgg": tinyvgg,
    "conv_stack": conv_stack,
}


def preset_layers(
    name: str, args: Mapping[str, Any] | None = None, *, where: str = "model"
) -> list[LayerSpec]:
    """Resolve a preset name and arguments into layers.

    Raises:
        SpecError: unknown preset or argument.
    """
    if name not in PRESETS:
        raise SpecError(f"{where}.preset: " + one_of("preset", name, PRESETS))
    try:
        return PRESETS[name](**dict(args or {}))
    except TypeError as exc:
        import inspect

        allowed = list(inspect.signature(PRESETS[name]).parameters)
        bad = next((k for k in (args or {}) if k not in allowed), None)
        hint = did_you_mean(bad, allowed) if bad else ""
        raise SpecError(
            f"{where}.preset_args: {exc}.{hint} Allowed for {name!r}: {', '.join(allowed)}."
        ) from None


def preset_layer_types(name: str, args: Mapping[str, Any] | None = None) -> tuple[str, ...]:
    return tuple(layer.type for layer in preset_layers(name, args))
