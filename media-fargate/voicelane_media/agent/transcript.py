"""The call transcript and per-turn latency metrics, redacted before they are stored."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from voicelane_media.agent.redaction import Redactor, redact


class ToolCallRecord(BaseModel):
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: Any = None


class TurnMetrics(BaseModel):
    """Latencies of one agent reply, in milliseconds (None when the stage did not happen).

    - stt_final_ms: end of caller speech -> STT final transcript
    - endpoint_ms: end of caller speech -> turn committed (endpointing window + STT wait)
    - llm_first_token_ms: turn committed -> first LLM text
    - tts_first_audio_ms: turn committed -> first synthesised audio
    - voice_to_voice_ms: end of caller speech -> first agent audio sent to the leg
    - platform_added_ms: voice_to_voice minus the endpointing window (what the loop adds)
    - barge_in_stop_ms: caller speech confirmed -> agent audio stopped (leg cleared)
    """

    turn_index: int
    stt_final_ms: float | None = None
    endpoint_ms: float | None = None
    llm_first_token_ms: float | None = None
    tts_first_audio_ms: float | None = None
    voice_to_voice_ms: float | None = None
    platform_added_ms: float | None = None
    barge_in_stop_ms: float | None = None


class Turn(BaseModel):
    """One transcript turn; offsets are milliseconds since the agent session started."""

    role: Literal["agent", "caller", "dtmf"]
    text: str
    start_ms: float
    end_ms: float
    interrupted: bool = False
    heard_text: str | None = None
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)


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
