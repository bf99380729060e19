"""The live event stream, locally: an in-process fan-out from the event router (a runner
thread) to WebSocket subscribers (asyncio tasks of the API)."""

from __future__ import annotations

import asyncio
import threading
from typing import Any


class LocalEventBroker:
    """Thread-safe publish; each subscriber gets a bounded asyncio queue (slow ones drop)."""

    def __init__(self, max_queue: int = 1000) -> None:
        self.max_queue = max_queue
        self._lock = threading.Lock()
        self._subs: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[dict[str, Any]]]]] = {}

    def subscribe(self, app_id: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(self.max_queue)
        with self._lock:
            self._subs.setdefault(app_id, set()).add((asyncio.get_running_loop(), queue))
        return queue

    def unsubscribe(self, app_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        with self._lock:
            subs = self._subs.get(app_id, set())
            for entry in [e for e in subs if e[1] is queue]:
                subs.discard(entry)

    def push(self, app_id: str, payload: dict[str, Any]) -> None:
        with self._lock:
            subs = list(self._subs.get(app_id, ()))
        for loop, queue in subs:
            try:
                loop.call_soon_threadsafe(_offer, queue, payload)
            except RuntimeError:  # the subscriber's loop has closed
                self.unsubscribe(app_id, queue)


def _offer(queue: asyncio.Queue[dict[str, Any]], payload: dict[str, Any]) -> None:
    if not queue.full():
        queue.put_nowait(payload)


_broker = LocalEventBroker()


def local_broker() -> LocalEventBroker:
    """The process's broker (the local API and the local runner share it)."""
    return _broker
