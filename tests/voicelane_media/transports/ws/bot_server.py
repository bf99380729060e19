"""A customer's media-stream bot on a real socket, in any dialect, for the stream-out tests.

It serves ``websockets`` on loopback in its own thread and speaks the bot's side of a dialect
(the dialect's caller-side parser reads what Voicelane, as the provider, sends; its caller-side
serializers write the bot's ``media``/``mark``/``clear``): on ``start`` it sends a greeting
(all of it at once, as a TTS service flushes a sentence) followed by a mark, and when the
caller's audio turns loud while the greeting plays it sends ``clear`` once. Every connection's
messages, the caller audio it heard, the mark echoes and the clear are kept for the test.
Options make it misbehave the way bots do: close the first connection abruptly, or close
cleanly after the greeting.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.transports.ws import dialect_for
from voicelane_media.transports.ws.frames import (
    StreamConnected,
    StreamDtmf,
    StreamMark,
    StreamMedia,
    StreamStart,
    StreamStop,
)
from voicelane_media.transports.ws.transport import decode, encode
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

LOUD_RMS = 400.0  # caller speech on G.711 loopback audio is far above this, silence far below


@dataclass
class BotConnection:
    """One connection as the bot saw it."""

    opened_at: float
    kinds: list[str] = field(default_factory=list)  # message kinds in order
    start: StreamStart | None = None
    caller: dict[str, list[Int16Array]] = field(default_factory=dict)  # per track
    digits: list[str] = field(default_factory=list)
    greeting_sent_at: float | None = None
    mark_echoes: dict[str, float] = field(default_factory=dict)
    clear_sent_at: float | None = None
    loud_at: float | None = None  # the first loud caller frame
    stop_received: bool = False
    closed_at: float | None = None

    def caller_audio(self, track: str = "inbound") -> Int16Array:
        frames = self.caller.get(track, [])
        return np.concatenate(frames) if frames else np.zeros(0, np.int16)


class StreamBot:
    """``with StreamBot("twilio", greeting) as bot: bot.url`` — see the module docstring."""

    def __init__(self, dialect: str, greeting: Int16Array, *, rate: int = 8000,
                 sample_rate: int | None = None, clear_on_speech: bool = True,
                 drop_first: bool = False, close_after_greeting: bool = False) -> None:
        self.dialect_name = dialect
        self.greeting = greeting
        self.rate = rate  # of the greeting and of the stream's audio
        self.sample_rate = sample_rate
        self.clear_on_speech = clear_on_speech
        self.drop_first = drop_first
        self.close_after_greeting = close_after_greeting
        self.connections: list[BotConnection] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="stream-bot", daemon=True)

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/bot?secret=s3cret"

    def __enter__(self) -> StreamBot:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the bot did not start")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def wait_for(self, predicate: Any, timeout_s: float = 20.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"bot: condition not met; connections={self.connections}")
            time.sleep(0.05)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with serve(self._handle, "127.0.0.1", 0) as server:
            self.port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    async def _handle(self, ws: ServerConnection) -> None:
        conn = BotConnection(time.monotonic())
        closing: asyncio.Future[None] | None = None
        self.connections.append(conn)
        first = len(self.connections) == 1
        dialect = dialect_for(self.dialect_name, self.sample_rate)
        try:
            async for message in ws:
                frame = dialect.parse(message)
                conn.kinds.append(type(frame).__name__ if frame is not None else "none")
                if isinstance(frame, StreamStart):
                    conn.start = frame
                    await self._greet(ws, dialect, frame, conn)
                    if self.drop_first and first:
                        ws.transport.abort()  # a crash, not a close: no close frame
                        return
                    if self.close_after_greeting:  # and keep reading, as a bot does
                        closing = asyncio.ensure_future(self._close_later(ws))
                elif isinstance(frame, StreamMedia):
                    await self._hear(ws, dialect, frame, conn)
                elif isinstance(frame, StreamMark):
                    conn.mark_echoes.setdefault(frame.name, time.monotonic())
                elif isinstance(frame, StreamDtmf):
                    conn.digits.append(frame.digit)
                elif isinstance(frame, StreamStop):
                    conn.stop_received = True
                elif isinstance(frame, StreamConnected):
                    pass
        except ConnectionClosed:
            pass
        finally:
            conn.closed_at = time.monotonic()
            if closing is not None:
                await closing

    async def _close_later(self, ws: ServerConnection) -> None:
        await asyncio.sleep(len(self.greeting) / self.rate + 0.5)
        await ws.close(1000, "bot done")

    async def _greet(self, ws: ServerConnection, dialect: Any, start: StreamStart,
                     conn: BotConnection) -> None:
        step = self.rate // 50
        for i in range(0, len(self.greeting), step):
            payload = encode(start.encoding, self.greeting[i:i + step])
            await ws.send(dialect.media(start.stream_id, payload, encoding=start.encoding,
                                        sample_rate=start.sample_rate))
        await ws.send(dialect.mark(start.stream_id, "greeting"))
        conn.greeting_sent_at = time.monotonic()

    async def _hear(self, ws: ServerConnection, dialect: Any, frame: StreamMedia,
                    conn: BotConnection) -> None:
        assert conn.start is not None
        pcm = decode(conn.start.encoding, frame.payload)
        conn.caller.setdefault(frame.track, []).append(pcm)
        loud = frame.track == "inbound" and float(np.sqrt(np.mean(
            pcm.astype(np.float64) ** 2))) > LOUD_RMS if len(pcm) else False
        if loud and conn.loud_at is None:
            conn.loud_at = time.monotonic()
        playing = conn.greeting_sent_at is not None and "greeting" not in conn.mark_echoes
        if loud and playing and self.clear_on_speech and conn.clear_sent_at is None:
            await ws.send(dialect.clear(conn.start.stream_id))
            conn.clear_sent_at = time.monotonic()
