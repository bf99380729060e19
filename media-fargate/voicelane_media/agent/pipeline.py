"""A small frame pipeline: processors linked in a chain, with cancellable work in flight.

Frames pushed downstream go to the next processor, upstream to the previous one. A processor
that does slow work (LLM stream, TTS synthesis, paced playout) runs it in tasks it `spawn`s, so
the chain never blocks the caller's audio. An `Interruption` frame makes every processor it
passes cancel all of its tasks before forwarding the frame: cancellation reaches everything
in flight through asyncio cancellation, not through flags.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from voicelane_media.agent.frames import Direction, Frame, Interruption

log = logging.getLogger(__name__)


class Processor:
    """One stage of the pipeline. Subclasses override `process` and call `push` to forward."""

    def __init__(self) -> None:
        self._downstream: Processor | None = None
        self._upstream: Processor | None = None
        self._tasks: set[asyncio.Task[Any]] = set()

    def link(self, downstream: Processor) -> None:
        self._downstream = downstream
        downstream._upstream = self

    async def process(self, frame: Frame, direction: Direction) -> None:
        """Handle one frame; the default cancels work on interruption and forwards everything."""
        if isinstance(frame, Interruption):
            await self.cancel_inflight()
        await self.push(frame, direction)

    async def push(self, frame: Frame, direction: Direction = Direction.DOWNSTREAM) -> None:
        target = self._downstream if direction is Direction.DOWNSTREAM else self._upstream
        if target is not None:
            await target.process(frame, direction)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str = "") -> asyncio.Task[Any]:
        """Run `coro` as work in flight of this processor (cancelled on interruption/close)."""
        task = asyncio.create_task(coro, name=name or type(self).__name__)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("task %s failed", task.get_name(), exc_info=task.exception())

    @property
    def busy(self) -> bool:
        return bool(self._tasks)

    async def cancel_inflight(self) -> None:
        """Cancel every task this processor started and wait until they have stopped."""
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        await self.cancel_inflight()


class Pipeline:
    """Processors linked in order; `push` feeds the head (transport in)."""

    def __init__(self, processors: Sequence[Processor]) -> None:
        if not processors:
            raise ValueError("a pipeline needs at least one processor")
        self.processors = list(processors)
        for upstream, downstream in zip(self.processors, self.processors[1:], strict=False):
            upstream.link(downstream)

    async def push(self, frame: Frame) -> None:
        await self.processors[0].process(frame, Direction.DOWNSTREAM)

    async def close(self) -> None:
        for processor in self.processors:
            await processor.close()
