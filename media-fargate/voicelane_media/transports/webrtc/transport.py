"""One call on one WebRTC peer connection (a ``transports.base.Transport``), over aiortc.

aiortc does ICE, DTLS-SRTP and Opus; this transport carries the call on top of it, the way
``ws/transport.py`` does on a socket: the caller's track decoded to mono PCM16 at 48 kHz in
20 ms frames (taps, the agent leg), and toward the caller the shared paced playout
(``transports/playout.py``, sending silence when idle so the outbound track keeps a steady clock)
feeding :class:`PlayoutTrack`, which aiortc pulls from and encodes. WebRTC has no marks: a
segment counts as heard once its last frame went to the encoder (as on RTP).

The call is answered once the peer connection is ``connected`` (ICE and DTLS done), so the
greeting never plays into a connection that is not up; no connection within
``connect_timeout_s`` fails the call ``webrtc_connect_failed``. A closed or failed connection,
an ended remote track or the signalling DELETE is the caller's hangup; hanging up from this
side closes the connection (DTLS close_notify).

A browser that opens a data channel labelled ``events`` gets the call's progress on it as JSON
(``notify``: a phone leg dialling, answered, ended) and may send ``{"type": "dtmf", "digits"}``
on it (the call's ``call.dtmf.received``): RFC 4733 telephone-event is not negotiated, since
aiortc's sender cannot send it. Digits toward the browser are played in-band (DTMF tones).
Hold stops both directions: the browser hears silence and its audio is dropped (counted).
A transfer dials the target and bridges it (``calls/transfer.py``): a browser has no REFER.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import numpy as np
from aiortc import MediaStreamTrack, RTCPeerConnection
from aiortc.mediastreams import MediaStreamError
from voicelane.domain.call import CallStatus
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.resample import resample_pcm16
from voicelane_media.transports.audio_taps import AudioTaps
from voicelane_media.transports.base import (
    Ending,
    Referral,
)
from voicelane_media.transports.paced_media import PacedMedia
from voicelane_media.transports.playout import Playout

from .audio import RATE, audio_frame, dtmf_tones, mono_pcm

log = logging.getLogger(__name__)
MAX_QUEUED_OUT = 10  # 200 ms between the playout clock and aiortc's sender
MAX_NOTES = 32  # progress messages kept for a data channel that is not open yet
EVENTS_CHANNEL = "events"


class PlayoutTrack(MediaStreamTrack):
    """The outbound audio track: frames pushed by the playout clock, pulled by aiortc."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._frames: asyncio.Queue[Int16Array] = asyncio.Queue(MAX_QUEUED_OUT)
        self._pts = 0
        self.dropped = 0  # frames aiortc did not pull in time (a stalled sender)

    def push(self, pcm: Int16Array) -> None:
        if self._frames.full():
            self._frames.get_nowait()
            self.dropped += 1
        self._frames.put_nowait(pcm)

    async def recv(self) -> Any:
        if self.readyState != "live":
            raise MediaStreamError
        pcm = await self._frames.get()
        frame = audio_frame(pcm, self._pts)
        self._pts += int(pcm.shape[0])
        return frame


