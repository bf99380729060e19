"""Voicelane as the provider toward a customer's bot: one call streamed to a ``ws(s)://`` URL.

The media node connects to the bot and plays the provider's side of the dialect (Twilio,
Telnyx, Plivo or ours, through the dialect's :class:`~.frames.ProviderSide`): ``connected`` and
``start`` (with the app's custom parameters), then the caller's audio as 20 ms media messages
(and, for a one-way ``both`` fork, what the call plays to the caller as the outbound track),
the caller's digits, and ``stop`` when the stream ends. A bidirectional stream plays the bot's
media to the caller through the transport's :class:`~voicelane_media.agent.leg.MediaLeg` (the
same path an agent's speech takes, so recording and barge-in accounting are the agent's), echoes
each of the bot's marks once the audio queued before it has been played to the caller, and
honours ``clear`` (playout stops at once; pending marks are echoed, as Twilio does).

A connection that drops (not a clean close by the bot) is retried within a small budget,
each time with a fresh ``connected``/``start``; then the stream has failed and the call goes on
or hangs up as its spec says. What happened is reported as ``call.streaming.started``,
``call.streaming.stopped`` (reason) and ``call.streaming.failed`` (reason, attempts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from voicelane.domain.stream import StreamSpec, StreamTracks, redacted_url
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, ConnectionClosedOK, WebSocketException

from voicelane_media.agent.frames import DTMF
from voicelane_media.agent.leg import MediaLeg
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.resample import resample_pcm16
from voicelane_media.transports.base import CallEvents, Transport

from . import dialect_for
from .frames import (
    MAX_MESSAGE_BYTES,
    ProviderSide,
    StreamClear,
    StreamMark,
    StreamMedia,
    StreamProtocolError,
    StreamStart,
)
from .transport import decode, encode

log = logging.getLogger(__name__)

RETRY_DELAYS_S = (0.5, 1.0)  # the reconnect budget: two more attempts after a drop
CONNECT_TIMEOUT_S = 5.0
MAX_BAD_MESSAGES = 50  # the bot's malformed messages before the stream is given up
MAX_QUEUED_MESSAGES = 500  # 10 s of outbound media; beyond it media is dropped and counted
FRAME_MS = 20

UrlGuard = Callable[[str], Awaitable[None]]


class StreamFailed(Exception):
    """The stream cannot go on (``reason`` says why); not retried."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass
class BotStreamStats:
    """Counted, for the call's quality record and the tests."""

    sent_media: int = 0
    received_media: int = 0
    dropped_media: int = 0  # outbound media over the queue bound, or bot media on a one-way fork
    bad_messages: int = 0
    marks_echoed: int = 0
    clears: int = 0
    cleared_ms: float = 0.0  # of the bot's audio queued for the caller and dropped by clears
    attempts: int = 0


