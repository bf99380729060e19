"""The simulated caller's mouth and ears: text to 8 kHz speech, and agent-speech detection.

Caller lines are synthesised before the call (piper's joe voice, espeak-ng as the fallback),
so no TTS work competes with the agent during the call.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.resample import resample_pcm16

RATE = 8000


async def synthesize_8k(text: str, engine: str = "piper") -> Int16Array:
    """`text` as 8 kHz int16 speech (engine "piper" or "espeak")."""
    from voicelane_media.agent.local_engines import EspeakTTS, PiperTTS
    from voicelane_media.agent.providers import TTSEngine

    tts: TTSEngine
    try:
        tts = PiperTTS() if engine == "piper" else EspeakTTS()
    except RuntimeError:
        tts = EspeakTTS()
    parts: list[bytes] = []
    async for chunk in tts.synthesize(text):
        parts.append(resample_pcm16(chunk.pcm, chunk.sample_rate, RATE))
    pcm = b"".join(parts)
    samples: Int16Array = np.frombuffer(pcm, dtype="<i2").astype(np.int16)
    return samples


def speech_bounds(samples: Int16Array, threshold_dbfs: float = -42.0) -> tuple[float, float]:
    """Seconds from the start of `samples` to the first and past the last voiced 20 ms frame
    (TTS output starts and ends with silence; latencies count from the voice itself)."""
    frames = [samples[i:i + 160] for i in range(0, len(samples) - 159, 160)]
    voiced = [i for i, frame in enumerate(frames) if level_dbfs(frame) > threshold_dbfs]
    if not voiced:
        return 0.0, len(samples) / RATE
    return voiced[0] * 0.02, (voiced[-1] + 1) * 0.02


def level_dbfs(frame: Int16Array) -> float:
    samples = frame.astype(np.float32) / 32768.0
    power = float(np.mean(samples * samples)) if samples.size else 0.0
    return -100.0 if power <= 1e-10 else 10.0 * float(np.log10(power))


@dataclass
class SpeechSpan:
    """One stretch of agent speech the caller heard (monotonic times)."""

    start: float
    end: float


@dataclass
class Ears:
    """Everything the caller heard, with agent speech detected by level.

    A span opens on a frame above `threshold_dbfs` and closes after `gap_ms` below it, so the
    pauses between sentences stay inside one span.
    """

    threshold_dbfs: float = -42.0
    gap_ms: float = 400.0
    frames: list[Int16Array] = field(default_factory=list)
    times: list[float] = field(default_factory=list)  # when each frame arrived (monotonic)
    spans: list[SpeechSpan] = field(default_factory=list)
    speaking: bool = False
    last_voice_at: float = 0.0

    def hear(self, frame: Int16Array) -> None:
        now = time.monotonic()
        self.frames.append(frame.copy())
        self.times.append(now)
        if level_dbfs(frame) > self.threshold_dbfs:
            self.last_voice_at = now
            if not self.speaking:
                self.speaking = True
                self.spans.append(SpeechSpan(now, now))
            self.spans[-1].end = now
        elif self.speaking and (now - self.last_voice_at) * 1000 >= self.gap_ms:
            self.speaking = False

    def silent_for_ms(self) -> float:
        if self.speaking or not self.spans:
            return 0.0
        return (time.monotonic() - self.spans[-1].end) * 1000.0

    def first_voice_after(self, at: float) -> float | None:
        for span in self.spans:
            if span.end >= at:
                return max(span.start, at) if span.start < at else span.start
        return None

    def audio(self) -> Int16Array:
        if not self.frames:
            return np.zeros(0, dtype=np.int16)
        joined: Int16Array = np.concatenate(self.frames)
        return joined
