"""Callee audio for answering-machine tests and benchmarks, at 8 kHz: espeak-ng speech (any
voice and speed), pure tones (a voicemail beep), the fax calling tone, silence and line noise.

    greeting = concat(speech("Hi, you've reached Sam. Leave a message.", voice="en-gb"),
                      silence(600), tone(1000, 400))
"""

from __future__ import annotations

import shutil
import subprocess

import numpy as np

from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.resample import resample_pcm16

RATE = 8000


def speech(text: str, voice: str = "en-us", wpm: int = 170, pitch: int = 50) -> Int16Array:
    """``text`` spoken by espeak-ng (synchronous: run before the call, not in it)."""
    binary = shutil.which("espeak-ng")
    if binary is None:
        raise RuntimeError("espeak-ng is not installed")
    wav = subprocess.run([binary, "-v", voice, "-s", str(wpm), "-p", str(pitch), "--stdout", text],
                         capture_output=True, check=True, timeout=30).stdout
    rate = int.from_bytes(wav[24:28], "little")
    pcm = wav[44:] if len(wav[44:]) % 2 == 0 else wav[44:-1]
    return np.frombuffer(resample_pcm16(pcm, rate, RATE), dtype="<i2").astype(np.int16)


def silence(ms: int) -> Int16Array:
    return np.zeros(RATE * ms // 1000, dtype=np.int16)


def tone(hz: float, ms: int, dbfs: float = -12.0) -> Int16Array:
    """A pure tone with 5 ms ramps (as a phone's beep generator makes it)."""
    n = RATE * ms // 1000
    t = np.arange(n) / RATE
    wave = np.sin(2 * np.pi * hz * t) * (10 ** (dbfs / 20))
    ramp = min(n // 2, RATE // 200)
    if ramp:
        envelope = np.ones(n)
        envelope[:ramp] = np.linspace(0, 1, ramp)
        envelope[-ramp:] = np.linspace(1, 0, ramp)
        wave *= envelope
    return (wave * 32767).astype(np.int16)


def dual_tone(low_hz: float, high_hz: float, ms: int, dbfs: float = -15.0) -> Int16Array:
    """Two tones at once, each ``dbfs`` (a ringback or a busy tone's burst)."""
    mixed = tone(low_hz, ms, dbfs).astype(np.int32) + tone(high_hz, ms, dbfs)
    both: Int16Array = np.clip(mixed, -32768, 32767).astype(np.int16)
    return both


def ringback_us(cycles: int = 1) -> Int16Array:
    """North American ringback: 440+480 Hz, 2 s on, 4 s off."""
    return concat(*[concat(dual_tone(440, 480, 2000), silence(4000)) for _ in range(cycles)])


def special_information_tones() -> Int16Array:
    """SIT (vacant code): 913.8, 1370.6, 1776.7 Hz of 274/274/380 ms, then silence."""
    return concat(tone(913.8, 274), tone(1370.6, 274), tone(1776.7, 380), silence(200))


def fax_cng(cycles: int = 2) -> Int16Array:
    """The fax calling tone: 1,100 Hz for 0.5 s, then 3 s of silence (ITU-T T.30)."""
    return concat(*[concat(tone(1100, 500), silence(3000)) for _ in range(cycles)])


def concat(*parts: Int16Array) -> Int16Array:
    joined: Int16Array = np.concatenate(parts).astype(np.int16)
    return joined


def with_noise(audio: Int16Array, snr_db: float, seed: int = 0) -> Int16Array:
    """``audio`` plus white noise ``snr_db`` below its speech level (line/room noise)."""
    samples = audio.astype(np.float64)
    voiced = samples[np.abs(samples) > 100]
    level = float(np.sqrt(np.mean(voiced ** 2))) if voiced.size else 1000.0
    noise = np.random.default_rng(seed).normal(0.0, level / (10 ** (snr_db / 20)), samples.size)
    return np.clip(samples + noise, -32768, 32767).astype(np.int16)


def frames(audio: Int16Array, ms: int = 20) -> list[Int16Array]:
    """``audio`` as whole frames of ``ms`` (the last partial frame dropped)."""
    size = RATE * ms // 1000
    return [audio[i:i + size] for i in range(0, audio.size - size + 1, size)]
