"""One call on one WebSocket media stream (a ``transports.base.Transport``).

The endpoint (``endpoint.py``) accepts the socket, authenticates it and claims the session's
call; this transport then carries the call: caller audio decoded from the dialect's codec to
PCM16 at its native rate (taps, the agent leg), digits to the call, mark echoes to the
playout (``playout.py``), and ``stop`` or a closed socket as the caller's hangup. Hangup is a
close; hold and sending digits do not exist on a stream and say so (a transfer dials and bridges).

Bad input never crashes the node or leaves the call stuck: a malformed or unknown message is
a counted drop (the connection closes after ``MAX_BAD_MESSAGES``); binary on a JSON dialect,
an oversize frame or a wrong codec closes the stream with a code and a reason, and the call
ends with ``stream_protocol_error``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import MutableMapping
from typing import Any, Protocol

import numpy as np
from voicelane.domain.call import CallStatus

from voicelane_media.codecs.g711 import (
    Int16Array,
    pcm_from_pcma,
    pcm_from_pcmu,
    pcma_from_pcm,
    pcmu_from_pcm,
)
from voicelane_media.transports.audio_taps import AudioTaps
from voicelane_media.transports.base import (
    Ending,
    Referral,
)
from voicelane_media.transports.paced_media import PacedMedia
from voicelane_media.transports.playout import Playout

from .frames import (
    Dialect,
    StreamConnected,
    StreamDtmf,
    StreamMark,
    StreamMedia,
    StreamProtocolError,
    StreamStart,
    StreamStop,
)
from .telnyx import Reorderer

log = logging.getLogger(__name__)
MAX_BAD_MESSAGES = 50
# close codes (RFC 6455 and the 4000-4999 private range)
CLOSE_NORMAL = 1000
CLOSE_UNSUPPORTED = 1003
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
FATAL_CODES = {"binary_not_expected": CLOSE_UNSUPPORTED, "text_not_expected": CLOSE_UNSUPPORTED,
               "frame_too_large": CLOSE_TOO_BIG, "wrong_codec": CLOSE_UNSUPPORTED}


class StreamSocket(Protocol):
    """What the transport needs of a WebSocket (Starlette's ``WebSocket`` is one)."""

    async def send_text(self, data: str) -> None: ...

    async def send_bytes(self, data: bytes) -> None: ...

    async def receive(self) -> MutableMapping[str, Any]: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


def decode(encoding: str, payload: bytes) -> Int16Array:
    """Codec bytes -> PCM16 (L16 little-endian, see the dialects)."""
    if encoding == "pcmu":
        return pcm_from_pcmu(payload)
    if encoding == "pcma":
        return pcm_from_pcma(payload)
    return np.frombuffer(payload[: len(payload) // 2 * 2], dtype="<i2").astype(np.int16)


def encode(encoding: str, pcm: Int16Array) -> bytes:
    if encoding == "pcmu":
        return pcmu_from_pcm(pcm)
    if encoding == "pcma":
        return pcma_from_pcm(pcm)
    return pcm.astype("<i2").tobytes()


class WsTransport(PacedMedia):
    """A call's media stream on one accepted, authenticated WebSocket."""

    what = "a media stream"

    def __init__(self, socket: StreamSocket, dialect: Dialect, start: StreamStart | None,
                 stream_id: str) -> None:
        self._init_media()
        self.socket = socket
        self.dialect = dialect
        self.start = start
        self.stream_id = start.stream_id if start is not None else stream_id
        self.encoding = start.encoding if start is not None else dialect.encoding
        self.sample_rate = start.sample_rate if start is not None else dialect.sample_rate
        self.canceled = asyncio.Event()
        self.closed = False
        self.close_code: int | None = None
        self.close_reason: str | None = None
        self.playout = Playout(self.sample_rate, self._send_frame, self._send_mark)
        self.caller_taps = AudioTaps(self.sample_rate)
        self._send_lock = asyncio.Lock()
        self._tasks: list[asyncio.Task[None]] = []
        # Telnyx: "media frame order is not guaranteed"; the others arrive in order
        self._reorder = Reorderer() if dialect.name == "telnyx" else None
        self.failure: str | None = None  # why this side closed the stream on bad input
        self.bad_messages = 0
        self.dtmf_in = 0

    # -- binding and state ----------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return not self.closed

    # -- set-up: the stream is already connected when the call exists --------------------

    async def answer(self) -> Ending | None:
        """Start reading and pacing; the stream is the answered call."""
        if self.closed:
            return Ending(CallStatus.FAILED, "hangup_by_caller")
        if not self._tasks:
            self._tasks = [asyncio.ensure_future(self._read()),
                           asyncio.ensure_future(self._pace())]
        return None

    async def reject(self, reason: str) -> int:
        await self._close(CLOSE_POLICY, f"rejected: {reason}"[:120])
        return CLOSE_POLICY

    async def dial(self) -> Ending | None:
        raise RuntimeError("a media stream is connected by its provider, never dialled")

    async def hangup(self, reason: str) -> None:
        await self._close(CLOSE_NORMAL, reason[:120])

    async def hold(self, held: bool) -> dict[str, Any] | None:
        return {"error": "not_supported", "message": "hold is not supported on a media stream"}

    async def refer(self, to: str) -> Referral | None:
        return None  # a stream has no REFER: the call dials the target and bridges

    async def send_dtmf(self, digits: str) -> None:
        raise ValueError("a media stream cannot send DTMF toward the caller")

    # -- reading --------------------------------------------------------------------------

    async def _read(self) -> None:
        try:
            while not self.closed:
                message = await self.socket.receive()
                if message.get("type") == "websocket.disconnect":
                    self.close_code = int(message.get("code") or CLOSE_NORMAL)
                    self.closed = True
                    break
                data = message.get("text")
                if data is None:
                    data = message.get("bytes") or b""
                await self._handle(data)
        except Exception as exc:  # a broken socket is the caller going away
            if not self.closed:
                log.info("stream %s read ended: %r", self.stream_id, exc)
            self.closed = True
        if self._events is None or self.events.finished:
            return
        if self.failure is not None:
            await self.events.hangup("stream_protocol_error")
        else:
            self.events.remote_hangup()

    async def _handle(self, data: str | bytes) -> None:
        try:
            frame = self.dialect.parse(data)
        except StreamProtocolError as exc:
            code = FATAL_CODES.get(exc.code)
            if code is not None:
                await self._fail(code, exc.code)
                return
            await self._drop()
            return
        except Exception:  # a dialect's bug is a dropped message too, never a dead stream
            log.exception("stream %s: the %s dialect failed on a message", self.stream_id,
                          self.dialect.name)
            await self._drop()
            return
        if isinstance(frame, StreamMedia):
            if frame.track not in ("inbound", "inbound_track"):
                return
            for media in self._reorder.push(frame) if self._reorder else [frame]:
                self.caller_taps.feed(decode(self.encoding, media.payload))
        elif isinstance(frame, StreamDtmf):
            self.dtmf_in += 1
            self._deliver_digit(frame.digit)
        elif isinstance(frame, StreamMark):
            self.playout.mark_echoed(frame.name, asyncio.get_running_loop().time())
        elif isinstance(frame, StreamStop):
            self.closed = True
            await self._close(CLOSE_NORMAL, "stream stopped")
        elif isinstance(frame, StreamStart | StreamConnected) or frame is None:
            return  # a repeated start (ours is optional), or nothing for the call

    async def _drop(self) -> None:
        self.bad_messages += 1
        if self.bad_messages > MAX_BAD_MESSAGES:
            await self._fail(CLOSE_POLICY, "too_many_bad_messages")

    async def _fail(self, code: int, reason: str) -> None:
        log.info("stream %s closed: %s", self.stream_id, reason)
        self.failure = reason
        await self._close(code, reason)

    # -- sending --------------------------------------------------------------------------

    async def _pace(self) -> None:
        try:
            await self.playout.run()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the socket went away under the sender
            log.info("stream %s send ended: %r", self.stream_id, exc)
            self.closed = True
            if self._events is not None and not self.events.finished:
                self.events.remote_hangup()

    async def _send(self, message: str | bytes) -> None:
        if self.closed:
            raise ConnectionError("the stream is closed")
        async with self._send_lock:
            if isinstance(message, bytes):
                await self.socket.send_bytes(message)
            else:
                await self.socket.send_text(message)

    async def _send_frame(self, pcm: Int16Array) -> None:
        await self._send(self.dialect.media(self.stream_id, encode(self.encoding, pcm)))

    async def _send_mark(self, name: str) -> None:
        await self._send(self.dialect.mark(self.stream_id, name))

    async def _clear_far_end(self) -> None:
        """The dialect's clear: the provider drops the audio it buffered."""
        with contextlib.suppress(ConnectionError, RuntimeError):
            await self._send(self.dialect.clear(self.stream_id))

    def _clear_far_end_soon(self) -> None:
        self._tasks.append(asyncio.ensure_future(self._clear_far_end()))

    def stats(self) -> dict[str, Any]:
        return {"transport": "websocket", "dialect": self.dialect.name,
                "codec": self.encoding, "sample_rate": self.sample_rate,
                "frames_in": self.caller_taps.frames, "bad_messages": self.bad_messages,
                "dtmf_in": self.dtmf_in,
                "reordered_dropped": self._reorder.dropped if self._reorder else 0,
                "close_code": self.close_code,
                "close_reason": self.close_reason, **self.playout.stats()}

    async def _close(self, code: int, reason: str) -> None:
        if self.close_code is None:
            self.close_code, self.close_reason = code, reason
        self.closed = True
        with contextlib.suppress(Exception):  # already closed by the peer
            await self.socket.close(code, reason)

    async def close(self) -> None:
        reason = self._events.hangup_reason if self._events is not None else None
        await self._close(CLOSE_NORMAL, (reason or "hangup")[:120])
        for task in self._tasks:
            if task is not asyncio.current_task():
                task.cancel()
        await asyncio.gather(*(t for t in self._tasks if t is not asyncio.current_task()),
                             return_exceptions=True)
