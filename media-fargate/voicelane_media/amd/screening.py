"""After a call-screening prompt was detected: when to answer it, and who speaks next. Pure and
synchronous, like the detector: the driver (``calls/screening.py``) hands it each 20 ms frame
as voiced or not (and whether a beep just ended), the transcripts it asked for, and the moment
its own answer has been spoken.

    tracker = ScreeningTracker(ScreeningSettings())
    step = tracker.feed(voiced, beep)      # PROMPT_ENDED: the screener stopped: answer now
    tracker.answering(); ...; tracker.answered()   # the agent's answer was spoken
    step = tracker.feed(voiced, beep)      # after a pause in the callee's speech,
    if tracker.utterance_ended: ...        # the driver transcribes it:
    step = tracker.transcript(text)        # PERSON, or the screener again (None), or VOICEMAIL

- While the screener's prompt plays, a beep means it was a voicemail greeting after all.
- After the answer, speech is the person unless its words are the screener's ("please stay on
  the line": keep waiting) or a voicemail's ("not available, leave a message": a voicemail).
  A transcript slower than ``transcript_wait_ms`` (or none: no STT) is not waited for: the
  person is on.
- Nobody speaks for ``person_timeout_ms`` after the answer: ``TIMEOUT``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .phrases import PhraseKind, match_phrase

FRAME_MS = 20


class ScreeningStep(StrEnum):
    PROMPT_ENDED = "prompt_ended"  # the screener is quiet: the agent answers now
    PERSON = "person"  # someone other than the screener spoke: the person is on the line
    VOICEMAIL = "voicemail"  # a beep, or a voicemail's words: the machine handling applies
    TIMEOUT = "timeout"  # nobody came on the line after the answer


class Phase(StrEnum):
    PROMPT = "prompt"
    ANSWERING = "answering"
    WAITING = "waiting"
    DONE = "done"


@dataclass(frozen=True)
class ScreeningSettings:
    prompt_silence_ms: int = 800  # the screener's prompt is over after this much silence
    prompt_timeout_ms: int = 15_000  # a prompt that never stops is answered anyway
    person_timeout_ms: int = 30_000  # after the answer, how long to wait for anyone
    pause_ms: int = 600  # silence that ends an utterance after the answer
    min_speech_ms: int = 200  # shorter is a click, a breath, a line noise burst
    transcript_wait_ms: int = 1_500  # a slow transcript is not waited for longer


@dataclass
class ScreeningTracker:
    """The screening's state: the prompt, the agent answering, waiting for the person."""

    settings: ScreeningSettings
    phase: Phase = Phase.PROMPT
    elapsed_ms: int = 0  # since the tracker started (the detection's decision)
    result: ScreeningStep | None = None
    transcript_pending: bool = False
    utterance_ended: bool = False

    def __post_init__(self) -> None:
        self._phase_at_ms = 0
        self._last_voice_ms: int | None = None
        self._voiced_ms = 0  # of the utterance running (WAITING)
        self._closed_at_ms = 0  # the utterance closed: its transcript is due

    def feed(self, voiced: bool, beep: bool = False) -> ScreeningStep | None:
        self.elapsed_ms += FRAME_MS
        self.utterance_ended = False
        st, now = self.settings, self.elapsed_ms
        if self.phase in (Phase.ANSWERING, Phase.DONE):
            return None  # the agent's own answer, echoed or not, is not the callee
        if voiced:
            self._last_voice_ms = now
        if self.phase == Phase.PROMPT:
            if beep:
                return self.finish(ScreeningStep.VOICEMAIL)
            quiet = now - (self._last_voice_ms if self._last_voice_ms is not None else 0)
            if quiet >= st.prompt_silence_ms or now - self._phase_at_ms >= st.prompt_timeout_ms:
                self.phase = Phase.ANSWERING  # the driver speaks, then calls answered()
                return ScreeningStep.PROMPT_ENDED
            return None
        if beep:
            return self.finish(ScreeningStep.VOICEMAIL)
        if voiced and not self.transcript_pending:
            self._voiced_ms += FRAME_MS
        elif self.transcript_pending:
            if now - self._closed_at_ms >= st.transcript_wait_ms:
                return self.finish(ScreeningStep.PERSON)  # not kept waiting for the STT
        elif self._voiced_ms >= st.min_speech_ms and self._last_voice_ms is not None and \
                now - self._last_voice_ms >= st.pause_ms:
            self.utterance_ended = True
            self.transcript_pending = True
            self._closed_at_ms = now
        elif self._voiced_ms < st.min_speech_ms and self._last_voice_ms is not None and \
                now - self._last_voice_ms >= st.pause_ms:
            self._voiced_ms = 0  # a blip: forgotten
        since = max(self._phase_at_ms, self._last_voice_ms or 0)
        if now - since >= st.person_timeout_ms and not self.transcript_pending:
            return self.finish(ScreeningStep.TIMEOUT)
        return None

    def answering(self) -> None:
        self.phase = Phase.ANSWERING

    def answered(self) -> None:
        """The agent's answer has been spoken: what the callee says next is listened to."""
        self.phase = Phase.WAITING
        self._phase_at_ms = self.elapsed_ms
        self._voiced_ms = 0
        self.transcript_pending = False

    def transcript(self, text: str) -> ScreeningStep | None:
        """The words of the utterance that just ended ("" when there is no STT)."""
        if self.phase != Phase.WAITING or not self.transcript_pending:
            return None
        self.transcript_pending = False
        self._voiced_ms = 0
        found = match_phrase(text)
        kind = found[0] if found else None
        if kind == PhraseKind.VOICEMAIL:
            return self.finish(ScreeningStep.VOICEMAIL)
        if kind == PhraseKind.SCREENING:
            return None  # the screener again ("please stay on the line"): keep waiting
        return self.finish(ScreeningStep.PERSON)

    def finish(self, step: ScreeningStep) -> ScreeningStep:
        self.phase = Phase.DONE
        self.result = step
        return step
