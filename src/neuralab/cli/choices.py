"""The closed sets of values that CLI options accept.

The options stay ``str`` for typer: its own enum check would print a usage error and exit
with 2, while neuralab answers a wrong value like any other user error (one red line,
exit 1, "Did you mean ...?"). The enums give ``--help`` its list (:func:`choice_metavar`)
and the check its allowed values (:func:`check_choice`).
"""

from __future__ import annotations

from enum import StrEnum

from neuralab.errors import NeuralabError, one_of


class Backend(StrEnum):
    """Keras backend (``neuralab.backend.BACKENDS``)."""

    AUTO = "auto"
    JAX = "jax"
    TENSORFLOW = "tensorflow"
    TORCH = "torch"


class Trainer(StrEnum):
    """Training loop (``neuralab.training.trainer.TRAINERS``)."""

    AUTO = "auto"
    FUSED = "fused"
    FIT = "fit"


class Executor(StrEnum):
    """Where a file's runs train (``neuralab.runs.executors.EXECUTORS``)."""

    LOCAL = "local"
    RAY = "ray"


class Lang(StrEnum):
    """Report language (``neuralab.reports.i18n.LANGUAGES``)."""

    EN = "en"
    PT = "pt"


class Progress(StrEnum):
    """How training progress is shown."""

    BAR = "bar"
    DOTS = "dots"


def choice_values(choices: type[StrEnum]) -> tuple[str, ...]:
    """The values of ``choices`` in definition order, e.g. ``("en", "pt")``."""
    return tuple(member.value for member in choices)


def choice_metavar(choices: type[StrEnum]) -> str:
    """What ``--help`` shows as the option's type, e.g. ``<auto|fused|fit>``.

    Written as typer writes an option typed with the enum itself.
    """
    return f"<{'|'.join(choice_values(choices))}>"


def check_choice(choices: type[StrEnum], name: str, received: str) -> str:
    """Return ``received`` if it is a value of ``choices``.

    Raises:
        NeuralabError: Keras-style, e.g. "`trainer` must be one of {'auto', 'fit', 'fused'}.
            Received: trainer='fuse'. Did you mean 'fused'?".
    """
    allowed = choice_values(choices)
    if received not in allowed:
        raise NeuralabError(one_of(name, received, allowed))
    return received
