"""The answering-machine detector: a pure, synchronous state machine over the callee's first
seconds of audio after the answer (no asyncio, no engines: the driver hands it frames with
their VAD score and, when ready, the greeting's transcript).

    detector = MachineDetector(DetectorSettings(), sample_rate=8000)
    for frame in frames:                                 # 20 ms of PCM16 each
        event = detector.feed(frame, vad.speech_probability(frame.tobytes(), 8000))
        if isinstance(event, Decision): ...              # human / machine / fax / silence
        if isinstance(event, GreetingEnd): ...           # a machine's greeting is over (beep?)
    detector.transcript("Hi, you've reached Sam, leave a message")   # may decide too

How it decides, first rule that applies:
- fax: the calling tone (1,100 Hz) before any decision;
- machine: a voicemail or call-screening phrase in the transcript; speech going on past
  ``speech_threshold_ms`` (short pauses included); a beep after some speech (a short greeting);
- human: speech shorter than that followed by ``end_silence_ms`` of silence (a "Hello?" and a
  wait for an answer), ``transcript_wait_ms`` later when a transcript of it is being made, and
  not while a tone plays;
- at ``timeout_ms``: silence when nobody spoke, else human (short, unfinished speech).
After a machine, it looks for the end of the greeting: the beep (a steady tone in the
400-2,200 Hz band for at least ``beep_min_ms``, reported when it stops), or silence after the
greeting (``greeting_silence_ms``; longer when a beep is expected), or ``greeting_timeout_ms``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from voicelane.domain.machine_detection import DetectionResult

from voicelane_media.codecs.g711 import Int16Array

from .phrases import PhraseKind, match_phrase
from .tones import Tone, ToneTracker

FRAME_MS = 20


@dataclass(frozen=True)
class DetectorSettings:
    """Thresholds (ms). The first three come from the call's ``machine_detection``."""

    timeout_ms: int = 5_000
    speech_threshold_ms: int = 2_400
    greeting_timeout_ms: int = 20_000
    wait_for_beep: bool = False  # detect_beep: the greeting ends at the beep, not at a pause
    speech_probability: float = 0.5
    end_silence_ms: int = 1_000  # after a short utterance: a person waiting for an answer
    pause_ms: int = 300  # silence that ends an utterance (a transcript is worth making)
    transcript_wait_ms: int = 700  # a person is not kept waiting longer for a slow STT
    greeting_silence_ms: int = 1_500  # detect: the greeting is over after this much silence
    no_beep_silence_ms: int = 4_000  # detect_beep: no beep came, the greeting is still over
    fax_min_ms: int = 300
    beep_min_ms: int = 150
    beep_max_ms: int = 1_500  # a beep this long is reported without waiting for its end


@dataclass(frozen=True)
class Decision:
    """Who answered: the result, how sure (0-1), when (ms after the answer) and why."""

    result: DetectionResult
    confidence: float
    decide_ms: int
    reason: str
    speech_ms: int
    transcript: str = ""

    def details(self) -> dict[str, object]:
        return {"result": self.result.value, "confidence": self.confidence,
                "decide_ms": self.decide_ms, "reason": self.reason,
                "speech_ms": self.speech_ms, "transcript": self.transcript or None}


@dataclass(frozen=True)
class GreetingEnd:
    """A machine's greeting is over: at the beep (``beep``) or after silence, or timed out."""

    beep: bool
    ended_ms: int  # after the answer
    reason: str  # beep | silence | timeout
    beep_hz: float | None = None
    beep_ms: int | None = None

    def details(self) -> dict[str, object]:
        return {"beep": self.beep, "ended_ms": self.ended_ms, "reason": self.reason,
                "beep_hz": round(self.beep_hz) if self.beep_hz else None,
                "beep_ms": self.beep_ms}


@dataclass
class _Speech:
    """The callee's speech so far: first onset, last voiced frame, the utterance running."""

    onset_ms: int | None = None
    last_voice_ms: int | None = None
    span_start_ms: int | None = None  # speech since the last long silence (pauses included)
    voiced_ms: int = 0
    in_utterance: bool = False


