"""Dual-channel call recording on the session's media clock.

Each tick appends the G.711 codes actually received (left, caller) and actually sent (right,
platform) for that 20 ms frame, or the codec's silence code where nothing was. Keeping codes
instead of PCM halves the memory (16 kB/s per call) and makes the right channel exactly what
went on the wire; ``wav`` decodes both into a stereo 8 kHz 16-bit WAV.
"""

from __future__ import annotations

import io
import wave

import numpy as np

from .receiver import FRAME_SAMPLES, decode_table


class Recorder:
    """Accumulates frames while running; paused time is left out of the recording."""

    def __init__(self) -> None:
        self.active = False
        self.paused = False
        self._left = bytearray()
        self._right = bytearray()
        self._segments: list[tuple[int, int]] = []  # (first frame, payload type)

    def start(self, payload_type: int) -> None:
        self._left.clear()
        self._right.clear()
        self._segments = [(0, payload_type)]
        self.active = True
        self.paused = False

    def codec_changed(self, payload_type: int) -> None:
        if self.active:
            frame = len(self._left) // FRAME_SAMPLES
            if self._segments and self._segments[-1][0] == frame:
                self._segments.pop()
            self._segments.append((frame, payload_type))

    def add(self, received: bytes | None, sent: bytes | None, silence: bytes) -> None:
        """One tick's frame (called only while active and not paused)."""
        self._left += received if received is not None and len(received) == FRAME_SAMPLES else silence
        self._right += sent if sent is not None else silence

    @property
    def frames(self) -> int:
        return len(self._left) // FRAME_SAMPLES

    @property
    def duration_ms(self) -> int:
        return self.frames * 20

    def stop(self) -> bytes:
        """End the recording and return it as a WAV file."""
        self.active = False
        data = self.wav()
        self._left = bytearray()
        self._right = bytearray()
        return data

    def wav(self) -> bytes:
        left = np.frombuffer(bytes(self._left), dtype=np.uint8)
        right = np.frombuffer(bytes(self._right), dtype=np.uint8)
        stereo = np.zeros((left.shape[0], 2), dtype=np.int16)
        bounds = [start * FRAME_SAMPLES for start, _ in self._segments] + [left.shape[0]]
        for (_, payload_type), lo, hi in zip(self._segments, bounds, bounds[1:], strict=False):
            table = decode_table(payload_type)
            stereo[lo:hi, 0] = table[left[lo:hi]]
            stereo[lo:hi, 1] = table[right[lo:hi]]
        out = io.BytesIO()
        with wave.open(out, "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(stereo.astype("<i2").tobytes())
        return out.getvalue()

