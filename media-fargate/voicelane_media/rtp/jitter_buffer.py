"""Adaptive jitter buffer: reorders packets, plays 20 ms frames, signals gaps for PLC.

Pure and clock-agnostic: :meth:`JitterBuffer.push` takes the arrival time, :meth:`pop` is
called once per frame by the playout clock. The target depth follows the RFC 3550
interarrival jitter estimate (about 3x jitter + one frame), clamped to [min, max].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .packet import RtpPacket


@dataclass(frozen=True)
class Frame:
    timestamp: int  # extended RTP timestamp
    payload: bytes | None  # None: missing, conceal (PLC)
    sequence_number: int | None = None


@dataclass
class JitterStats:
    received: int = 0
    played: int = 0
    concealed: int = 0
    late: int = 0
    duplicate: int = 0
    overflow: int = 0


class JitterBuffer:
    def __init__(self, clock_rate: int = 8000, frame_ms: int = 20, min_ms: int = 20,
                 max_ms: int = 200, capacity_ms: int = 1000) -> None:
        self.samples_per_frame = clock_rate * frame_ms // 1000
        self.frame_ms = frame_ms
        self.clock_rate = clock_rate
        self.min_frames = max(1, min_ms // frame_ms)
        self.max_frames = max(self.min_frames, max_ms // frame_ms)
        self.capacity = max(self.max_frames * 2, capacity_ms // frame_ms)
        self.target_frames = self.min_frames
        self.stats = JitterStats()
        self.jitter = 0.0  # timestamp units
        self._frames: dict[int, RtpPacket] = {}
        self._next: int | None = None  # next extended timestamp to play
        self._last_ext: int | None = None
        self._transit: float | None = None
        self._playing = False
        self._empty_run = 0

    def _extend(self, ts: int) -> int:
        if self._last_ext is None:
            self._last_ext = ts
            return ts
        delta = (ts - self._last_ext) & 0xFFFFFFFF
        if delta & 0x80000000:
            delta -= 1 << 32
        ext = self._last_ext + delta
        self._last_ext = max(self._last_ext, ext)
        return ext

    @property
    def depth_frames(self) -> int:
        if not self._frames:
            return 0
        start = self._next if self._next is not None else min(self._frames)
        return (max(self._frames) - start) // self.samples_per_frame + 1

    @property
    def target_ms(self) -> int:
        return self.target_frames * self.frame_ms

    def push(self, packet: RtpPacket, arrival: float) -> bool:
        """Insert a packet; returns False if it was dropped (late, duplicate, overflow)."""
        ext = self._extend(packet.timestamp)
        transit = arrival * self.clock_rate - ext
        if self._transit is not None:
            self.jitter += (abs(transit - self._transit) - self.jitter) / 16.0
        self._transit = transit
        # one frame plus three times the jitter, with a quarter-frame tolerance
        wanted = (self.samples_per_frame * 0.75 + 3 * self.jitter) / self.samples_per_frame
        self.target_frames = min(self.max_frames, max(self.min_frames, math.ceil(wanted)))
        if self._next is not None and ext < self._next:
            self.stats.late += 1
            return False
        if ext in self._frames:
            self.stats.duplicate += 1
            return False
        if len(self._frames) >= self.capacity:
            self.stats.overflow += 1
            return False
        self._frames[ext] = packet
        self.stats.received += 1
        return True

    def pop(self) -> Frame | None:
        """Next 20 ms frame, or None while (re)buffering (play silence)."""
        if not self._playing:
            if not self._frames or self.depth_frames < self.target_frames:
                return None
            self._playing = True
            self._next = min(self._frames)
        assert self._next is not None
        # shrink latency: if far more is buffered than the target, skip the oldest frame
        if self.depth_frames > self.target_frames + 4 and self._next in self._frames:
            del self._frames[self._next]
            self.stats.overflow += 1
            self._next += self.samples_per_frame
        ts = self._next
        self._next += self.samples_per_frame
        packet = self._frames.pop(ts, None)
        if packet is None:
            self.stats.concealed += 1
            self._empty_run = self._empty_run + 1 if not self._frames else 0
            if self._empty_run >= self.max_frames:  # stream paused: rebuffer
                self._playing = False
                self._next = None
                self._empty_run = 0
            return Frame(ts, None)
        self._empty_run = 0
        self.stats.played += 1
        return Frame(ts, packet.payload, packet.sequence_number)
