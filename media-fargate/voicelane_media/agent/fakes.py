"""Instant fake engines: deterministic, zero-cost stand-ins to test and benchmark the loop itself.

They are real implementations of the provider interfaces (no mocks): an energy-threshold VAD,
an STT that returns queued texts per utterance, a TTS that renders text as a tone whose length
follows the words, and an LLM that replies from a canned list.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
from collections import deque
from collections.abc import AsyncIterator, Iterable, Sequence

from pydantic import BaseModel
from voicelane.domain.agent import ToolSpec

from voicelane_media.agent.audio import rms_dbfs, tone
from voicelane_media.agent.providers import (
    AudioChunk,
    ChatMessage,
    LLMEvent,
    TextDelta,
    ToolCallRequest,
    TranscriptResult,
)


class EnergyVADSettings(BaseModel):
    threshold_dbfs: float = -35.0


class EnergyVAD:
    """Speech = frame level above a threshold. Fine for synthetic audio; use silero on calls."""

    def __init__(self, settings: EnergyVADSettings | None = None) -> None:
        self.settings = settings or EnergyVADSettings()

    def speech_probability(self, pcm: bytes, sample_rate: int) -> float:
        return 1.0 if rms_dbfs(pcm) > self.settings.threshold_dbfs else 0.0

    def reset(self) -> None:
        return None


class _QueuedStream:
    def __init__(self, owner: QueuedSTT) -> None:
        self._owner = owner
        self._results: asyncio.Queue[TranscriptResult | None] = asyncio.Queue()
        self._audio_ms = 0.0
        self._sample_rate = 16000

    async def push(self, pcm: bytes) -> None:
        self._audio_ms += len(pcm) / 2 / self._sample_rate * 1000

    async def finish(self) -> None:
        text = self._owner.next_text()
        if self._owner.latency_s:
            await asyncio.sleep(self._owner.latency_s)
        self._results.put_nowait(TranscriptResult(text=text, is_final=True))
        self._results.put_nowait(None)

    async def results(self) -> AsyncIterator[TranscriptResult]:
        while (item := await self._results.get()) is not None:
            yield item

    async def aclose(self) -> None:
        self._results.put_nowait(None)


class QueuedSTT:
    """Each finished utterance is transcribed as the next queued text ("" once exhausted)."""

    def __init__(self, texts: Iterable[str] = (), latency_s: float = 0.0) -> None:
        self._texts: deque[str] = deque(texts)
        self.latency_s = latency_s

    def queue(self, *texts: str) -> None:
        self._texts.extend(texts)

    def next_text(self) -> str:
        return self._texts.popleft() if self._texts else ""

    def open_stream(self, sample_rate: int) -> _QueuedStream:
        stream = _QueuedStream(self)
        stream._sample_rate = sample_rate
        return stream


class ToneTTS:
    """Renders each word as `ms_per_word` of tone, one chunk per word, instantly."""

    def __init__(self, sample_rate: int = 16000, ms_per_word: float = 200.0) -> None:
        self.sample_rate = sample_rate
        self.ms_per_word = ms_per_word

    async def synthesize(self, text: str) -> AsyncIterator[AudioChunk]:
        for _ in text.split():
            yield AudioChunk(
                pcm=tone(self.ms_per_word, self.sample_rate), sample_rate=self.sample_rate
            )


class CannedLLM:
    """Replies with the next canned text (or tool calls), streamed word by word."""

    _ids = itertools.count(1)

    def __init__(
        self, replies: Iterable[str | ToolCallRequest] = (), token_delay_s: float = 0.0
    ) -> None:
        self.replies: deque[str | ToolCallRequest] = deque(replies)
        self.token_delay_s = token_delay_s
        self.seen: list[list[ChatMessage]] = []
        self.forks: list[CannedLLM] = []  # prepared replies (preemptive generation), used or not

    def fork(self) -> CannedLLM:
        """A copy of the queue of replies: a prepared reply that is thrown away leaves this
        engine (its `replies` and `seen`) as it was; `adopt` takes the copy's."""
        fork = CannedLLM(self.replies.copy(), self.token_delay_s)
        self.forks.append(fork)
        return fork

    def adopt(self, fork: object) -> None:
        if isinstance(fork, CannedLLM) and fork is not self:
            self.replies = fork.replies
            self.seen.extend(fork.seen)

    async def stream(
        self, messages: Sequence[ChatMessage], tools: Sequence[ToolSpec]
    ) -> AsyncIterator[LLMEvent]:
        self.seen.append([dataclasses.replace(m) for m in messages])
        reply = self.replies.popleft() if self.replies else "Okay."
        if isinstance(reply, ToolCallRequest):
            yield reply
            return
        for word in reply.split(" "):
            if self.token_delay_s:
                await asyncio.sleep(self.token_delay_s)
            yield TextDelta(text=word + " ")
