"""The calls-per-second pacer over DynamoDB (moto): the default cap of 1, an API create
refused with the seconds to wait, and dials over the cap deferred to reserved seconds."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from voicelane.adapters.dynamo.directory import DynamoCpsStore
from voicelane.container import Container
from voicelane.services import pacing
from voicelane.services.pacing import DIAL, MAX_DELAY_S, CallPacer, CpsLimited
from voicelane.settings import Settings

from tests.conftest import Tenant


def _pacer(container: Container, now: list[float], default: int = 1) -> CallPacer:
    return CallPacer(DynamoCpsStore(container.table), default, clock=lambda: now[0])


def test_the_platform_default_is_one_call_per_second() -> None:
    assert Settings.model_fields["calls_per_second"].default == 1


def test_a_second_create_in_the_same_second_is_refused_with_the_wait(
        container: Container, new_tenant: Callable[..., Tenant]) -> None:
    app = new_tenant().app  # no calls_per_second of its own: the default applies
    now = [1_900_000_000.25]
    pacer = _pacer(container, now)
    pacer.take_now(app)
    with pytest.raises(CpsLimited) as refused:
        pacer.take_now(app)
    assert refused.value.code == "cps_limit_exceeded" and refused.value.retry_after_s == 1
    now[0] += 1  # the next second has room again
    pacer.take_now(app)


def test_dials_over_the_cap_are_deferred_to_the_next_free_seconds(
        container: Container, new_tenant: Callable[..., Tenant]) -> None:
    app = new_tenant(calls_per_second=2).app
    now = [1_900_000_100.5]
    pacer = _pacer(container, now)
    delays = [pacer.admit(app, f"call_{i}") for i in range(5)]
    assert delays == [0, 0, 1, 1, 2]
    # A deferred call that comes back in its reserved second dials on that reservation ...
    now[0] += 1
    assert pacer.admit(app, "call_2") == 0 and pacer.admit(app, "call_3") == 0
    # ... one that comes back early waits again, and a new one queues behind them all.
    assert pacer.admit(app, "call_4") == 1
    assert pacer.admit(app, "call_5") == 1  # second +2 still has one slot
    store = DynamoCpsStore(container.table)
    assert store.counts(app.app_id, DIAL, int(now[0]) - 1, int(now[0]) + 2) == {
        1_900_000_100: 2, 1_900_000_101: 2, 1_900_000_102: 2}


def test_a_backlog_past_the_sqs_delay_limit_still_queues(
        container: Container, new_tenant: Callable[..., Tenant],
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert MAX_DELAY_S == 900  # SQS's DelaySeconds maximum
    monkeypatch.setattr(pacing, "MAX_DELAY_S", 4)  # a 4 s horizon: a fast test
    app = new_tenant().app
    now = [1_900_001_000.0]
    store = DynamoCpsStore(container.table)
    for second in range(int(now[0]), int(now[0]) + 5):
        assert store.take(app.app_id, DIAL, second, 1)
    assert _pacer(container, now).admit(app, "call_x") == 4  # asked again then, not dropped
