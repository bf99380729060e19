"""Inbound routing rules of a number: an ordered list, the first rule whose conditions all
hold decides what the call does.

Pure: :func:`evaluate` takes the moment of the call (an aware ``datetime`` from the caller's
clock, so tests choose it) and what is known of the call (caller, custom data), and returns the
matched rule, or ``None`` when no rule matches (the number's own fields apply: its agent, its
stream, else the app's commands, exactly as without rules). :func:`check_rules` is the write-time
validation with machine-readable codes (HTTP 422); the models hold only the shape.

Conditions (all given ones must hold; a rule without conditions always matches):

- ``time``: weekdays and a ``HH:MM``-``HH:MM`` window in an IANA time zone; an end before the
  start spans midnight (the weekday is the day the window opened), ``end`` is exclusive;
- ``caller_countries``: ISO 3166-1 alpha-2 regions of the caller's E.164 number
  (:mod:`voicelane.domain.countries`); a caller with no known country never matches;
- ``caller_numbers``: exact E.164 numbers;
- ``custom_data``: the app's custom data on the call (the ``X-`` headers its trunk set on the
  INVITE, by name, case-insensitive): each key must be present with one of the values given.

Actions: ``agent``, ``commands`` (ask the app, today's behaviour), ``stream``, ``forward`` (one
number or SIP URI), ``ring_all`` (every target at once, the first to answer wins, the others
are canceled), ``round_robin`` (one target per call in turn, the next ones tried in order when
it does not answer), ``conference`` (the caller joins the app's conference of that name, which
the first such caller creates with the action's settings).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from voicelane.domain.conference import NAME_MAX, ConferenceSettings, check_name
from voicelane.domain.countries import KNOWN_REGIONS, country_of
from voicelane.domain.errors import ValidationFailed
from voicelane.domain.ids import IDENTIFIER_PATTERN
from voicelane.domain.phone import is_e164
from voicelane.domain.storable import JsonInt
from voicelane.domain.stream import StreamSpec

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HHMM_PATTERN = r"^([01]\d|2[0-3]):[0-5]\d$"
MAX_RULES = 20
MAX_TARGETS = 10
MAX_RULES_BYTES = 65_536  # the number's item must stay far below DynamoDB's 400 KB
DIALLING_ACTIONS = frozenset({"forward", "ring_all", "round_robin"})
SUPPORTED_ACTIONS = frozenset({"agent", "commands", "stream", "conference", *DIALLING_ACTIONS})
# The 422 codes of check_rules (and of the service's agent/stream checks on rules).
ROUTING_CODES = ("routing_too_large", "routing_rule_name_taken", "routing_time_zone_invalid",
                 "routing_time_window_empty", "routing_country_invalid",
                 "routing_target_invalid", "conference_name_invalid")
_SIP_TARGET = re.compile(r"^sips?:[^\s@<>\"]+(@[^\s<>\"]+)?$", re.IGNORECASE)


HeaderName = Annotated[str, Field(pattern=r"^[Xx]-[A-Za-z0-9-]{1,62}$")]
HeaderValues = Annotated[list[Annotated[str, Field(max_length=128)]],
                         Field(min_length=1, max_length=10)]
# patternProperties alone would let any other key through in the JSON Schema.
CustomData = Annotated[dict[HeaderName, HeaderValues],
                       Field(min_length=1, max_length=5,
                             json_schema_extra={"additionalProperties": False})]


class TimeWindow(BaseModel):
    """Weekdays and a time of day, in an IANA time zone."""

    model_config = ConfigDict(extra="forbid")

    time_zone: str = Field(description="IANA time zone, e.g. Europe/Paris", max_length=64)
    days: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS), min_length=1,
                                max_length=7, description="Days the window opens on")
    start: str = Field(default="00:00", pattern=HHMM_PATTERN, description="HH:MM, inclusive")
    end: str = Field(default="24:00", pattern=HHMM_PATTERN + "|^24:00$",
                     description="HH:MM, exclusive; before start: the window spans midnight")


class RuleConditions(BaseModel):
    """What must hold for a rule to match (every condition given)."""

    model_config = ConfigDict(extra="forbid")

    time: TimeWindow | None = None
    caller_countries: list[str] | None = Field(
        default=None, min_length=1, max_length=50,
        description="ISO 3166-1 alpha-2 regions of the caller's number, e.g. GB")
    caller_numbers: list[str] | None = Field(default=None, min_length=1, max_length=100,
                                             description="E.164 numbers")
    custom_data: CustomData | None = Field(
        default=None,
        description="Custom data on the call (the INVITE's X- headers): each key present with "
                    "one of its values")


class AgentAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["agent"]
    agent_id: str = Field(pattern=IDENTIFIER_PATTERN, max_length=64)


class CommandsAction(BaseModel):
    """Ask the app for commands (``call.initiated``), as a number without an agent does."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["commands"]


class StreamAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["stream"]
    stream: StreamSpec


class ForwardAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["forward"]
    to: str = Field(description="E.164 number or SIP URI", max_length=256)
    timeout_s: JsonInt = Field(default=30, ge=5, le=120, description="Ring time")
    record: StrictBool = Field(default=False, description="Record the bridged call")


class RingAllAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["ring_all"]
    targets: list[Annotated[str, Field(max_length=256)]] = Field(min_length=1,
                                                                max_length=MAX_TARGETS)
    timeout_s: JsonInt = Field(default=30, ge=5, le=120, description="Ring time")
    record: StrictBool = Field(default=False, description="Record the bridged call")


class RoundRobinAction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["round_robin"]
    targets: list[Annotated[str, Field(max_length=256)]] = Field(min_length=1,
                                                                max_length=MAX_TARGETS)
    timeout_s: JsonInt = Field(default=20, ge=5, le=120,
                               description="Ring time of each target before the next")
    record: StrictBool = Field(default=False, description="Record the bridged call")


class ConferenceAction(ConferenceSettings):
    """Join the app's conference named ``conference`` (not ended yet), or create it with
    these settings when there is none (a conference that exists keeps its own)."""

    type: Literal["conference"]
    conference: str = Field(min_length=1, max_length=NAME_MAX,
                            description="The conference's name (matched exactly)")
    moderator: StrictBool = Field(default=False, description="The caller joins as a "
                                  "moderator (see `end_on_moderator_leave`)")
    muted: StrictBool = Field(default=False, description="The caller joins muted")


RoutingAction = Annotated[
    AgentAction | CommandsAction | StreamAction | ForwardAction | RingAllAction
    | RoundRobinAction | ConferenceAction,
    Field(discriminator="type")]


class RoutingRule(BaseModel):
    """One rule: when its conditions hold, its action takes the call."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=IDENTIFIER_PATTERN)
    when: RuleConditions = Field(default_factory=RuleConditions)
    action: RoutingAction


class RoutingMatch(BaseModel):
    """The rule that took a call (on the call record and in ``call.initiated``). ``targets``
    is the dialling order for the dialling actions (round robin: rotated for this call)."""

    index: int
    name: str
    action: str
    targets: list[str] | None = None
    timeout_s: int | None = None
    conference: ConferenceAction | None = None  # the conference action, as the rule says it


@dataclass(frozen=True)
class InboundFacts:
    """What the rules can look at: the caller and the call's custom data."""

    caller: str
    custom_data: dict[str, str]


def _clock_time(value: str) -> time:
    return time.max if value == "24:00" else time.fromisoformat(value)


def window_open(window: TimeWindow, at: datetime) -> bool:
    """Whether ``at`` (aware) falls inside ``window`` in the window's time zone."""
    local = at.astimezone(ZoneInfo(window.time_zone))
    start, end = _clock_time(window.start), _clock_time(window.end)
    now = local.time().replace(tzinfo=None)
    if start <= end:  # the same day
        return WEEKDAYS[local.weekday()] in window.days and start <= now < end
    if now >= start:  # overnight, before midnight: today's window
        return WEEKDAYS[local.weekday()] in window.days
    if now < end:  # overnight, after midnight: the window opened yesterday
        return WEEKDAYS[(local - timedelta(days=1)).weekday()] in window.days
    return False


