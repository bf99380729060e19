"""Call-control helpers above sessions: DTMF ``gather`` and a two-way audio ``bridge``."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.resample import resample_int16

from .session import AudioCallback, RtpSession


@dataclass(frozen=True)
class GatherResult:
    """Digits collected (without the terminator) and why gathering ended:
    ``max_digits``, ``terminator``, ``timeout`` or ``closed``."""

    digits: str
    reason: str


async def gather(session: RtpSession, *, max_digits: int = 1, terminator: str | None = "#",
                 timeout: float = 5.0, inter_digit_timeout: float | None = None) -> GatherResult:
    """Collect DTMF until ``max_digits``, the ``terminator`` digit, or a timeout: ``timeout``
    before the first digit, ``inter_digit_timeout`` (default: ``timeout``) between digits."""
    if max_digits < 1:
        raise ValueError("max_digits must be at least 1")
    if terminator is not None and (len(terminator) != 1 or terminator not in "0123456789*#ABCD"):
        raise ValueError("terminator must be one DTMF digit")
    gap = timeout if inter_digit_timeout is None else inter_digit_timeout
    digits = ""
    with session.digits() as queue:
        while True:
            if session.closed:
                return GatherResult(digits, "closed")
            try:
                digit = await asyncio.wait_for(queue.get(), gap if digits else timeout)
            except TimeoutError:
                return GatherResult(digits, "timeout")
            if terminator is not None and digit == terminator:
                return GatherResult(digits, "terminator")
            digits += digit
            if len(digits) >= max_digits:
                return GatherResult(digits, "max_digits")


class Bridge:
    """Relays each leg's received audio to the other leg, frame by frame on the shared clock
    (used for a transfer when the peer refuses REFER). Plays on either leg take precedence."""

    def __init__(self, a: RtpSession, b: RtpSession) -> None:
        if a is b:
            raise ValueError("cannot bridge a session to itself")
        self.a, self.b = a, b
        self.active = True
        self._a_to_b = self._relay(a, b)
        self._b_to_a = self._relay(b, a)
        a.add_audio_tap(self._a_to_b)
        b.add_audio_tap(self._b_to_a)

    @staticmethod
    def _relay(source: RtpSession, target: RtpSession) -> AudioCallback:
        def forward(pcm: Int16Array) -> None:
            if not target.closed:
                if source.sample_rate != target.sample_rate:  # a wideband leg and a G.711 one
                    pcm = resample_int16(pcm, source.sample_rate, target.sample_rate)
                target.feed_live(pcm)
        return forward

    def stop(self) -> None:
        """Unbridge: both legs go back to their own playback or silence."""
        if self.active:
            self.active = False
            self.a.remove_audio_tap(self._a_to_b)
            self.b.remove_audio_tap(self._b_to_a)
            with contextlib.suppress(Exception):
                self.a.outbound.live.clear()
                self.b.outbound.live.clear()



def bridge(session_a: RtpSession, session_b: RtpSession) -> Bridge:
    """Relay audio both ways between two sessions until ``Bridge.stop``."""
    return Bridge(session_a, session_b)
