"""The provider's side of a media stream on a real socket (the ``websockets`` library), in any
dialect (its ``provider_side``): it sends what the provider sends (connected, start, 20 ms
audio frames in real time, dtmf, stop), plays what it receives on its own clock and echoes
each mark once the audio before it has played (every pending mark at a clear, as Twilio does).

The dev harness's stand-in for Twilio, Telnyx or Plivo: ``voicelane demo`` streams a call with
it, and the WebSocket media tests drive the media node with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.transports.ws import dialect_for
from voicelane_media.transports.ws.frames import (
    StreamClear,
    StreamMark,
    StreamMedia,
    StreamProtocolError,
    StreamStart,
)
from voicelane_media.transports.ws.transport import decode, encode
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

STREAM_ID = "MZ" + "a" * 32


@dataclass
class Heard:
    """What the provider received."""

    media_frames: int = 0
    audio: list[Int16Array] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)
    marks_after_media: int = 0  # marks that followed at least one media frame
    clears: int = 0
    echoed: list[str] = field(default_factory=list)
    unparsed: int = 0
    close_code: int | None = None
    close_reason: str | None = None


class StreamPeer:
    """One stream as a provider runs it, against ``url``."""

    def __init__(self, url: str, connection_type: str = "twilio", *, sample_rate: int = 8000,
                 token: str | None = None) -> None:
        self.url = url
        self.connection_type = connection_type
        self.sample_rate = sample_rate
        encoding: Any = "l16" if connection_type == "websocket" else "pcmu"
        self.encoding = encoding
        params = {"token": token} if token else {}
        self.start_frame = StreamStart(stream_id=STREAM_ID, call_ref="CA" + "1" * 32,
                                       encoding=encoding, sample_rate=sample_rate,
                                       custom_parameters=params)
        dialect = dialect_for(connection_type,
                              sample_rate if connection_type == "websocket" else None)
        self.side = dialect.provider_side(self.start_frame)
        self.heard = Heard()
        self._pending: list[tuple[float, str]] = []  # (played-out time, mark)
        self._ms = 0
        self._clock = 0.0  # when the audio received so far has played out
        self._ws: ClientConnection | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> StreamPeer:
        self._ws = await connect(self.url, max_size=2**22, open_timeout=10)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.ws.close()
        await self.closed(5)

    async def closed(self, timeout_s: float) -> None:
        assert self._reader is not None
        await asyncio.wait({self._reader}, timeout=timeout_s)

    @property
    def ws(self) -> ClientConnection:
        assert self._ws is not None
        return self._ws

    async def send(self, message: str | bytes) -> None:
        await self.ws.send(message)

    async def begin(self) -> None:
        # a client of ours sends start (optional) and audio; `connected` is the provider's
        connected = None if self.connection_type == "websocket" else self.side.connected()
        if connected is not None:
            await self.send(connected)
        await self.send(self.side.start())

    async def dtmf(self, digit: str) -> None:
        await self.send(self.side.dtmf(digit))

    async def stop(self) -> None:
        await self.send(self.side.stop())

    async def stream(self, pcm: Int16Array) -> None:
        """Send ``pcm`` (at ``sample_rate``) as 20 ms frames in real time."""
        size = self.sample_rate // 50
        started = time.monotonic()
        for n, i in enumerate(range(0, pcm.shape[0] - size + 1, size)):
            self._ms += 20
            try:
                await self.send(self.side.media(encode(self.encoding, pcm[i : i + size]),
                                                timestamp_ms=self._ms))
            except ConnectionClosed:
                return
            await asyncio.sleep(max(0.0, started + (n + 1) * 0.02 - time.monotonic()))
            await self._play_out()

    async def silence(self, ms: int) -> None:
        await self.stream(np.zeros(self.sample_rate * ms // 1000, dtype=np.int16))

    def playing(self) -> bool:
        """Whether audio received is still playing, or a mark still waits for its echo."""
        return bool(self._pending) or time.monotonic() < self._clock

    async def until_played(self, *, after_frames: int = 0, timeout_s: float = 20.0,
                           quiet_ms: int = 600) -> bool:
        """Stream silence until more than ``after_frames`` media frames have arrived, all of it
        has played and every mark is echoed, then ``quiet_ms`` passed without new audio; False
        at ``timeout_s`` or if the stream closed."""
        deadline = time.monotonic() + timeout_s
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            if self._reader is not None and self._reader.done():
                return False
            if self.heard.media_frames <= after_frames or self.playing():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= quiet_ms / 1000:
                return True
            await self.silence(100)
        return False

    async def _play_out(self) -> None:
        now = time.monotonic()
        due = [name for at, name in self._pending if at <= now]
        self._pending = [(at, name) for at, name in self._pending if at > now]
        for name in due:
            await self._echo(name)

    async def _echo(self, name: str) -> None:
        self.heard.echoed.append(name)
        with contextlib.suppress(ConnectionClosed):
            await self.send(self.side.mark(name))

    async def _read(self) -> None:
        clock = time.monotonic()
        try:
            async for message in self.ws:
                now = time.monotonic()
                try:
                    frame = self.side.parse_bot(message)
                except StreamProtocolError:
                    self.heard.unparsed += 1
                    continue
                if isinstance(frame, StreamMedia):
                    pcm = decode(self.encoding, frame.payload)
                    self.heard.media_frames += 1
                    self.heard.audio.append(pcm)
                    clock = max(clock, now) + pcm.shape[0] / self.sample_rate
                    self._clock = clock
                elif isinstance(frame, StreamMark):
                    self.heard.marks.append(frame.name)
                    self.heard.marks_after_media += int(self.heard.media_frames > 0)
                    self._pending.append((max(clock, now), frame.name))
                elif isinstance(frame, StreamClear):
                    self.heard.clears += 1
                    pending, self._pending = self._pending, []
                    clock = self._clock = now
                    for _, name in pending:
                        await self._echo(name)
                    cleared = self.side.cleared()
                    if cleared is not None:
                        with contextlib.suppress(ConnectionClosed):
                            await self.send(cleared)
        except ConnectionClosed:
            pass
        self.heard.close_code = self.ws.close_code
        self.heard.close_reason = self.ws.close_reason
