"""Calls per second per app: the cap on how fast an app's calls are placed (toll-fraud and
carrier-abuse guard; carriers cap CPS per trunk and block a burst).

Counts live in DynamoDB, one counter item per app and second with a TTL, taken with a
conditional write (``n < limit``), so the cap holds across every Lambda instance and process.
Every call that is queued to be dialled takes one: an API create that finds this second full
answers ``429 cps_limit_exceeded`` with ``Retry-After`` (nothing written); a call queued by an
event (the create-call function, a scheduled call falling due) is never refused: it reserves
the first second with room and goes to ``call-requests`` with that SQS delay.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from voicelane.domain.errors import RateLimited
from voicelane.domain.models import App
from voicelane.ports import CpsStore

MAX_DELAY_S = 900  # SQS's longest DelaySeconds: how far ahead a queued call can be paced


class CpsLimited(RateLimited):
    """The app placed its calls-per-second cap this second (HTTP 429 with Retry-After)."""

    code = "cps_limit_exceeded"


class CallPacer:
    """Takes one calls-per-second slot for each call placed."""

    def __init__(self, store: CpsStore, default_cps: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.default_cps = default_cps
        self.clock = clock

    def limit(self, app: App) -> int:
        """The app's own `calls_per_second`, else the platform's default (settings)."""
        return app.calls_per_second or self.default_cps

    def take_now(self, app: App) -> None:
        """A slot in this second, or CpsLimited with the seconds until the next one."""
        now = self.clock()
        second = int(now)
        limit = self.limit(app)
        if not self.store.take(app.app_id, second, limit):
            raise CpsLimited(
                f"the app's cap of {limit} calls per second is reached; retry shortly",
                retry_after_s=max(1, math.ceil(second + 1 - now)), limit=limit,
            )

    def reserve(self, app: App) -> int:
        """Seconds to delay a queued call: 0 when this second has room, else until the first
        second with room within MAX_DELAY_S (taken). A backlog longer than that still goes,
        at MAX_DELAY_S (queued calls are delayed, never dropped)."""
        now = int(self.clock())
        limit = self.limit(app)
        counts = self.store.counts(app.app_id, now, now + MAX_DELAY_S)
        for second in range(now, now + MAX_DELAY_S + 1):
            if counts.get(second, 0) < limit and self.store.take(app.app_id, second, limit):
                return second - now
        return MAX_DELAY_S
