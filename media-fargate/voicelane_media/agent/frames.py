"""Typed frames: the vocabulary that flows between the agent loop's processors.

Frames travel downstream (transport in -> VAD -> STT -> turn-taking -> LLM -> TTS -> transport out)
or upstream (reports from the output back towards turn-taking, e.g. how much audio was played).
Every frame carries `at`, the monotonic time it was created, so latencies can be measured.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any


class Direction(Enum):
    DOWNSTREAM = "downstream"
    UPSTREAM = "upstream"


@dataclass(kw_only=True)
class Frame:
    """Base of every frame; `at` is time.monotonic() at creation."""

    at: float = field(default_factory=time.monotonic)


@dataclass(kw_only=True)
class AudioIn(Frame):
    """20 ms of caller audio, PCM16 little-endian mono."""

    pcm: bytes
    sample_rate: int
    is_speech: bool = False


@dataclass(kw_only=True)
class TTSAudio(Frame):
    """Synthesised agent audio (PCM16 mono) for the segment `text` of the current reply."""

    pcm: bytes
    sample_rate: int
    text: str = ""
    turn_id: int = 0
    segment: int = 0


AudioOut = TTSAudio


@dataclass(kw_only=True)
class VADStart(Frame):
    """Caller speech began (at `speech_at`, the start of the first speech frame)."""

    speech_at: float


@dataclass(kw_only=True)
class VADStop(Frame):
    """Caller speech paused; `speech_end_at` is the end of the last speech frame."""

    speech_end_at: float
    speech_ms: float


@dataclass(kw_only=True)
class SpeechOnset(Frame):
    """The caller's first speech frames (`barge_in_pause_ms`), before they open a segment
    (`vad_start_ms`): an agent talking pauses here, not at the VADStart that may follow."""

    speech_at: float


@dataclass(kw_only=True)
class SpeechOnsetLost(Frame):
    """The speech run of a `SpeechOnset` ended before it opened a segment (a click, a blip):
    a pause made for it resumes."""

    speech_ms: float


@dataclass(kw_only=True)
class InterimTranscript(Frame):
    text: str


@dataclass(kw_only=True)
class FinalTranscript(Frame):
    text: str
    speech_end_at: float | None = None


@dataclass(kw_only=True)
class SpeechPrepare(Frame):
    """The first sentence of a reply prepared during the caller's pause (preemptive
    generation): the TTS may synthesise it into memory, so the reply's audio can go out as
    soon as the turn ends. It is never played before a reply of an ended turn starts with it."""

    text: str


@dataclass(kw_only=True)
class TurnPaused(Frame):
    """The caller paused and the open turn's STT finals are in, before the endpointer decided.

    The brain may prepare its reply to `text` (preemptive generation), but must not speak it,
    nor run its tools, before a `UserTurn` with the same text."""

    text: str


@dataclass(kw_only=True)
class TurnResumed(Frame):
    """The caller went on speaking after a `TurnPaused`: a reply prepared for it is void."""


@dataclass(kw_only=True)
class UserTurn(Frame):
    """The caller finished a turn (endpointing + STT final agreed)."""

    text: str
    speech_end_at: float
    stt_final_at: float
    started_at: float
    waited_ms: float | None = None  # the silence the endpointer waited (None: not measured)
    turn_detection: str = "silence"
    end_of_turn_probability: float | None = None


@dataclass(kw_only=True)
class LLMToken(Frame):
    text: str
    turn_id: int = 0


LLMText = LLMToken


@dataclass(kw_only=True)
class TextSegment(Frame):
    """A speakable segment (a sentence or clause) handed to TTS."""

    text: str
    turn_id: int = 0


@dataclass(kw_only=True)
class ToolCall(Frame):
    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass(kw_only=True)
class ToolResult(Frame):
    call_id: str
    name: str
    result: Any


@dataclass(kw_only=True)
class DTMF(Frame):
    digit: str


@dataclass(kw_only=True)
class EngineFailed(Frame):
    """An engine (`stage`: stt, llm, tts) failed mid-call; the call goes on without it."""

    stage: str


@dataclass(kw_only=True)
class Interruption(Frame):
    """Caller barge-in confirmed: every processor cancels its work in flight.

    `confirmed_at` is when the caller's speech over the agent was detected (the VAD onset
    that paused the agent's audio), so stop time is measured from what the caller did."""

    confirmed_at: float


@dataclass(kw_only=True)
class BargeInPause(Frame):
    """Caller speech began over the agent: pause its audio now, keep everything else going."""

    onset_at: float


@dataclass(kw_only=True)
class BargeInResume(Frame):
    """The speech that paused the agent was no interruption (`reason`: short, backchannel,
    no_transcript): resume playout where it paused."""

    reason: str
    speech_ms: float


@dataclass(kw_only=True)
class AgentReplyDone(Frame):
    """The LLM finished a reply (full text, tool calls already executed)."""

    turn_id: int
    text: str


@dataclass(kw_only=True)
class PlayoutDone(Frame):
    """Upstream report: all audio of `turn_id` has been handed to the leg."""

    turn_id: int


@dataclass(kw_only=True)
class EndCall(Frame):
    reason: str


@dataclass(kw_only=True)
class Metrics(Frame):
    name: str
    value_ms: float
    turn_id: int = 0


@dataclass(kw_only=True)
class ReplyAudioDone(Frame):
    """All synthesised audio of `turn_id` has been handed to the output."""

    turn_id: int


@dataclass(kw_only=True)
class AgentTurnTruncated(Frame):
    """Upstream report after a barge-in: what the caller actually heard of `turn_id`."""

    turn_id: int
    heard_text: str
    played_ms: float
    stopped_at: float
    confirmed_at: float
