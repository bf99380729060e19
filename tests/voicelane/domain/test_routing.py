"""Routing rules, pure: which rule takes an inbound call, by time in a zone, the caller's
country and number, and the call's custom data; the write-time checks and their codes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from voicelane.domain.countries import country_of
from voicelane.domain.errors import ValidationFailed
from voicelane.domain.routing import (
    InboundFacts,
    RoutingRule,
    TimeWindow,
    check_rules,
    evaluate,
    match_of,
    window_open,
)

UK_CALLER = "+442079460000"
US_CALLER = "+14155550100"


def rule(name: str, action: dict[str, Any] | None = None, **when: Any) -> RoutingRule:
    return RoutingRule.model_validate({"name": name, "when": when,
                                       "action": action or {"type": "commands"}})


def office_hours(**extra: Any) -> dict[str, Any]:
    return {"time_zone": "Europe/Paris", "days": ["mon", "tue", "wed", "thu", "fri"],
            "start": "09:00", "end": "17:00", **extra}


def at(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def chosen(rules: list[RoutingRule], when: str, caller: str = US_CALLER,
           custom: dict[str, str] | None = None) -> str | None:
    found = evaluate(rules, InboundFacts(caller, custom or {}), at(when))
    return None if found is None else found[1].name


# -- time windows ---------------------------------------------------------------------------

@pytest.mark.parametrize(("utc", "open_"), [
    ("2026-12-07T08:00:00", True),   # Monday 09:00 in Paris (UTC+1 in winter): opens
    ("2026-12-07T07:59:59", False),  # 08:59:59 Paris
    ("2026-12-07T15:59:59", True),   # 16:59:59 Paris
    ("2026-12-07T16:00:00", False),  # 17:00 Paris: the end is exclusive
    ("2026-12-05T10:00:00", False),  # Saturday
    ("2026-07-06T07:30:00", True),   # Monday 09:30 Paris in summer (UTC+2)
    ("2026-07-06T15:30:00", False),  # 17:30 Paris in summer, though 15:30 UTC
])
def test_a_window_is_read_in_its_own_time_zone(utc: str, open_: bool) -> None:
    assert window_open(TimeWindow.model_validate(office_hours()), at(utc)) is open_


@pytest.mark.parametrize(("local", "open_"), [
    ("2026-12-04T22:30:00-05:00", True),   # Friday 22:30 New York: opened Friday
    ("2026-12-05T03:00:00-05:00", True),   # Saturday 03:00: still Friday's window
    ("2026-12-05T06:00:00-05:00", False),  # Saturday 06:00: closed
    ("2026-12-05T22:30:00-05:00", False),  # Saturday night: no window opens on Saturday
    ("2026-12-07T02:00:00-05:00", False),  # Monday 02:00: Sunday opened none
    ("2026-12-07T21:59:00-05:00", False),  # Monday 21:59: not yet
])
def test_a_window_ending_before_it_starts_spans_midnight(local: str, open_: bool) -> None:
    window = TimeWindow.model_validate({"time_zone": "America/New_York", "start": "22:00",
                                        "end": "06:00", "days": ["mon", "tue", "wed", "thu",
                                                                 "fri"]})
    assert window_open(window, at(local)) is open_


def test_a_window_to_24_00_covers_the_last_minute_and_defaults_to_every_day() -> None:
    window = TimeWindow.model_validate({"time_zone": "Asia/Tokyo", "start": "18:00"})
    assert window_open(window, at("2026-12-06T14:59:59"))  # 23:59:59 Tokyo, a Sunday
    assert not window_open(window, at("2026-12-06T15:00:00"))  # 00:00 Monday Tokyo


def test_the_same_instant_is_open_in_one_zone_and_closed_in_another() -> None:
    rules = [rule("tokyo", time={"time_zone": "Asia/Tokyo", "start": "09:00", "end": "18:00"}),
             rule("paris", time={"time_zone": "Europe/Paris", "start": "09:00", "end": "18:00"})]
    assert chosen(rules, "2026-12-07T01:00:00") == "tokyo"  # 10:00 Tokyo, 02:00 Paris
    assert chosen(rules, "2026-12-07T10:00:00") == "paris"  # 19:00 Tokyo, 11:00 Paris
    assert chosen(rules, "2026-12-07T20:00:00") is None  # closed in both


def test_the_clock_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        evaluate([rule("any")], InboundFacts(US_CALLER, {}), datetime(2026, 12, 7, 9))


# -- order, callers, custom data ------------------------------------------------------------

def test_the_first_matching_rule_wins_and_a_rule_without_conditions_always_matches() -> None:
    rules = [rule("office", time=office_hours()), rule("fallback"), rule("never-reached")]
    assert chosen(rules, "2026-12-07T09:00:00") == "office"
    assert chosen(rules, "2026-12-07T20:00:00") == "fallback"
    found = evaluate(rules, InboundFacts(US_CALLER, {}), at("2026-12-07T20:00:00"))
    assert found is not None and found[0] == 1


def test_no_rule_matching_gives_none() -> None:
    assert chosen([rule("uk", caller_countries=["GB"])], "2026-12-07T09:00:00") is None
    assert chosen([], "2026-12-07T09:00:00") is None


@pytest.mark.parametrize(("caller", "expected"), [
    (UK_CALLER, "uk"), ("+33142685300", "eu"), ("+4930901820", "eu"),
    (US_CALLER, "north-america"), ("+14165550100", "north-america"),  # Toronto: CA
    ("+18765550100", None),  # Jamaica shares +1 but is not in either list
    ("+819012345678", None), ("sip:alice@example.com", None), ("anonymous", None),
])
def test_the_callers_country_comes_from_its_prefix(caller: str, expected: str | None) -> None:
    rules = [rule("uk", caller_countries=["GB"]), rule("eu", caller_countries=["FR", "DE"]),
             rule("north-america", caller_countries=["US", "CA"])]
    assert chosen(rules, "2026-12-07T09:00:00", caller=caller) == expected


@pytest.mark.parametrize(("number", "region"), [
    ("+14155550100", "US"), ("+16135550100", "CA"), ("+17875550100", "PR"),
    ("+74951234567", "RU"), ("+77011234567", "KZ"), ("+442079460000", "GB"),
    ("+35312345678", "IE"), ("+97145550100", "AE"), ("+8821234567", None), ("44207", None),
])
def test_country_of(number: str, region: str | None) -> None:
    assert country_of(number) == region


def test_caller_numbers_and_conditions_combine_with_and() -> None:
    vip = rule("vip", caller_numbers=[UK_CALLER], time=office_hours())
    rules = [vip, rule("rest")]
    assert chosen(rules, "2026-12-07T09:00:00", caller=UK_CALLER) == "vip"
    assert chosen(rules, "2026-12-07T20:00:00", caller=UK_CALLER) == "rest"  # after hours
    assert chosen(rules, "2026-12-07T09:00:00", caller="+442079460001") == "rest"


def test_custom_data_matches_header_names_case_insensitively_and_values_exactly() -> None:
    rules = [rule("gold", custom_data={"X-Tier": ["gold", "platinum"]}), rule("rest")]
    assert chosen(rules, "2026-12-07T09:00:00", custom={"x-tier": "platinum"}) == "gold"
    assert chosen(rules, "2026-12-07T09:00:00", custom={"X-Tier": "Gold"}) == "rest"
    assert chosen(rules, "2026-12-07T09:00:00", custom={}) == "rest"


# -- what the call record says --------------------------------------------------------------

def test_a_round_robin_rotates_its_targets_by_turn() -> None:
    robin = rule("team", {"type": "round_robin", "targets": ["sip:a@h", "sip:b@h", "sip:c@h"]})
    assert [match_of(2, robin, turn).targets for turn in range(4)] == [
        ["sip:a@h", "sip:b@h", "sip:c@h"], ["sip:b@h", "sip:c@h", "sip:a@h"],
        ["sip:c@h", "sip:a@h", "sip:b@h"], ["sip:a@h", "sip:b@h", "sip:c@h"]]
    match = match_of(2, robin, 1)
    assert (match.index, match.name, match.action, match.timeout_s) == (2, "team",
                                                                        "round_robin", 20)


def test_forward_and_agent_matches() -> None:
    forward = match_of(0, rule("out", {"type": "forward", "to": "+442079460000",
                                       "timeout_s": 15}))
    assert (forward.targets, forward.timeout_s) == (["+442079460000"], 15)
    agent = match_of(1, rule("bot", {"type": "agent", "agent_id": "agent_1"}))
    assert (agent.action, agent.targets) == ("agent", None)


# -- write-time checks ----------------------------------------------------------------------

@pytest.mark.parametrize(("rules", "code"), [
    ([rule("a"), rule("a")], "routing_rule_name_taken"),
    ([rule("a", time={"time_zone": "Mars/Olympus"})], "routing_time_zone_invalid"),
    ([rule("a", time={"time_zone": "UTC", "start": "09:00", "end": "09:00"})],
     "routing_time_window_empty"),
    ([rule("a", caller_countries=["XX"])], "routing_country_invalid"),
    ([rule("a", caller_countries=["gb"])], "routing_country_invalid"),
    ([rule("a", caller_numbers=["0207946000"])], "invalid_phone_number"),
    ([rule("a", {"type": "forward", "to": "0044207"})], "routing_target_invalid"),
    ([rule("a", {"type": "ring_all", "targets": ["sip:a@h", "http://x"]})],
     "routing_target_invalid"),
    ([rule("a", {"type": "conference", "conference": " support"})], "conference_name_invalid"),
    ([rule("a", {"type": "conference", "conference": "sup\nport"})], "conference_name_invalid"),
    ([rule("a", {"type": "conference", "conference": "support\u2028"})],
     "conference_name_invalid"),
])
def test_check_rules_codes(rules: list[RoutingRule], code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_rules(rules)
    assert caught.value.code == code
    assert caught.value.details["rule"] == len(rules) - 1


def test_good_rules_pass_the_checks() -> None:
    check_rules([
        rule("office", {"type": "ring_all", "targets": ["+442079460000", "sip:desk@pbx.example"]},
             time=office_hours(), caller_countries=["GB", "US"]),
        rule("robin", {"type": "round_robin", "targets": ["sips:+14155550100@carrier.example"]}),
        rule("standup", {"type": "conference", "conference": "Daily standup: équipe #2"}),
        rule("rest", {"type": "agent", "agent_id": "agent_1"})])


def test_a_conference_match_carries_the_action_with_the_conference_settings() -> None:
    found = match_of(2, rule("standup", {"type": "conference", "conference": "standup",
                                         "moderator": True, "record": True,
                                         "max_participants": 3}))
    assert (found.action, found.targets, found.timeout_s) == ("conference", None, None)
    assert found.conference is not None and found.conference.conference == "standup"
    assert found.conference.settings() == {"max_participants": 3, "record": True,
                                           "record_tracks": False, "beep": True,
                                           "end_on_moderator_leave": False}
    assert (found.conference.moderator, found.conference.muted) == (True, False)


@pytest.mark.parametrize("body", [
    {"name": "a", "action": {"type": "teleport"}},
    {"name": "a", "action": {"type": "forward"}},
    {"name": "a", "action": {"type": "ring_all", "targets": []}},
    {"name": "a", "action": {"type": "commands"}, "when": {"time": {"time_zone": "UTC",
                                                                    "start": "9:00"}}},
    {"name": "a", "action": {"type": "commands"}, "when": {"time": {"time_zone": "UTC",
                                                                    "days": ["monday"]}}},
    {"name": "a", "action": {"type": "forward", "to": "+1415", "timeout_s": True}},
    {"name": "a b", "action": {"type": "commands"}},
    {"name": "a", "action": {"type": "commands"}, "when": {"weather": "sunny"}},
    {"name": "a", "action": {"type": "conference", "conference": ""}},
    {"name": "a", "action": {"type": "conference", "conference": "x" * 129}},
    {"name": "a", "action": {"type": "conference", "conference": "x", "max_participants": 51}},
    {"name": "a", "action": {"type": "conference", "conference": "x", "record_tracks": True}},
    {"name": "a", "action": {"type": "conference", "conference": "x", "moderator": "yes"}},
    {"name": "a", "action": {"type": "conference", "conference": "x", "wait_url": "u"}},
])
def test_malformed_rules_are_refused_by_the_model(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        RoutingRule.model_validate(body)



def test_rules_too_large_for_the_number_record_are_refused() -> None:
    wide = {"type": "ring_all", "targets": [f"sip:{'a' * 240}{i}@h" for i in range(10)]}
    heavy = [rule(f"r{i}", wide, caller_numbers=[f"+1415555{j:04d}" for j in range(100)],
                  custom_data={f"X-K{k}": ["v" * 128] * 10 for k in range(5)})
             for i in range(20)]
    with pytest.raises(ValidationFailed) as caught:
        check_rules(heavy)
    assert caught.value.code == "routing_too_large"
