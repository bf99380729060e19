"""RFC 4733 telephone-events (DTMF): payload format, sender and de-duplicating receiver."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .packet import RtpError, RtpPacket

EVENTS = "0123456789*#ABCD"


def event_code(digit: str) -> int:
    code = EVENTS.find(digit.upper())
    if len(digit) != 1 or code < 0:
        raise ValueError(f"not a DTMF digit: {digit!r}")
    return code


@dataclass(frozen=True)
class TelephoneEvent:
    event: int
    end: bool
    volume: int  # 0..63, -dBm0
    duration: int  # timestamp units

    @classmethod
    def parse(cls, payload: bytes) -> TelephoneEvent:
        if len(payload) < 4:
            raise RtpError("telephone-event payload shorter than 4 bytes")
        event, flags, duration = struct.unpack_from("!BBH", payload)
        return cls(event, bool(flags & 0x80), flags & 0x3F, duration)

    def serialize(self) -> bytes:
        if not 0 <= self.volume <= 63 or not 0 <= self.duration <= 0xFFFF:
            raise RtpError("telephone-event field out of range")
        return struct.pack("!BBH", self.event, (0x80 if self.end else 0) | self.volume, self.duration)

    @property
    def digit(self) -> str | None:
        return EVENTS[self.event] if self.event < len(EVENTS) else None


@dataclass
class DtmfSender:
    """Builds the packet train for one digit: first packet with the marker bit, updates
    every ``interval_ms``, then three end packets, all carrying the event's start timestamp."""

    payload_type: int = 101
    clock_rate: int = 8000
    interval_ms: int = 20
    volume: int = 10
    end_repeats: int = 3

    def packets(self, digit: str, *, ssrc: int, sequence_number: int, timestamp: int,
                duration_ms: int = 100) -> list[RtpPacket]:
        code = event_code(digit)
        step = self.clock_rate * self.interval_ms // 1000
        total = min(self.clock_rate * duration_ms // 1000, 0xFFFF)
        events = [TelephoneEvent(code, False, self.volume, d) for d in range(step, total, step)]
        events += [TelephoneEvent(code, True, self.volume, total)] * self.end_repeats
        return [
            RtpPacket(self.payload_type, (sequence_number + i) & 0xFFFF, timestamp & 0xFFFFFFFF,
                      ssrc, ev.serialize(), marker=(i == 0))
            for i, ev in enumerate(events)
        ]


@dataclass
class DtmfReceiver:
    """Emits each digit once: on its first end packet, or when a new event starts while
    the previous one never delivered an end packet (all end packets lost)."""

    payload_type: int = 101
    _current: tuple[int, int] | None = None  # (rtp timestamp, event)
    _done: list[int] = field(default_factory=list)  # timestamps already emitted (recent)

    def feed(self, packet: RtpPacket) -> list[str]:
        if packet.payload_type != self.payload_type:
            return []
        ev = TelephoneEvent.parse(packet.payload)
        digit = ev.digit
        out: list[str] = []
        ts = packet.timestamp
        if ts in self._done:
            return out  # retransmitted end packet or late update of an emitted event
        if self._current is not None and self._current[0] != ts:
            prev = EVENTS[self._current[1]] if self._current[1] < len(EVENTS) else None
            if prev is not None:
                out.append(prev)
            self._remember(self._current[0])
            self._current = None
        if ev.end:
            if digit is not None:
                out.append(digit)
            self._remember(ts)
            self._current = None
        else:
            self._current = (ts, ev.event)
        return out

    def _remember(self, ts: int) -> None:
        self._done.append(ts)
        del self._done[:-16]
