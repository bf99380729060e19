"""Calls per second per app: the cap on how fast an app's calls are placed (a toll-fraud and
carrier guard: carriers cap CPS per trunk and block bursts; a leaked key must not dial a
thousand calls in a second).

Counts live in DynamoDB: one counter item per app, kind and second with a TTL, taken with a
conditional write (``n < limit``), so the cap holds across every Lambda instance and media
node. Two kinds, with the same limit:

- ``create``: the API's admission. A create that finds this second full answers
  ``429 cps_limit_exceeded`` with ``Retry-After`` and writes nothing. Calls created from
  events (the create-call function, a scheduled call falling due) are never refused here.
- ``dial``: where calls are placed. A media node takes a slot of the current second before it
  claims a queued call; when the second is full it reserves the first free second ahead
  (``CPSCALL#{call}`` remembers it) and sends the request again with that SQS delay, so a
  backlog drains at the cap, in order of arrival, and no call is dropped. A new leg of a
  live call (a bridged transfer's INVITE) takes its ``dial`` slot the same way, under its own
  id (:func:`leg_pacing_id`); the node waits for the second instead of re-queueing.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from voicelane.domain.errors import RateLimited
from voicelane.domain.models import App
from voicelane.ports import CpsStore

MAX_DELAY_S = 900  # SQS's longest DelaySeconds: how far ahead a queued call can be paced
CREATE = "create"
DIAL = "dial"


def leg_pacing_id(call_id: str, leg: str) -> str:
    """The id a new leg of a live call holds its reserved second under (not the call's own)."""
    return f"{call_id}#{leg}"


class CpsLimited(RateLimited):
    """The app reached its calls-per-second cap this second (HTTP 429 with Retry-After)."""

    code = "cps_limit_exceeded"


class CallPacer:
    """Takes one calls-per-second slot for each call created through the API and each dialled."""

    def __init__(self, store: CpsStore, default_cps: int,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.default_cps = default_cps
        self.clock = clock

    def limit(self, app: App) -> int:
        """The app's own `calls_per_second`, else the platform's default (settings)."""
        return app.calls_per_second or self.default_cps

    def take_now(self, app: App) -> None:
        """An API create's slot in this second, or CpsLimited with the seconds to the next."""
        now = self.clock()
        second = int(now)
        limit = self.limit(app)
        if not self.store.take(app.app_id, CREATE, second, limit):
            raise CpsLimited(
                f"the app's cap of {limit} calls per second is reached; retry shortly",
                retry_after_s=max(1, math.ceil(second + 1 - now)), limit=limit,
            )

    def admit(self, app: App, call_id: str) -> int:
        """Seconds before ``call_id`` may be dialled: 0 when it holds a slot of this second
        (reserved earlier, or taken now); else the delay to the second reserved for it."""
        now = int(self.clock())
        held = self.store.held(app.app_id, call_id)
        if held is not None and held >= now:  # its own second (or still ahead: wait for it)
            return held - now
        limit = self.limit(app)
        if self.store.take(app.app_id, DIAL, now, limit):
            return 0
        counts = self.store.counts(app.app_id, DIAL, now + 1, now + MAX_DELAY_S)
        for second in range(now + 1, now + MAX_DELAY_S + 1):
            if counts.get(second, 0) < limit and self.store.take(app.app_id, DIAL, second, limit):
                self.store.hold(app.app_id, call_id, second)
                return second - now
        return MAX_DELAY_S  # a backlog beyond SQS's delay: asked again then, never dropped
