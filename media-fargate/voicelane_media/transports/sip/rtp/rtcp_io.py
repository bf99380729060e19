"""RTCP for one session: compound SR/RR + SDES every ~5 s, and what the peer reports back
(round-trip time from LSR/DLSR, the loss and jitter it sees from us, BYE)."""

from __future__ import annotations

import random
import time

from voicelane_media.rtp.packet import RtpError
from voicelane_media.rtp.rtcp import (
    Bye,
    ReceiverReport,
    ReportBlock,
    RtcpPacket,
    SenderReport,
    SourceDescription,
    middle_ntp,
    ntp_timestamp,
    parse_compound,
    serialize_compound,
)

from .receiver import InboundStream
from .sender import OutboundStream

INTERVAL_TICKS = 250  # 5 s of 20 ms ticks


class RtcpState:
    """Builds our reports and digests the peer's."""

    def __init__(self, cname: str) -> None:
        self.cname = cname
        self.next_tick = 0
        self.interval_ticks = INTERVAL_TICKS
        self.reports_sent = 0
        self.reports_received = 0
        self.rejected = 0
        self.rtt_ms: float | None = None
        self.remote_fraction_lost = 0.0
        self.remote_cumulative_lost = 0
        self.remote_jitter_ms = 0.0
        self.remote_bye = False
        self._lsr = 0
        self._lsr_at = 0.0

    def schedule(self, tick: int) -> None:
        """Next report in 0.5-1.5 intervals (RFC 3550 6.3.1 randomisation)."""
        self.next_tick = tick + max(1, int(self.interval_ticks * random.uniform(0.5, 1.5)))

    def build(self, inbound: InboundStream, outbound: OutboundStream, rtp_ts: int,
              now: float, bye: bool = False) -> bytes:
        blocks: list[ReportBlock] = []
        if inbound.stats is not None and inbound.stats.received:
            dlsr = int((now - self._lsr_at) * 65536) if self._lsr else 0
            blocks.append(inbound.stats.report_block(lsr=self._lsr, dlsr=dlsr))
        packets: list[RtcpPacket]
        if outbound.packets_sent:
            packets = [SenderReport(outbound.ssrc, ntp_timestamp(time.time()), rtp_ts,
                                    outbound.packets_sent & 0xFFFFFFFF,
                                    outbound.octets_sent & 0xFFFFFFFF, blocks)]
        else:
            packets = [ReceiverReport(outbound.ssrc, blocks)]
        packets.append(SourceDescription.cname(outbound.ssrc, self.cname))
        if bye:
            packets.append(Bye([outbound.ssrc], "session closed"))
        self.reports_sent += 1
        return serialize_compound(packets)

    def receive(self, data: bytes, our_ssrc: int, now: float) -> None:
        try:
            packets = parse_compound(data)
        except RtpError:
            self.rejected += 1
            return
        self.reports_received += 1
        for packet in packets:
            if isinstance(packet, SenderReport):
                self._lsr = middle_ntp(packet.ntp_timestamp)
                self._lsr_at = now
            if isinstance(packet, SenderReport | ReceiverReport):
                for block in packet.reports:
                    if block.ssrc == our_ssrc:
                        self._digest(block)
            elif isinstance(packet, Bye):
                self.remote_bye = True

    def _digest(self, block: ReportBlock) -> None:
        self.remote_fraction_lost = block.fraction_lost / 256.0
        self.remote_cumulative_lost = block.cumulative_lost
        self.remote_jitter_ms = block.jitter / 8.0
        if block.lsr:
            arrival = middle_ntp(ntp_timestamp(time.time()))
            rtt = (arrival - block.lsr - block.dlsr) & 0xFFFFFFFF
            if rtt < 65536 * 10:  # under 10 s; anything else is a stale or bogus LSR
                self.rtt_ms = round(rtt * 1000.0 / 65536, 2)
