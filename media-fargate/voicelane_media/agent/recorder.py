"""Collects what a session produces (transcript, per-turn metrics, events) for the media service.

Events are queued and delivered by a background task, so a slow sink (a DynamoDB write through
CallLifecycle.record_event) never delays audio. Everything is redacted before it is queued.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from voicelane_media.agent.redaction import redact
from voicelane_media.agent.transcript import ToolCallRecord, Transcript, Turn, TurnMetrics

log = logging.getLogger(__name__)

EventSink = Callable[[str, dict[str, Any]], Awaitable[None]]

# Credential-looking tokens masked in logged error messages (belt and braces: the adapters
# already keep keys out of their errors).
_CREDENTIAL = re.compile(r"(?i)(bearer\s+|sk-|api[_-]?key[=:]\s*|AKIA|ASIA)[A-Za-z0-9._/+=-]{4,}")


class ConversationRecorder:
    """Transcript + metrics + an event queue; `last_activity` feeds the inactivity timer."""

    def __init__(self, on_event: EventSink | None = None, endpointing_ms: float = 500.0) -> None:
        self.transcript = Transcript()
        self.on_event = on_event
        self.endpointing_ms = endpointing_ms
        self.last_activity = time.monotonic()
        self.agent_turns: dict[int, Turn] = {}
        self.metrics: dict[int, TurnMetrics] = {}
        self._events: asyncio.Queue[tuple[str, dict[str, Any]] | None] = asyncio.Queue()
        self._delivery: asyncio.Task[None] | None = None
        self.engine_errors: dict[str, int] = {}
        self._waited_ms: dict[int, float] = {}

    def activity(self) -> None:
        self.last_activity = time.monotonic()

    # -- events --------------------------------------------------------------------------------
    def event(self, event_type: str, details: dict[str, Any]) -> None:
        if self.on_event is None:
            return
        self._events.put_nowait((event_type, details))
        if self._delivery is None or self._delivery.done():
            self._delivery = asyncio.create_task(self._deliver())

    def engine_error(self, stage: str, error: BaseException) -> None:
        """An engine failed mid-call: counted, logged (error class and a short redacted message;
        the adapters never put keys in messages) and reported as `agent.engine_error`."""
        self.engine_errors[stage] = self.engine_errors.get(stage, 0) + 1
        log.warning("agent %s engine failed: %s: %s", stage, type(error).__name__,
                    _CREDENTIAL.sub("[credential]", redact(str(error)))[:200])
        self.event("agent.engine_error", {"stage": stage, "error": type(error).__name__,
                                          "count": self.engine_errors[stage]})

    async def _deliver(self) -> None:
        while not self._events.empty():
            item = self._events.get_nowait()
            if item is None or self.on_event is None:
                continue
            try:
                await self.on_event(*item)
            except Exception:  # a failing sink must not take the call down
                log.exception("agent event sink failed for %s", item[0])

    async def flush(self) -> None:
        if self._delivery is not None:
            await asyncio.gather(self._delivery, return_exceptions=True)

    # -- transcript ----------------------------------------------------------------------------
    def caller_turn(self, text: str, start: float, end: float, role: str = "caller") -> Turn:
        turn = self.transcript.add("dtmf" if role == "dtmf" else "caller", text, start, end)
        self.event("agent.turn", turn.model_dump())
        return turn

    def agent_turn_started(self, turn_id: int, at: float) -> None:
        self.agent_turns[turn_id] = self.transcript.add("agent", "", at, at)

    def agent_turn_finished(
        self, turn_id: int, text: str, end: float, tool_calls: list[ToolCallRecord]
    ) -> None:
        turn = self.agent_turns.get(turn_id)
        if turn is None:
            return
        redacted = self.transcript.add("agent", text, end, end, tool_calls)
        self.transcript.turns.remove(redacted)
        turn.text, turn.tool_calls = redacted.text, redacted.tool_calls
        turn.end_ms = max(turn.end_ms, redacted.end_ms)
        for call in redacted.tool_calls:
            self.event("agent.tool_called", call.model_dump())

    def agent_audio_ended(self, turn_id: int, at: float) -> None:
        turn = self.agent_turns.get(turn_id)
        if turn is not None and not turn.interrupted:
            turn.end_ms = self.transcript.offset_ms(at)
            self.event("agent.turn", turn.model_dump())

    def agent_truncated(self, turn_id: int, heard_text: str, at: float, stop_ms: float) -> None:
        turn = self.agent_turns.get(turn_id)
        if turn is not None:
            self.transcript.truncate(turn, heard_text, at)
            self.event("agent.turn", turn.model_dump())
        self.turn_metrics(turn_id).barge_in_stop_ms = round(stop_ms, 1)
        self.event(
            "agent.interrupted", {"turn_index": turn_id, "barge_in_stop_ms": round(stop_ms, 1)}
        )

    # -- metrics -------------------------------------------------------------------------------
    def turn_metrics(self, turn_id: int) -> TurnMetrics:
        if turn_id not in self.metrics:
            self.metrics[turn_id] = TurnMetrics(turn_index=turn_id)
            self.transcript.metrics.append(self.metrics[turn_id])
        return self.metrics[turn_id]

    def endpoint_waited(self, turn_id: int, waited_ms: float) -> None:
        """The silence the endpointer waited before it ended this turn (Smart Turn varies it)."""
        self._waited_ms[turn_id] = waited_ms

    def voice_to_voice(self, turn_id: int, value_ms: float) -> None:
        metrics = self.turn_metrics(turn_id)
        metrics.voice_to_voice_ms = round(value_ms, 1)
        window = self._waited_ms.pop(turn_id, self.endpointing_ms)
        # Keyed (DTMF) turns end at once, with no endpointing window to subtract.
        waited = window if value_ms >= window else 0.0
        metrics.platform_added_ms = round(value_ms - waited, 1)
