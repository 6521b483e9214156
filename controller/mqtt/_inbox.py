"""What arrives from the broker, before anything reads it. aiomqtt hands every message paho
has read to its incoming queue (the `queue_type` hook); ours checks the size there, so an
oversized payload is let go at once and never decoded, and the queue holds at most
MAX_QUEUED entries of at most MAX_PAYLOAD + MAX_TOPIC bytes each (about 1.3 MB)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiomqtt

from ._messages import MAX_PAYLOAD

MAX_TOPIC = 256     # characters; our command topics are well under 100
MAX_QUEUED = 1000   # entries; a burst beyond this is dropped (commands are rate-limited anyway)
QUIET_S = 10.0      # a flood of faults ends after this long without another


@dataclass(frozen=True, slots=True)
class Oversize:
    """In the queue instead of a message too large to read: its topic (cut) and size (bytes)."""

    topic: str
    size: int


class Inbox(asyncio.Queue[Any]):
    """aiomqtt's incoming queue, bounded in bytes: a message over MAX_PAYLOAD (or with a
    topic over MAX_TOPIC) is replaced by an `Oversize` note as it is handed over; a full queue
    drops and counts (`dropped`) instead of raising, which aiomqtt would log per message."""

    def __init__(self, maxsize: int = MAX_QUEUED) -> None:
        super().__init__(maxsize if maxsize > 0 else MAX_QUEUED)
        self.dropped = 0

    def put_nowait(self, item: Any) -> None:
        if isinstance(item, aiomqtt.Message):
            topic = item.topic.value
            payload = item.payload
            size = len(payload) if isinstance(payload, bytes | bytearray | str) else 0
            if size > MAX_PAYLOAD or len(topic) > MAX_TOPIC:
                item = Oversize(topic[:MAX_TOPIC], size)  # the payload goes with the message
        if self.full():
            self.dropped += 1
            return
        super().put_nowait(item)


class Episodes:
    """Faults that come in floods, logged per episode (house style): a warning at the first,
    one line with the count when QUIET_S (s, on `clock`) pass without another."""

    def __init__(self, log: logging.Logger, clock: Callable[[], float] = time.monotonic
                 ) -> None:
        self.log = log
        self.clock = clock
        self._open: dict[str, tuple[float, int]] = {}  # kind: (last seen, count)

    def note(self, kind: str, detail: str) -> None:
        """One more fault of `kind`; the first of an episode is logged with `detail`."""
        last = self._open.get(kind)
        if last is None:
            self.log.warning("fault start %s %s", kind, detail)
            self._open[kind] = (self.clock(), 1)
        else:
            self._open[kind] = (self.clock(), last[1] + 1)

    def tick(self, force: bool = False) -> None:
        """End the episodes quiet for QUIET_S (every open one when `force`)."""
        now = self.clock()
        for kind, (seen, count) in list(self._open.items()):
            if force or now - seen >= QUIET_S:
                del self._open[kind]
                self.log.info("fault end %s: %d in the episode", kind, count)
