"""Timing knobs of the agent loop (env prefix VOICELANE_AGENT_), overridable per session."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict
from voicelane.domain.agent import (
    BACKGROUND_VOICE_GATE_DEFAULT,
    NOISE_SUPPRESSION_DEFAULT,
    PREEMPTIVE_GENERATION_DEFAULT,
    TURN_DETECTION_DEFAULT,
    TURN_MAX_WAIT_MS_DEFAULT,
    AgentSpec,
    NoiseSuppression,
    TurnDetection,
)

# What callers say to show they are listening, not taking the turn (matched on the whole
# STT final, lower-cased, punctuation dropped). "oh"/"ah" too: a reaction, and what whisper
# tiny.en hears for a short "uh-huh" on a phone line now and then.
BACKCHANNELS = (
    "uh-huh", "uh huh", "uhhuh", "mm-hmm", "mm hmm", "mhm", "mm", "hmm", "yeah", "yes", "yep",
    "okay", "ok", "right", "sure", "got it", "i see", "alright", "all right", "oh", "ah", "aha",
    "oh i see",
)


class LoopSettings(BaseSettings):
    """Turn-taking and session timing.

    - endpointing_ms: caller silence that ends a turn (combined with the STT final) with
      `turn_detection` silence, and when the Smart Turn model fails.
    - turn_detection / turn_max_wait_ms: the agent's choice (see AgentSpec); smart_turn asks
      the model after `smart_turn_check_ms` of silence, and takes `smart_turn_threshold` and
      above as "complete".
    - min_interruption_ms: caller speech needed to barge in; the agent's audio pauses at the
      caller's speech onset and resumes after a shorter burst (a cough).
    - barge_in_pause_ms: caller speech over the agent before its audio pauses (20: the first
      speech frame; at `vad_start_ms` or more, when the speech opens a segment). A shorter
      run than `vad_start_ms` then resumes the audio where it paused.
    - backchannel_max_ms: speech up to this long is checked against `backchannels` by its STT
      final before it interrupts ("uh-huh" resumes the agent); longer speech interrupts at once.
    - preemptive_generation: start the LLM on the caller's turn as soon as they pause with
      the STT final in (before the endpointer decides); its text is spoken, and its tools run,
      only if the turn then ends with the same words.
    - noise_suppression: the suppressor run on the caller's audio before VAD and STT.
    - background_voice_gate / voice_gate_margin_db: a frame is speech only when it is also
      this many dB over the line's background level (agent/voice_gate.py): other people
      talking behind the caller then neither interrupt the agent nor hold the turn open.
    - vad_*: speech probability threshold, speech needed to open a segment, silence to close it
      (closing early lets STT finish inside the endpointing window).
    - speech_end_floor_dbfs: a speech frame quieter than this does not move the end of the
      caller's speech (silero's tail past the voice); -100 turns that off.
    - inactivity_timeout_s / max_duration_s: None = take them from the AgentSpec.
    - fallback_reply: said when the STT or LLM engine fails mid-call (the call goes on).
    - allow_private_tool_urls: HTTP tools may call private/loopback addresses when the session
      is not told the app's choice (a local node sets it: the local dev app allows loopback).
    """

    model_config = SettingsConfigDict(env_prefix="VOICELANE_AGENT_", extra="ignore")

    endpointing_ms: int = Field(default=500, ge=100, le=5000)
    min_interruption_ms: int = Field(default=300, ge=0, le=3000)
    turn_detection: TurnDetection = TURN_DETECTION_DEFAULT
    turn_max_wait_ms: int = Field(default=TURN_MAX_WAIT_MS_DEFAULT, ge=300, le=5000)
    smart_turn_check_ms: int = Field(default=200, ge=0, le=2000)
    smart_turn_threshold: float = Field(default=0.5, gt=0, lt=1)
    preemptive_generation: bool = PREEMPTIVE_GENERATION_DEFAULT
    noise_suppression: NoiseSuppression = NOISE_SUPPRESSION_DEFAULT
    backchannel_max_ms: int = Field(default=900, ge=0, le=3000)
    backchannels: tuple[str, ...] = BACKCHANNELS
    background_voice_gate: bool = BACKGROUND_VOICE_GATE_DEFAULT
    voice_gate_margin_db: float = Field(default=8.0, ge=0, le=30)
    vad_threshold: float = Field(default=0.5, gt=0, lt=1)
    vad_start_ms: int = Field(default=60, ge=20, le=1000)
    barge_in_pause_ms: int = Field(default=20, ge=20, le=1000)
    vad_stop_ms: int = Field(default=200, ge=20, le=2000)
    speech_end_floor_dbfs: float = Field(default=-50.0, ge=-100.0, le=0.0)
    preroll_ms: int = Field(default=300, ge=0, le=2000)
    stt_final_wait_ms: int = Field(default=2000, ge=0, le=10000)
    dtmf_timeout_ms: int = Field(default=1500, ge=100, le=10000)
    inactivity_timeout_s: float | None = Field(default=None, gt=0)
    max_duration_s: float | None = Field(default=None, gt=0)
    inactivity_prompt: str = "Are you still there?"
    max_tool_rounds: int = Field(default=4, ge=1, le=16)
    allow_private_tool_urls: bool = False
    fallback_reply: str = Field(default="Sorry, I'm having trouble right now.", max_length=500)


# The AgentSpec fields that are also node settings: an agent's value other than the AgentSpec
# default wins over the node's.
AGENT_OVERRIDES = (
    "endpointing_ms", "min_interruption_ms", "turn_detection", "turn_max_wait_ms",
    "preemptive_generation", "noise_suppression", "background_voice_gate",
)


def for_agent(spec: AgentSpec, settings: LoopSettings) -> LoopSettings:
    """The session's settings with the agent's own timing applied.

    An agent value other than the AgentSpec default wins; at the default the node's settings
    (environment, or what the session was given) apply, so an operator can tune a node
    without touching every agent.
    """
    fields = AgentSpec.model_fields
    changes = {name: getattr(spec, name) for name in AGENT_OVERRIDES
               if getattr(spec, name) != fields[name].default}
    return settings.model_copy(update=changes) if changes else settings
