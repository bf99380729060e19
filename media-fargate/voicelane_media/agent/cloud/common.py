"""Helpers shared by the cloud engines: blocking iterators bridged to asyncio, tool schemas."""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import AsyncGenerator, Callable, Iterator
from typing import Any, TypeVar

from voicelane.domain.agent import ToolSpec

T = TypeVar("T")
_END = object()


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


async def iterate_in_thread(
    open_iterator: Callable[[], Iterator[T]], close: Callable[[], None] | None = None
) -> AsyncGenerator[T, None]:
    """Runs a blocking iterator (e.g. a botocore EventStream) in a worker thread.

    Items arrive as soon as the thread reads them. When the consumer stops early (a barge-in
    cancels the reply) `close` is called, which must unblock the thread (closing the HTTP
    response does), and the thread stops handing items over.
    """
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue()
    stopped = threading.Event()

    def hand_over(item: object) -> None:
        with contextlib.suppress(RuntimeError):  # the loop is gone: nobody is listening
            loop.call_soon_threadsafe(queue.put_nowait, item)

    def produce() -> None:
        try:
            for item in open_iterator():
                if stopped.is_set():
                    break
                hand_over(item)
        except BaseException as error:  # handed to the consumer, re-raised there
            if not stopped.is_set():
                hand_over(_Failed(error))
        finally:
            hand_over(_END)

    worker = threading.Thread(target=produce, name="cloud-stream", daemon=True)
    worker.start()
    try:
        while (item := await queue.get()) is not _END:
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stopped.set()
        if close is not None:
            with contextlib.suppress(Exception):
                close()


def tool_schema(tool: ToolSpec) -> dict[str, Any]:
    """The tool's JSON schema for its arguments (an empty object schema when it declared none)."""
    return tool.parameters or {"type": "object", "properties": {}}


def parse_arguments(raw: str) -> dict[str, Any]:
    """Tool-call arguments as streamed by a model: JSON object text, possibly empty or broken."""
    if not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError:
        return {"_raw": raw}
    return value if isinstance(value, dict) else {"value": value}


def tool_result_document(content: str) -> dict[str, Any]:
    """A tool result (JSON text in memory) as a JSON object, for APIs that want a document."""
    try:
        value = json.loads(content)
    except json.JSONDecodeError:
        return {"text": content}
    return value if isinstance(value, dict) else {"result": value}
