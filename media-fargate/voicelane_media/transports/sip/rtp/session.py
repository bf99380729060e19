"""One RTP/RTCP media session (one call leg): the public surface the SIP layer codes against.

A session owns an even RTP port and the RTCP port above it. It does no timing of its own: the
pool's single 20 ms tick calls :meth:`RtpSession.tick` for every session, which pulls one frame
out of the jitter buffer (``on_audio`` and the audio taps), sends one frame (playback, bridged
audio, DTMF or comfort silence) and hands it to the playout taps, and, every ~5 s, sends RTCP.
Recording is the call's (``calls/recording.py``), fed by those two taps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from voicelane_media import quality
from voicelane_media.codecs.g711 import Int16Array, UInt8Array
from voicelane_media.codecs.wideband import WidebandCodec
from voicelane_media.media import audio
from voicelane_media.media.audio import ObjectReader
from voicelane_media.rtp.dtmf import event_code
from voicelane_media.rtp.srtp import SrtpContext
from voicelane_media.transports.base import LiveSource

from .receiver import PCMU, ZERO_FRAME, Address, InboundStream, decode_table
from .rtcp_io import RtcpState
from .sender import DigitJob, OutboundStream, Playback

log = logging.getLogger(__name__)
DIRECTIONS = ("sendrecv", "sendonly", "recvonly", "inactive")
AudioCallback = Callable[[Int16Array], None]
DigitCallback = Callable[[str], None]


class SessionOwner(Protocol):
    """What a session needs from whoever opened it (the port pool): to give its ports back.
    Owned here so the pool imports the session and never the other way round."""

    objects: ObjectReader | None  # where stored audio (play_url of a key) is read

    def release(self, session: RtpSession) -> None: ...


class RtpProtocol(asyncio.DatagramProtocol):
    """The per-packet path: straight into the inbound stream, nothing else."""

    def __init__(self, session: RtpSession) -> None:
        self.session = session
        self.feed = session.inbound.feed

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        session = self.session
        srtp = session.srtp
        # Only the peer's packets are authenticated (and can count toward ending the call);
        # a stranger's are rejected by the inbound stream as before, unread.
        if srtp is not None and (not session.inbound.latched or addr[:2] == session.inbound.remote):
            plain = srtp.unprotect(data)
            if plain is None:
                session.srtp_failed()
                return
            data = plain
        latched = self.feed(data, (addr[0], addr[1]), time.monotonic())
        if latched is not None:
            self.session.latched(latched)

    def error_received(self, exc: Exception) -> None:
        self.session.send_errors += 1  # ICMP port unreachable and the like: the peer's problem


class RtcpProtocol(asyncio.DatagramProtocol):
    """The RTCP port: reports go to the session's RTCP state."""

    def __init__(self, session: RtpSession) -> None:
        self.session = session

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.session.on_rtcp(data, (addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        self.session.send_errors += 1


class RtpSession:
    """A G.711 (PCMU/PCMA), G.722 or Opus media session with RFC 4733 DTMF. Create with ``RtpPortPool.open_session``."""

    def __init__(self, pool: SessionOwner, host: str, port: int, start_tick: int,
                 send_silence: bool = True, *, jitter_frames: int = 2,
                 rtcp_interval_ticks: int = 250) -> None:
        self.pool = pool
        self.local_host = host
        self.local_port = port
        self.inbound = InboundStream(jitter_frames)
        self.outbound = OutboundStream(send_silence)
        self.rtcp = RtcpState(f"voicelane@{host}:{port}")
        self.direction = "sendrecv"
        self.on_audio: AudioCallback | None = None
        self.on_dtmf: DigitCallback | None = None
        self.send_errors = 0
        self.srtp: SrtpContext | None = None
        self.srtp_max_failures = 0  # in a row; 0: never end the call
        self.on_srtp_failure: Callable[[], None] | None = None  # the limit was reached
        self.closed = False
        self._start_tick = start_tick
        self._tick = start_tick
        self._send = True
        self._receive = True
        self._remote: Address | None = None
        self._remote_rtcp: Address | None = None
        self._rtcp_latched = False
        self._rtp_transport: asyncio.DatagramTransport | None = None
        self._rtcp_transport: asyncio.DatagramTransport | None = None
        self._audio_taps: list[AudioCallback] = []
        self._playout_taps: list[AudioCallback] = []
        self._sent_decode = decode_table(PCMU)  # what went on the wire, for the playout taps
        self.sample_rate = 8000  # of the PCM it plays and taps: 16000 for G.722 and Opus
        self._digit_queues: list[asyncio.Queue[str]] = []
        self.inbound.on_digit = self._digit
        self.rtcp.interval_ticks = rtcp_interval_ticks
        self.rtcp.schedule(start_tick)

    def attach(self, rtp: asyncio.DatagramTransport, rtcp: asyncio.DatagramTransport,
               start_tick: int) -> None:
        """The bound sockets, and the pool tick at which this session's clock starts."""
        self._rtp_transport = rtp
        self._rtcp_transport = rtcp
        self._start_tick = start_tick

    # -- signalling-facing configuration -------------------------------------------------------
    @property
    def remote(self) -> Address | None:
        """Where RTP goes: the SDP address, or the latched source of the peer's packets."""
        return self._remote

    @property
    def payload_type(self) -> int:
        return self.outbound.payload_type

    def set_remote(self, host: str, port: int, payload_type: int = 0,
                   dtmf_payload_type: int | None = 101, *, symmetric: bool = True,
                   codecs: tuple[WidebandCodec, WidebandCodec] | None = None,
                   dtmf_clock: int = 8000) -> None:
        """Point the session at the peer's SDP address and codec (0 PCMU, 8 PCMA, or the
        payload type of a wideband codec, with ``codecs``: its decoder and encoder instances,
        ``codecs.wideband``; the session then plays and taps PCM at 16 kHz). With
        ``symmetric`` the session latches to the source address of the first valid packet."""
        remote = (host, int(port))
        decoder, encoder = codecs if codecs is not None else (None, None)
        self.inbound.configure(remote, payload_type, dtmf_payload_type, symmetric, decoder)
        self.outbound.configure(payload_type, dtmf_payload_type, encoder, dtmf_clock)
        if encoder is None:
            self._sent_decode = decode_table(payload_type)
        self.sample_rate = encoder.pcm_rate if encoder is not None else 8000
        if remote != self._remote:
            self._remote = remote
            self._remote_rtcp = (host, int(port) + 1)
            self._rtcp_latched = False

    def set_srtp(self, context: SrtpContext | None, max_failures: int = 0,
                 on_failure: Callable[[], None] | None = None) -> None:
        """Protect every packet sent and authenticate every packet received with ``context``
        (None: plain RTP). After ``max_failures`` RTP packets in a row fail authentication,
        ``on_failure`` runs once (the call ends); every failed packet is dropped and counted."""
        self.srtp = context
        self.srtp_max_failures = max_failures
        self.on_srtp_failure = on_failure

    def srtp_failed(self) -> None:
        srtp = self.srtp
        callback = self.on_srtp_failure
        if srtp is not None and callback is not None and self.srtp_max_failures and \
                srtp.failed_in_a_row >= self.srtp_max_failures:
            self.on_srtp_failure = None
            try:
                callback()
            except Exception:
                log.exception("on_srtp_failure callback failed")

    def set_direction(self, direction: str) -> None:
        """SDP direction from our side: sendrecv, sendonly, recvonly or inactive (hold)."""
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be one of {', '.join(DIRECTIONS)}")
        self.direction = direction
        self._send = direction in ("sendrecv", "sendonly")
        self._receive = direction in ("sendrecv", "recvonly")

    def latched(self, addr: Address) -> None:
        """The peer's RTP now comes from ``addr`` (symmetric RTP): send there, RTCP above it."""
        self._remote = addr
        if not self._rtcp_latched:
            self._remote_rtcp = (addr[0], addr[1] + 1)

    def _digit(self, digit: str) -> None:
        if not self._receive:
            return
        if self.on_dtmf is not None:
            try:
                self.on_dtmf(digit)
            except Exception:
                log.exception("on_dtmf callback failed")
        for queue in self._digit_queues:
            queue.put_nowait(digit)

    @contextlib.contextmanager
    def digits(self) -> Iterator[asyncio.Queue[str]]:
        """A queue that receives every DTMF digit while the block runs (used by ``gather``)."""
        queue: asyncio.Queue[str] = asyncio.Queue()
        self._digit_queues.append(queue)
        try:
            yield queue
        finally:
            self._digit_queues.remove(queue)

    def add_audio_tap(self, tap: AudioCallback) -> None:
        """Also deliver every received 20 ms frame to ``tap`` (bridges, media streams, the
        call's recording): from the peer's first packet on, concealed when one was lost,
        none while not receiving (hold)."""
        self._audio_taps.append(tap)

    def remove_audio_tap(self, tap: AudioCallback) -> None:
        with contextlib.suppress(ValueError):
            self._audio_taps.remove(tap)

    def add_playout_tap(self, tap: AudioCallback) -> None:
        """Also deliver every 20 ms frame sent toward the peer to ``tap``, every tick: the
        G.711 it carried, decoded (exactly what went on the wire), or silence when the tick
        sent none (comfort silence, DTMF, hold, nothing to send)."""
        self._playout_taps.append(tap)

    def remove_playout_tap(self, tap: AudioCallback) -> None:
        with contextlib.suppress(ValueError):
            self._playout_taps.remove(tap)

    def set_live_source(self, source: LiveSource | None) -> None:
        """Pull each frame no playback fills from ``source`` (a bridge's or conference's mix)."""
        self.outbound.live_source = source

    # -- the pool's tick -------------------------------------------------------------------
    def tick(self, index: int, now: float) -> None:
        """Run one 20 ms frame of this session (called by the pool only)."""
        self._tick = index
        inbound = self.inbound
        if inbound.started:
            _, pcm = inbound.pull(now)
            if self._receive:
                if self.on_audio is not None:
                    self.on_audio(pcm)
                for tap in self._audio_taps:
                    tap(pcm)
        sent: UInt8Array | None = None
        remote = self._remote
        if self._send and remote is not None and self._rtp_transport is not None:
            data, sent = self.outbound.next_frame(index - self._start_tick)
            if data:
                if self.srtp is not None:
                    data = self.srtp.protect(data)
                self._rtp_transport.sendto(data, remote)
        if self._playout_taps:
            if self.outbound.codec is not None:  # wideband: the audio that was encoded
                wide = self.outbound.sent_pcm
                frame = self.inbound.zero_frame if wide is None else wide
            else:
                frame = ZERO_FRAME if sent is None else self._sent_decode.take(sent)
            for tap in self._playout_taps:
                tap(frame)
        if index >= self.rtcp.next_tick:
            self.rtcp.schedule(index)
            self._send_rtcp(now)

    def _rtp_ts_now(self) -> int:
        ticks = self._tick - self._start_tick
        return (self.outbound.ts_base + ticks * self.outbound.frame_ts) & 0xFFFFFFFF

    def _send_rtcp(self, now: float, bye: bool = False) -> None:
        if self._remote_rtcp is None or self._rtcp_transport is None:
            return
        data = self.rtcp.build(self.inbound, self.outbound, self._rtp_ts_now(), now, bye)
        if self.srtp is not None:
            data = self.srtp.protect_rtcp(data)
        self._rtcp_transport.sendto(data, self._remote_rtcp)

    def on_rtcp(self, data: bytes, addr: Address) -> None:
        """One datagram on the RTCP port (latched like RTP, then parsed into the RTCP state)."""
        if self._remote_rtcp is None:
            return
        if addr != self._remote_rtcp:
            if self._rtcp_latched or not self.inbound.symmetric:
                self.rtcp.rejected += 1
                return
            self._remote_rtcp = addr
        if self.srtp is not None:
            plain = self.srtp.unprotect_rtcp(data)
            if plain is None:
                self.rtcp.rejected += 1
                return
            data = plain
        self._rtcp_latched = True
        self.rtcp.receive(data, self.outbound.ssrc, time.monotonic())

    # -- media operations ------------------------------------------------------------------
    async def play(self, pcm: npt.NDArray[Any]) -> int:
        """Send mono int16 audio at ``sample_rate`` paced at 20 ms; returns the samples actually
        sent (less than the input when ``stop_playback`` or ``close`` cut it short)."""
        samples = np.ascontiguousarray(pcm).reshape(-1)
        if samples.dtype != np.int16:
            raise TypeError(f"play() takes int16 samples, got {samples.dtype}")
        if self.closed or not samples.shape[0]:
            return 0
        item = Playback(samples, asyncio.get_running_loop().create_future())
        self.outbound.queue.append(item)
        try:
            return await item.done
        except asyncio.CancelledError:
            with contextlib.suppress(ValueError):
                self.outbound.queue.remove(item)
            raise

    def stop_playback(self) -> int:
        """Stop playback at once (the next frame is silence); queued plays end too.
        Returns the samples the running playback had sent."""
        return self.outbound.stop_playback()

    @property
    def playing(self) -> bool:
        return bool(self.outbound.queue)

    async def speak(self, text: str, voice: str = "en-us") -> int:
        """Synthesize ``text`` with espeak-ng and play it; returns samples played."""
        return await self.play(await audio.synthesize(text, voice, self.sample_rate))

    async def play_url(self, url_or_s3_key: str) -> int:
        """Play a WAV from an http(s) URL or a key in the recordings bucket (or s3://bucket/key)."""
        return await self.play(await audio.load(url_or_s3_key, self.sample_rate,
                                                objects=self.pool.objects))

    async def send_dtmf(self, digits: str, duration_ms: int = 100) -> None:
        """Send RFC 4733 telephone-events, one digit after another; returns when all are sent."""
        for digit in digits:
            event_code(digit)  # ValueError on anything that is not a DTMF digit
        if self.outbound.dtmf_payload_type is None:
            raise ValueError("the peer did not negotiate telephone-event")
        if self.closed or not digits:
            return
        job = DigitJob(digits, asyncio.get_running_loop().create_future())
        self.outbound.queue_digits(job)
        await job.done

    # -- figures and teardown --------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Packet counts, loss, jitter and an E-model MOS estimate for this session."""
        inbound = self.inbound
        received = inbound.received_total
        lost = inbound.lost_total
        expected = received + lost
        loss_pct = round(100.0 * lost / expected, 3) if expected else 0.0
        jitter_ms = round(inbound.stats.jitter_ms, 3) if inbound.stats else 0.0
        rtt = self.rtcp.rtt_ms
        delay = (rtt / 2 if rtt is not None else 0.0) + inbound.jitter_buffer.delay_ms
        return {
            "packets_sent": self.outbound.packets_sent,
            "packets_received": inbound.packets_received,
            "packets_lost": lost,
            "loss_pct": loss_pct,
            "jitter_ms": jitter_ms,
            "jitter_p99_ms": inbound.jitter_percentile_ms(0.99),
            "mos": quality.mos(loss_pct, jitter_ms, delay),
            "rtt_ms": rtt,
            "packets_rejected": inbound.rejected,
            "decode_errors": inbound.decode_errors,  # wideband payloads that did not decode
            "late_packets": inbound.jitter_buffer.late,
            "jitter_buffer_ms": inbound.jitter_buffer.delay_ms,
            "remote_loss_pct": round(100.0 * self.rtcp.remote_fraction_lost, 2),
            "rtcp_sent": self.rtcp.reports_sent,
            "rtcp_received": self.rtcp.reports_received,
            "srtp": self.srtp is not None,
            **(self.srtp.stats() if self.srtp is not None else {}),
        }

    async def close(self) -> None:
        """Send RTCP BYE, end pending plays and digit sends, free the ports."""
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            self._send_rtcp(time.monotonic(), bye=True)
        self.outbound.cancel_all()
        self.pool.release(self)
        for transport in (self._rtp_transport, self._rtcp_transport):
            if transport is not None:
                transport.close()
        await asyncio.sleep(0)
