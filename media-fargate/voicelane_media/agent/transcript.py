"""The call transcript and per-turn latency metrics, redacted before they are stored."""

from __future__ import annotations

import time
from typing import Any, Literal

# The stored transcript has the shape the API serves: one definition, in the contracts.
from voicelane.contracts.artifacts import ToolCallView as ToolCallRecord
from voicelane.contracts.artifacts import TranscriptTurn as Turn
from voicelane.contracts.artifacts import TurnMetricsView as TurnMetrics

from voicelane_media.agent.redaction import Redactor, redact

__all__ = ["ToolCallRecord", "Transcript", "Turn", "TurnMetrics"]


class Transcript:
    """Accumulates redacted turns; `origin` is the monotonic time offsets are measured from."""

    def __init__(self, origin: float | None = None) -> None:
        self.origin = time.monotonic() if origin is None else origin
        self.turns: list[Turn] = []
        self.metrics: list[TurnMetrics] = []
        self._redact = Redactor()

    def offset_ms(self, at: float) -> float:
        return round((at - self.origin) * 1000.0, 1)

    def add(
        self,
        role: Literal["agent", "caller", "dtmf"],
        text: str,
        start: float,
        end: float,
        tool_calls: list[ToolCallRecord] | None = None,
    ) -> Turn:
        turn = Turn(
            role=role,
            text=self._redact(text),
            start_ms=self.offset_ms(start),
            end_ms=self.offset_ms(end),
            tool_calls=[self._redact_tool(call) for call in tool_calls or []],
        )
        self.turns.append(turn)
        return turn

    def _redact_tool(self, call: ToolCallRecord) -> ToolCallRecord:
        arguments = {k: redact(v) if isinstance(v, str) else v for k, v in call.arguments.items()}
        return ToolCallRecord(name=call.name, arguments=arguments, result=call.result)

    def truncate(self, turn: Turn, heard_text: str, end: float) -> None:
        """Mark an agent turn as interrupted, keeping only what the caller heard."""
        turn.interrupted = True
        turn.heard_text = self._redact(heard_text)
        turn.end_ms = self.offset_ms(end)

    def as_dict(self) -> dict[str, Any]:
        """The transcript as stored and served (turns + per-turn metrics)."""
        return {
            "turns": [turn.model_dump() for turn in self.turns],
            "metrics": [m.model_dump() for m in self.metrics],
        }
