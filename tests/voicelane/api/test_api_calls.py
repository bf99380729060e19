"""The Calls API over HTTP: what a client sees for good and bad requests."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.voicelane.api.api_helpers import ApiUser, assert_error, e164


def test_create_call_returns_the_call(user: ApiUser) -> None:
    to = e164()
    r = user.create_call(to=to, metadata={"order": "42"}, client_state="abc",
                         agent={"name": "Support", "temperature": 0.2})
    assert r.status_code == 201, r.text
    call = r.json()
    assert call["id"].startswith("call_") and call["app_id"] == user.app_id
    assert (call["status"], call["direction"]) == ("queued", "outbound")
    assert (call["from"], call["to"], call["from_channel"], call["to_channel"]) == (
        user.number, to, "pstn", "pstn")
    assert call["metadata"] == {"order": "42"} and call["client_state"] == "abc"
    assert call["agent"]["name"] == "Support" and call["max_duration_s"] == 600
    for field in ("duration_s", "end_reason", "scheduled_at", "started_at", "answered_at", "ended_at"):
        assert call[field] is None
    assert user.request("GET", f"/v1/calls/{call['id']}").json() == call
    events = user.request("GET", f"/v1/calls/{call['id']}/events").json()["data"]
    assert [(e["sequence"], e["type"]) for e in events] == [(1, "call.queued")]


BAD_CALLS: list[tuple[str, dict[str, Any], int, str]] = [
    ("malformed to", {"to": "4155550100"}, 422, "invalid_phone_number"),
    ("malformed to with newline", {"to": "+14155550100\n"}, 422, "invalid_phone_number"),
    ("from not owned", {"from": "+14155550000"}, 422, "from_number_not_owned"),
    ("destination not allowed", {"to": "+442071838750"}, 403, "destination_not_allowed"),
    ("inline temperature", {"agent": {"temperature": 2}}, 422, "validation_error"),
    ("inline max duration", {"agent": {"max_duration_s": 10}}, 422, "validation_error"),
    ("inline inactivity", {"agent": {"inactivity_timeout_s": 301}}, 422, "validation_error"),
    ("call max duration", {"max_duration_s": 7201}, 422, "validation_error"),
    ("too much metadata", {"metadata": {f"k{i}": "v" for i in range(17)}}, 422, "validation_error"),
    ("whatsapp", {"to_channel": "whatsapp", "to": "wa-1"}, 422, "channel_not_supported"),
    ("unknown agent", {"agent_id": "agent_nope"}, 422, "agent_not_found"),
    ("scheduled in the past", {"scheduled_at": "2001-01-01T00:00:00Z"}, 422, "scheduled_at_in_past"),
    ("unknown field", {"colour": "red"}, 422, "validation_error"),
]


@pytest.mark.parametrize(("case", "fields", "status", "code"), BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
def test_bad_create_call_answers_its_error_and_writes_nothing(
    user: ApiUser, case: str, fields: dict[str, Any], status: int, code: str
) -> None:
    assert_error(user.create_call(**fields), status, code)
    assert user.call_ids() == []


def test_a_webrtc_session_answers_its_signalling_url_and_ice_servers(
        user: ApiUser, monkeypatch: pytest.MonkeyPatch) -> None:
    from voicelane.container import get_container
    from voicelane.domain.webrtc import IceServer

    turn = IceServer(urls=["turn:turn.example.com:3478?transport=udp"], username="u",
                     credential="p")
    monkeypatch.setattr(get_container().settings, "webrtc_ice_servers", [turn])
    r = user.request("POST", "/v1/sessions", json={"connection_type": "webrtc"})
    assert r.status_code == 201, r.text
    session = r.json()
    assert session["connect_url"].startswith("http") and "/v1/media/webrtc/" in session["connect_url"]
    assert session["ice_servers"] == [turn.model_dump()] and session["token"]
    call = user.request("GET", f"/v1/calls/{session['call_id']}").json()
    assert (call["status"], call["from_channel"], call["to_channel"]) == (
        "queued", "webrtc", "webrtc")
    assert user.call_ids() == [session["call_id"]]


def test_malformed_json_is_a_validation_error(user: ApiUser) -> None:
    r = user.request("POST", "/v1/calls", content=b"{not json",
                     headers={"Content-Type": "application/json"})
    assert_error(r, 422, "validation_error")
    assert user.call_ids() == []


def test_concurrency_cap(new_user: Callable[..., ApiUser]) -> None:
    user = new_user(max_concurrent_calls=1)
    first = user.create_call()
    assert first.status_code == 201
    refused = user.create_call()
    error = assert_error(refused, 429, "concurrency_limit_exceeded")
    assert error["details"] == {"max_concurrent_calls": 1}
    assert 1 <= int(refused.headers["Retry-After"]) <= 60, refused.headers
    assert user.call_ids() == [first.json()["id"]]
    assert user.request("POST", f"/v1/calls/{first.json()['id']}/hangup").status_code == 200
    assert user.create_call().status_code == 201  # the slot was released


def test_idempotency_replay_and_conflict(user: ApiUser) -> None:
    to = e164()
    key = {"Idempotency-Key": "order-7"}
    first = user.create_call(headers=key, to=to)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = user.create_call(headers=key, to=to)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert_error(user.create_call(headers=key, to=e164()), 409, "idempotency_conflict")
    assert user.call_ids() == [first.json()["id"]]


def test_unknown_and_foreign_call_ids_are_not_found(new_user: Callable[..., ApiUser]) -> None:
    owner, other = new_user(), new_user()
    call_id = owner.create_call().json()["id"]
    for path in ("", "/events", "/transcript", "/recording"):
        assert_error(owner.request("GET", f"/v1/calls/call_unknown{path}"), 404, "call_not_found")
        assert_error(other.request("GET", f"/v1/calls/{call_id}{path}"), 404, "call_not_found")
    assert_error(other.request("POST", f"/v1/calls/{call_id}/hangup"), 404, "call_not_found")
    assert owner.request("GET", f"/v1/calls/{call_id}").json()["status"] == "queued"
    assert other.call_ids() == []


def test_hangup_of_a_queued_call_cancels_it_with_its_event(user: ApiUser) -> None:
    call_id = user.create_call().json()["id"]
    r = user.request("POST", f"/v1/calls/{call_id}/hangup")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "canceled" and r.json()["end_reason"] == "canceled_by_api"
    assert r.json()["ended_at"]
    events = user.request("GET", f"/v1/calls/{call_id}/events").json()["data"]
    assert [(e["sequence"], e["type"]) for e in events] == [(1, "call.queued"), (2, "call.canceled")]
    assert events[1]["data"]["status"] == "canceled"
    assert_error(user.request("POST", f"/v1/calls/{call_id}/hangup"), 409, "call_already_ended")


def test_recording_and_transcript_are_not_found_until_they_exist(user: ApiUser) -> None:
    call_id = user.create_call().json()["id"]
    assert_error(user.request("GET", f"/v1/calls/{call_id}/recording"), 404, "recording_not_found")
    assert_error(user.request("GET", f"/v1/calls/{call_id}/transcript"), 404, "transcript_not_found")


def test_scheduled_call_becomes_queued_when_due(user: ApiUser) -> None:
    due = datetime.now(UTC) + timedelta(seconds=1.5)
    r = user.create_call(scheduled_at=due.isoformat())
    assert r.status_code == 201, r.text
    call = r.json()
    assert call["status"] == "scheduled" and call["scheduled_at"].startswith(due.isoformat()[:19])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status = user.request("GET", f"/v1/calls/{call['id']}").json()["status"]
        if status != "scheduled":
            break
        time.sleep(0.2)
    assert status == "queued"
    assert time.time() >= due.timestamp()
    events = user.request("GET", f"/v1/calls/{call['id']}/events").json()["data"]
    assert [e["type"] for e in events] == ["call.scheduled", "call.queued"]


def test_scheduled_call_canceled_before_it_is_due(user: ApiUser) -> None:
    due = datetime.now(UTC) + timedelta(hours=1)
    call_id = user.create_call(scheduled_at=due.isoformat()).json()["id"]
    r = user.request("POST", f"/v1/calls/{call_id}/hangup")
    assert r.json()["status"] == "canceled"


def test_list_filters_limits_and_stable_cursor(user: ApiUser) -> None:
    ids = [user.create_call().json()["id"] for _ in range(5)]
    user.request("POST", f"/v1/calls/{ids[0]}/hangup")
    r = user.request("GET", "/v1/calls", params={"limit": 2})
    body = r.json()
    assert [c["id"] for c in body["data"]] == ids[:2:-1][:2] == [ids[4], ids[3]]
    assert body["limit"] == 2 and body["next_cursor"]
    r2 = user.request("GET", "/v1/calls", params={"limit": 2, "cursor": body["next_cursor"]})
    assert [c["id"] for c in r2.json()["data"]] == [ids[2], ids[1]]
    canceled = user.request("GET", "/v1/calls", params={"status": "canceled"}).json()["data"]
    assert [c["id"] for c in canceled] == [ids[0]]
    offset = user.request("GET", "/v1/calls", params={"limit": 2, "offset": 1}).json()["data"]
    assert [c["id"] for c in offset] == [ids[3], ids[2]]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert user.request("GET", "/v1/calls", params={"start_date": future}).json()["data"] == []
    assert len(user.request("GET", "/v1/calls", params={"end_date": future}).json()["data"]) == 5
    assert_error(user.request("GET", "/v1/calls", params={"limit": 101}), 422, "validation_error")
    assert_error(user.request("GET", "/v1/calls", params={"status": "dancing"}), 422,
                 "validation_error")
    assert_error(user.request("GET", "/v1/calls", params={"cursor": "garbage"}), 422,
                 "invalid_cursor")


def test_rate_limit_answers_429_with_retry_after(new_user: Callable[..., ApiUser]) -> None:
    user = new_user(rate_limits={"create_call": 2})
    for remaining in ("1", "0"):
        r = user.create_call()
        assert r.status_code == 201
        assert r.headers["RateLimit-Limit"] == "2" and r.headers["RateLimit-Remaining"] == remaining
    before = user.call_ids()
    r = user.create_call()
    assert_error(r, 429, "rate_limited")
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    assert r.headers["RateLimit-Limit"] == "2" and r.headers["RateLimit-Remaining"] == "0"
    assert int(r.headers["RateLimit-Reset"]) == int(r.headers["Retry-After"])
    assert user.call_ids() == before
    assert user.request("GET", "/v1/calls").status_code == 200  # other route classes still work


def test_errors_of_the_framework_use_the_one_shape(http: httpx.Client, user: ApiUser) -> None:
    assert_error(user.request("GET", "/v1/nothing-here"), 404, "route_not_found")
    assert_error(user.request("PUT", "/v1/calls"), 405, "method_not_allowed")
