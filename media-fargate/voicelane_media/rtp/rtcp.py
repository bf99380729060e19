"""RTCP packets (RFC 3550 section 6): SR, RR, SDES, BYE and compound packets."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from .packet import RtpError

SR, RR, SDES, BYE = 200, 201, 202, 203
SDES_CNAME = 1


@dataclass
class ReportBlock:
    ssrc: int
    fraction_lost: int  # 0..255, fixed point /256
    cumulative_lost: int  # signed 24 bit
    highest_seq: int  # extended highest sequence number received
    jitter: int
    lsr: int = 0
    dlsr: int = 0

    @classmethod
    def parse(cls, data: bytes, pos: int) -> ReportBlock:
        ssrc, word, highest, jitter, lsr, dlsr = struct.unpack_from("!IIIIII", data, pos)
        lost = word & 0xFFFFFF
        if lost & 0x800000:
            lost -= 1 << 24
        return cls(ssrc, word >> 24, lost, highest, jitter, lsr, dlsr)

    def serialize(self) -> bytes:
        lost = max(-(1 << 23), min((1 << 23) - 1, self.cumulative_lost)) & 0xFFFFFF
        return struct.pack(
            "!IIIIII", self.ssrc, (self.fraction_lost & 0xFF) << 24 | lost,
            self.highest_seq & 0xFFFFFFFF, self.jitter & 0xFFFFFFFF, self.lsr, self.dlsr,
        )


@dataclass
class SenderReport:
    ssrc: int
    ntp_timestamp: int  # 64-bit NTP
    rtp_timestamp: int
    packet_count: int
    octet_count: int
    reports: list[ReportBlock] = field(default_factory=list)
    packet_type = SR

    def _body(self) -> bytes:
        return struct.pack(
            "!IQIII", self.ssrc, self.ntp_timestamp, self.rtp_timestamp,
            self.packet_count, self.octet_count,
        ) + b"".join(r.serialize() for r in self.reports)

    def serialize(self) -> bytes:
        return _header(SR, len(self.reports), self._body())


@dataclass
class ReceiverReport:
    ssrc: int
    reports: list[ReportBlock] = field(default_factory=list)
    packet_type = RR

    def serialize(self) -> bytes:
        body = struct.pack("!I", self.ssrc) + b"".join(r.serialize() for r in self.reports)
        return _header(RR, len(self.reports), body)


@dataclass
class SourceDescription:
    """SDES: one chunk per SSRC, each a list of (item type, value)."""

    chunks: list[tuple[int, list[tuple[int, bytes]]]] = field(default_factory=list)
    packet_type = SDES

    @classmethod
    def cname(cls, ssrc: int, cname: str) -> SourceDescription:
        return cls([(ssrc, [(SDES_CNAME, cname.encode())])])

    def serialize(self) -> bytes:
        body = b""
        for ssrc, items in self.chunks:
            chunk = struct.pack("!I", ssrc)
            for kind, value in items:
                if len(value) > 255:
                    raise RtpError("SDES item too long")
                chunk += bytes([kind, len(value)]) + value
            chunk += b"\x00"
            chunk += bytes(-len(chunk) % 4)
            body += chunk
        return _header(SDES, len(self.chunks), body)


@dataclass
class Bye:
    sources: list[int] = field(default_factory=list)
    reason: str = ""
    packet_type = BYE

    def serialize(self) -> bytes:
        body = b"".join(struct.pack("!I", s) for s in self.sources)
        if self.reason:
            text = self.reason.encode()[:255]
            body += bytes([len(text)]) + text
            body += bytes(-len(body) % 4)
        return _header(BYE, len(self.sources), body)


@dataclass
class UnknownRtcp:
    packet_type: int
    count: int
    body: bytes

    def serialize(self) -> bytes:
        return _header(self.packet_type, self.count, self.body)


RtcpPacket = SenderReport | ReceiverReport | SourceDescription | Bye | UnknownRtcp


def _header(pt: int, count: int, body: bytes) -> bytes:
    if count > 31:
        raise RtpError("RTCP count over 31")
    if len(body) % 4:
        raise RtpError("RTCP body must be 32-bit aligned")
    return struct.pack("!BBH", 0x80 | count, pt, len(body) // 4) + body


def _parse_one(pt: int, count: int, body: bytes) -> RtcpPacket:
    if pt in (SR, RR):
        fixed = 24 if pt == SR else 4
        if len(body) < fixed + 24 * count:
            raise RtpError("truncated report")
        blocks = [ReportBlock.parse(body, fixed + 24 * i) for i in range(count)]
        if pt == RR:
            return ReceiverReport(struct.unpack_from("!I", body)[0], blocks)
        ssrc, ntp, rtp_ts, packets, octets = struct.unpack_from("!IQIII", body)
        return SenderReport(ssrc, ntp, rtp_ts, packets, octets, blocks)
    if pt == SDES:
        chunks: list[tuple[int, list[tuple[int, bytes]]]] = []
        pos = 0
        for _ in range(count):
            if pos + 4 > len(body):
                raise RtpError("truncated SDES chunk")
            ssrc = struct.unpack_from("!I", body, pos)[0]
            pos += 4
            items: list[tuple[int, bytes]] = []
            while True:
                if pos >= len(body):
                    raise RtpError("unterminated SDES chunk")
                kind = body[pos]
                if kind == 0:
                    pos += 1
                    pos += -pos % 4
                    break
                if pos + 2 > len(body) or pos + 2 + body[pos + 1] > len(body):
                    raise RtpError("truncated SDES item")
                length = body[pos + 1]
                items.append((kind, body[pos + 2 : pos + 2 + length]))
                pos += 2 + length
            chunks.append((ssrc, items))
        return SourceDescription(chunks)
    if pt == BYE:
        if len(body) < 4 * count:
            raise RtpError("truncated BYE")
        sources = list(struct.unpack_from(f"!{count}I", body))
        reason = ""
        pos = 4 * count
        if pos < len(body):
            length = body[pos]
            if pos + 1 + length > len(body):
                raise RtpError("truncated BYE reason")
            reason = body[pos + 1 : pos + 1 + length].decode("utf-8", "replace")
        return Bye(sources, reason)
    return UnknownRtcp(pt, count, body)


def parse_compound(data: bytes) -> list[RtcpPacket]:
    """Parse a compound RTCP datagram; raises :class:`RtpError` on any malformed part."""
    packets: list[RtcpPacket] = []
    pos = 0
    if len(data) < 4:
        raise RtpError("RTCP packet too short")
    while pos < len(data):
        if len(data) - pos < 4:
            raise RtpError("trailing bytes after RTCP packet")
        b0, pt, words = struct.unpack_from("!BBH", data, pos)
        if b0 >> 6 != 2:
            raise RtpError("bad RTCP version")
        end = pos + 4 + 4 * words
        if end > len(data):
            raise RtpError("RTCP length exceeds datagram")
        body = data[pos + 4 : end]
        if b0 & 0x20:
            if not body or body[-1] == 0 or body[-1] > len(body):
                raise RtpError("bad RTCP padding")
            body = body[: -body[-1]]
        packets.append(_parse_one(pt, b0 & 0x1F, bytes(body)))
        pos = end
    return packets


def serialize_compound(packets: list[RtcpPacket]) -> bytes:
    return b"".join(p.serialize() for p in packets)


def ntp_timestamp(unix_time: float) -> int:
    """64-bit NTP timestamp for a Unix time in seconds."""
    seconds = int(unix_time) + 2208988800
    fraction = int((unix_time % 1.0) * (1 << 32))
    return ((seconds & 0xFFFFFFFF) << 32) | fraction


def middle_ntp(ntp: int) -> int:
    """The middle 32 bits of an NTP timestamp (LSR field)."""
    return (ntp >> 16) & 0xFFFFFFFF
