"""RTP fixed header and payload (RFC 3550 section 5.1)."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

RTP_VERSION = 2
MAX_PACKET = 65535


class RtpError(ValueError):
    """A datagram is not a valid RTP packet."""


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
        if len(data) < 12:
            raise RtpError("packet shorter than the RTP header")
        if len(data) > MAX_PACKET:
            raise RtpError("packet too large")
        b0, b1, seq, ts, ssrc = struct.unpack_from("!BBHII", data)
        if b0 >> 6 != RTP_VERSION:
            raise RtpError(f"unsupported RTP version {b0 >> 6}")
        cc = b0 & 0x0F
        pos = 12 + 4 * cc
        if len(data) < pos:
            raise RtpError("truncated CSRC list")
        csrc = list(struct.unpack_from(f"!{cc}I", data, 12))
        profile: int | None = None
        extension = b""
        if b0 & 0x10:
            if len(data) < pos + 4:
                raise RtpError("truncated header extension")
            profile, words = struct.unpack_from("!HH", data, pos)
            pos += 4
            if len(data) < pos + 4 * words:
                raise RtpError("truncated header extension")
            extension = bytes(data[pos : pos + 4 * words])
            pos += 4 * words
        end = len(data)
        padding = 0
        if b0 & 0x20:
            padding = data[-1]
            if padding == 0 or end - padding < pos:
                raise RtpError("invalid padding length")
            end -= padding
        return cls(
            payload_type=b1 & 0x7F,
            sequence_number=seq,
            timestamp=ts,
            ssrc=ssrc,
            payload=bytes(data[pos:end]),
            marker=bool(b1 & 0x80),
            csrc=csrc,
            extension_profile=profile,
            extension=extension,
            padding=padding,
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
