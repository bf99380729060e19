"""The provider's side of a Twilio media stream, on a real socket (``websockets``): it sends
connected/start, streams 20 ms mu-law frames in real time, plays what it receives on its own
20 ms clock and echoes each mark once the audio before it has played (all pending marks at a
clear, as Twilio does)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from voicelane_media.codecs.g711 import Int16Array, pcm_from_pcmu, pcmu_from_pcm
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.voicelane_media.transports.ws import fake_twilio as tw

STREAM_SID = "MZ" + "a" * 32


@dataclass
class Heard:
    """What the provider received and when."""

    media_frames: int = 0
    audio: list[Int16Array] = field(default_factory=list)
    marks: list[str] = field(default_factory=list)  # in arrival order
    marks_after_media: int = 0  # marks that followed at least one media frame
    clears: int = 0
    echoed: list[str] = field(default_factory=list)
    close_code: int | None = None
    close_reason: str | None = None
    first_media_at: float | None = None


class TwilioPeer:
    """One stream as Twilio runs it, against ``url``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.heard = Heard()
        self._buffered_s = 0.0  # audio received and not yet "played"
        self._pending: list[tuple[float, str]] = []  # (play-out time, mark)
        self._chunk = 0
        self._ws: ClientConnection | None = None

    async def __aenter__(self) -> TwilioPeer:
        self._ws = await connect(self.url, max_size=2**22, open_timeout=10)
        self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: Any) -> None:
        if self._ws is not None:
            await self._ws.close()
        await asyncio.wait({self._reader}, timeout=5)

    @property
    def ws(self) -> ClientConnection:
        assert self._ws is not None
        return self._ws

    async def send(self, message: str | bytes) -> None:
        await self.ws.send(message)

    async def begin(self, token: str | None) -> None:
        await self.send(tw.connected())
        await self.send(tw.start(STREAM_SID, token))

    async def stream(self, pcm: Int16Array) -> None:
        """Send ``pcm`` (8 kHz) as 20 ms mu-law frames in real time."""
        started = time.monotonic()
        for i in range(0, pcm.shape[0] - 159, 160):
            self._chunk += 1
            try:
                await self.send(tw.media(STREAM_SID, pcmu_from_pcm(pcm[i : i + 160]), self._chunk))
            except ConnectionClosed:
                return
            await asyncio.sleep(max(0.0, started + (i // 160 + 1) * 0.02 - time.monotonic()))
            await self._play_out()

    async def silence(self, ms: int) -> None:
        await self.stream(np.zeros(8 * ms, dtype=np.int16))

    async def _play_out(self) -> None:
        now = time.monotonic()
        due = [name for at, name in self._pending if at <= now]
        self._pending = [(at, name) for at, name in self._pending if at > now]
        for name in due:
            await self._echo(name)

    async def _echo(self, name: str) -> None:
        self.heard.echoed.append(name)
        with contextlib.suppress(ConnectionClosed):
            await self.send(tw.mark(STREAM_SID, name))

    async def _read(self) -> None:
        clock = time.monotonic()
        seen_media = False
        try:
            async for message in self.ws:
                msg = json.loads(message)
                now = time.monotonic()
                if msg["event"] == "media":
                    self.heard.media_frames += 1
                    self.heard.first_media_at = self.heard.first_media_at or now
                    payload = base64.b64decode(msg["media"]["payload"])
                    self.heard.audio.append(pcm_from_pcmu(payload))
                    clock = max(clock, now) + len(payload) / 8000
                    seen_media = True
                elif msg["event"] == "mark":
                    name = msg["mark"]["name"]
                    self.heard.marks.append(name)
                    self.heard.marks_after_media += int(seen_media)
                    self._pending.append((max(clock, now), name))
                elif msg["event"] == "clear":
                    self.heard.clears += 1
                    pending, self._pending = self._pending, []
                    clock = now
                    for _, name in pending:
                        await self._echo(name)
        except ConnectionClosed:
            pass
        self.heard.close_code = self.ws.close_code
        self.heard.close_reason = self.ws.close_reason
