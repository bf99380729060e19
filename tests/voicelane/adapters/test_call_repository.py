"""The call repository and services on moto: the outbox transaction, the concurrency cap,
idempotency, conditional transitions and list paging."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from voicelane.domain.call import ACTIVE, TRANSITIONS, CallStatus
from voicelane.domain.errors import (
    IdempotencyConflict,
    IllegalTransition,
    LimitExceeded,
    StaleWrite,
)
from voicelane.domain.ids import ulid_time_ms
from voicelane.ports import CallFilter
from voicelane.services.lifecycle import make_event

from tests.voicelane.adapters.call_helpers import Caller

S = CallStatus


def events_of(caller: Caller, call_id: str) -> list[tuple[int, str]]:
    return [(e.sequence, e.type) for e in caller.container.call_repo.list_events(call_id)]


def test_create_writes_the_call_and_its_first_event_together(caller: Caller) -> None:
    call = caller.place(metadata={"order": "42"})
    items = {i["sk"]: i for i in caller.items(call.call_id)}
    assert set(items) == {"CALL", "EVENT#0000000001"}
    assert items["CALL"]["status"] == "queued" and items["CALL"]["event_seq"] == 1
    event = items["EVENT#0000000001"]
    assert event["entity"] == "event" and event["type"] == "call.queued"
    assert event["data"]["id"] == call.call_id and event["data"]["metadata"] == {"order": "42"}
    assert caller.active_calls() == 1


def test_event_sequence_is_gap_free_across_transitions_and_plain_events(caller: Caller) -> None:
    call = caller.place()
    life = caller.container.lifecycle
    life.transition(call.call_id, S.INITIATED, {"media_node": "node-a"})
    life.record_event(call.call_id, "call.dtmf", {"digit": "5"})
    life.transition(call.call_id, S.RINGING)
    life.transition(call.call_id, S.IN_PROGRESS)
    life.record_event(call.call_id, "call.dtmf", {"digit": "#"})
    life.transition(call.call_id, S.COMPLETED, {"end_reason": "hangup"})
    assert events_of(caller, call.call_id) == [
        (1, "call.queued"), (2, "call.initiated"), (3, "call.dtmf"), (4, "call.ringing"),
        (5, "call.answered"), (6, "call.dtmf"), (7, "call.completed"),
    ]
    stored = caller.container.call_repo.get(call.call_id)
    assert stored is not None and stored.status == S.COMPLETED and stored.event_seq == 7
    assert stored.end_reason == "hangup" and stored.media_node == "node-a"


def test_concurrency_cap_is_enforced_and_released_on_a_terminal_transition(
    new_caller: Callable[..., Caller],
) -> None:
    caller = new_caller(max_concurrent_calls=2)
    first, _second = caller.place(), caller.place()
    assert caller.active_calls() == 2
    before = caller.container.call_repo.list_calls(caller.tenant.app.app_id, CallFilter(), 10, None)
    with pytest.raises(LimitExceeded) as info:
        caller.place()
    assert info.value.code == "concurrency_limit_exceeded"
    after = caller.container.call_repo.list_calls(caller.tenant.app.app_id, CallFilter(), 10, None)
    assert [c.call_id for c in after.items] == [c.call_id for c in before.items]  # nothing written
    assert caller.active_calls() == 2
    caller.container.lifecycle.transition(first.call_id, S.CANCELED, {"end_reason": "test"})
    assert caller.active_calls() == 1
    caller.place()
    assert caller.active_calls() == 2


def test_scheduled_calls_take_a_slot_only_once_queued(new_caller: Callable[..., Caller]) -> None:
    caller = new_caller(max_concurrent_calls=1)
    far = "2999-01-01T00:00:00Z"
    scheduled = caller.place(scheduled_at=far)
    assert scheduled.status == S.SCHEDULED and caller.active_calls() == 0
    caller.place()
    assert caller.active_calls() == 1


def test_idempotent_replay_returns_the_first_call_and_conflict_writes_nothing(
    caller: Caller,
) -> None:
    to = "+14155550123"
    app = caller.container.apps.get_app(caller.tenant.app.app_id)
    first, created = caller.container.calls.create(app, caller.request(to=to), "key-1")
    again, created_again = caller.container.calls.create(app, caller.request(to=to), "key-1")
    assert created and not created_again and again.call_id == first.call_id
    with pytest.raises(IdempotencyConflict) as info:
        caller.container.calls.create(app, caller.request(to="+14155550124"), "key-1")
    assert info.value.code == "idempotency_conflict"
    listed = caller.container.call_repo.list_calls(app.app_id, CallFilter(), 10, None)
    assert [c.call_id for c in listed.items] == [first.call_id]
    assert caller.active_calls() == 1


def test_a_stale_transition_is_refused_and_writes_nothing(caller: Caller) -> None:
    call = caller.place()
    repo = caller.container.call_repo
    caller.container.lifecycle.record_event(call.call_id, "call.note")  # event_seq 1 -> 2
    stale = call  # read before the event: event_seq == 1
    event = make_event(stale.model_copy(update={"status": S.CANCELED}), "call.canceled")
    with pytest.raises(StaleWrite):
        repo.transition(stale, S.CANCELED, {"end_reason": "stale"}, event)
    current = repo.get(call.call_id)
    assert current is not None and current.status == S.QUEUED and current.end_reason is None
    assert events_of(caller, call.call_id) == [(1, "call.queued"), (2, "call.note")]
    assert caller.active_calls() == 1


def test_an_illegal_transition_is_refused_and_writes_nothing(caller: Caller) -> None:
    call = caller.place()
    with pytest.raises(IllegalTransition):
        caller.container.lifecycle.transition(call.call_id, S.COMPLETED)
    assert [i["sk"] for i in caller.items(call.call_id)] == ["CALL", "EVENT#0000000001"]
    stored = caller.container.call_repo.get(call.call_id)
    assert stored is not None and stored.status == S.QUEUED and stored.event_seq == 1


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(list(S)), min_size=1, max_size=8))
def test_random_transition_sequences_on_dynamodb(caller: Caller, requests: list[CallStatus]) -> None:
    """Each request is applied exactly when legal; the stored call and its timeline agree."""
    call = caller.place()
    status, expected_events = S.QUEUED, ["call.queued"]
    for target in requests:
        if target in TRANSITIONS[status]:
            caller.container.lifecycle.transition(call.call_id, target)
            status = target
            expected_events.append(f"call.{_event_name(target)}")
        else:
            with pytest.raises(IllegalTransition):
                caller.container.lifecycle.transition(call.call_id, target)
    stored = caller.container.call_repo.get(call.call_id)
    assert stored is not None and stored.status == status
    timeline = events_of(caller, call.call_id)
    assert [seq for seq, _ in timeline] == list(range(1, len(expected_events) + 1))
    assert [t for _, t in timeline] == expected_events
    # the slot is held exactly while the call is active
    assert caller.active_calls() == (1 if status in ACTIVE else 0)
    if status in ACTIVE:
        caller.container.lifecycle.transition(call.call_id, S.FAILED)
    assert caller.active_calls() == 0


def _event_name(status: CallStatus) -> str:
    return "answered" if status == S.IN_PROGRESS else status.value


def test_list_pages_newest_first_with_a_stable_cursor_and_filters(caller: Caller) -> None:
    app_id = caller.tenant.app.app_id
    placed = [caller.place() for _ in range(5)]
    time.sleep(0.002)
    caller.container.lifecycle.transition(placed[1].call_id, S.CANCELED)
    repo = caller.container.call_repo
    page1 = repo.list_calls(app_id, CallFilter(), 2, None)
    assert [c.call_id for c in page1.items] == [placed[4].call_id, placed[3].call_id]
    assert page1.next_cursor
    caller.place()  # a new call must not shift the pages that follow
    page2 = repo.list_calls(app_id, CallFilter(), 2, page1.next_cursor)
    assert [c.call_id for c in page2.items] == [placed[2].call_id, placed[1].call_id]
    page3 = repo.list_calls(app_id, CallFilter(), 2, page2.next_cursor)
    assert [c.call_id for c in page3.items] == [placed[0].call_id]
    assert page3.next_cursor is None
    canceled = repo.list_calls(app_id, CallFilter(status=S.CANCELED), 10, None)
    assert [c.call_id for c in canceled.items] == [placed[1].call_id]
    assert repo.list_calls(app_id, CallFilter(direction="inbound"), 10, None).items == []
    second = ulid_time_ms(placed[2].call_id.removeprefix("call_"))
    since = repo.list_calls(app_id, CallFilter(start_ms=second), 10, None)
    assert placed[2].call_id in {c.call_id for c in since.items}
    assert placed[0].call_id not in {c.call_id for c in since.items} or ulid_time_ms(
        placed[0].call_id.removeprefix("call_")
    ) >= second
    until = repo.list_calls(app_id, CallFilter(end_ms=second), 10, None)
    assert placed[2].call_id in {c.call_id for c in until.items}
    assert placed[4].call_id not in {c.call_id for c in until.items} or ulid_time_ms(
        placed[4].call_id.removeprefix("call_")
    ) <= second
