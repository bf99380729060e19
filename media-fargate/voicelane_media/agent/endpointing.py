"""When a caller's turn ends: the endpointer policy (pure) and the turn's audio (the model's input).

    policy = EndpointPolicy.of(settings, smart=analyzer is not None)
    policy.first_wait_ms()          # silence (ms after speech end) before the first decision
    policy.end_after_ms(p)          # silence at which the turn ends, given the model's answer

With `silence` the turn ends after `endpointing_ms`. With `smart_turn` the model is asked after
`smart_turn_check_ms`: complete (p >= threshold) ends the turn then; incomplete waits until
`turn_max_wait_ms` of silence (the caller may go on: their speech reopens the turn); a model
that failed (p is None) falls back to `endpointing_ms`. A turn whose words end in a digit
waits as an incomplete one does: the model cannot know that four digits are a quarter of a
card number.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass

from voicelane.domain.agent import TurnDetection

from voicelane_media.agent.settings import LoopSettings
from voicelane_media.agent.smart_turn import WINDOW_S


@dataclass(frozen=True)
class EndpointPolicy:
    """The endpointing decision in milliseconds of caller silence after the last speech."""

    smart: bool
    silence_ms: int
    check_ms: int
    max_wait_ms: int
    threshold: float

    @classmethod
    def of(cls, settings: LoopSettings, smart: bool) -> EndpointPolicy:
        return cls(
            smart=smart and settings.turn_detection is TurnDetection.SMART_TURN,
            silence_ms=settings.endpointing_ms,
            check_ms=settings.smart_turn_check_ms,
            max_wait_ms=settings.turn_max_wait_ms,
            threshold=settings.smart_turn_threshold,
        )

    @property
    def mode(self) -> str:
        return "smart_turn" if self.smart else "silence"

    def first_wait_ms(self) -> int:
        """Silence before the first decision: the model's check, or the whole fixed window."""
        return self.check_ms if self.smart else self.silence_ms

    def end_after_ms(self, probability: float | None, text: str = "") -> int:
        """Silence at which the turn ends, given the model's answer (None: no model answer)
        and the turn's words: one that ends in a digit waits as "incomplete" does, whatever
        the model says (it hears "my card number is four one one one" as finished, 0.85)."""
        if not self.smart or probability is None:
            return self.silence_ms
        if probability >= self.threshold and not ends_in_digit(text):
            return self.check_ms
        return max(self.max_wait_ms, self.check_ms)


_DIGIT_END = re.compile(r"(\d|\b(zero|one|two|three|four|five|six|seven|eight|nine))\W*$", re.I)


def ends_in_digit(text: str) -> bool:
    """The words end in a digit (a number read in groups may go on after the pause)."""
    return bool(_DIGIT_END.search(text))


class TurnAudio:
    """The caller's recent audio (the last 8 s, 20 ms frames with their times): the model is
    given what was said since the open turn started (speech and the pauses within)."""

    def __init__(self) -> None:
        self._frames: deque[tuple[float, bytes]] = deque()
        self._bytes = 0
        self.sample_rate = 16000

    def add(self, at: float, pcm: bytes, sample_rate: int) -> None:
        if sample_rate != self.sample_rate:
            self._frames.clear()
            self._bytes = 0
            self.sample_rate = sample_rate
        self._frames.append((at, pcm))
        self._bytes += len(pcm)
        limit = WINDOW_S * sample_rate * 2
        while self._bytes - len(self._frames[0][1]) >= limit:
            self._bytes -= len(self._frames.popleft()[1])

    def since(self, start: float) -> bytes:
        """PCM of the frames that ended after `start` (monotonic time)."""
        return b"".join(pcm for at, pcm in self._frames if at > start)