class BotStream:
    """One stream of one call to one bot; :meth:`run` until it stops, fails or the call ends."""

    def __init__(self, call: CallEvents, transport: Transport, spec: StreamSpec,
                 stream_id: str, guard: UrlGuard) -> None:
        self.call = call
        self.transport = transport
        self.spec = spec
        self.stream_id = stream_id
        self.guard = guard
        rate = spec.sample_rate if spec.dialect == "websocket" else None
        self.dialect = dialect_for(str(spec.dialect), rate)
        self.rate = self.dialect.sample_rate
        tracks = ("inbound", "outbound") if spec.tracks == StreamTracks.BOTH else ("inbound",)
        self.start_frame = StreamStart(stream_id, call.call_id, self.dialect.encoding, self.rate,
                                       tracks, dict(spec.custom_parameters))
        self.leg: MediaLeg = transport.media_leg()
        self.stats = BotStreamStats()
        self.stopping: str | None = None  # why this side ends the stream
        self._stop = asyncio.Event()
        self._queued_ms = 0.0  # of the bot's audio handed to the leg (reset by a clear)
        # The bot's audio short of a whole 20 ms frame, held for its next media message: the
        # leg plays each piece it is given from a frame boundary and pads the last frame, so
        # messages of any other length (Pipecat's at a 24 kHz pipeline: 1100 samples) would
        # each gain a few ms of silence: a click per message and a playout falling behind.
        self._partial = b""
        self._last_media_at = 0.0
        self._marks: list[tuple[str, float]] = []  # (name, position in queued ms)

    # -- control --------------------------------------------------------------------------
    def stop(self, reason: str = "stream_stop") -> None:
        """End the stream from this side (a ``stream_stop`` command, the call's end)."""
        self.stopping = self.stopping or reason
        self._stop.set()

    async def run(self) -> None:
        """Connect (and reconnect within the budget) until stopped; report each outcome."""
        started = False
        delays = iter(RETRY_DELAYS_S)
        while True:
            self.stats.attempts += 1
            try:
                outcome = await self._attempt(announce=not started)
                started = True
            except StreamFailed as exc:  # refused URL, too many bad messages: no retry
                await self._failed(exc.reason)
                return
            except (OSError, TimeoutError, WebSocketException) as exc:
                # never reached at all, or reached once and lost
                outcome = "bot_unreachable" if started else "connect_failed"
                log.info("stream %s of %s: %s (%s)", self.stream_id, self.call.call_id,
                         outcome, exc)
            if outcome in ("stream_stop", "call_ended", "bot_closed"):
                await self.call.record_event("call.streaming.stopped", {
                    "stream_id": self.stream_id, "reason": self.stopping or outcome,
                    **self._figures()})
                if outcome == "bot_closed" and self.spec.hangs_up_on_failure:
                    await self._end_call("stream_ended")
                return
            delay = next(delays, None)
            if delay is None or self._stop.is_set() or self.call.finished:
                await self._failed(outcome)
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), delay)

    async def _failed(self, reason: str) -> None:
        if self.call.finished or self._stop.is_set():
            await self.call.record_event("call.streaming.stopped", {
                "stream_id": self.stream_id, "reason": self.stopping or "call_ended",
                **self._figures()})
            return
        await self.call.record_event("call.streaming.failed", {
            "stream_id": self.stream_id, "reason": reason, "attempts": self.stats.attempts,
            **self._figures()})
        if self.spec.hangs_up_on_failure:
            await self._end_call("stream_failed")

    async def _end_call(self, reason: str) -> None:
        if not self.call.finished:
            await self.call.hangup(reason)

    def _figures(self) -> dict[str, Any]:
        s = self.stats
        return {"sent_media": s.sent_media, "received_media": s.received_media,
                "dropped_media": s.dropped_media, "bad_messages": s.bad_messages,
                "clears": s.clears, "cleared_ms": round(s.cleared_ms)}

    # -- one connection -------------------------------------------------------------------
    async def _attempt(self, *, announce: bool) -> str:
        try:
            await self.guard(self.spec.url)
        except ValueError as exc:  # the SSRF guard (ValidationFailed is a ValueError)
            log.warning("stream %s refused: %s", self.stream_id, exc)
            raise StreamFailed("url_not_allowed") from exc
        async with connect(self.spec.url, open_timeout=CONNECT_TIMEOUT_S,
                           max_size=MAX_MESSAGE_BYTES, compression=None) as ws:
            side = self.dialect.provider_side(self.start_frame)
            outbox: asyncio.Queue[str | bytes] = asyncio.Queue()
            for opening in (side.connected(), side.start()):
                if opening is not None:
                    await ws.send(opening)
            if announce:
                self.call.spawn(self.call.record_event("call.streaming.started", {
                    "stream_id": self.stream_id, "url": redacted_url(self.spec.url),
                    "dialect": str(self.spec.dialect), "bidirectional": self.spec.bidirectional,
                    "tracks": str(self.spec.tracks)}))
            return await self._converse(ws, side, outbox)

    async def _converse(self, ws: ClientConnection, side: ProviderSide,
                        outbox: asyncio.Queue[str | bytes]) -> str:
        clock = {"inbound": 0, "outbound": 0}

        def media(pcm: Int16Array, track: str) -> None:
            if outbox.qsize() >= MAX_QUEUED_MESSAGES:
                self.stats.dropped_media += 1
                return
            payload = encode(self.dialect.encoding, pcm)
            outbox.put_nowait(side.media(payload, timestamp_ms=clock[track], track=track))
            clock[track] += FRAME_MS
            self.stats.sent_media += 1

        def outbound_tap(pcm: Int16Array) -> None:
            media(self._to_stream(pcm, self.transport.sample_rate), "outbound")

        tasks = [asyncio.ensure_future(self._pump_caller(side, outbox, media)),
                 asyncio.ensure_future(self._send(ws, outbox)),
                 asyncio.ensure_future(self._watch_marks(outbox, side))]
        reader = asyncio.ensure_future(self._read(ws, side, outbox))
        stopped = asyncio.ensure_future(self._stop.wait())
        ended = asyncio.ensure_future(self.call.ended.wait())
        if self.spec.tracks == StreamTracks.BOTH:
            self.transport.add_playout_tap(outbound_tap)
        try:
            done, _ = await asyncio.wait({reader, stopped, ended, *tasks},
                                         return_when=asyncio.FIRST_COMPLETED)
            if reader in done:
                return reader.result()  # bot_closed / bot_unreachable, or StreamFailed
            for task in tasks:
                failure = task.exception() if task in done else None
                if failure is not None:
                    raise failure  # the socket failed under the sender
            outcome = "stream_stop" if stopped in done else "call_ended"
            self.stopping = self.stopping or outcome
            await self._say_stop(ws, side, outbox, tasks[1])
            return outcome
        finally:
            if self.spec.tracks == StreamTracks.BOTH:
                self.transport.remove_playout_tap(outbound_tap)
            for helper in (*tasks, reader, stopped, ended):
                helper.cancel()
            await asyncio.gather(*tasks, reader, stopped, ended, return_exceptions=True)

    async def _say_stop(self, ws: ClientConnection, side: ProviderSide,
                        outbox: asyncio.Queue[str | bytes], sender: asyncio.Task[None]) -> None:
        """What is queued, then ``stop``, then a clean close."""
        sender.cancel()
        with contextlib.suppress(ConnectionClosed, TimeoutError, asyncio.CancelledError):
            async with asyncio.timeout(2.0):
                while not outbox.empty():
                    await ws.send(outbox.get_nowait())
                await ws.send(side.stop("stream_stop"))
                await ws.close(1000, "stream stopped")

    async def _send(self, ws: ClientConnection, outbox: asyncio.Queue[str | bytes]) -> None:
        while True:
            await ws.send(await outbox.get())

    async def _pump_caller(self, side: ProviderSide, outbox: asyncio.Queue[str | bytes],
                           media: Callable[[Int16Array, str], None]) -> None:
        leg_rate = self.leg.sample_rate
        async for item in self.leg.inbound():
            if isinstance(item, DTMF):
                with contextlib.suppress(StreamProtocolError):
                    outbox.put_nowait(side.dtmf(item.digit))
                continue
            pcm: Int16Array = np.frombuffer(item.pcm, dtype="<i2").astype(np.int16)
            media(self._to_stream(pcm, leg_rate), "inbound")
        await asyncio.Event().wait()  # the call's end is watched by the caller of this task

    def _to_stream(self, pcm: Int16Array, rate: int) -> Int16Array:
        if rate == self.rate:
            return pcm
        data = resample_pcm16(pcm.astype("<i2").tobytes(), rate, self.rate)
        return np.frombuffer(data, dtype="<i2").astype(np.int16)

    # -- what the bot sends ---------------------------------------------------------------
    async def _read(self, ws: ClientConnection, side: ProviderSide,
                    outbox: asyncio.Queue[str | bytes]) -> str:
        try:
            async for message in ws:
                try:
                    frame = side.parse_bot(message)
                except StreamProtocolError as exc:
                    self.stats.bad_messages += 1
                    log.info("stream %s: bad bot message (%s)", self.stream_id, exc.code)
                    if self.stats.bad_messages >= MAX_BAD_MESSAGES:
                        await ws.close(1008, "too many malformed messages")
                        raise StreamFailed("bot_protocol_error") from exc
                    continue
                await self._on_bot(frame, side, outbox)
        except ConnectionClosedOK:
            return "bot_closed"
        except ConnectionClosed:
            return "bot_unreachable"
        return "bot_closed"

    async def _on_bot(self, frame: object, side: ProviderSide,
                      outbox: asyncio.Queue[str | bytes]) -> None:
        if isinstance(frame, StreamMedia):
            self.stats.received_media += 1
            if not self.spec.bidirectional:
                self.stats.dropped_media += 1  # a listen-only fork plays nothing
                return
            pcm = decode(self.dialect.encoding, frame.payload)
            data = pcm.astype("<i2").tobytes()
            if self.rate != self.leg.sample_rate:
                data = resample_pcm16(data, self.rate, self.leg.sample_rate)
            self._last_media_at = asyncio.get_running_loop().time()
            data = self._partial + data
            whole = len(data) // self._frame_bytes * self._frame_bytes
            self._partial = data[whole:]
            await self._play(data[:whole])
        elif isinstance(frame, StreamMark):
            await self._flush_partial()  # the mark comes after all the audio before it
            self._marks.append((frame.name, self._queued_ms))
        elif isinstance(frame, StreamClear):
            self.stats.clears += 1
            self._partial = b""
            heard = await self.leg.clear()
            self.stats.cleared_ms += max(0.0, self._queued_ms - heard)
            self._queued_ms = heard
            for name, _ in self._marks:  # dropped audio: its marks are echoed at once
                outbox.put_nowait(side.mark(name))
                self.stats.marks_echoed += 1
            self._marks.clear()
            cleared = side.cleared()
            if cleared is not None:
                outbox.put_nowait(cleared)

    @property
    def _frame_bytes(self) -> int:
        return self.leg.sample_rate * FRAME_MS // 1000 * 2

    async def _play(self, data: bytes) -> None:
        if not data:
            return
        self._queued_ms = max(self._queued_ms, self.leg.played_ms())
        self._queued_ms += len(data) / 2 / self.leg.sample_rate * 1000.0
        await self.leg.send_audio(data)

    async def _flush_partial(self) -> None:
        """Play the held tail now (the leg pads it to a frame): the bot paused or marked."""
        data, self._partial = self._partial, b""
        await self._play(data)

    async def _watch_marks(self, outbox: asyncio.Queue[str | bytes], side: ProviderSide) -> None:
        """Echo each mark once the caller has heard the audio queued before it; play a held
        tail once it is all that is left to play and the bot has sent nothing after it for a
        few frames (the end of a turn)."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(FRAME_MS / 1000)
            if (self._partial and loop.time() - self._last_media_at > 3 * FRAME_MS / 1000
                    and self.leg.played_ms() >= self._queued_ms - FRAME_MS):
                await self._flush_partial()  # nothing else is left to play
            if not self._marks:
                continue
            played = self.leg.played_ms()
            while self._marks and self._marks[0][1] <= played + 1.0:
                name, _ = self._marks.pop(0)
                outbox.put_nowait(side.mark(name))
                self.stats.marks_echoed += 1
