"""Call-control helpers above sessions: DTMF ``gather``. (Bridges of calls, on any transport,
are ``calls/bridge.py``.)"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from .session import RtpSession


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
