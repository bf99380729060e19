"""The receive half of an RTP session: validation, symmetric latching, receiver statistics,
the adaptive jitter buffer, RFC 4733 digits and packet-loss concealment.

Everything here runs inside the datagram callback (per packet) or the pool's 20 ms tick (per
frame), so the per-packet path avoids dataclasses and does the minimum of Python work.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from voicelane_media.codecs.g711 import ALAW_DECODE, ULAW_DECODE, Int16Array
from voicelane_media.codecs.wideband import CodecError, WidebandCodec
from voicelane_media.rtp.dtmf import DtmfReceiver
from voicelane_media.rtp.jitter_buffer import JitterBuffer
from voicelane_media.rtp.packet import RtpError, RtpPacket, parse_header
from voicelane_media.rtp.stats import ReceiverStats

PCMU, PCMA = 0, 8
FRAME_SAMPLES = 160
SILENCE_CODE = {PCMU: 0xFF, PCMA: 0xD5}
HIST_BIN_MS = 0.1
HIST_BINS = 5000  # 0..500 ms of per-packet transit variation, 0.1 ms resolution
PLC_FRAMES = 3  # conceal up to 60 ms, fading, then silence
ZERO_FRAME: Int16Array = np.zeros(FRAME_SAMPLES, dtype=np.int16)
ZERO_FRAME.setflags(write=False)

Address = tuple[str, int]


def pcm_empty() -> Int16Array:
    return np.zeros(0, dtype=np.int16)


def decode_table(payload_type: int) -> Int16Array:
    """The G.711 code -> PCM table for a static payload type (0 PCMU, 8 PCMA)."""
    if payload_type == PCMU:
        return ULAW_DECODE
    if payload_type == PCMA:
        return ALAW_DECODE
    raise ValueError(f"unsupported payload type {payload_type} (only 0 PCMU and 8 PCMA)")


class InboundStream:
    """Receives one remote party's RTP. ``feed`` takes datagrams; ``pull`` gives one frame per tick."""

    def __init__(self, jitter_frames: int = 2) -> None:
        self.payload_type = PCMU
        self.dtmf_payload_type: int | None = 101
        self.remote: Address | None = None
        self.symmetric = True
        self.latched = False
        self.accepting = False  # set_remote has been called
        self.on_digit: Callable[[str], None] | None = None
        self.stats: ReceiverStats | None = None
        self.jitter_buffer = JitterBuffer(
            initial_frames=jitter_frames, max_frames=max(10, jitter_frames))
        self._dtmf = DtmfReceiver(101)
        self._table = ULAW_DECODE
        self.histogram = [0] * HIST_BINS
        self._prev_transit: float | None = None
        self.packets_received = 0
        self.octets_received = 0
        self.rejected = 0  # malformed, wrong source, unknown payload type
        self.last_arrival = 0.0
        self._prior_received = 0  # from earlier SSRCs of this session
        self._prior_lost = 0
        self._last_pcm: Int16Array = ZERO_FRAME
        self._concealed = 0
        self.codec: WidebandCodec | None = None  # None: G.711 through its decode table
        self.clock_rate = 8000  # RTP timestamp units per second
        self.zero_frame = ZERO_FRAME  # 20 ms of silence at the PCM rate
        self.decode_errors = 0  # wideband payloads that did not decode (concealed)
        self.started = False  # a first audio packet arrived: frames flow from now on

    def configure(self, remote: Address, payload_type: int, dtmf_payload_type: int | None,
                  symmetric: bool, codec: WidebandCodec | None = None) -> None:
        """The peer's address and payload types; ``codec`` for a wideband stream (G.722,
        Opus: decoded by it, at its RTP clock and 20 ms framing), None for G.711."""
        if codec is None:
            self._table = decode_table(payload_type)
            self.jitter_buffer.silence = bytes([SILENCE_CODE[payload_type]]) * FRAME_SAMPLES
            self.configure_clock(8000, FRAME_SAMPLES, True, FRAME_SAMPLES)
        else:
            self.jitter_buffer.silence = codec.silence()
            self.configure_clock(codec.rtp_clock, codec.frame_ts, codec.sample_payload,
                                 codec.frame_samples)
        self.codec = codec
        self.payload_type = payload_type
        self.dtmf_payload_type = dtmf_payload_type
        self._dtmf.payload_type = dtmf_payload_type if dtmf_payload_type is not None else -1
        if remote != self.remote:
            self.latched = False
        self.remote = remote
        self.symmetric = symmetric
        self.accepting = True

    def configure_clock(self, clock_rate: int, frame_ts: int, sample_payload: bool,
                        frame_samples: int) -> None:
        if clock_rate != self.clock_rate and self.stats is not None:
            self._new_source(self.stats.ssrc)  # timestamps of another clock: start over
        self.clock_rate = clock_rate
        self.jitter_buffer.frame = frame_ts
        self.jitter_buffer.sample_payload = sample_payload
        if self.zero_frame.shape[0] != frame_samples:
            self.zero_frame = np.zeros(frame_samples, dtype=np.int16)
            self.zero_frame.setflags(write=False)
            self._last_pcm = self.zero_frame

    # -- per packet -------------------------------------------------------------------------
    def feed(self, data: bytes, addr: Address, now: float) -> Address | None:
        """Process one datagram. Returns the new remote address when this packet latched it."""
        if not self.accepting:
            self.rejected += 1
            return None
        try:
            pt, marker, seq, ts, ssrc, start, end = parse_header(data)
        except RtpError:
            self.rejected += 1
            return None
        latched_to: Address | None = None
        if addr != self.remote and (not self.symmetric or self.latched):
            self.rejected += 1
            return None
        if pt != self.payload_type and pt != self.dtmf_payload_type:
            self.rejected += 1
            return None
        payload = data[start:end]
        if addr != self.remote:
            self.remote = latched_to = addr
        self.latched = True
        stats = self.stats
        if stats is None or stats.ssrc != ssrc:
            stats = self._new_source(ssrc)
        stats.update(seq, ts, now)
        self.packets_received += 1
        self.octets_received += len(payload)
        self.last_arrival = now
        if pt == self.payload_type:
            transit = now - ts / self.clock_rate
            prev = self._prev_transit
            if prev is not None:
                d = transit - prev
                if d < 0:
                    d = -d
                if d < 1.0:  # a timestamp jump (restart, wrap) is not jitter
                    self.histogram[min(int(d * 10000.0), HIST_BINS - 1)] += 1
            self._prev_transit = transit
            self.jitter_buffer.put(seq, ts, payload, now)
            self.started = True
        else:
            self._on_dtmf(seq, ts, ssrc, payload, marker)
        return latched_to

    def _new_source(self, ssrc: int) -> ReceiverStats:
        if self.stats is not None:
            self._prior_received += self.stats.received
            self._prior_lost += max(0, self.stats.lost)
        self.stats = ReceiverStats(ssrc, clock_rate=self.clock_rate)
        self._prev_transit = None
        self.jitter_buffer.reset()
        return self.stats

    def _on_dtmf(self, seq: int, ts: int, ssrc: int, payload: bytes, marker: bool) -> None:
        packet = RtpPacket(self.dtmf_payload_type or 0, seq, ts, ssrc, payload, marker)
        try:
            digits = self._dtmf.feed(packet)
        except RtpError:
            self.rejected += 1
            return
        if self.on_digit is not None:
            for digit in digits:
                self.on_digit(digit)

    # -- per tick ---------------------------------------------------------------------------
    def pull(self, now: float) -> tuple[bytes | None, Int16Array]:
        """One 20 ms frame: (G.711 codes actually received or None, PCM with concealment).

        Whatever the sender's ptime, the jitter buffer re-frames to 160 samples per tick."""
        codes = self.jitter_buffer.get(now)
        if codes is not None:
            if self.codec is None:
                pcm: Int16Array = self._table[np.frombuffer(codes, dtype=np.uint8)]
            else:
                pcm = self._decode(codes)
            if pcm.shape[0]:
                self._last_pcm = pcm
                self._concealed = 0
                return codes, pcm
        if self._concealed >= PLC_FRAMES:
            return None, self.zero_frame
        self._concealed += 1
        fade = 1.0 - self._concealed / (PLC_FRAMES + 1)
        self._last_pcm = (self._last_pcm * fade).astype(np.int16)
        return None, self._last_pcm

    def _decode(self, payload: bytes) -> Int16Array:
        """One wideband frame at the PCM rate (cut or padded to 20 ms); empty when the payload
        does not decode (counted, then concealed like a lost packet)."""
        assert self.codec is not None
        try:
            pcm = self.codec.decode(payload)
        except CodecError:
            self.decode_errors += 1
            return pcm_empty()
        size = self.zero_frame.shape[0]
        if pcm.shape[0] != size:
            pcm = np.concatenate([pcm, self.zero_frame])[:size]
        return pcm

    # -- figures ----------------------------------------------------------------------------
    @property
    def received_total(self) -> int:
        return self._prior_received + (self.stats.received if self.stats else 0)

    @property
    def lost_total(self) -> int:
        return self._prior_lost + (max(0, self.stats.lost) if self.stats else 0)

    def jitter_percentile_ms(self, q: float) -> float:
        total = sum(self.histogram)
        if not total:
            return 0.0
        target = q * total
        running = 0
        for index, count in enumerate(self.histogram):
            running += count
            if running >= target:
                return round((index + 1) * HIST_BIN_MS, 2)
        return HIST_BINS * HIST_BIN_MS
