"""Agent configuration: what the media plane's agent loop runs on a call."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator
from pydantic_core import PydanticCustomError

from voicelane.domain.machine_detection import MachineDetection
from voicelane.domain.storable import (
    AGENT_MAX_BYTES,
    NO_TINY,
    SIZE_ERROR,
    AgentScript,
    JsonInt,
    StorableFloat,
    ToolParameters,
)

ENDPOINTING_MS_DEFAULT = 500
MIN_INTERRUPTION_MS_DEFAULT = 300
TURN_MAX_WAIT_MS_DEFAULT = 2000
# Safe to have on: a prepared reply is never spoken nor its tools run before its turn ends
# with the same words. Its cost is LLM requests thrown away when the caller goes on.
PREEMPTIVE_GENERATION_DEFAULT = True


class FirstSpeaker(StrEnum):
    AGENT = "agent"
    USER = "user"


class InactivityAction(StrEnum):
    HANGUP = "hangup"
    PROMPT = "prompt"


class TurnDetection(StrEnum):
    """How the agent decides the caller finished a turn."""

    SMART_TURN = "smart_turn"  # a short silence, then the Smart Turn model: complete or not
    SILENCE = "silence"  # `endpointing_ms` of silence, whatever was said


# Measured (bench/agent_latency.py, make demo): with the local engines the STT final comes
# 0.8-1.5 s after the caller stops, past the 500 ms silence window, so Smart Turn cannot end a
# turn sooner and its verdict adds to the critical path. It is each agent's choice.
TURN_DETECTION_DEFAULT = TurnDetection.SILENCE


class NoiseSuppression(StrEnum):
    """Noise suppression of the caller's audio before VAD and STT."""

    OFF = "off"
    RNNOISE = "rnnoise"  # RNNoise (pyrnnoise wheel), at 48 kHz
    WEBRTC = "webrtc"  # WebRTC's noise suppressor (webrtc-noise-gain wheel), at 16 kHz


# Measured (tests/voicelane_media/agent/test_denoise.py, the eval's noisy lines, docs/agents.md):
# whisper hears noisy phone audio as well or better without either suppressor, so it is off.
NOISE_SUPPRESSION_DEFAULT = NoiseSuppression.OFF

# Measured (the eval's babble_line, docs/agents.md): without it, other people talking behind
# the caller interrupt the agent and hold the caller's turn open.
BACKGROUND_VOICE_GATE_DEFAULT = True


class DtmfEvents(StrEnum):
    MASKED = "masked"
    DIGITS = "digits"


class EngineChoice(BaseModel):
    """Which engine runs each stage. Local engines are the default (offline, keyless).

    `llm = "scripted"` is a deterministic dialogue engine driven by `tools`/`script`, not a
    language model: no usable chat LLM ships in a registry package.
    """

    model_config = ConfigDict(extra="forbid")

    stt: str = Field(default="local", pattern=r"^(local|transcribe)$")
    llm: str = Field(default="scripted", pattern=r"^(scripted|bedrock|openai)$")
    tts: str = Field(default="local", pattern=r"^(local|espeak|polly)$")


