"""The DTMF side of the ``gather`` command: digits until max_digits, the terminator or the
inter-digit timeout (speech input adds ``speech_gather.py`` beside it)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class Gather:
    """Collects DTMF digits until max_digits, the terminator, or the inter-digit timeout."""

    def __init__(self, max_digits: int, terminator: str | None, timeout_s: float) -> None:
        self.max_digits = max_digits
        self.terminator = terminator
        self.timeout_s = timeout_s
        self.digits = ""
        self.result: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.on_digit: Callable[[], None] | None = None  # a speech gather's no-input timer
        self._kick = asyncio.Event()

    def feed(self, digit: str) -> None:
        if self.result.done():
            return
        if self.on_digit is not None:
            self.on_digit()
        if self.terminator and digit == self.terminator:
            self.result.set_result("terminator")
            return
        self.digits += digit
        self._kick.set()
        if len(self.digits) >= self.max_digits:
            self.result.set_result("max_digits")

    def cancel(self) -> None:
        if not self.result.done():
            self.result.set_result("hangup")

    async def run(self) -> str:
        while not self.result.done():
            self._kick.clear()
            try:
                await asyncio.wait_for(self._kick.wait(), timeout=self.timeout_s)
            except TimeoutError:
                if not self.result.done():
                    self.result.set_result("timeout")
        return self.result.result()
