"""Caller-side processors: VAD (speech segments) and streaming STT (interim and final text)."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from voicelane_media.agent.audio import rms_dbfs
from voicelane_media.agent.frames import (
    AudioIn,
    Direction,
    EngineFailed,
    FinalTranscript,
    Frame,
    InterimTranscript,
    SpeechOnset,
    SpeechOnsetLost,
    VADStart,
    VADStop,
)
from voicelane_media.agent.leg import FRAME_MS
from voicelane_media.agent.pipeline import Processor
from voicelane_media.agent.providers import STTEngine, STTStream, VADEngine
from voicelane_media.agent.settings import LoopSettings
from voicelane_media.agent.voice_gate import VoiceGate


class VADProcessor(Processor):
    """Marks speech frames and emits VADStart / VADStop around caller speech segments.

    A speech run reaching `barge_in_pause_ms` first sends `SpeechOnset` (an agent talking
    pauses at once); one that ends before `vad_start_ms` then sends `SpeechOnsetLost`.

    A segment's speech ends (`VADStop.speech_end_at`, where the endpointer's silence counts
    from) with its last speech frame at `speech_end_floor_dbfs` or louder: silero goes on
    calling speech for 100-150 ms after the voice has faded (-60 to -90 dBFS on a phone line).
    The segment itself still closes on silero's silence: closed at the voice's end, a pause
    between two short sentences ("Great. Goodbye.") split the turn into two segments that
    whisper decoded worse and one after the other. A caller never that loud keeps silero's end.
    """

    def __init__(self, engine: VADEngine, settings: LoopSettings) -> None:
        super().__init__()
        self.engine = engine
        self.settings = settings
        self.speaking = False
        self._speech_run_ms = 0.0
        self._silence_ms = 0.0
        self._segment_speech_ms = 0.0
        self._first_speech_at = 0.0
        self._last_speech_at = 0.0
        self._onset_sent = False
        self._segment_at = 0.0
        self._last_loud_at = 0.0
        # Background voices pass silero: speech must also stand out of such a background.
        self.gate = VoiceGate(settings.voice_gate_margin_db) if settings.background_voice_gate \
            else None

    async def process(self, frame: Frame, direction: Direction) -> None:
        if not isinstance(frame, AudioIn) or direction is Direction.UPSTREAM:
            await super().process(frame, direction)
            return
        ms = len(frame.pcm) / 2 / frame.sample_rate * 1000.0 if frame.pcm else FRAME_MS
        voiced = (
            self.engine.speech_probability(frame.pcm, frame.sample_rate)
            >= self.settings.vad_threshold
        )
        frame.is_speech = voiced if self.gate is None else self.gate.admit(frame.pcm, voiced)
        await self.push(frame, direction)
        if frame.is_speech:
            if self._speech_run_ms == 0.0:
                self._first_speech_at = frame.at - ms / 1000.0
            self._speech_run_ms += ms
            self._silence_ms = 0.0
            self._last_speech_at = frame.at
            if rms_dbfs(frame.pcm) >= self.settings.speech_end_floor_dbfs:
                self._last_loud_at = frame.at
            if self.speaking:
                self._segment_speech_ms += ms
            elif self._speech_run_ms >= self.settings.vad_start_ms:
                self.speaking = True
                self._onset_sent = False
                self._segment_at = self._first_speech_at
                self._segment_speech_ms = self._speech_run_ms
                await self.push(VADStart(speech_at=self._first_speech_at))
            elif not self._onset_sent and self._speech_run_ms >= self.settings.barge_in_pause_ms:
                self._onset_sent = True
                await self.push(SpeechOnset(speech_at=self._first_speech_at))
            return
        if self._onset_sent:  # the run ended before it opened a segment
            self._onset_sent = False
            await self.push(SpeechOnsetLost(speech_ms=self._speech_run_ms))
        self._speech_run_ms = 0.0
        if self.speaking:
            self._silence_ms += ms
            if self._silence_ms >= self.settings.vad_stop_ms:
                self.speaking = False
                loud = self._last_loud_at > self._segment_at  # else a quiet caller: silero's end
                end_at = self._last_loud_at if loud else self._last_speech_at
                await self.push(VADStop(speech_end_at=end_at, speech_ms=self._segment_speech_ms))


class STTProcessor(Processor):
    """Streams each VAD segment (plus pre-roll) to the STT engine; pushes interim/final text.

    An engine failure (opening, sending audio, reading results) is reported to `on_error`, the
    segment ends with an empty final and an `EngineFailed` goes downstream; the next segment
    opens a new stream.
    """

    def __init__(
        self,
        engine: STTEngine,
        settings: LoopSettings,
        on_error: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.on_error = on_error or (lambda stage, error: None)
        self._preroll: deque[bytes] = deque(maxlen=max(1, settings.preroll_ms // FRAME_MS))
        self._stream: STTStream | None = None
        self._sample_rate = 16000
        self._speech_end_at = 0.0

    async def process(self, frame: Frame, direction: Direction) -> None:
        if isinstance(frame, AudioIn):
            self._sample_rate = frame.sample_rate
            if self._stream is not None:
                try:
                    await self._stream.push(frame.pcm)
                except Exception as exc:
                    self._stream = None  # its reader ends the segment
                    self.on_error("stt", exc)
            else:
                self._preroll.append(frame.pcm)
        elif isinstance(frame, VADStart):
            await self.push(frame, direction)
            await self._open()
            return
        elif isinstance(frame, VADStop) and self._stream is not None:
            stream, self._stream = self._stream, None
            self._speech_end_at = frame.speech_end_at
            await self.push(frame, direction)
            try:
                await stream.finish()
            except Exception as exc:
                self.on_error("stt", exc)
                await stream.aclose()
            return
        await self.push(frame, direction)

    async def _open(self) -> None:
        try:
            stream = self.engine.open_stream(self._sample_rate)
            for pcm in self._preroll:
                await stream.push(pcm)
        except Exception as exc:
            self.on_error("stt", exc)
            await self.push(FinalTranscript(text="", speech_end_at=self._speech_end_at))
            await self.push(EngineFailed(stage="stt"))
            return
        finally:
            self._preroll.clear()
        self._stream = stream
        self.spawn(self._read(stream), name="stt-results")

    async def _read(self, stream: STTStream) -> None:
        """Forward results; every segment ends with exactly one final (empty if STT failed)."""
        final_sent = False
        failed = False
        try:
            async for result in stream.results():
                if result.is_final and not final_sent:
                    final_sent = True
                    await self.push(
                        FinalTranscript(text=result.text.strip(), speech_end_at=self._speech_end_at)
                    )
                elif not result.is_final and result.text.strip():
                    await self.push(InterimTranscript(text=result.text.strip()))
        except Exception as exc:  # a cloud STT failing must not end the call
            failed = True
            self.on_error("stt", exc)
        finally:
            await stream.aclose()
            if not final_sent:
                await self.push(FinalTranscript(text="", speech_end_at=self._speech_end_at))
        if failed and not final_sent:
            await self.push(EngineFailed(stage="stt"))