def _custom_matches(wanted: dict[str, list[str]], data: dict[str, str]) -> bool:
    have = {k.lower(): v for k, v in data.items()}
    return all(have.get(key.lower()) in values for key, values in wanted.items())


def matches(conditions: RuleConditions, facts: InboundFacts, at: datetime) -> bool:
    """Whether every condition given holds for this call at ``at``."""
    if conditions.time is not None and not window_open(conditions.time, at):
        return False
    if conditions.caller_countries is not None and \
            country_of(facts.caller) not in conditions.caller_countries:
        return False
    if conditions.caller_numbers is not None and facts.caller not in conditions.caller_numbers:
        return False
    return conditions.custom_data is None or _custom_matches(conditions.custom_data,
                                                             facts.custom_data)


def evaluate(rules: list[RoutingRule], facts: InboundFacts,
             at: datetime) -> tuple[int, RoutingRule] | None:
    """The first rule (index, rule) that matches, or ``None``."""
    if at.tzinfo is None:
        raise ValueError("evaluate needs an aware datetime")
    for index, rule in enumerate(rules):
        if matches(rule.when, facts, at):
            return index, rule
    return None


def match_of(index: int, rule: RoutingRule, turn: int = 0) -> RoutingMatch:
    """The record of ``rule`` taking a call; ``turn`` rotates a round robin's targets."""
    action = rule.action
    targets: list[str] | None = None
    timeout: int | None = None
    conference = action if isinstance(action, ConferenceAction) else None
    if isinstance(action, ForwardAction):
        targets, timeout = [action.to], action.timeout_s
    elif isinstance(action, RingAllAction):
        targets, timeout = list(action.targets), action.timeout_s
    elif isinstance(action, RoundRobinAction):
        start = turn % len(action.targets)
        targets = action.targets[start:] + action.targets[:start]
        timeout = action.timeout_s
    return RoutingMatch(index=index, name=rule.name, action=action.type, targets=targets,
                        timeout_s=timeout, conference=conference)


def _fail(code: str, message: str, index: int, **details: object) -> ValidationFailed:
    return ValidationFailed(message, code=code, details={"rule": index, **details})


def _check_target(target: str, index: int) -> None:
    if not (is_e164(target) or _SIP_TARGET.fullmatch(target)):
        raise _fail("routing_target_invalid", "a target must be an E.164 number or a SIP URI",
                    index, target=target)


def check_rules(rules: list[RoutingRule]) -> None:
    """Write-time checks the models cannot state (ValidationFailed with a code, HTTP 422).
    Agents and streams are checked against the app by the service."""
    size = len(json.dumps([r.model_dump(mode="json") for r in rules]).encode())
    if size > MAX_RULES_BYTES:
        raise ValidationFailed(f"the rules take {size} bytes; at most {MAX_RULES_BYTES}",
                               code="routing_too_large", details={"bytes": size})
    names: set[str] = set()
    for index, rule in enumerate(rules):
        if rule.name in names:
            raise _fail("routing_rule_name_taken", "rule names must be unique", index,
                        name=rule.name)
        names.add(rule.name)
        when = rule.when
        if when.time is not None:
            try:
                ZoneInfo(when.time.time_zone)
            except (ZoneInfoNotFoundError, ValueError):
                raise _fail("routing_time_zone_invalid", "not an IANA time zone", index,
                            time_zone=when.time.time_zone) from None
            if when.time.start == when.time.end:
                raise _fail("routing_time_window_empty", "start and end are equal", index)
        for region in when.caller_countries or []:
            if region not in KNOWN_REGIONS:
                raise _fail("routing_country_invalid", "not a known ISO 3166-1 alpha-2 region",
                            index, country=region)
        for number in when.caller_numbers or []:
            if not is_e164(number):
                raise _fail("invalid_phone_number", "caller numbers must be E.164", index,
                            value=number)
        action = rule.action
        if isinstance(action, ConferenceAction):
            try:
                check_name(action.conference)
            except ValidationFailed as exc:
                raise _fail(exc.code, exc.message, index, conference=action.conference) from None
        for target in match_of(index, rule).targets or []:
            _check_target(target, index)
