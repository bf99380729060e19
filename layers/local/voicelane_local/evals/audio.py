"""The caller's audio for a scenario line, rendered before the call: speech at the voice's
speed with pauses between pieces, a cough, and line noise (white, or babble) mixed in."""

from __future__ import annotations

import asyncio
import functools
import subprocess
from collections.abc import Callable

import numpy as np
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.resample import resample_pcm16
from voicelane_media.sim.voice import RATE, speech_bounds

from voicelane_local.evals.schema import Background, Line, Pause, Voice


async def _speak(text: str, voice: Voice) -> Int16Array:
    from voicelane_media.agent.local_engines import (
        EspeakSettings,
        EspeakTTS,
        PiperSettings,
        PiperTTS,
    )
    from voicelane_media.agent.providers import TTSEngine

    tts: TTSEngine
    if voice.engine == "piper":
        try:
            tts = PiperTTS(PiperSettings(length_scale=round(1.0 / voice.speed, 3)))
        except RuntimeError:  # no piper voice installed: espeak-ng speaks instead
            tts = EspeakTTS(EspeakSettings(words_per_minute=int(170 * voice.speed)))
    else:
        tts = EspeakTTS(EspeakSettings(words_per_minute=int(170 * voice.speed)))
    parts = [resample_pcm16(chunk.pcm, chunk.sample_rate, RATE)
             async for chunk in tts.synthesize(text)]
    return np.frombuffer(b"".join(parts), dtype="<i2").astype(np.int16)


def cough(ms: int = 220, dbfs: float = -14.0, seed: int = 3) -> Int16Array:
    """A cough: a burst of low-passed noise with a sharp attack and a fast decay."""
    n = RATE * ms // 1000
    rng = np.random.default_rng(seed)
    noise = np.convolve(rng.normal(0.0, 1.0, n), np.ones(4) / 4, mode="same")
    envelope = np.minimum(np.arange(n) / (RATE * 0.01), 1.0) * np.exp(-np.arange(n) / (n / 3))
    burst = noise * envelope
    burst *= (10 ** (dbfs / 20)) / max(float(np.sqrt(np.mean(burst ** 2))), 1e-9)
    out: Int16Array = np.clip(burst * 32767, -32768, 32767).astype(np.int16)
    return out


def noise_frames(background: Background, seed: int) -> Callable[[], Int16Array]:
    """A source of 20 ms frames of the background (white noise or babble) at its level."""
    if background.kind == "babble":
        bed = babble(background.noise_dbfs, seed)
        position = 0

        def babble_frame() -> Int16Array:
            nonlocal position
            start, position = position, (position + 160) % bed.size
            return np.take(bed, range(start, start + 160), mode="wrap")

        return babble_frame
    rng = np.random.default_rng(seed)
    sigma = 32767 * 10 ** (background.noise_dbfs / 20)

    def frame() -> Int16Array:
        out: Int16Array = np.clip(rng.normal(0.0, sigma, 160), -32768, 32767).astype(np.int16)
        return out

    return frame


# Other people talking near the caller: their words must never read as the caller's.
BABBLE_LINES = (
    "The quarterly figures came in late again, so the meeting moved to Thursday afternoon.",
    "Could you pass me the blue folder, the one with the invoices from the warehouse?",
    "We drove up to the lake on Sunday and the traffic coming back was terrible.",
    "I told him the printer on the third floor has been broken since last week.",
    "She ordered the soup and a salad, and then she asked for the bill straight away.",
    "If the train is delayed again I am going to take the bus tomorrow morning.",
)
BABBLE_VOICES = (("en-us+m3", 165), ("en+f2", 180), ("en-gb+m1", 150), ("en-us+f4", 190))
BABBLE_SECONDS = 12


@functools.lru_cache(maxsize=8)
def babble(dbfs: float, seed: int) -> Int16Array:
    """A loop of ``BABBLE_SECONDS`` of four espeak-ng talkers over each other, at ``dbfs`` RMS."""
    rng = np.random.default_rng(seed)
    size = RATE * BABBLE_SECONDS
    bed = np.zeros(size, dtype=np.float64)
    for index, (voice, wpm) in enumerate(BABBLE_VOICES):
        lines = [BABBLE_LINES[(index + k) % len(BABBLE_LINES)] for k in range(len(BABBLE_LINES))]
        talk = _espeak(" ".join(lines), voice, wpm).astype(np.float64)
        offset = int(rng.integers(0, RATE * 2))
        talker = np.roll(np.resize(talk, size), offset) if talk.size else np.zeros(size)
        bed += talker
    rms = float(np.sqrt(np.mean(bed ** 2)))
    bed *= 32767 * 10 ** (dbfs / 20) / max(rms, 1e-9)
    out: Int16Array = np.clip(bed, -32768, 32767).astype(np.int16)
    return out


def _espeak(text: str, voice: str, wpm: int) -> Int16Array:
    """espeak-ng's voice at the phone's rate (synchronous: the bed is rendered before the call)."""
    wav = subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "--stdout", text],
                         capture_output=True, check=True, timeout=60).stdout
    if len(wav) <= 44:
        return np.zeros(0, dtype=np.int16)
    rate = int.from_bytes(wav[24:28], "little")
    pcm = resample_pcm16(wav[44 : 44 + (len(wav) - 44) // 2 * 2], rate, RATE)
    return np.frombuffer(pcm, dtype="<i2").astype(np.int16)


async def render(line: Line, voice: Voice, background: Background | None,
                 seed: int = 0) -> tuple[Int16Array, tuple[float, float]] | None:
    """The line's audio and its voice bounds (seconds), or None for a DTMF line."""
    if line.dtmf:
        return None
    if line.sound == "cough":
        clean = np.concatenate([np.zeros(RATE // 10, np.int16), cough(seed=seed),
                                np.zeros(RATE // 10, np.int16)])
    else:
        pieces = [line.say] if isinstance(line.say, str) else line.say or []
        parts: list[Int16Array] = []
        for piece in pieces:
            if isinstance(piece, Pause):
                parts.append(np.zeros(RATE * piece.pause_ms // 1000, np.int16))
            else:
                parts.append(_trim(await _speak(piece, voice)) if len(pieces) > 1
                             else await _speak(piece, voice))
        clean = np.concatenate(parts).astype(np.int16)
    bounds = speech_bounds(clean)
    if background is None:
        return clean, bounds
    noise = noise_frames(background, seed)
    frames = -(-clean.size // 160)
    bed = np.concatenate([noise() for _ in range(frames)])[:clean.size]
    mixed = np.clip(clean.astype(np.int32) + bed, -32768, 32767).astype(np.int16)
    return mixed, bounds


def _trim(audio: Int16Array) -> Int16Array:
    """A piece without the TTS's leading and trailing silence (the pause says how long)."""
    onset, offset = speech_bounds(audio)
    start, end = int(onset * RATE), int(offset * RATE)
    return audio[start:end] if end > start else audio


def render_all(lines: list[Line], voice: Voice,
               background: Background | None) -> list[tuple[Int16Array, tuple[float, float]] | None]:
    """Every line of a scenario (synchronous: run before the call, off the event loops)."""
    async def go() -> list[tuple[Int16Array, tuple[float, float]] | None]:
        return [await render(line, voice, background, seed=i) for i, line in enumerate(lines)]

    return asyncio.run(go())
