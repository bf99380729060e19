"""The conferences resource over HTTP: create, read, list, tenancy, and the refusals that
need no media node (the room itself is proven against sipp in tests/interop)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from voicelane.container import Container
from voicelane.domain.errors import Conflict

from tests.voicelane.api.api_helpers import ApiUser, assert_error


def _create(user: ApiUser, **fields: object) -> dict[str, object]:
    r = user.request("POST", "/v1/conferences", json={"name": "standup", **fields})
    assert r.status_code == 201, r.text
    body: dict[str, object] = r.json()
    return body


def test_a_conference_is_created_idle_and_read_back(user: ApiUser) -> None:
    conf = _create(user, max_participants=3, record=True, end_on_moderator_leave=True)
    assert conf["status"] == "idle" and conf["media_node"] is None
    assert (conf["max_participants"], conf["record"], conf["record_tracks"], conf["beep"],
            conf["end_on_moderator_leave"]) == (3, True, False, True, True)
    got = user.request("GET", f"/v1/conferences/{conf['id']}").json()
    assert got == conf
    listed = user.request("GET", "/v1/conferences", params={"limit": 1}).json()
    assert [c["id"] for c in listed["data"]] == [conf["id"]]
    events = user.request("GET", f"/v1/conferences/{conf['id']}/events").json()["data"]
    assert [e["type"] for e in events] == ["conference.created"]
    assert events[0]["data"]["id"] == conf["id"] and events[0]["sequence"] == 1
    assert user.request("GET", f"/v1/conferences/{conf['id']}/participants").json() == {
        "data": []}


def test_conferences_page_newest_first(user: ApiUser) -> None:
    ids = [_create(user, name=f"c{i}")["id"] for i in range(3)]
    first = user.request("GET", "/v1/conferences", params={"limit": 2}).json()
    assert [c["id"] for c in first["data"]] == ids[::-1][:2] and first["next_cursor"]
    rest = user.request("GET", "/v1/conferences",
                        params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [c["id"] for c in rest["data"]] == [ids[0]] and rest["next_cursor"] is None
    assert_error(user.request("GET", "/v1/conferences", params={"cursor": "bm9wZQ"}), 422,
                 "invalid_cursor")


def test_another_apps_conference_is_not_found(new_user: Callable[..., ApiUser]) -> None:
    owner, other = new_user(), new_user()
    conf = _create(owner)
    for method, path in (("GET", ""), ("GET", "/participants"), ("GET", "/events"),
                         ("POST", "/actions/end")):
        assert_error(other.request(method, f"/v1/conferences/{conf['id']}{path}"), 404,
                     "conference_not_found")
    r = other.request("POST", f"/v1/conferences/{conf['id']}/participants",
                      json={"to": "+14155550100"})
    assert_error(r, 404, "conference_not_found")


def test_bad_bodies_are_422_and_store_nothing(user: ApiUser) -> None:
    for body in ({}, {"name": ""}, {"name": "x", "max_participants": 1},
                 {"name": "x", "max_participants": 51}, {"name": "x", "record": "yes"},
                 {"name": "x", "colour": "red"}, {"name": "x", "record_tracks": True}):
        assert_error(user.request("POST", "/v1/conferences", json=body), 422,
                     "validation_error")
    assert user.request("GET", "/v1/conferences").json()["data"] == []


def test_an_idle_conference_has_nobody_to_dial_from_and_ends_at_once(user: ApiUser) -> None:
    conf = _create(user)
    r = user.request("POST", f"/v1/conferences/{conf['id']}/participants",
                     json={"to": "+14155550100"})
    assert_error(r, 409, "conference_not_active")
    r = user.request("POST", f"/v1/conferences/{conf['id']}/participants/call_x/actions/mute")
    assert_error(r, 404, "participant_not_found")
    assert user.request("POST", f"/v1/conferences/{conf['id']}/actions/end").status_code == 202
    ended = user.request("GET", f"/v1/conferences/{conf['id']}").json()
    assert ended["status"] == "ended" and ended["end_reason"] == "ended_by_api"
    events = user.request("GET", f"/v1/conferences/{conf['id']}/events").json()["data"]
    assert [e["type"] for e in events] == ["conference.created", "conference.ended"]
    assert_error(user.request("POST", f"/v1/conferences/{conf['id']}/actions/end"), 409,
                 "conference_ended")


def test_an_agent_participant_is_checked_on_write(user: ApiUser) -> None:
    conf = _create(user)
    path = f"/v1/conferences/{conf['id']}/participants"
    for body in ({}, {"to": "+14155550100", "agent_id": "agent_x"}, {"agent_id": ""},
                 {"agent_id": "agent x"}, {"moderator": True}):
        assert_error(user.request("POST", path, json=body), 422, "validation_error")
    r = user.request("POST", path, json={"agent_id": "agent_" + "0" * 26})
    assert_error(r, 422, "agent_not_found")
    agent = user.request("POST", "/v1/agents", json={"name": "notes"}).json()
    r = user.request("POST", path, json={"agent_id": agent["id"]})
    assert_error(r, 409, "conference_not_active")  # a known agent: on to the room's checks
    events = user.request("GET", f"/v1/conferences/{conf['id']}/events").json()["data"]
    assert [e["type"] for e in events] == ["conference.created"]


def test_the_agent_channel_is_only_a_conference_seat(user: ApiUser) -> None:
    r = user.create_call(to_channel="agent", to="agent_x")
    assert_error(r, 422, "channel_not_supported")


def test_a_call_may_not_join_an_unknown_or_ended_conference(user: ApiUser) -> None:
    call = user.create_call().json()
    missing = "conf_" + "0" * 26
    r = user.request("POST", f"/v1/calls/{call['id']}/actions/join_conference",
                     json={"conference_id": missing})
    assert_error(r, 409, "action_not_allowed")  # the call is queued: not live yet
    r = user.request("POST", f"/v1/calls/{call['id']}/actions/join_conference",
                     json={"conference_id": "nope"})
    assert_error(r, 422, "validation_error")




def test_the_join_write_refuses_a_full_conference_and_a_second_join(
        user: ApiUser, container: Container) -> None:
    conf = _create(user, max_participants=2)
    call = container.call_repo.get(str(user.create_call().json()["id"]))
    assert call is not None
    service = container.conferences
    for i in range(2):
        service.join(str(conf["id"]), call.model_copy(update={"call_id": f"call_{i}"}), "n1",
                     moderator=False, muted=False)
    refusals = []
    for call_id in ("call_0", "call_2"):
        with pytest.raises(Conflict) as refused:
            service.join(str(conf["id"]), call.model_copy(update={"call_id": call_id}), "n1",
                         moderator=False, muted=False)
        refusals.append(refused.value.code)
    assert refusals == ["conference_full", "conference_full"]
    service.leave(str(conf["id"]), "call_1", "hangup")
    with pytest.raises(Conflict) as again:
        service.join(str(conf["id"]), call.model_copy(update={"call_id": "call_0"}), "n1",
                     moderator=False, muted=False)
    assert again.value.code == "already_in_conference"
    got = user.request("GET", f"/v1/conferences/{conf['id']}").json()
    assert (got["participant_count"], got["participants_total"]) == (1, 2)


def test_a_name_is_taken_until_its_conference_ends(user: ApiUser) -> None:
    conf = _create(user, name="weekly")
    r = user.request("POST", "/v1/conferences", json={"name": "weekly"})
    error = assert_error(r, 409, "conference_name_taken")
    assert error["details"] == {"conference_id": conf["id"]}
    assert [c["id"] for c in user.request("GET", "/v1/conferences").json()["data"]] == [
        conf["id"]]  # nothing half-written
    assert user.request("POST", f"/v1/conferences/{conf['id']}/actions/end").status_code == 202
    again = _create(user, name="weekly")
    assert again["id"] != conf["id"] and again["status"] == "idle"
