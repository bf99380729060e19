"""Turn-taking: endpointing (VAD silence, Smart Turn, STT final) and two-step barge-in.

Endpointing follows `EndpointPolicy` (see endpointing.py): fixed silence, or a short silence
and the Smart Turn model's verdict on the turn's audio.

Barge-in has two steps. When the caller starts speaking while the agent is busy, the agent's
audio pauses at once (`BargeInPause`, on the VAD's `SpeechOnset`: the first speech frame,
before the speech opens a segment; a run too short to open one resumes it unreported). The
pause becomes an interruption (`Interruption`: work in flight cancelled, playout cleared) when
the speech lasts `backchannel_max_ms`, or when it ends having lasted `min_interruption_ms` and
its STT final is not a backchannel. Otherwise (a cough, "uh-huh", no words) playout resumes
where it paused (`BargeInResume`) and the burst is no caller turn. `interruptible: false`
agents never pause.

Preemptive generation (`preemptive_generation`): once the caller is silent and every segment
of the open turn has its STT final (STT finalisation starts at VADStop), `TurnPaused` tells the
brain the words while the endpointer is still waiting; speech that reopens the turn sends
`TurnResumed`. Whether the turn ended is still decided here, by the `UserTurn`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from voicelane_media.agent.endpointing import EndpointPolicy, TurnAudio
from voicelane_media.agent.frames import (
    AudioIn,
    BargeInPause,
    BargeInResume,
    Direction,
    FinalTranscript,
    Frame,
    Interruption,
    SpeechOnset,
    SpeechOnsetLost,
    TurnPaused,
    TurnResumed,
    UserTurn,
    VADStart,
    VADStop,
)
from voicelane_media.agent.pipeline import Processor
from voicelane_media.agent.providers import TurnAnalyzer
from voicelane_media.agent.settings import LoopSettings

_NOT_WORD = re.compile(r"[^\w\s'-]")


def is_backchannel(text: str, backchannels: tuple[str, ...]) -> bool:
    """A whole utterance that only says "I'm listening" ("uh-huh", "yeah, okay")."""
    words = _NOT_WORD.sub(" ", text.lower()).split()
    if not words:
        return False
    phrase = " ".join(words)
    if phrase in backchannels:
        return True
    return len(words) <= 3 and all(word in backchannels for word in words)


@dataclass
class _Segment:
    speech_at: float
    ignored: bool = False
    final: str | None = None
    barge: str | None = None  # "speaking" / "awaiting_final" while the agent is paused for it
    speech_end_at: float = 0.0
    speech_ms: float = 0.0


class TurnTaking(Processor):
    """Commits caller turns and decides barge-in (see the module docstring)."""

    def __init__(
        self,
        settings: LoopSettings,
        agent_busy: Callable[[], bool],
        interruptible: bool = True,
        on_activity: Callable[[], None] | None = None,
        analyzer: TurnAnalyzer | None = None,
        on_error: Callable[[str, BaseException], None] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings
        self.agent_busy = agent_busy
        self.interruptible = interruptible
        self.on_activity = on_activity or (lambda: None)
        self.on_error = on_error or (lambda stage, error: None)
        self.analyzer = analyzer
        self.policy = EndpointPolicy.of(settings, smart=analyzer is not None)
        self.user_speaking = False
        self._segments: deque[_Segment] = deque()
        self._current: _Segment | None = None
        self._paused_for: _Segment | None = None
        self._onset_paused = False  # paused on a SpeechOnset that has no segment yet
        self._onset_at = 0.0
        self._turn_started_at: float | None = None
        self._speech_end_at = 0.0
        self._stt_final_at = 0.0
        self._finals_changed = asyncio.Event()
        self._endpoint: asyncio.Task[None] | None = None
        self._final_timeout: asyncio.Task[None] | None = None
        self._offered: str | None = None  # the words of the last TurnPaused of the open turn
        # The caller's recent audio, kept only when a model will read it (Smart Turn).
        self._audio = TurnAudio() if self.policy.smart else None

    @property
    def _confirm_ms(self) -> float:
        return float(max(self.settings.min_interruption_ms, self.settings.backchannel_max_ms))

    async def process(self, frame: Frame, direction: Direction) -> None:
        if direction is Direction.UPSTREAM:
            await self.push(frame, direction)
        elif isinstance(frame, SpeechOnset):
            if (self._paused_for is None and not self._onset_paused and self.interruptible
                    and self.agent_busy()):
                self._onset_paused = True
                await self.push(BargeInPause(onset_at=frame.speech_at))
        elif isinstance(frame, SpeechOnsetLost):
            if self._onset_paused:
                self._onset_paused = False
                await self.push(BargeInResume(reason="onset", speech_ms=frame.speech_ms))
        elif isinstance(frame, VADStart):
            await self._on_start(frame)
        elif isinstance(frame, AudioIn):
            if self._audio is not None:
                self._audio.add(frame.at, frame.pcm, frame.sample_rate)
            segment = self._current
            if segment is not None and segment.barge == "speaking" and frame.is_speech:
                segment.speech_ms += len(frame.pcm) / 2 / frame.sample_rate * 1000.0
                if segment.speech_ms >= self._confirm_ms:
                    await self._confirm(segment)
        elif isinstance(frame, VADStop):
            await self._on_stop(frame)
        elif isinstance(frame, FinalTranscript):
            await self._on_final(frame)
        else:
            await self.push(frame, direction)

    async def _on_start(self, frame: VADStart) -> None:
        self.on_activity()
        self.user_speaking = True
        if self._endpoint is not None:
            self._endpoint.cancel()
            self._endpoint = None
        if self._offered is not None:
            self._offered = None
            await self.push(TurnResumed())
        segment = _Segment(speech_at=frame.speech_at)
        segment.speech_ms = (time.monotonic() - frame.speech_at) * 1000.0
        self._segments.append(segment)
        self._current = segment
        busy = self.agent_busy()
        onset_paused, self._onset_paused = self._onset_paused, False
        if busy and not self.interruptible:
            segment.ignored = True
        elif busy and self._paused_for is None:
            segment.barge = "speaking"
            self._paused_for = segment
            self._onset_at = frame.speech_at  # stop time counts from the caller's first sound
            await self.push(BargeInPause(onset_at=self._onset_at))  # (already, if at onset)
            if segment.speech_ms >= self._confirm_ms:
                await self._confirm(segment)
            return
        elif busy:  # the agent is still paused for an earlier burst: this one decides with it
            segment.barge = "speaking"
        else:
            self._open_turn(segment)
        if onset_paused:  # the agent went idle at the onset: nothing to decide, unpause
            await self.push(BargeInResume(reason="onset", speech_ms=round(segment.speech_ms, 1)))

    def _open_turn(self, segment: _Segment) -> None:
        if self._turn_started_at is None:
            self._turn_started_at = segment.speech_at

    async def _on_stop(self, frame: VADStop) -> None:
        self.user_speaking = False
        self.on_activity()
        segment, self._current = self._current, None
        if segment is None:
            return
        segment.speech_end_at = frame.speech_end_at
        if segment.barge == "speaking":
            if segment.speech_ms < self.settings.min_interruption_ms:
                segment.ignored = True  # too short to interrupt: a cough, a click
                await self._resume(segment, "short")
            else:  # long enough to be words: the STT final says whether they take the turn
                segment.barge = "awaiting_final"
                self._final_timeout = self.spawn(self._await_final(segment), name="barge-final")
            return
        if not segment.ignored:
            self._speech_end_at = frame.speech_end_at
            self._endpoint = self.spawn(self._endpoint_after(frame.speech_end_at), name="endpoint")

    async def _on_final(self, frame: FinalTranscript) -> None:
        owner = next((s for s in self._segments if s.final is None), None)
        if owner is not None:
            owner.final = frame.text
        self._stt_final_at = frame.at
        self._finals_changed.set()
        if owner is None:
            return
        confirmed = False
        if owner.barge == "awaiting_final":
            if is_backchannel(frame.text, self.settings.backchannels) or not frame.text:
                owner.ignored = True
                await self._resume(owner, "backchannel" if frame.text else "no_transcript")
                return
            await self._confirm(owner)
            confirmed = True
        if (not owner.ignored and owner.barge is None and frame.text and self._endpoint is None
                and not self.user_speaking):
            # A confirmed barge-in's turn is endpointed now; a final that came after the
            # endpoint stopped waiting for it (a loaded CPU) commits the turn at once.
            self._speech_end_at = max(self._speech_end_at, owner.speech_end_at)
            self._endpoint = self.spawn(
                self._endpoint_after(self._speech_end_at, decided=not confirmed), name="endpoint"
            )
        await self._offer()

    def _open_text(self) -> str | None:
        """The open turn's words so far, or None while a segment still waits for its final."""
        kept = [s for s in self._segments if not s.ignored and s.barge is None]
        if any(s.final is None for s in kept):
            return None
        return " ".join(s.final for s in kept if s.final).strip()

    async def _offer(self) -> None:
        """Tell the brain the paused turn's words while the endpointer decides (TurnPaused)."""
        if (not self.settings.preemptive_generation or self.user_speaking
                or self._endpoint is None):
            return
        text = self._open_text()
        if text and text != self._offered:
            self._offered = text
            await self.push(TurnPaused(text=text))

    async def _await_final(self, segment: _Segment) -> None:
        await asyncio.sleep(self.settings.stt_final_wait_ms / 1000.0)
        if segment.barge == "awaiting_final":  # no words came: the agent goes on
            segment.ignored = True
            await self._resume(segment, "no_transcript")

    async def _confirm(self, segment: _Segment) -> None:
        """The caller is taking the turn: cancel the agent's reply, clear its audio."""
        for other in self._segments:
            if other.barge is not None:
                other.barge = None
                self._open_turn(other)
        self._paused_for = None
        if self._final_timeout is not None and self._final_timeout is not asyncio.current_task():
            self._final_timeout.cancel()
        self._final_timeout = None
        await self.push(Interruption(confirmed_at=self._onset_at))

    async def _resume(self, segment: _Segment, reason: str) -> None:
        segment.barge = None
        if self._paused_for is None or any(s.barge is not None for s in self._segments):
            return  # another burst is still being judged: it decides the pause
        self._paused_for = None
        await self.push(BargeInResume(reason=reason, speech_ms=round(segment.speech_ms, 1)))

    async def _ask_model(self) -> float | None:
        if self.analyzer is None or self._audio is None or self._turn_started_at is None:
            return None
        start = self._turn_started_at - self.settings.preroll_ms / 1000.0
        pcm, rate = self._audio.since(start), self._audio.sample_rate
        try:
            return await asyncio.to_thread(self.analyzer.probability, pcm, rate)
        except Exception as exc:  # a failing model falls back to fixed silence
            self.on_error("turn", exc)
            return None

    async def _sleep_until(self, at: float) -> None:
        delay = at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    async def _finals(self) -> None:
        """Wait (bounded by `stt_final_wait_ms`) for the STT finals of the turn's segments."""
        deadline = time.monotonic() + self.settings.stt_final_wait_ms / 1000.0
        while any(s.final is None and not s.ignored and s.barge is None for s in self._segments):
            self._finals_changed.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                await asyncio.wait_for(self._finals_changed.wait(), remaining)
            except TimeoutError:
                break

    async def _endpoint_after(self, speech_end_at: float, decided: bool = False) -> None:
        probability: float | None = None
        waited = float(self.policy.silence_ms)
        if not decided:
            await self._sleep_until(speech_end_at + self.policy.first_wait_ms() / 1000.0)
            if self.policy.smart:
                # The model reads the audio, the STT the words: asked beside the STT final, its
                # verdict (tens to hundreds of ms) is in by the time the final is, or soon after.
                verdict = asyncio.ensure_future(self._ask_model())
                try:
                    await self._finals()
                    probability = await verdict
                finally:
                    verdict.cancel()
            waited = float(self.policy.end_after_ms(probability, self._open_text() or ""))
            await self._sleep_until(speech_end_at + waited / 1000.0)
        await self._finals()
        if self.user_speaking:
            return
        kept = [s for s in self._segments if not s.ignored and s.barge is None]
        text = " ".join(s.final for s in kept if s.final).strip()
        if not text and any(s.final is None for s in kept):
            self._endpoint = None  # the turn stays open: `_on_final` commits it when text comes
            return
        # Keep a segment only if it is still waiting for its final or still being judged.
        self._segments = deque(s for s in self._segments if s.final is None or s.barge is not None)
        started_at, self._turn_started_at = self._turn_started_at, None
        self._endpoint = None
        self._offered = None
        if text:
            await self.push(
                UserTurn(
                    text=text,
                    speech_end_at=speech_end_at,
                    stt_final_at=max(self._stt_final_at, speech_end_at),
                    started_at=started_at or speech_end_at,
                    waited_ms=waited,
                    turn_detection=self.policy.mode,
                    end_of_turn_probability=(
                        None if probability is None else round(probability, 3)
                    ),
                )
            )
