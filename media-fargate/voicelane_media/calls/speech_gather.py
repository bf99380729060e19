"""Speech input for the `gather` command: the caller's spoken answer, recognised on this node.

The call's audio (its transport's 20 ms frames at the native rate, through an audio tap) runs
through the agent loop's own VAD and STT processors. The answer ends `endpointing_ms` after the
caller stops speaking (once the STT final is in: reason `speech`), when nobody spoke or keyed
anything for `timeout_s` (`timeout`), on DTMF completion for `dtmf_speech` (`max_digits`,
`terminator`), or when the caller hangs up (`hangup`). Engines: the VAD and STT of the call's
agent (`AgentSpec.engines.stt`) or the local defaults (silero + whisper tiny.en).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from voicelane.domain.agent import AgentSpec

from voicelane_media.agent.frames import (
    AudioIn,
    Direction,
    FinalTranscript,
    Frame,
    VADStart,
    VADStop,
)
from voicelane_media.agent.listen import STTProcessor, VADProcessor
from voicelane_media.agent.pipeline import Pipeline, Processor
from voicelane_media.agent.providers import STTEngine, VADEngine
from voicelane_media.agent.settings import LoopSettings

from .call import LiveCall

MAX_SPEECH_S = 60.0  # an answer, not a monologue
FINAL_WAIT_S = 8.0  # the caller has answered: wait for the STT final longer than a live turn
SpeechEngineFactory = Callable[[AgentSpec | None], tuple[VADEngine, STTEngine]]


def speech_engines(spec: AgentSpec | None) -> tuple[VADEngine, STTEngine]:
    """VAD + STT for the call's agent (Transcribe when it asks for it), else the local ones."""
    from voicelane_media.agent.local_engines import SileroVAD, WhisperSTT

    if spec is not None and spec.engines.stt == "transcribe":
        from voicelane_media.agent.cloud.transcribe import TranscribeSTT

        return SileroVAD(), TranscribeSTT.for_agent(spec)
    return SileroVAD(), WhisperSTT()


_factory: SpeechEngineFactory = speech_engines


def set_speech_engine_factory(factory: SpeechEngineFactory | None) -> None:
    """Swap the engines gather builds (tests, benchmarks); None restores `speech_engines`."""
    global _factory
    _factory = factory or speech_engines


class _Collector(Processor):
    """The end of the pipeline: notes speech segments and their finals."""

    def __init__(self) -> None:
        super().__init__()
        self.speaking = False
        self.started = False
        self.open_segments = 0
        self.texts: list[str] = []
        self.speech_end_at: float | None = None
        self.changed = asyncio.Event()

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, VADStart):
            self.speaking = self.started = True
            self.open_segments += 1
            self.speech_end_at = None
        elif isinstance(frame, VADStop):
            self.speaking = False
            self.speech_end_at = frame.speech_end_at
        elif isinstance(frame, FinalTranscript):
            self.open_segments = max(0, self.open_segments - 1)
            if frame.text:
                self.texts.append(frame.text)
        self.changed.set()


class SpeechListener:
    """Feed it 20 ms PCM16 frames at `sample_rate` (`feed`, from an audio tap); `run` returns
    (speech, reason)."""

    def __init__(self, vad: VADEngine, stt: STTEngine, settings: LoopSettings,
                 timeout_s: float, sample_rate: int = 8000) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self.sample_rate = sample_rate
        self.collector = _Collector()
        self.pipeline = Pipeline([VADProcessor(vad, settings), STTProcessor(stt, settings),
                                  self.collector])
        self._frames: asyncio.Queue[bytes] = asyncio.Queue()
        self.last_activity = time.monotonic()

    def feed(self, pcm: Any) -> None:
        self._frames.put_nowait(np.asarray(pcm, dtype=np.int16).tobytes())

    def activity(self) -> None:
        """Something else the caller did (a key press) that holds off the no-input timeout."""
        self.last_activity = time.monotonic()

    @property
    def speech(self) -> str:
        return " ".join(self.collector.texts).strip()

    async def run(self, stop: asyncio.Future[str] | None = None) -> str:
        """The reason the answer ended; `stop` (DTMF completion, hangup) ends it early."""
        started = time.monotonic()
        try:
            while True:
                if stop is not None and stop.done():
                    return stop.result()
                try:
                    pcm = await asyncio.wait_for(self._frames.get(), 0.02)
                    await self.pipeline.push(AudioIn(pcm=pcm, sample_rate=self.sample_rate))
                except TimeoutError:
                    pass
                reason = self._ended(time.monotonic(), started)
                if reason:
                    return reason
        finally:
            await self.pipeline.close()

    def _ended(self, now: float, started: float) -> str | None:
        c = self.collector
        if c.speaking:
            self.last_activity = now
            return "speech" if now - started > MAX_SPEECH_S else None
        if c.started and c.speech_end_at is not None and c.open_segments == 0:
            if now - c.speech_end_at >= self.settings.endpointing_ms / 1000.0:
                return "speech" if self.speech else "timeout"
            return None
        if c.open_segments:  # the caller stopped: waiting for the STT final
            end = c.speech_end_at or now
            return "speech" if now - end > FINAL_WAIT_S else None
        if now - self.last_activity >= self.timeout_s:
            return "timeout"
        return None


async def gather_speech(leg: LiveCall, body: dict[str, Any], digits: Any,
                        spec: AgentSpec | None) -> dict[str, Any]:
    """Run a speech (or dtmf_speech) gather on `leg`; `digits` is the running DTMF Gather (its
    `result` ends the listen for dtmf_speech and on hangup). Returns the event details."""
    mode = str(body.get("input") or "speech")
    vad, stt = await asyncio.to_thread(_factory, spec)
    settings = LoopSettings()
    if spec is not None:
        from voicelane_media.agent.settings import for_agent

        settings = for_agent(spec, settings)
    listener = SpeechListener(vad, stt, settings, float(body.get("timeout_s", 5)),
                              sample_rate=leg.transport.sample_rate)
    if mode == "dtmf_speech":
        digits.on_digit = listener.activity
    leg.transport.add_audio_tap(listener.feed)
    try:
        stop = digits.result if mode == "dtmf_speech" else _hangup_only(digits)
        reason = await listener.run(stop)
    finally:
        leg.transport.remove_audio_tap(listener.feed)
    return {"digits": digits.digits if mode == "dtmf_speech" else "",
            "speech": listener.speech, "reason": reason}


def _hangup_only(digits: Any) -> asyncio.Future[str]:
    """For speech-only input, keys do not end the gather: only a hangup does."""
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()

    def done(result: asyncio.Future[str]) -> None:
        if result.result() == "hangup" and not future.done():
            future.set_result("hangup")

    digits.result.add_done_callback(done)
    return future
