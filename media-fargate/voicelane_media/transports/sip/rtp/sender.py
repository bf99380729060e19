"""The send half of an RTP session: playback queue, live (bridged) audio, RFC 4733 digits,
sequence numbers and timestamps on the session's media clock.

``next_frame`` runs once per session per 20 ms tick; it returns the datagram to send and the
G.711 codes it carries (for the playout taps), so a tick costs one table lookup and one pack.
"""

from __future__ import annotations

import asyncio
import random
import struct
from collections import deque
from dataclasses import dataclass

import numpy as np

from voicelane_media.codecs.g711 import ALAW_ENCODE, ULAW_ENCODE, Int16Array, UInt8Array
from voicelane_media.codecs.wideband import WidebandCodec
from voicelane_media.rtp.dtmf import DtmfSender
from voicelane_media.transports.base import LiveSource

from .receiver import FRAME_SAMPLES, PCMA, PCMU, SILENCE_CODE

_HEADER = struct.Struct("!BBHII")
LIVE_MAX_FRAMES = 5  # bridged audio queued beyond 100 ms is dropped, oldest first
DTMF_GAP_FRAMES = 3  # pause between digits


def encode_table(payload_type: int) -> UInt8Array:
    if payload_type == PCMU:
        return ULAW_ENCODE
    if payload_type == PCMA:
        return ALAW_ENCODE
    raise ValueError(f"unsupported payload type {payload_type} (only 0 PCMU and 8 PCMA)")


@dataclass
class Playback:
    """One queued ``play``: samples, how far it got, and the future its caller awaits."""

    samples: Int16Array
    done: asyncio.Future[int]
    position: int = 0


@dataclass
class DigitJob:
    """Digits queued for RFC 4733 sending; ``done`` resolves when the last one is sent."""

    digits: str
    done: asyncio.Future[None]
    index: int = 0


class OutboundStream:
    """Produces this session's outgoing packets, one per tick."""

    def __init__(self, send_silence: bool = True) -> None:
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts_base = random.getrandbits(32)
        self.payload_type = PCMU
        self.dtmf_payload_type: int | None = 101
        self.send_silence = send_silence
        self.packets_sent = 0
        self.octets_sent = 0
        self.last_ts = self.ts_base
        self.queue: deque[Playback] = deque()
        self.live_source: LiveSource | None = None  # pulled when nothing else fills a frame
        self._table = ULAW_ENCODE
        self._silence = bytes([SILENCE_CODE[PCMU]]) * FRAME_SAMPLES
        self._marker = True
        self._digits: deque[DigitJob] = deque()
        self._dtmf_packets: deque[bytes] = deque()
        self._dtmf_gap = 0
        self._dtmf_sender = DtmfSender(101)
        self.codec: WidebandCodec | None = None  # None: G.711 through its encode table
        self.frame_samples = FRAME_SAMPLES  # PCM samples per 20 ms frame
        self.frame_ts = FRAME_SAMPLES  # RTP timestamp units per 20 ms frame
        self.sent_pcm: Int16Array | None = None  # a wideband frame's audio, for the playout taps

    def configure(self, payload_type: int, dtmf_payload_type: int | None,
                  codec: WidebandCodec | None = None, dtmf_clock: int = 8000) -> None:
        """Payload types; ``codec`` for a wideband stream (None: G.711); ``dtmf_clock``: the
        negotiated telephone-event clock (RFC 4733 durations are in its units)."""
        self.payload_type = payload_type
        self.dtmf_payload_type = dtmf_payload_type
        self._dtmf_sender.payload_type = dtmf_payload_type if dtmf_payload_type is not None else 101
        self._dtmf_sender.clock_rate = dtmf_clock
        self.codec = codec
        if codec is None:
            self._table = encode_table(payload_type)
            self._silence = bytes([SILENCE_CODE[payload_type]]) * FRAME_SAMPLES
            self.frame_samples = self.frame_ts = FRAME_SAMPLES
        else:
            self.frame_samples, self.frame_ts = codec.frame_samples, codec.frame_ts

    def queue_digits(self, job: DigitJob) -> None:
        self._digits.append(job)

    def stop_playback(self) -> int:
        """Finish every queued playback now; returns the samples the current one had sent."""
        played = 0
        while self.queue:
            item = self.queue.popleft()
            played = played or item.position
            if not item.done.done():
                item.done.set_result(item.position)
        return played

    def cancel_all(self) -> None:
        self.stop_playback()
        self._dtmf_packets.clear()
        while self._digits:
            job = self._digits.popleft()
            if not job.done.done():
                job.done.set_result(None)

    def next_frame(self, tick: int) -> tuple[bytes, UInt8Array | None]:
        """The datagram for media-clock frame ``tick`` and the audio codes it carries
        (None for DTMF or comfort silence). Returns (b"", None) when there is nothing to send."""
        ts = (self.ts_base + tick * self.frame_ts) & 0xFFFFFFFF
        self.sent_pcm = None
        if self._dtmf_packets or self._digits:
            packet = self._next_dtmf(ts)
            if packet:
                return packet, None
        pcm: Int16Array | None = None
        if self.queue:
            item = self.queue[0]
            start = item.position
            size = self.frame_samples
            pcm = item.samples[start : start + size]
            item.position = start + pcm.shape[0]
            if item.position >= item.samples.shape[0]:
                self.queue.popleft()
                if not item.done.done():
                    item.done.set_result(item.position)
            if pcm.shape[0] < size:
                pcm = np.concatenate([pcm, np.zeros(size - pcm.shape[0], np.int16)])
        elif self.live_source is not None:
            pcm = self.live_source()
        codes: UInt8Array | None = None
        codec = self.codec
        if codec is not None:
            if pcm is None and not self.send_silence:
                self._marker = True
                return b"", None
            # wideband: silence is encoded too, so the encoder's state stays continuous
            frame = pcm if pcm is not None else np.zeros(self.frame_samples, np.int16)
            self.sent_pcm = pcm
            payload = codec.encode(frame)
        elif pcm is not None:
            codes = self._table[pcm.view(np.uint16)]
            payload = codes.tobytes()
        elif self.send_silence:
            payload = self._silence
        else:
            self._marker = True
            return b"", None
        seq = self.seq
        self.seq = (seq + 1) & 0xFFFF
        self.last_ts = ts
        marker = 0x80 if self._marker else 0
        self._marker = False
        self.packets_sent += 1
        self.octets_sent += len(payload)
        return _HEADER.pack(0x80, marker | self.payload_type, seq, ts, self.ssrc) + payload, codes

    def _next_dtmf(self, ts: int) -> bytes:
        if not self._dtmf_packets:
            if self._dtmf_gap:
                self._dtmf_gap -= 1
                return b""
            job = self._digits[0]
            if job.index >= len(job.digits):
                self._digits.popleft()
                if not job.done.done():
                    job.done.set_result(None)
                return b""
            digit = job.digits[job.index]
            job.index += 1
            packets = self._dtmf_sender.packets(digit, ssrc=self.ssrc, sequence_number=self.seq,
                                                timestamp=ts)
            self._dtmf_packets.extend(p.serialize() for p in packets)
            self._dtmf_gap = DTMF_GAP_FRAMES
        data = self._dtmf_packets.popleft()
        self.seq = (self.seq + 1) & 0xFFFF
        self.packets_sent += 1
        self.octets_sent += len(data) - 12
        self.last_ts = ts
        self._marker = True
        return data