class WebRtcTransport(PacedMedia):
    """A call's media on one negotiated RTCPeerConnection."""

    sample_rate = RATE
    what = "a WebRTC leg"

    def __init__(self, pc: RTCPeerConnection, session_id: str, connect_timeout_s: float) -> None:
        self._init_media()
        self.pc = pc
        self.session_id = session_id
        self.connect_timeout_s = connect_timeout_s
        self.canceled = asyncio.Event()
        self.closed = False
        self.outbound = PlayoutTrack()
        self.playout = Playout(RATE, self._send_frame, self._send_mark, send_idle=True)
        self._remote: MediaStreamTrack | None = None
        self._connected = asyncio.Event()
        self._gone = asyncio.Event()  # failed or closed (before or after connecting)
        self.caller_taps = AudioTaps(RATE)
        self._tasks: list[asyncio.Task[None]] = []
        self.resampled_in = 0
        self.end_cause: str | None = None  # why the connection ended from the far side
        self.on_gone: Callable[[], None] | None = None  # also told when the far end goes
        self.held = False
        self.held_frames_in = 0  # the browser's frames dropped while held
        self.bad_messages = 0  # data-channel messages that were not a known JSON message
        self._channel: Any = None
        self._notes: list[str] = []
        pc.on("track", self._on_track)
        pc.on("connectionstatechange", self._on_state)
        pc.on("datachannel", self._on_channel)

    def _on_track(self, track: MediaStreamTrack) -> None:
        if track.kind == "audio" and self._remote is None:
            self._remote = track

    def _on_channel(self, channel: Any) -> None:
        if channel.label != EVENTS_CHANNEL:
            return
        self._channel = channel
        channel.on("open", self._flush_notes)
        channel.on("message", self._on_message)
        if channel.readyState == "open":
            self._flush_notes()

    def _flush_notes(self) -> None:
        notes, self._notes = self._notes, []
        for text in notes:
            self._send_note(text)

    def _send_note(self, text: str) -> None:
        with contextlib.suppress(Exception):  # a channel closing under us
            self._channel.send(text)

    def notify(self, message: dict[str, Any]) -> None:
        """Tell the browser about its call (JSON on the ``events`` data channel, if any)."""
        text = json.dumps(message, separators=(",", ":"))
        if self._channel is not None and self._channel.readyState == "open":
            self._send_note(text)
        else:
            self._notes = [*self._notes, text][-MAX_NOTES:]

    def _on_message(self, message: Any) -> None:
        try:
            data = json.loads(message) if isinstance(message, str) else None
            digits = str(data["digits"]) if data and data.get("type") == "dtmf" else None
        except (ValueError, KeyError, TypeError):
            digits = None
        if not digits or len(digits) > 32 or any(d not in "0123456789*#ABCD" for d in digits):
            self.bad_messages += 1
            return
        for digit in digits:
            self._deliver_digit(digit)

    def _on_state(self) -> None:
        state = self.pc.connectionState
        if state == "connected" and not self._connected.is_set():
            self._connected.set()
        elif state in ("failed", "closed"):
            self._gone.set()
            if not self.closed:  # not our own close: the far end went away
                self.end_cause = self.end_cause or f"connection_{state}"
                self._far_end_gone()

    # -- binding and state ----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._connected.is_set() and not self.closed

    # -- set-up ---------------------------------------------------------------------------

    async def answer(self) -> Ending | None:
        """Wait for ICE and DTLS; then read the caller's track and start the playout."""
        waiters = [asyncio.ensure_future(self._connected.wait()),
                   asyncio.ensure_future(self._gone.wait())]
        await asyncio.wait(waiters, timeout=self.connect_timeout_s,
                           return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        if not self._connected.is_set() or self.closed or self._gone.is_set():
            self.end_cause = self.end_cause or "connect_timeout"
            await self._close_pc()
            return Ending(CallStatus.FAILED, "webrtc_connect_failed")
        if not self._tasks:
            self._tasks = [asyncio.ensure_future(self._read()),
                           asyncio.ensure_future(self.playout.run())]
        return None

    async def reject(self, reason: str) -> int:
        await self._close_pc()
        return 603

    async def dial(self) -> Ending | None:
        raise RuntimeError("a browser connects to its session; a WebRTC leg is never dialled")

    async def hangup(self, reason: str) -> None:
        await self._close_pc()

    async def hold(self, held: bool) -> dict[str, Any] | None:
        """Hold: the browser hears silence (no live source, no playback sent) and its audio
        is dropped; resume restores both. The peer connection stays up (no renegotiation)."""
        self.held = held
        self.notify({"type": "hold" if held else "unhold"})
        return None

    async def refer(self, to: str) -> Referral | None:
        return None  # a browser has no REFER: the call dials the target and bridges

    async def send_dtmf(self, digits: str) -> None:
        """In-band DTMF tones toward the browser (ValueError for a key that is not DTMF)."""
        tones = dtmf_tones(digits)
        if not self.closed and tones.shape[0]:
            await self.playout.enqueue(tones, agent=False).done

    def remote_delete(self) -> None:
        """The signalling DELETE: the browser hung up."""
        self.end_cause = self.end_cause or "delete"
        self._far_end_gone()

    def _far_end_gone(self) -> None:
        self.closed = True
        if self._events is not None and not self.events.finished:
            self.events.remote_hangup()
        if self.on_gone is not None:
            on_gone, self.on_gone = self.on_gone, None
            on_gone()

    # -- reading --------------------------------------------------------------------------

    async def _read(self) -> None:
        track = self._remote
        if track is None:  # an offer we accepted always has audio; a peer that sent none
            return
        try:
            while not self.closed:
                frame = await track.recv()
                pcm = mono_pcm(frame)  # type: ignore[arg-type]
                if frame.sample_rate != RATE:  # type: ignore[union-attr]
                    self.resampled_in += 1  # not Opus: never negotiated, kept safe anyway
                    data = resample_pcm16(pcm.tobytes(), int(frame.sample_rate), RATE)  # type: ignore[union-attr]
                    pcm = np.frombuffer(data, dtype="<i2").astype(np.int16)
                if self.held:
                    self.held_frames_in += 1
                    continue
                self.caller_taps.feed(pcm)
        except MediaStreamError:
            self.end_cause = self.end_cause or "track_ended"
            self._far_end_gone()
        except Exception:  # a decoding bug is the end of this leg, never of the node
            log.exception("webrtc %s: reading the caller's track failed", self.session_id)
            self._far_end_gone()

    # -- sending --------------------------------------------------------------------------

    async def _send_frame(self, pcm: Int16Array) -> None:
        self.outbound.push(np.zeros_like(pcm) if self.held else pcm)

    async def _send_mark(self, name: str) -> None:
        self.playout.mark_echoed(name, asyncio.get_running_loop().time())

    def stats(self) -> dict[str, Any]:
        return {"transport": "webrtc", "codec": "opus", "sample_rate": RATE,
                "frames_in": self.caller_taps.frames, "out_dropped": self.outbound.dropped,
                "resampled_in": self.resampled_in, "end_cause": self.end_cause,
                "held_frames_in": self.held_frames_in, "bad_messages": self.bad_messages,
                **self.playout.stats()}

    async def _close_pc(self) -> None:
        self.closed = True
        self.outbound.stop()
        with contextlib.suppress(Exception):  # already closed
            await self.pc.close()

    async def close(self) -> None:
        await self._close_pc()
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        await asyncio.gather(*(t for t in self._tasks if t is not asyncio.current_task()),
                             return_exceptions=True)