class ToolSpec(BaseModel):
    """A tool the agent may call: built-in (end_call, transfer, warm_transfer, send_dtmf) or
    an HTTP tool."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-zA-Z_][a-zA-Z0-9_]*$")
    type: str = Field(default="http",
                      pattern=r"^(end_call|transfer|warm_transfer|send_dtmf|http)$")
    description: str = Field(default="", max_length=1024)
    parameters: ToolParameters = Field(default_factory=dict)
    url: str | None = Field(default=None, max_length=2048)
    timeout_s: StorableFloat = Field(default=5.0, ge=0.001, le=30)


class AgentSpec(BaseModel):
    """The agent fields, shared by stored agents and inline agents on a call."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(default="agent", min_length=1, max_length=128)
    system_prompt: str = Field(default="", max_length=32_000)
    voice: str = Field(default="default", max_length=128)
    language: str = Field(default="en-US", pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    greeting: str = Field(default="", max_length=2_000)
    model: str = Field(default="scripted", max_length=128)
    temperature: StorableFloat = Field(default=0.7, ge=0, le=1, json_schema_extra=NO_TINY)
    first_speaker: FirstSpeaker = FirstSpeaker.AGENT
    interruptible: StrictBool = True
    endpointing_ms: JsonInt = Field(
        default=ENDPOINTING_MS_DEFAULT,
        ge=100,
        le=3000,
        description="Caller silence (ms) that ends a turn, combined with the STT final. "
        "At the default, the media node's VOICELANE_AGENT_ENDPOINTING_MS applies.",
    )
    min_interruption_ms: JsonInt = Field(
        default=MIN_INTERRUPTION_MS_DEFAULT,
        ge=0,
        le=2000,
        description="Caller speech (ms) needed to interrupt the agent; shorter bursts (a cough, "
        "\"uh-huh\") do not. At the default, the node's VOICELANE_AGENT_MIN_INTERRUPTION_MS applies.",
    )
    turn_detection: TurnDetection = Field(
        default=TURN_DETECTION_DEFAULT,
        description="`silence` (default): the turn ends after `endpointing_ms` of caller "
        "silence. `smart_turn`: after a short caller silence the Smart Turn model judges "
        "whether the caller finished (end the turn at once) or not (wait up to "
        "`turn_max_wait_ms`): worth it with a fast STT final (a cloud STT), and for callers "
        "who pause mid-sentence. Where the model cannot run, the agent uses `silence`.",
    )
    turn_max_wait_ms: JsonInt = Field(
        default=TURN_MAX_WAIT_MS_DEFAULT,
        ge=300,
        le=5000,
        description="With `smart_turn`: the longest caller silence (ms) before the turn ends "
        "when the model says the caller has not finished (someone reading a card number).",
    )
    preemptive_generation: StrictBool = Field(
        default=PREEMPTIVE_GENERATION_DEFAULT,
        description="Start the LLM request as soon as the caller pauses and their words are "
        "transcribed, before the endpointer decides the turn ended: when it does, with the same "
        "words, the reply is already under way (the LLM's latency leaves the critical path); "
        "when the caller goes on, the prepared reply is thrown away. A prepared reply is never "
        "spoken and its tool calls never run before the turn has ended. Costs LLM requests "
        "thrown away when callers pause mid-turn. At the default (true) the node's "
        "VOICELANE_AGENT_PREEMPTIVE_GENERATION applies (true unless the operator turned it off).",
    )
    noise_suppression: NoiseSuppression = Field(
        default=NOISE_SUPPRESSION_DEFAULT,
        description="Noise suppression of the caller's audio before VAD and STT: `off` "
        "(default), `rnnoise` (RNNoise at 48 kHz, about 4 % of a core per call) or `webrtc` "
        "(WebRTC NS, under 1 %). Off by default: with the local Whisper STT neither improved "
        "recognition of noisy phone audio (docs/agents.md has the figures). At the default "
        "the node's VOICELANE_AGENT_NOISE_SUPPRESSION applies.",
    )
    background_voice_gate: StrictBool = Field(
        default=BACKGROUND_VOICE_GATE_DEFAULT,
        description="Count caller audio as speech only when it is also louder than the line's "
        "own background (learned over the last seconds, outside the caller's speech) by a "
        "margin: other people talking behind the caller (an office, a cafe, a car radio) then "
        "neither interrupt the agent nor keep the caller's turn from ending. A quiet line "
        "leaves quiet callers unaffected. Turn it off for a caller who is quieter than their "
        "own room. At the default (true) the node's VOICELANE_AGENT_BACKGROUND_VOICE_GATE "
        "applies.",
    )
    max_duration_s: JsonInt = Field(default=600, ge=60, le=7200)
    inactivity_timeout_s: JsonInt = Field(default=30, ge=10, le=300)
    inactivity_action: InactivityAction = InactivityAction.PROMPT
    recording: StrictBool = False
    dtmf_events: DtmfEvents = Field(
        default=DtmfEvents.MASKED,
        description="While the agent runs, each `call.dtmf.received` says a key was pressed "
        "(`details.masked`) but not which (`masked`: card numbers and PINs keyed to the agent "
        "stay out of events, webhooks and EventBridge; the agent still gets them), or includes "
        "it as `details.digit` (`digits`).",
    )
    tools: list[ToolSpec] = Field(default_factory=list, max_length=32)
    engines: EngineChoice = Field(default_factory=EngineChoice)
    script: AgentScript | None = None
    machine_detection: MachineDetection | None = Field(
        default=None, description="Answering-machine detection for the agent's outbound calls "
        "(a call's own `machine_detection` wins); inbound calls never run it.",
    )

    @model_validator(mode="after")
    def _fits_a_record(self) -> AgentSpec:
        # A call stores its agent (and each event a snapshot of the call): bound the whole.
        size = len(self.model_dump_json().encode())
        if size > AGENT_MAX_BYTES:
            raise PydanticCustomError(
                SIZE_ERROR, "the agent is larger than {max_bytes} bytes of JSON",
                {"max_bytes": AGENT_MAX_BYTES},
            )
        return self
