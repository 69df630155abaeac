"""The live page: ``neuralab play`` (a playground driving real Keras models) and ``--live``
(runs watched as they train), served on 127.0.0.1 with a random token; updates arrive as
server-sent events at ``/events``.

Importing this package does not import Keras.
"""

from neuralab.live.bus import EventBus as EventBus
from neuralab.live.server import LiveServer as LiveServer
from neuralab.live.toml_text import dump_toml as dump_toml

__all__ = ["EventBus", "LiveServer", "dump_toml"]
