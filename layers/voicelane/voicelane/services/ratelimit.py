"""Rate limits per API key and route class (fixed one-minute windows in DynamoDB)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum

from voicelane.domain.errors import RateLimited
from voicelane.domain.models import ApiKey, App
from voicelane.ports import RateLimitStore

WINDOW_S = 60


class RouteClass(StrEnum):
    CREATE_CALL = "create_call"
    SESSIONS = "sessions"
    READS = "reads"
    LISTS = "lists"
    WRITES = "writes"


@dataclass(frozen=True)
class RateState:
    limit: int
    remaining: int
    reset_s: int


class RateLimiter:
    def __init__(self, store: RateLimitStore) -> None:
        self.store = store

    def check(self, app: App, key: ApiKey, route: RouteClass, now: float | None = None) -> RateState:
        """Count this request; raise RateLimited (with Retry-After) when over the limit."""
        t = time.time() if now is None else now
        window = int(t // WINDOW_S) * WINDOW_S
        limit = int(getattr(app.rate_limits, route.value))
        hits = self.store.hit(f"{key.key_id}#{route.value}", window, ttl_s=2 * WINDOW_S)
        reset = max(1, int(window + WINDOW_S - t))
        if hits > limit:
            raise RateLimited(
                f"rate limit of {limit} requests per minute exceeded for {route.value}",
                retry_after_s=reset,
                limit=limit,
            )
        return RateState(limit=limit, remaining=max(0, limit - hits), reset_s=reset)
