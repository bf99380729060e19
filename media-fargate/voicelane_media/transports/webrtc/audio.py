"""PCM16 <-> PyAV audio frames for the WebRTC leg (pure, synchronous).

aiortc's Opus decoder yields 20 ms frames at 48 kHz, packed s16, usually stereo; the leg works
in mono PCM16 at 48 kHz (the transport's native rate), and hands aiortc mono 48 kHz frames to
encode. No resampling happens here: the agent's leg resamples once, 48 kHz <-> its own rate.
"""

from __future__ import annotations

import fractions

import av
import numpy as np
from voicelane_media.codecs.g711 import Int16Array

RATE = 48000
FRAME_SAMPLES = RATE // 50  # 20 ms
TIME_BASE = fractions.Fraction(1, RATE)


def mono_pcm(frame: av.AudioFrame) -> Int16Array:
    """A decoded frame as mono PCM16 at its own rate (channels averaged)."""
    data = frame.to_ndarray()
    channels = len(frame.layout.channels)
    if frame.format.is_planar:
        samples = data.astype(np.int32).mean(axis=0)
    else:
        samples = data.reshape(-1, channels).astype(np.int32).mean(axis=1)
    if frame.format.name not in ("s16", "s16p"):  # float formats: scale to int16
        samples = np.clip(samples * 32767.0, -32768, 32767)
    return np.asarray(samples, dtype=np.int16)


def audio_frame(pcm: Int16Array, pts: int) -> av.AudioFrame:
    """Mono PCM16 at 48 kHz as a frame aiortc can encode (``pts`` in samples)."""
    frame = av.AudioFrame.from_ndarray(pcm.astype(np.int16, copy=False).reshape(1, -1),
                                       format="s16", layout="mono")
    frame.sample_rate = RATE
    frame.pts = pts
    frame.time_base = TIME_BASE
    return frame


# RFC 4733 telephone-event is not something aiortc's sender can send, so digits toward a
# browser are played in-band: the DTMF pair of each key (ITU-T Q.23), 100 ms on, 60 ms off.
_ROWS = (697, 770, 852, 941)
_COLS = (1209, 1336, 1477, 1633)
_KEYS = ("123A", "456B", "789C", "*0#D")


def dtmf_tones(digits: str, rate: int = RATE, on_ms: int = 100, off_ms: int = 60) -> Int16Array:
    """In-band DTMF for ``digits`` (0-9, *, #, A-D; ``w`` is half a second of silence) as mono
    PCM16 at ``rate``; ValueError names a key that is not a DTMF key."""
    parts: list[Int16Array] = []
    on = np.arange(rate * on_ms // 1000) / rate
    gap = np.zeros(rate * off_ms // 1000, dtype=np.int16)
    for digit in digits.upper():
        if digit == "W":
            parts.append(np.zeros(rate // 2, dtype=np.int16))
            continue
        row = next((r for r, keys in enumerate(_KEYS) if digit in keys), None)
        if row is None:
            raise ValueError(f"{digit!r} is not a DTMF key")
        low, high = _ROWS[row], _COLS[_KEYS[row].index(digit)]
        tone = 8000 * (np.sin(2 * np.pi * low * on) + np.sin(2 * np.pi * high * on))
        parts += [tone.astype(np.int16), gap]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int16)
