"""Turn-taking: endpointing (VAD silence + STT final) and barge-in (confirmed caller speech)."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from voicelane_media.agent.frames import (
    AudioIn,
    Direction,
    FinalTranscript,
    Frame,
    Interruption,
    UserTurn,
    VADStart,
    VADStop,
)
from voicelane_media.agent.pipeline import Processor
from voicelane_media.agent.settings import LoopSettings


@dataclass
class _Segment:
    ignored: bool = False
    final: str | None = None


class TurnTaking(Processor):
    """Commits caller turns and decides barge-in.

    A turn ends when the caller has been silent for `endpointing_ms` after the last speech
    frame and the STT final for every segment of the turn has arrived. While the agent is
    busy (thinking or audio playing), caller speech interrupts only once it has lasted
    `min_interruption_ms`; shorter bursts (a cough, "uh-huh") are ignored, transcript included.
    """

    def __init__(
        self,
        settings: LoopSettings,
        agent_busy: Callable[[], bool],
        interruptible: bool = True,
        on_activity: Callable[[], None] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.agent_busy = agent_busy
        self.interruptible = interruptible
        self.on_activity = on_activity or (lambda: None)
        self.user_speaking = False
        self._segments: deque[_Segment] = deque()
        self._current: _Segment | None = None
        self._barge_pending = False
        self._speech_ms = 0.0
        self._turn_started_at: float | None = None
        self._speech_end_at = 0.0
        self._stt_final_at = 0.0
        self._finals_changed = asyncio.Event()
        self._endpoint: asyncio.Task[None] | None = None

    async def process(self, frame: Frame, direction: Direction) -> None:
        if direction is Direction.UPSTREAM:
            await self.push(frame, direction)
        elif isinstance(frame, VADStart):
            await self._on_start(frame)
        elif isinstance(frame, AudioIn):
            if self.user_speaking and self._barge_pending and frame.is_speech:
                self._speech_ms += len(frame.pcm) / 2 / frame.sample_rate * 1000.0
                if self._speech_ms >= self.settings.min_interruption_ms:
                    self._barge_pending = False
                    await self.push(Interruption(confirmed_at=frame.at))
        elif isinstance(frame, VADStop):
            self._on_stop(frame)
        elif isinstance(frame, FinalTranscript):
            self._on_final(frame)
        else:
            await self.push(frame, direction)

    async def _on_start(self, frame: VADStart) -> None:
        self.on_activity()
        self.user_speaking = True
        if self._endpoint is not None:
            self._endpoint.cancel()
            self._endpoint = None
        segment = _Segment()
        self._segments.append(segment)
        self._current = segment
        self._speech_ms = (time.monotonic() - frame.speech_at) * 1000.0
        busy = self.agent_busy()
        if busy and not self.interruptible:
            segment.ignored = True
        elif busy:
            self._barge_pending = True
            if self._speech_ms >= self.settings.min_interruption_ms:
                self._barge_pending = False
                await self.push(Interruption(confirmed_at=time.monotonic()))
        if not segment.ignored and self._turn_started_at is None:
            self._turn_started_at = frame.speech_at

    def _on_stop(self, frame: VADStop) -> None:
        self.user_speaking = False
        self.on_activity()
        if self._current is not None and self._barge_pending:
            self._current.ignored = True  # too short to interrupt: a cough or a backchannel
        self._barge_pending = False
        if self._current is not None and not self._current.ignored:
            self._speech_end_at = frame.speech_end_at
            self._endpoint = self.spawn(self._endpoint_after(frame.speech_end_at), name="endpoint")
        self._current = None

    def _on_final(self, frame: FinalTranscript) -> None:
        owner: _Segment | None = None
        for segment in self._segments:
            if segment.final is None:
                segment.final = owner_text = frame.text
                owner = segment
                break
        self._stt_final_at = frame.at
        self._finals_changed.set()
        if (owner is not None and not owner.ignored and owner_text and self._endpoint is None
                and not self.user_speaking):
            # The final came after the endpoint stopped waiting for it (a loaded CPU): the
            # caller is silent, so commit the turn now instead of at their next utterance.
            self._endpoint = self.spawn(self._endpoint_after(self._speech_end_at), name="endpoint")

    async def _endpoint_after(self, speech_end_at: float) -> None:
        delay = speech_end_at + self.settings.endpointing_ms / 1000.0 - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        deadline = time.monotonic() + self.settings.stt_final_wait_ms / 1000.0
        while any(s.final is None and not s.ignored for s in self._segments):
            self._finals_changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._finals_changed.wait(), remaining)
            except TimeoutError:
                break
        if self.user_speaking:
            return
        text = " ".join(s.final for s in self._segments if not s.ignored and s.final).strip()
        if not text and any(s.final is None and not s.ignored for s in self._segments):
            self._endpoint = None  # the turn stays open: `_on_final` commits it when text comes
            return
        # Keep an unfinished segment only if it is still waiting for its final.
        self._segments = deque(s for s in self._segments if s.final is None)
        started_at, self._turn_started_at = self._turn_started_at, None
        self._endpoint = None
        if text:
            await self.push(
                UserTurn(
                    text=text,
                    speech_end_at=speech_end_at,
                    stt_final_at=max(self._stt_final_at, speech_end_at),
                    started_at=started_at or speech_end_at,
                )
            )
