"""Provider interfaces for the agent loop's engines (VAD, streaming STT, LLM, streaming TTS).

Each engine kind has a Protocol the loop codes against and each concrete engine has its own
pydantic settings model. Engines are created per call by `engines.build_engines`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

from voicelane.domain.agent import ToolSpec

log = logging.getLogger(__name__)

# -- VAD -----------------------------------------------------------------------------------------


class VADEngine(Protocol):
    """Scores caller audio: probability (0..1) that a 20 ms PCM16 frame holds speech."""

    def speech_probability(self, pcm: bytes, sample_rate: int) -> float: ...

    def reset(self) -> None: ...


# -- STT -----------------------------------------------------------------------------------------


@dataclass
class TranscriptResult:
    text: str
    is_final: bool


class STTStream(Protocol):
    """One caller utterance: push audio, then `finish`; `results` yields interim and final text.

    `results` ends after the final result that follows `finish`.
    """

    async def push(self, pcm: bytes) -> None: ...

    async def finish(self) -> None: ...

    def results(self) -> AsyncIterator[TranscriptResult]: ...

    async def aclose(self) -> None: ...


class STTEngine(Protocol):
    def open_stream(self, sample_rate: int) -> STTStream: ...


# -- LLM -----------------------------------------------------------------------------------------


@dataclass
class ToolCallRequest:
    call_id: str
    name: str
    arguments: dict[str, Any]


@dataclass
class ChatMessage:
    """One message of the conversation memory (OpenAI-like roles)."""

    role: Literal["system", "user", "assistant", "tool"]
    content: str = ""
    tool_calls: list[ToolCallRequest] = field(default_factory=list)
    tool_call_id: str | None = None
    name: str | None = None


@dataclass
class TextDelta:
    text: str


LLMEvent = TextDelta | ToolCallRequest


class LLMEngine(Protocol):
    """Streams a reply to `messages`: text deltas as they come, then any tool calls."""

    def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
    ) -> AsyncIterator[LLMEvent]: ...


@runtime_checkable
class SpeculativeLLM(Protocol):
    """An LLM engine a reply can be prepared on before its turn is final (preemptive generation).

    `fork()` gives an engine to stream the prepared reply on, leaving this one as it was (a
    stateless engine returns itself; the scripted engine a copy of its dialogue state), and
    `adopt(fork)` takes the fork's state once its reply was used. Engines without these two
    methods are never asked for a reply ahead of time."""

    def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
    ) -> AsyncIterator[LLMEvent]: ...

    def fork(self) -> LLMEngine: ...

    def adopt(self, fork: LLMEngine) -> None: ...


# -- TTS -----------------------------------------------------------------------------------------


@dataclass
class AudioChunk:
    pcm: bytes
    sample_rate: int


class TTSEngine(Protocol):
    """Synthesises `text` as PCM16 chunks, yielding audio before the whole text is done."""

    def synthesize(self, text: str) -> AsyncIterator[AudioChunk]: ...


class NoiseSuppressor(Protocol):
    """Cleans caller audio (PCM16 mono) before VAD and STT; returns as many bytes as given.
    Holds per-call state (one per call): `voicelane_media.agent.denoise`."""

    name: str

    def process(self, pcm: bytes, sample_rate: int) -> bytes: ...


class TurnAnalyzer(Protocol):
    """Semantic end of turn: probability (0..1) that the caller finished, from the turn's
    audio (PCM16 mono). Synchronous and CPU-bound: the loop runs it in a worker thread."""

    def probability(self, pcm: bytes, sample_rate: int) -> float: ...


@dataclass
class Engines:
    """The engines one agent session runs on."""

    vad: VADEngine
    stt: STTEngine
    llm: LLMEngine
    tts: TTSEngine
    names: dict[str, str] = field(default_factory=dict)
    turn: TurnAnalyzer | None = None  # None: fixed-silence endpointing only
    noise: NoiseSuppressor | None = None  # None: the caller's audio as it comes

    async def aclose(self) -> None:
        """Release what the engines hold (an HTTP client, say): each engine with an `aclose`
        is closed once, a failure is logged and does not stop the others."""
        for engine in (self.vad, self.stt, self.llm, self.tts):
            close = getattr(engine, "aclose", None)
            if close is None:
                continue
            try:
                await close()
            except Exception as exc:  # closing is best effort at the end of a call
                log.warning("closing %s failed: %s", type(engine).__name__, type(exc).__name__)
