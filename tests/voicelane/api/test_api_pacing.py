"""The per-app calls-per-second cap on the API: a burst over it answers 429
`cps_limit_exceeded` with Retry-After and writes nothing; the cap is the app's own or the
platform's default; counts are DynamoDB conditional writes, so two clients share one cap."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from voicelane.domain.models import RateLimits

from tests.voicelane.api.api_helpers import ApiUser, assert_error

LIMITS = RateLimits(create_call=1000)  # the per-key minute limit is not what is under test


def _burst(user: ApiUser, n: int) -> list[httpx.Response]:
    """``n`` creates at once from separate connections (as separate Lambda calls would be)."""
    def one(_: int) -> httpx.Response:
        with httpx.Client(base_url=str(user.http.base_url), timeout=15) as client:
            return client.post("/v1/calls", headers=user.headers,
                               json={"from": user.number, "to": "+14155550123"})
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def _wait_for_a_fresh_second() -> None:
    """Start a burst early in a second, so it does not straddle two windows."""
    time.sleep(1 - time.time() % 1 + 0.02)


def test_a_burst_over_the_apps_cap_answers_429_with_retry_after(
        new_user: Callable[..., ApiUser]) -> None:
    user = new_user(calls_per_second=2, rate_limits=LIMITS)
    _wait_for_a_fresh_second()
    answers = _burst(user, 6)
    created = [r for r in answers if r.status_code == 201]
    refused = [r for r in answers if r.status_code == 429]
    assert len(created) + len(refused) == 6, [r.text for r in answers]
    assert 2 <= len(created) <= 4, [r.status_code for r in answers]  # 4 only over a boundary
    for r in refused:
        error = assert_error(r, 429, "cps_limit_exceeded")
        assert "2 calls per second" in error["message"]
        assert r.headers["Retry-After"] == "1", r.headers
    # Nothing was written for the refused ones, and after Retry-After a create goes through.
    assert sorted(user.call_ids()) == sorted(r.json()["id"] for r in created)
    time.sleep(int(refused[0].headers["Retry-After"]))
    assert user.create_call().status_code == 201