@dataclass
class MachineDetector:
    """Feed 20 ms frames and VAD scores; returns a :class:`Decision` once, then (for a
    machine, when the greeting's end is wanted) a :class:`GreetingEnd` once."""

    settings: DetectorSettings
    sample_rate: int = 8000
    want_greeting_end: bool = False
    elapsed_ms: int = 0
    decision: Decision | None = None
    greeting_end: GreetingEnd | None = None
    transcript_pending: bool = False
    text: str = ""
    speech: _Speech = field(default_factory=_Speech)

    def __post_init__(self) -> None:
        self.tones = ToneTracker(self.sample_rate, FRAME_MS)
        self._decided_at_ms = 0
        self._utterance_closed = False
        self._beep_heard: Tone | None = None  # the beep that decided "machine"
        self.ended_tone: Tone | None = None  # a tone that stopped at the frame just fed

    @property
    def voiced(self) -> bool:
        """The frame just fed was speech (and no tone)."""
        return self.speech.last_voice_ms == self.elapsed_ms

    @property
    def beep_ended(self) -> bool:
        """A beep-like tone stopped at the frame just fed."""
        tone = self.ended_tone
        return tone is not None and tone.in_beep_band and \
            tone.duration_ms >= self.settings.beep_min_ms

    def restart_greeting_end(self) -> None:
        """Look for the greeting's end afresh from now (a screener turned out to be a
        voicemail after its prompt: an earlier silence was not the greeting's end)."""
        self.greeting_end = None
        self._decided_at_ms = self.elapsed_ms

    @property
    def done(self) -> bool:
        if self.decision is None:
            return False
        wants_end = self.want_greeting_end and self.decision.result == DetectionResult.MACHINE
        return not wants_end or self.greeting_end is not None

    @property
    def utterance_ended(self) -> bool:
        """The frame just fed closed an utterance (``pause_ms`` of silence after speech):
        the moment for the driver to transcribe what was said so far."""
        return self._utterance_closed

    # -- input ----------------------------------------------------------------------------

    def feed(self, frame: Int16Array, speech_probability: float) -> Decision | GreetingEnd | None:
        self.elapsed_ms += FRAME_MS
        ended_tone = self.ended_tone = self.tones.feed(frame)
        tonal = self.tones.tonal
        voiced = speech_probability >= self.settings.speech_probability and not tonal
        self._track_speech(voiced)
        if self.decision is None:
            decision = self._decide(ended_tone)
            if decision is not None:
                return self._decided(decision)
            return None
        if self.want_greeting_end and self.greeting_end is None and \
                self.decision.result == DetectionResult.MACHINE:
            end = self._greeting_end(ended_tone)
            if end is not None:
                self.greeting_end = end
                return end
        return None

    def transcript(self, text: str) -> Decision | None:
        """The greeting's transcript so far (it replaces the previous one)."""
        self.transcript_pending = False
        self.text = text.strip()
        if self.decision is not None:
            return None
        found = match_phrase(self.text)
        if found is None:
            return None
        kind, phrase = found
        reason = "screening_phrase" if kind == PhraseKind.SCREENING else "voicemail_phrase"
        return self._decided(self._make(DetectionResult.MACHINE,
                                        0.9 if kind == PhraseKind.SCREENING else 0.95,
                                        f"{reason}:{phrase}"))

    # -- speech ---------------------------------------------------------------------------

    def _track_speech(self, voiced: bool) -> None:
        s, now = self.speech, self.elapsed_ms
        self._utterance_closed = False
        if voiced:
            s.voiced_ms += FRAME_MS
            if s.onset_ms is None:
                s.onset_ms = now - FRAME_MS
            if s.span_start_ms is None or (s.last_voice_ms is not None and
                                           now - s.last_voice_ms > self.settings.end_silence_ms):
                s.span_start_ms = now - FRAME_MS
            if not s.in_utterance:
                s.in_utterance = True
            s.last_voice_ms = now
        elif s.in_utterance and s.last_voice_ms is not None and \
                now - s.last_voice_ms >= self.settings.pause_ms:
            s.in_utterance = False
            self._utterance_closed = True

    def _silence_ms(self) -> int:
        last = self.speech.last_voice_ms
        return self.elapsed_ms - (last if last is not None else 0)

    # -- decision -------------------------------------------------------------------------

    def _decide(self, ended_tone: Tone | None) -> Decision | None:
        st, s = self.settings, self.speech
        current = self.tones.current
        if current is not None and current.is_fax_cng and current.duration_ms >= st.fax_min_ms:
            return self._make(DetectionResult.FAX, 0.95, "fax_tone")
        if ended_tone is not None and ended_tone.in_beep_band and s.onset_ms is not None and \
                ended_tone.duration_ms >= st.beep_min_ms:
            self._beep_heard = ended_tone  # the greeting is over too
            return self._make(DetectionResult.MACHINE, 0.9, "beep_after_greeting")
        if s.span_start_ms is not None and s.last_voice_ms == self.elapsed_ms and \
                self.elapsed_ms - s.span_start_ms > st.speech_threshold_ms:
            return self._make(DetectionResult.MACHINE, 0.8, "long_greeting")
        waited = st.end_silence_ms + (st.transcript_wait_ms if self.transcript_pending else 0)
        # A tone after speech is no person waiting for an answer: wait for its end (a beep?).
        if s.onset_ms is not None and current is None and self._silence_ms() >= waited:
            short = s.voiced_ms <= 1_500
            return self._make(DetectionResult.HUMAN, 0.85 if short else 0.7,
                              "short_greeting_then_silence")
        if self.elapsed_ms >= st.timeout_ms:
            if s.onset_ms is None:
                return self._make(DetectionResult.SILENCE, 0.9, "no_speech")
            return self._make(DetectionResult.HUMAN, 0.5, "timeout")
        return None

    def _make(self, result: DetectionResult, confidence: float, reason: str) -> Decision:
        return Decision(result, confidence, self.elapsed_ms, reason, self.speech.voiced_ms,
                        self.text)

    def _decided(self, decision: Decision) -> Decision:
        self.decision = decision
        self._decided_at_ms = self.elapsed_ms
        return decision

    # -- the greeting's end ---------------------------------------------------------------

    def _greeting_end(self, ended_tone: Tone | None) -> GreetingEnd | None:
        st = self.settings
        current = self.tones.current
        beep, self._beep_heard = self._beep_heard, None
        if beep is not None:
            pass
        elif ended_tone is not None and ended_tone.in_beep_band and \
                ended_tone.duration_ms >= st.beep_min_ms:
            beep = ended_tone
        elif current is not None and current.in_beep_band and current.duration_ms >= st.beep_max_ms:
            beep = current
        if beep is not None:
            return GreetingEnd(True, self.elapsed_ms, "beep", beep.frequency_hz, beep.duration_ms)
        if self.tones.tonal:
            return None  # a tone is playing: wait for its end
        quiet = st.no_beep_silence_ms if st.wait_for_beep else st.greeting_silence_ms
        if self.speech.last_voice_ms is not None and self._silence_ms() >= quiet:
            return GreetingEnd(False, self.elapsed_ms, "silence")
        if self.elapsed_ms - self._decided_at_ms >= st.greeting_timeout_ms:
            return GreetingEnd(False, self.elapsed_ms, "timeout")
        return None
