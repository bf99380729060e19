"""Preemptive generation: the LLM's reply to a caller turn, started before the turn is final.

    prefetch = Prefetch(llm.fork(), history_with_the_turn, tools, text)
    ...
    if prefetch.matches(text, brain.history()):      # the turn ended with the same words
        async for event in prefetch.events(): ...     # what came so far, then the rest live
    else:
        prefetch.cancel()                            # the caller went on: thrown away

A prefetch only reads the LLM's stream into memory: nothing is spoken and no tool runs from
here. The brain replays its events as the reply's first round once the turn has ended, and
executes the tool calls among them then, as for a reply started on the turn.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from voicelane.domain.agent import ToolSpec

from voicelane_media.agent.providers import ChatMessage, LLMEngine, LLMEvent, TextDelta


@dataclass
class PreemptionStats:
    """Per session: prepared replies started, used for the turn, and thrown away."""

    started: int = 0
    used: int = 0
    discarded: int = 0


def _copy(message: ChatMessage) -> ChatMessage:
    return dataclasses.replace(message, tool_calls=list(message.tool_calls))


class Prefetch:
    """One prepared reply: the LLM's stream for `history` read into memory as it comes."""

    def __init__(
        self, engine: LLMEngine, history: Sequence[ChatMessage], tools: Sequence[ToolSpec],
        text: str,
    ) -> None:
        self.engine = engine
        self.text = text
        # A copy: what the LLM was asked, to compare with the history when the turn ends.
        self.history = [_copy(m) for m in history]
        self.started_at = time.monotonic()
        self.first_text_at: float | None = None
        self._events: list[LLMEvent] = []
        self._done = False
        self._error: Exception | None = None
        self._changed = asyncio.Event()
        self._task = asyncio.create_task(
            self._read([_copy(m) for m in history], list(tools)), name="llm-prefetch"
        )

    async def _read(self, messages: list[ChatMessage], tools: list[ToolSpec]) -> None:
        try:
            async for event in self.engine.stream(messages, tools):
                if isinstance(event, TextDelta) and self.first_text_at is None:
                    self.first_text_at = time.monotonic()
                self._events.append(event)
                self._changed.set()
        except Exception as exc:  # handed to the reply that uses it, as a live stream would
            self._error = exc
        finally:
            self._done = True
            self._changed.set()

    @property
    def done(self) -> bool:
        return self._done

    def matches(self, text: str, history: Sequence[ChatMessage]) -> bool:
        """The turn ended with the words it was prepared for, on the same conversation."""
        return text == self.text and list(history) == self.history

    async def events(self) -> AsyncIterator[LLMEvent]:
        """The stream's events: those read so far at once, then the rest as they come."""
        index = 0
        while True:
            while index < len(self._events):
                yield self._events[index]
                index += 1
            if self._done:
                if self._error is not None:
                    raise self._error
                return
            self._changed.clear()
            await self._changed.wait()

    def cancel(self) -> None:
        """Stop reading (the caller went on, or the reply ended): the LLM request is dropped."""
        self._task.cancel()
