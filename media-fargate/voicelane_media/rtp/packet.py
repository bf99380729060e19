"""RTP fixed header and payload (RFC 3550 section 5.1)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

RTP_VERSION = 2
MAX_PACKET = 65535


_FIXED = struct.Struct("!BBHII")


class RtpError(ValueError):
    """A datagram is not a valid RTP packet."""


def parse_header(data: bytes) -> tuple[int, bool, int, int, int, int, int]:
    """Validate one datagram's RTP header; return ``(payload_type, marker, sequence_number,
    timestamp, ssrc, payload_start, payload_end)``.

    The one place the header is read: :meth:`RtpPacket.parse` builds on it, and the media
    plane's per-packet path calls it directly because a tuple costs less than a dataclass at
    50 packets/s for hundreds of legs. A plain header (no padding, extension or CSRCs: nearly
    every telephony packet) returns after one ``unpack``.
    """
    size = len(data)
    if size < 12:
        raise RtpError("packet shorter than the RTP header")
    if size > MAX_PACKET:
        raise RtpError("packet too large")
    b0, b1, seq, ts, ssrc = _FIXED.unpack_from(data)
    if b0 >> 6 != RTP_VERSION:
        raise RtpError(f"unsupported RTP version {b0 >> 6}")
    if not b0 & 0x3F:
        return b1 & 0x7F, bool(b1 & 0x80), seq, ts, ssrc, 12, size
    pos = 12 + 4 * (b0 & 0x0F)
    if size < pos:
        raise RtpError("truncated CSRC list")
    if b0 & 0x10:
        if size < pos + 4:
            raise RtpError("truncated header extension")
        words = struct.unpack_from("!H", data, pos + 2)[0]
        pos += 4 + 4 * words
        if size < pos:
            raise RtpError("truncated header extension")
    end = size
    if b0 & 0x20:
        padding = data[-1]
        if padding == 0 or end - padding < pos:
            raise RtpError("invalid padding length")
        end -= padding
    return b1 & 0x7F, bool(b1 & 0x80), seq, ts, ssrc, pos, end


@dataclass
class RtpPacket:
    payload_type: int
    sequence_number: int
    timestamp: int
    ssrc: int
    payload: bytes = b""
    marker: bool = False
    csrc: list[int] = field(default_factory=list)
    extension_profile: int | None = None
    extension: bytes = b""
    padding: int = 0

    @classmethod
    def parse(cls, data: bytes) -> RtpPacket:
        pt, marker, seq, ts, ssrc, start, end = parse_header(data)
        b0 = data[0]
        cc = b0 & 0x0F
        csrc = list(struct.unpack_from(f"!{cc}I", data, 12))
        profile: int | None = None
        extension = b""
        if b0 & 0x10:  # parse_header checked its length; its words end where the payload starts
            profile = struct.unpack_from("!H", data, 12 + 4 * cc)[0]
            extension = bytes(data[12 + 4 * cc + 4 : start])
        return cls(
            payload_type=pt,
            sequence_number=seq,
            timestamp=ts,
            ssrc=ssrc,
            payload=bytes(data[start:end]),
            marker=marker,
            csrc=csrc,
            extension_profile=profile,
            extension=extension,
            padding=len(data) - end,
        )

    def serialize(self) -> bytes:
        if not 0 <= self.payload_type <= 127:
            raise RtpError("payload type out of range")
        if len(self.csrc) > 15:
            raise RtpError("more than 15 CSRCs")
        if len(self.extension) % 4:
            raise RtpError("header extension must be a multiple of 4 bytes")
        if not 0 <= self.padding <= 255:
            raise RtpError("padding out of range")
        b0 = (RTP_VERSION << 6) | len(self.csrc)
        if self.padding:
            b0 |= 0x20
        if self.extension_profile is not None:
            b0 |= 0x10
        b1 = (0x80 if self.marker else 0) | self.payload_type
        out = [
            struct.pack(
                "!BBHII", b0, b1, self.sequence_number & 0xFFFF,
                self.timestamp & 0xFFFFFFFF, self.ssrc & 0xFFFFFFFF,
            ),
            struct.pack(f"!{len(self.csrc)}I", *self.csrc),
        ]
        if self.extension_profile is not None:
            out.append(struct.pack("!HH", self.extension_profile, len(self.extension) // 4))
            out.append(self.extension)
        out.append(self.payload)
        if self.padding:
            out.append(bytes(self.padding - 1) + bytes([self.padding]))
        return b"".join(out)

    def __bytes__(self) -> bytes:
        return self.serialize()


def is_rtcp(data: bytes) -> bool:
    """RFC 5761 demultiplexing: RTCP packet types 192-223 in the second byte."""
    return len(data) >= 2 and data[0] >> 6 == 2 and 192 <= data[1] <= 223
