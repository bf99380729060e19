"""Timing knobs of the agent loop (env prefix VOICELANE_AGENT_), overridable per session."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from voicelane.domain.agent import ENDPOINTING_MS_DEFAULT, MIN_INTERRUPTION_MS_DEFAULT, AgentSpec


class LoopSettings(BaseSettings):
    """Turn-taking and session timing.

    - endpointing_ms: caller silence that ends a turn (combined with the STT final).
    - min_interruption_ms: confirmed caller speech needed to barge in (coughs, "uh-huh" are shorter).
    - vad_*: speech probability threshold, speech needed to open a segment, silence to close it
      (closing early lets STT finish inside the endpointing window).
    - inactivity_timeout_s / max_duration_s: None = take them from the AgentSpec.
    - fallback_reply: said when the STT or LLM engine fails mid-call (the call goes on).
    - allow_private_tool_urls: HTTP tools may call private/loopback addresses when the session
      is not told the app's choice (a local node sets it: the local dev app allows loopback).
    """

    model_config = SettingsConfigDict(env_prefix="VOICELANE_AGENT_", extra="ignore")

    endpointing_ms: int = Field(default=500, ge=100, le=5000)
    min_interruption_ms: int = Field(default=300, ge=0, le=3000)
    vad_threshold: float = Field(default=0.5, gt=0, lt=1)
    vad_start_ms: int = Field(default=60, ge=20, le=1000)
    vad_stop_ms: int = Field(default=200, ge=20, le=2000)
    preroll_ms: int = Field(default=300, ge=0, le=2000)
    stt_final_wait_ms: int = Field(default=2000, ge=0, le=10000)
    dtmf_timeout_ms: int = Field(default=1500, ge=100, le=10000)
    inactivity_timeout_s: float | None = Field(default=None, gt=0)
    max_duration_s: float | None = Field(default=None, gt=0)
    inactivity_prompt: str = "Are you still there?"
    max_tool_rounds: int = Field(default=4, ge=1, le=16)
    allow_private_tool_urls: bool = False
    fallback_reply: str = Field(default="Sorry, I'm having trouble right now.", max_length=500)


def for_agent(spec: AgentSpec, settings: LoopSettings) -> LoopSettings:
    """The session's settings with the agent's own timing applied.

    An agent value other than the AgentSpec default wins; at the default the node's settings
    (environment, or what the session was given) apply, so an operator can tune a node
    without touching every agent.
    """
    changes: dict[str, int] = {}
    if spec.endpointing_ms != ENDPOINTING_MS_DEFAULT:
        changes["endpointing_ms"] = spec.endpointing_ms
    if spec.min_interruption_ms != MIN_INTERRUPTION_MS_DEFAULT:
        changes["min_interruption_ms"] = spec.min_interruption_ms
    return settings.model_copy(update=changes) if changes else settings
