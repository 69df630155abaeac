"""The events a run reports while it trains: one typed record a line (JSON Lines).

The live page (``neuralab play``, ``--live``) draws them as they come; the run directory keeps
them (appended, so a resumed run adds to them) for ``neuralab play --replay`` and for the
report's strip of decision boundaries. Like every record, each line carries its
``schema_version``; readers get validated objects back, never dicts.

Kinds (``type``):

- ``begin``: the run starts (name, epochs asked, classes, shape-doctor findings, the points of
  2-feature data, thumbnails of the first images of image data);
- ``epoch``: one epoch's logs (``loss``, metrics, ``val_*``, ``learning_rate``);
- ``boundary``: the predicted class and its probability on a grid over 2-feature data;
- ``predictions``: the predicted classes of the first images (image data);
- ``end``: training ended (epochs run, whether it was interrupted).
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from neuralab.errors import RunError
from neuralab.record.models import SCHEMA_VERSION, FindingRecord

#: Cells per side of a boundary grid.
GRID_SIZE = 60
#: Most points of a split that a ``begin`` event carries (a sample of larger data sets).
MAX_POINTS = 2000
#: How many first images a ``begin`` event shows (image data).
N_SAMPLES = 8


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Event(_Part):
    schema_version: int = SCHEMA_VERSION
    #: Seconds since the run (or this attempt of it) began.
    t: float = 0.0


class Points(_Part):
    """Points of one split of 2-feature data: ``x`` as ``[[x0, x1], ...]``, ``y`` class ids."""

    split: str
    x: tuple[tuple[float, float], ...]
    y: tuple[int, ...]


class Thumbnail(_Part):
    """One of the first images: a small PNG (``data:`` URI) and its true class."""

    png: str
    label: int


class BeginEvent(_Event):
    type: Literal["begin"] = "begin"
    name: str
    group: str = ""
    seed: int | None = None
    epochs: int
    initial_epoch: int = 0
    n_features: int | None = None
    class_names: tuple[str, ...] = ()
    findings: tuple[FindingRecord, ...] = ()
    points: tuple[Points, ...] = ()
    samples: tuple[Thumbnail, ...] = ()
    samples_split: str = ""
    splits: dict[str, int] = Field(default_factory=dict)


class EpochEvent(_Event):
    type: Literal["epoch"] = "epoch"
    epoch: int
    logs: dict[str, float]


class Grid(_Part):
    """A boundary grid: ``size x size`` cells over ``[x_min, x_max] x [y_min, y_max]``, row 0
    at ``y_min``. ``classes`` and ``confidence`` are base64 bytes, one per cell: the predicted
    class id and its probability times 255."""

    x_min: float
    x_max: float
    y_min: float
    y_max: float
    size: int
    classes: str
    confidence: str

    def arrays(self) -> tuple[Any, Any]:
        """``(classes, confidence)`` as ``(size, size)`` arrays (uint8 ids, floats in [0, 1])."""
        import numpy as np

        shape = (self.size, self.size)
        classes = np.frombuffer(base64.b64decode(self.classes), dtype=np.uint8).reshape(shape)
        raw = np.frombuffer(base64.b64decode(self.confidence), dtype=np.uint8).reshape(shape)
        return classes, raw.astype(np.float32) / 255.0


class BoundaryEvent(_Event):
    type: Literal["boundary"] = "boundary"
    epoch: int
    grid: Grid


class PredictionsEvent(_Event):
    type: Literal["predictions"] = "predictions"
    epoch: int
    predicted: tuple[int, ...]
    confidence: tuple[float, ...]


class EndEvent(_Event):
    type: Literal["end"] = "end"
    epochs_run: int
    interrupted: bool = False


Event = Annotated[
    BeginEvent | EpochEvent | BoundaryEvent | PredictionsEvent | EndEvent,
    Field(discriminator="type"),
]
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Event)


def event_line(event: _Event) -> str:
    """One event as a line of JSON (no newline inside), ending in a newline."""
    return json.dumps(event.model_dump(mode="json"), ensure_ascii=False, separators=(",", ":"))


def parse_event(data: Any, *, where: str = "event") -> Any:
    """Validate a dict (or a JSON line) as one of the events.

    Raises:
        RunError: not an event of this schema, naming ``where``.
    """
    try:
        if isinstance(data, str | bytes):
            data = json.loads(data)
        version = data.get("schema_version", SCHEMA_VERSION) if isinstance(data, dict) else 0
        if isinstance(version, int) and version > SCHEMA_VERSION:
            raise RunError(
                f"{where}: written by a newer neuralab (record schema {version}); this one "
                f"reads schema {SCHEMA_VERSION} and older. Upgrade neuralab to replay it."
            )
        return _ADAPTER.validate_python(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RunError(f"{where}: not a line of JSON ({exc}).") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise RunError(f"{where}: not a neuralab event: {key}: {first['msg']}.") from exc


def append_events(path: str | Path, events: Iterable[_Event]) -> None:
    """Append events to a JSON Lines file, one line each, in one write (then flushed)."""
    text = "".join(event_line(e) + "\n" for e in events)
    if not text:
        return
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()


def read_events(path: str | Path) -> list[Any]:
    """Every complete event of a JSON Lines file (a last line still being written is left
    out).

    Raises:
        RunError: the file is missing or a complete line is not an event (line named).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise RunError(
            f"{path}: no events. Runs write them while they train; this one did not get "
            "that far, or was written by an older neuralab."
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"{path}: unreadable ({exc}).") from exc
    lines = text.split("\n")
    complete = lines[:-1]  # the last piece has no newline yet (or is empty)
    return [
        parse_event(line, where=f"{path}:{number}")
        for number, line in enumerate(complete, start=1)
        if line.strip()
    ]


