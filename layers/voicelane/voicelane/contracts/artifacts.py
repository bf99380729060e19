"""A call's transcript and recording as GET /v1/calls/{id}/transcript and /recording serve them.

The media node writes both records (its agent runner and recorder); these models describe
what the API answers, and the transcript models are also what the media node writes. They allow extra keys so a field the media plane adds is served, not
dropped, until it is described here.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ToolCallView(BaseModel):
    """A tool the agent called during a turn (arguments redacted)."""

    model_config = ConfigDict(extra="allow")

    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    result: Any = None


class TranscriptTurn(BaseModel):
    """One turn; offsets are milliseconds since the agent session started (text redacted)."""

    model_config = ConfigDict(extra="allow")

    role: Literal["agent", "caller", "dtmf"] = Field(description="agent, caller or dtmf")
    text: str
    start_ms: float
    end_ms: float
    interrupted: bool = False
    heard_text: str | None = Field(
        default=None, description="What the caller heard of an interrupted agent turn"
    )
    tool_calls: list[ToolCallView] = Field(default_factory=list)


class TurnMetricsView(BaseModel):
    """Latencies of one agent reply in milliseconds (none when the stage did not happen);
    docs/agents.md says more.

    - stt_final_ms: end of caller speech -> STT final transcript
    - endpoint_ms: end of caller speech -> turn committed (endpointing window + STT wait)
    - llm_first_token_ms: turn committed -> first LLM text
    - tts_first_audio_ms: turn committed -> first synthesised audio
    - voice_to_voice_ms: end of caller speech -> first agent audio sent to the leg
    - platform_added_ms: voice_to_voice minus the silence the endpointer waited
    - barge_in_stop_ms: caller's speech onset over the agent -> agent audio stopped (paused)
    - onset_pauses: times this reply paused for caller sound too short to open a speech
      segment (`vad_start_ms`) and went on where it paused (each a gap of tens of ms)
    - turn_detection: `smart_turn` or `silence`, how this caller turn was ended
    - end_of_turn_probability: the Smart Turn model's verdict (0..1) when it was asked
    - preemptive: the reply was prepared while the caller paused (preemptive generation) and
      used; false when it started on the ended turn; none for replies to no caller turn
    """

    model_config = ConfigDict(extra="allow")

    turn_index: int
    stt_final_ms: float | None = None
    endpoint_ms: float | None = None
    llm_first_token_ms: float | None = None
    tts_first_audio_ms: float | None = None
    voice_to_voice_ms: float | None = None
    platform_added_ms: float | None = None
    barge_in_stop_ms: float | None = None
    onset_pauses: int | None = None
    turn_detection: str | None = None
    end_of_turn_probability: float | None = None
    preemptive: bool | None = None


class TranscriptView(BaseModel):
    """The redacted transcript of a call's agent, stored when the agent ends."""

    model_config = ConfigDict(extra="allow")

    call_id: str
    app_id: str
    agent_id: str | None = None
    reason: str | None = Field(default=None, description="Why the agent ended")
    transferred_to: str | None = None
    created_at: str
    turns: list[TranscriptTurn] = Field(default_factory=list)
    metrics: list[TurnMetricsView] = Field(default_factory=list)


class RecordingView(BaseModel):
    """A call's recording (dual-channel WAV) and a short-lived URL to download it."""

    model_config = ConfigDict(extra="allow")

    call_id: str
    app_id: str
    s3_key: str
    duration_s: float
    channels: int
    format: str
    sample_rate: int
    size_bytes: int
    created_at: str
    download_url: str
    download_url_expires_in_s: int
