"""Fan-out of live events to the page's server-sent-event streams.

Producers (a training thread, a file watcher) :meth:`EventBus.publish` events on a channel (a
play session, a run); every subscriber of that channel (or of all channels) gets them in
order. A subscriber that joins late first gets the channel's story so far: every event but
the boundary and prediction frames, of which only the latest is kept. A slow subscriber
loses its oldest frames, never blocks a producer.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

#: Events a subscriber may have waiting before the oldest are dropped.
QUEUE_LIMIT = 5000
#: Events of a channel kept for late subscribers (besides the latest frame).
HISTORY_LIMIT = 50_000
_FRAMES = ("boundary", "predictions")


@dataclass
class _Channel:
    history: list[str] = field(default_factory=list)
    frames: dict[str, str] = field(default_factory=dict)


class Subscription:
    """One stream's queue: :meth:`get` waits for the next events (JSON texts)."""

    def __init__(self, bus: EventBus, channel: str | None) -> None:
        self.bus = bus
        self.channel = channel
        self.queue: deque[str] = deque(maxlen=QUEUE_LIMIT)
        self.closed = False

    def get(self, timeout: float) -> list[str]:
        """The events waiting (after at most ``timeout`` seconds: maybe none)."""
        with self.bus.cond:
            if not self.queue and not self.closed and not self.bus.closed:
                self.bus.cond.wait(timeout)
            out = list(self.queue)
            self.queue.clear()
            return out

    def close(self) -> None:
        with self.bus.cond:
            self.closed = True
            if self in self.bus.subscribers:
                self.bus.subscribers.remove(self)
            self.bus.cond.notify_all()


class EventBus:
    """Channels of JSON events with late-join history (thread-safe)."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.subscribers: list[Subscription] = []
        self.channels: dict[str, _Channel] = {}
        self.closed = False

    def publish(self, channel: str, event: dict[str, Any]) -> None:
        """Send ``event`` (a JSON-ready dict; ``channel`` is added to it) to the subscribers."""
        self.publish_many(channel, [event])

    def publish_many(self, channel: str, events: list[dict[str, Any]]) -> None:
        """Send several events at once (one wake-up of the streams)."""
        texts = [
            (str(e.get("type")), json.dumps({**e, "channel": channel}, separators=(",", ":")))
            for e in events
        ]
        with self.cond:
            story = self.channels.setdefault(channel, _Channel())
            for kind, text in texts:
                if kind in _FRAMES:
                    story.frames[kind] = text
                elif len(story.history) < HISTORY_LIMIT:
                    story.history.append(text)
            for sub in self.subscribers:
                if sub.channel is None or sub.channel == channel:
                    sub.queue.extend(text for _, text in texts)
            self.cond.notify_all()

    def clear(self, channel: str) -> None:
        """Forget a channel's story (a reset session): late subscribers start from nothing."""
        with self.cond:
            self.channels.pop(channel, None)

    def subscribe(self, channel: str | None = None) -> Subscription:
        """A new stream of ``channel`` (None: every channel), starting with the story so far."""
        sub = Subscription(self, channel)
        with self.cond:
            names = list(self.channels) if channel is None else [channel]
            for name in names:
                story = self.channels.get(name)
                if story is not None:
                    sub.queue.extend(story.history)
                    sub.queue.extend(story.frames.values())
            self.subscribers.append(sub)
        return sub

    def close(self) -> None:
        """Wake every stream so it can end (the server is stopping)."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()