class EventTail:
    """Follows a JSON Lines event file as it grows: :meth:`read` returns the complete lines
    added since the last call (parsed), leaving a partial last line for the next call."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.offset = 0
        self.line = 0
        self._partial = b""

    def read(self, max_bytes: int = 8 << 20) -> list[Any]:
        """New events (at most about ``max_bytes`` of them per call).

        Raises:
            RunError: a complete line is not an event.
        """
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read(max_bytes)
        except FileNotFoundError:
            return []
        if not chunk:
            return []
        self.offset += len(chunk)
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        events = []
        for raw in lines:
            self.line += 1
            if raw.strip():
                events.append(parse_event(raw, where=f"{self.path}:{self.line}"))
        return events


# ----------------------------------------------------------------------- grids and strips


def encode_grid(
    classes: Any, confidence: Any, extent: Sequence[float], *, size: int | None = None
) -> Grid:
    """A :class:`Grid` from ``(size, size)`` class ids and probabilities (row 0 at ``y_min``).

    Args:
        classes: Predicted class ids, integers 0-255.
        confidence: Their probabilities, in [0, 1].
        extent: ``(x_min, x_max, y_min, y_max)``.
        size: Cells per side (default: the arrays' own).
    """
    import numpy as np

    ids = np.asarray(classes).astype(np.uint8)
    probability = np.clip(np.nan_to_num(np.asarray(confidence, dtype=np.float64)), 0.0, 1.0)
    size = size or int(ids.shape[0])
    x_min, x_max, y_min, y_max = (float(v) for v in extent)
    return Grid(
        x_min=x_min,
        x_max=x_max,
        y_min=y_min,
        y_max=y_max,
        size=size,
        classes=base64.b64encode(ids.tobytes()).decode("ascii"),
        confidence=base64.b64encode(np.rint(probability * 255).astype(np.uint8).tobytes()).decode(
            "ascii"
        ),
    )


def strip_epochs(epochs: int, *, n: int = 5) -> tuple[int, ...]:
    """The epochs a report's strip of decision boundaries shows: the first, the last and
    about evenly spaced on a log scale between them (100 epochs: 1, 3, 10, 32, 100), where
    the early epochs' straight lines are still visible.

    Example:
        >>> strip_epochs(100)
        (1, 3, 10, 32, 100)
    """
    if epochs <= 0:
        return ()
    if epochs <= n:
        return tuple(range(1, epochs + 1))
    picked = {round(math.exp(math.log(epochs) * k / (n - 1))) for k in range(n)}
    return tuple(sorted(max(1, min(epochs, int(e))) for e in picked))
