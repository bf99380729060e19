"""A browser stand-in that is a real WebRTC peer: aiortc (the library, not our code) as the
client of a session's signalling URL. It sends PCM at 48 kHz in real time (then silence),
keeps what it receives, and times the offer -> answer and answer -> first voiced audio."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import numpy as np
from aiortc import MediaStreamTrack, RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError
from voicelane_media.transports.webrtc.audio import FRAME_SAMPLES, audio_frame, mono_pcm

VOICED = 300  # mean |sample| of a 20 ms frame that carries speech, not silence


class Microphone(MediaStreamTrack):
    """What the client says: queued PCM at 48 kHz, paced at 20 ms, silence in between."""

    kind = "audio"

    def __init__(self) -> None:
        super().__init__()
        self._pending = np.zeros(0, dtype=np.int16)
        self._pts = 0
        self._next: float | None = None

    def say(self, pcm: np.ndarray) -> float:
        """Queue ``pcm``; the seconds until it has all been sent."""
        self._pending = np.concatenate([self._pending, pcm.astype(np.int16)])
        return self._pending.shape[0] / 48000

    async def recv(self) -> Any:
        if self.readyState != "live":
            raise MediaStreamError
        loop = asyncio.get_running_loop()
        self._next = loop.time() if self._next is None else self._next + 0.02
        await asyncio.sleep(max(0.0, self._next - loop.time()))
        chunk, self._pending = self._pending[:FRAME_SAMPLES], self._pending[FRAME_SAMPLES:]
        if chunk.shape[0] < FRAME_SAMPLES:
            chunk = np.concatenate([chunk, np.zeros(FRAME_SAMPLES - chunk.shape[0], np.int16)])
        frame = audio_frame(chunk, self._pts)
        self._pts += FRAME_SAMPLES
        return frame


@dataclass
class Heard:
    frames: list[np.ndarray] = field(default_factory=list)
    first_voiced_at: float | None = None
    ended: bool = False

    @property
    def voiced_frames(self) -> int:
        return sum(1 for f in self.frames if _voiced(f))

    async def utterance(self, after: int, timeout_s: float, quiet_ms: int = 700) -> bool:
        """Wait for voiced audio after frame ``after``, then ``quiet_ms`` of quiet: one
        utterance of the agent heard in full (False on timeout)."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while asyncio.get_running_loop().time() < deadline:
            tail = self.frames[after:]
            voiced = [i for i, f in enumerate(tail) if _voiced(f)]
            if voiced and len(tail) - 1 - voiced[-1] >= quiet_ms // 20:
                return True
            await asyncio.sleep(0.05)
        return False


def _voiced(frame: np.ndarray) -> bool:
    return bool(np.abs(frame.astype(np.int32)).mean() > VOICED)


class Client:
    """One WebRTC call to a session: ``await offer()``, talk, ``await hang_up()``."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))  # no public STUN
        self.mic = Microphone()
        self.heard = Heard()
        self.location: str | None = None
        self.answer_ms: float | None = None
        self.answered_at: float | None = None
        self.connected = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self.pc.addTrack(self.mic)
        self.pc.on("track", self._on_track)
        self.pc.on("connectionstatechange", self._on_state)

    def _on_track(self, track: MediaStreamTrack) -> None:
        self._reader = asyncio.ensure_future(self._read(track))

    def _on_state(self) -> None:
        if self.pc.connectionState == "connected":
            self.connected.set()

    async def _read(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                pcm = mono_pcm(await track.recv())  # type: ignore[arg-type]
                self.heard.frames.append(pcm)
                if self.heard.first_voiced_at is None and _voiced(pcm):
                    self.heard.first_voiced_at = time.perf_counter()
        self.heard.ended = True

    async def post(self, body: bytes | str, token: str | None = None,
                   content_type: str = "application/sdp") -> httpx.Response:
        headers = {"Content-Type": content_type}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        async with httpx.AsyncClient(timeout=10) as http:
            return await http.post(self.url, content=body, headers=headers)

    async def local_offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return str(self.pc.localDescription.sdp)

    async def offer(self) -> httpx.Response:
        """Offer, take the answer, wait until connected (ICE + DTLS)."""
        sdp = await self.local_offer()
        started = time.perf_counter()
        reply = await self.post(sdp, self.token)
        self.answer_ms = (time.perf_counter() - started) * 1000
        if reply.status_code != 201:
            return reply
        self.answered_at = time.perf_counter()
        self.location = reply.headers["location"]
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=reply.text, type="answer"))
        await asyncio.wait_for(self.connected.wait(), 10)
        return reply

    async def hang_up(self) -> httpx.Response:
        """DELETE the Location (the WHIP hangup), then close the connection."""
        assert self.location is not None
        base = httpx.URL(self.url)
        async with httpx.AsyncClient(timeout=10) as http:
            reply = await http.delete(base.join(self.location))
        await self.close()
        return reply

    async def close(self) -> None:
        await self.pc.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
