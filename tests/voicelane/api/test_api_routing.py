"""Routing rules through the HTTP API: validated on write (422 with codes, nothing written),
kept on the number; at an inbound call's creation (the node's gateway on DynamoDB) the rule
that matched is on the call and in call.initiated, and a round robin takes turns."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from voicelane_local.platform import LocalPlatform

from tests.voicelane.api.api_helpers import ApiUser, assert_error, e164

ROBIN = {"name": "team", "action": {"type": "round_robin",
                                    "targets": ["sip:a@pbx.example", "sip:b@pbx.example",
                                                "+14155550177"]}}


def _create(user: ApiUser, routing: Any, **more: Any) -> Any:
    return user.request("POST", "/v1/numbers", json={"number": e164(), "routing": routing,
                                                    **more})


@pytest.mark.parametrize(("rule", "code"), [
    ({"name": "x", "when": {"time": {"time_zone": "Moon/Base"}}, "action": {"type": "commands"}},
     "routing_time_zone_invalid"),
    ({"name": "x", "when": {"caller_countries": ["ZZ"]}, "action": {"type": "commands"}},
     "routing_country_invalid"),
    ({"name": "x", "action": {"type": "forward", "to": "tel:12"}}, "routing_target_invalid"),
    ({"name": "x", "action": {"type": "conference", "conference": "standup "}},
     "conference_name_invalid"),
    ({"name": "x", "action": {"type": "conference", "conference": ""}}, "validation_error"),
    ({"name": "x", "action": {"type": "conference", "conference": "a", "max_participants": 1}},
     "validation_error"),
    ({"name": "x", "action": {"type": "agent", "agent_id": "agent_missing"}}, "agent_not_found"),
    ({"name": "x", "action": {"type": "ring_all", "targets": []}}, "validation_error"),
    ({"name": "x", "action": {"type": "voicemail"}}, "validation_error"),
])
def test_bad_rules_answer_422_with_their_code_and_register_nothing(
        user: ApiUser, rule: dict[str, Any], code: str) -> None:
    number = e164()
    r = user.request("POST", "/v1/numbers", json={"number": number, "routing": [rule]})
    assert_error(r, 422, code)
    assert user.request("GET", f"/v1/numbers/{number}").status_code == 404


def test_duplicate_rule_names_are_refused(user: ApiUser) -> None:
    rule = {"name": "same", "action": {"type": "commands"}}
    error = assert_error(_create(user, [rule, rule]), 422, "routing_rule_name_taken")
    assert error["details"]["rule"] == 1


def test_rules_are_kept_on_the_number_with_their_defaults(user: ApiUser) -> None:
    r = _create(user, [ROBIN, {"name": "rest", "action": {"type": "commands"}}])
    assert r.status_code == 201, r.text
    stored = user.request("GET", f"/v1/numbers/{r.json()['number']}").json()
    assert stored["routing"][0]["action"]["timeout_s"] == 20
    assert stored["routing"][0]["when"] == {"time": None, "caller_countries": None,
                                            "caller_numbers": None, "custom_data": None}
    assert stored["routing"][1] == {"name": "rest", "when": stored["routing"][1]["when"],
                                    "action": {"type": "commands"}}


def test_the_gateway_records_the_matched_rule_and_a_round_robin_takes_turns(
        user: ApiUser, local_platform: LocalPlatform) -> None:
    r = _create(user, [
        {"name": "vip", "when": {"caller_numbers": ["+442079460000"],
                                 "custom_data": {"X-Tier": ["gold"]}},
         "action": {"type": "forward", "to": "+14155550100"}},
        {"name": "weekend", "when": {"time": {"time_zone": "America/Los_Angeles",
                                               "days": ["sat", "sun"]}},
         "action": {"type": "commands"}},
        ROBIN])
    assert r.status_code == 201, r.text
    number = local_platform.container.number_repo.get(r.json()["number"])
    assert number is not None
    monday = datetime(2026, 12, 7, 18, 0, tzinfo=UTC)
    gateway = local_platform.container.media_gateway.with_clock(lambda: monday)

    def call(caller: str, headers: dict[str, str] | None = None,
             gw: Any = gateway) -> dict[str, Any]:
        created = gw.create_inbound(number, caller, headers or {}, "node-test")
        view = user.request("GET", f"/v1/calls/{created.call_id}").json()
        events = user.request("GET", f"/v1/calls/{created.call_id}/events").json()["data"]
        assert events[0]["details"]["routing_rule"] == {
            k: v for k, v in view["routing_rule"].items() if v is not None}
        result: dict[str, Any] = view
        return result

    turns = [call("+14155550111")["routing_rule"]["targets"] for _ in range(4)]
    assert [t[0] for t in turns] == ["sip:a@pbx.example", "sip:b@pbx.example", "+14155550177",
                                     "sip:a@pbx.example"]
    assert turns[1] == ["sip:b@pbx.example", "+14155550177", "sip:a@pbx.example"]

    vip = call("+442079460000", {"X-Tier": "gold"})
    assert vip["routing_rule"] == {"index": 0, "name": "vip", "action": "forward",
                                   "targets": ["+14155550100"], "timeout_s": 30,
                                   "conference": None}
    assert vip["agent_id"] is None and vip["stream"] is None
    assert call("+442079460000", {"X-Tier": "silver"})["routing_rule"]["name"] == "team"

    saturday = local_platform.container.media_gateway.with_clock(
        lambda: datetime(2026, 12, 5, 18, 0, tzinfo=UTC))  # 10:00 Saturday in Los Angeles
    assert call("+14155550111", gw=saturday)["routing_rule"]["name"] == "weekend"


def test_a_number_without_rules_records_no_rule(
        new_user: Callable[..., ApiUser], local_platform: LocalPlatform) -> None:
    user = new_user()
    number = local_platform.container.number_repo.get(user.number)
    assert number is not None and number.routing is None
    created = local_platform.container.media_gateway.create_inbound(
        number, "+14155550111", {}, "node-test")
    assert created.routing_rule is None
    events = user.request("GET", f"/v1/calls/{created.call_id}/events").json()["data"]
    assert events[0]["details"] == {"direction": "inbound"}


def test_a_conference_rule_is_kept_and_recorded_on_the_call_with_its_settings(
        user: ApiUser, local_platform: LocalPlatform) -> None:
    r = _create(user, [{"name": "standup", "action": {
        "type": "conference", "conference": "standup", "moderator": True, "record": True}}])
    assert r.status_code == 201, r.text
    stored = user.request("GET", f"/v1/numbers/{r.json()['number']}").json()
    assert stored["routing"][0]["action"] == {
        "type": "conference", "conference": "standup", "moderator": True, "muted": False,
        "max_participants": 10, "record": True, "record_tracks": False, "beep": True,
        "end_on_moderator_leave": False}
    number = local_platform.container.number_repo.get(r.json()["number"])
    assert number is not None
    created = local_platform.container.media_gateway.create_inbound(
        number, "+14155550111", {}, "node-test")
    view = user.request("GET", f"/v1/calls/{created.call_id}").json()
    assert view["routing_rule"]["action"] == "conference"
    assert view["routing_rule"]["conference"] == stored["routing"][0]["action"]
    events = user.request("GET", f"/v1/calls/{created.call_id}/events").json()["data"]
    assert events[0]["details"]["routing_rule"]["conference"]["conference"] == "standup"
