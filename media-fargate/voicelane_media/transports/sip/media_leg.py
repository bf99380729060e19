"""The agent loop's transport on a SIP call: a `MediaLeg` over the call's RTP session.

- inbound: every 20 ms frame the session pulls out of its jitter buffer and every RFC 4733
  digit (``transports/caller_frames.py``, shared by every transport); it ends with the call.
- outbound: agent audio is queued as session playbacks (paced by the pool's 20 ms clock);
  `send_audio` never waits for playout.
- `clear()` stops playback at the next tick and returns the running counter of agent audio
  actually put on the wire (what the caller heard), not what was queued.
- call control (DTMF, hangup, transfer) goes through the call like the API's commands (a
  transfer: REFER, or dial and bridge, ``calls/transfer.py``).

The session runs at its codec's rate (8 kHz for G.711, 16 kHz for G.722 and Opus); an agent
at another rate gets its audio resampled both ways.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
from voicelane.domain.transfer import WarmTransferSpec

from voicelane_media.agent.frames import DTMF, AudioIn
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.resample import resample_pcm16
from voicelane_media.transports.base import CallEvents, shielded
from voicelane_media.transports.caller_frames import CallerFrames

from .rtp import RtpSession
from .rtp.sender import Playback

log = logging.getLogger(__name__)
RTP_RATE = 8000


class RtpAgentLeg:
    """`voicelane_media.agent.MediaLeg` on a call's RTP session."""

    def __init__(self, session: RtpSession, call: CallEvents,
                 sample_rate: int = RTP_RATE) -> None:
        if sample_rate not in (8000, 16000):
            raise ValueError("sample_rate must be 8000 or 16000")
        self.leg = call
        self.session = session
        self.sample_rate = sample_rate
        self._rtp_rate = session.sample_rate
        self._caller = CallerFrames(session, call, self._rtp_rate, sample_rate, "agent-leg")
        self._playbacks: list[Playback] = []
        self._played_samples = 0  # of playbacks already finished
        self.transfer_task: asyncio.Task[None] | None = None

    # -- caller side -----------------------------------------------------------------------
    @property
    def dropped_frames(self) -> int:
        return self._caller.dropped_frames

    def inbound(self) -> AsyncIterator[AudioIn | DTMF]:
        """Caller frames until the call ends (BYE, hangup, transfer done)."""
        return self._caller.frames()

    # -- agent side ------------------------------------------------------------------------
    async def send_audio(self, pcm: bytes) -> None:
        """Queue agent audio (PCM16 at `sample_rate`) behind what is already playing."""
        if self.leg.finished or self.session.closed or not pcm:
            return
        if self.sample_rate != self._rtp_rate:
            pcm = resample_pcm16(pcm, self.sample_rate, self._rtp_rate)
        samples: Int16Array = np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2").astype(np.int16)
        if not samples.shape[0]:
            return
        item = Playback(samples, asyncio.get_running_loop().create_future())
        self._prune()
        self._playbacks.append(item)
        self.session.outbound.queue.append(item)

    def _prune(self) -> None:
        """Fold finished playbacks into the counter (their position is final)."""
        while self._playbacks and self._playbacks[0].done.done():
            self._played_samples += self._playbacks.pop(0).position

    def _played_samples_now(self) -> int:
        self._prune()
        return self._played_samples + sum(item.position for item in self._playbacks)

    def played_ms(self) -> float:
        return self._played_samples_now() / self._rtp_rate * 1000.0

    async def clear(self) -> float:
        """Stop agent audio at the next 20 ms tick; returns ms of agent audio actually sent."""
        mine = {id(item) for item in self._playbacks}
        queue = self.session.outbound.queue
        for item in [item for item in queue if id(item) in mine]:
            queue.remove(item)
            if not item.done.done():
                item.done.set_result(item.position)
        return self.played_ms()

    async def send_dtmf(self, digits: str) -> None:
        await self.leg.send_dtmf(digits)

    async def hangup(self, reason: str) -> None:
        """End the call, unless a transfer now owns it (REFER or bridge ends it themselves)."""
        if reason == "transferred" and self.transfer_task is not None:
            return
        if not self.leg.finished:
            await self.leg.hangup(reason)

    async def transfer(self, target: str) -> None:
        """REFER the caller to `target` (or dial and bridge when REFER is refused); runs on in
        the background so the agent can end its part of the call. A destination the app may
        not dial raises Forbidden here, before anything is sent (the tool answers it)."""
        await self.leg.check_destination(target)

        async def run() -> None:
            try:
                await self._played_out(timeout_s=30.0)  # the caller hears the announcement first
                await self.leg.transfer(target)
            except Exception:
                log.exception("transfer of %s to %s failed", self.leg.call_id, target)
                with contextlib.suppress(Exception):
                    await self.leg.hangup("transfer_failed")

        self.transfer_task = self.leg.spawn(run())

    async def warm_transfer(self, spec: WarmTransferSpec) -> dict[str, Any]:
        """Hold, dial, whisper, bridge; the outcome. The transfer runs as the call's own task
        (a barge-in cancelling the agent's turn never leaves it half done)."""
        return await shielded(self.leg, self.leg.warm_transfer(spec))

    async def _played_out(self, timeout_s: float) -> None:
        """Wait until the agent audio queued so far has been sent (or was cleared)."""
        loop = asyncio.get_running_loop()
        soon = loop.time() + 3.0  # the announcement may still be on its way from TTS
        self._prune()
        while not self._playbacks and loop.time() < soon and not self.leg.finished:
            await asyncio.sleep(0.02)
        deadline = loop.time() + timeout_s
        while any(not item.done.done() for item in self._playbacks):
            if loop.time() > deadline or self.leg.finished:
                return
            await asyncio.sleep(0.02)

    def stats(self) -> dict[str, Any]:
        return {"played_ms": round(self.played_ms(), 1), "dropped_frames": self.dropped_frames}
