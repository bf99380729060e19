"""Conferences: a room of calls on one media node, its participants and its timeline.

A conference is created empty (``idle``); the first call that joins it fixes its media node
(``media_node``) and makes it ``active``; it ends (``ended``) when the last participant leaves,
when its moderator leaves and ``end_on_moderator_leave`` is set, by the API, or when its node
is lost. Every change is a conditional write on the conference record with its event in the
same transaction (the adapter), like a call's.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from voicelane.domain.errors import ValidationFailed
from voicelane.domain.storable import JSON_INTEGER

MAX_PARTICIPANTS = 50
NAME_MAX = 128


class ConferenceStatus(StrEnum):
    IDLE = "idle"  # created, nobody joined yet: no media node
    ACTIVE = "active"  # at least one participant joined; lives on media_node
    ENDED = "ended"


class ParticipantStatus(StrEnum):
    JOINED = "joined"
    LEFT = "left"


CONFERENCE_EVENTS = (
    "conference.created", "conference.participant.joined", "conference.participant.left",
    "conference.participant.muted", "conference.participant.unmuted",
    "conference.participant.held", "conference.participant.unheld",
    "conference.recording.saved", "conference.ended",
)


class ConferenceSettings(BaseModel):
    """How a conference behaves, set when it is created (``POST /v1/conferences``, or the
    first call a ``conference`` routing rule sends to a name)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "if": {"properties": {"record_tracks": {"const": True}}, "required": ["record_tracks"]},
        "then": {"properties": {"record": {"const": True}}, "required": ["record"]}})

    max_participants: Annotated[int, Field(ge=2, le=MAX_PARTICIPANTS), JSON_INTEGER] = 10
    record: StrictBool = Field(default=False, description="Record the room's mix (one "
                               "channel); `conference.recording.saved` when it ends")
    record_tracks: StrictBool = Field(
        default=False, description="With `record`: also one file per participant (what the "
                                   "room heard from it), each with its own "
                                   "`conference.recording.saved`")
    beep: StrictBool = Field(default=True, description="A short tone into the room when a "
                             "participant joins or leaves")
    end_on_moderator_leave: StrictBool = Field(
        default=False, description="End the conference (every participant hung up) when a "
                                   "moderator leaves")

    @model_validator(mode="after")
    def _tracks_need_record(self) -> ConferenceSettings:
        if self.record_tracks and not self.record:
            raise ValueError("`record_tracks` needs `record`")
        return self

    def settings(self) -> dict[str, Any]:
        """Only the settings (a subclass's other fields left out)."""
        return self.model_dump(include=set(ConferenceSettings.model_fields))


def check_name(name: str) -> None:
    """A name a routing rule can find a conference by (422 ``conference_name_invalid``):
    matched exactly, so no leading or trailing white space and no control characters."""
    if not name or name != name.strip() or any(
            unicodedata.category(ch) in ("Cc", "Zl", "Zp") for ch in name):
        raise ValidationFailed("a conference name has no leading or trailing spaces and no "
                               "control characters", code="conference_name_invalid",
                               details={"conference": name})


class Conference(BaseModel):
    """The stored conference record. While it is not ended it holds its name in its app
    (``name_claimed``): a routing rule finds it by that name, and no other conference of the
    app may take it until it ends."""

    conference_id: str
    app_id: str
    name: str
    max_participants: int = 10
    record: bool = False
    record_tracks: bool = False  # with record: also one file per participant
    beep: bool = True  # a short tone into the room when someone joins or leaves
    end_on_moderator_leave: bool = False
    status: ConferenceStatus = ConferenceStatus.IDLE
    media_node: str | None = None
    participant_count: int = 0  # participants joined now
    participants_total: int = 0  # every join so far
    event_seq: int = 0
    created_at: str
    started_at: str | None = None
    ended_at: str | None = None
    end_reason: str | None = None
    client_state: str | None = None
    name_claimed: bool = False  # False: created before names were unique (holds none)


class Participant(BaseModel):
    """One call's membership of a conference (a call joins one conference at most once)."""

    conference_id: str
    call_id: str
    app_id: str
    moderator: bool = False
    muted: bool = False
    held: bool = False
    status: ParticipantStatus = ParticipantStatus.JOINED
    joined_at: str
    left_at: str | None = None
    left_reason: str | None = None
    agent_id: str | None = None  # an AI agent's seat (its call's to_channel is `agent`)


class ConferenceTrack(BaseModel):
    """One participant's track of a conference recording: what the room heard from it (mono,
    silence while it was muted or held), from its join (``offset_s`` into the mix) to its
    leave."""

    conference_id: str
    call_id: str
    agent_id: str | None = None
    s3_key: str
    duration_s: float
    offset_s: float
    size_bytes: int
    sample_rate: int
    created_at: str
    channels: int = 1
    format: str = "wav"


class ConferenceEvent(BaseModel):
    """One entry of a conference's timeline (its webhook is built from it)."""

    event_id: str
    conference_id: str
    app_id: str
    type: str
    sequence: int
    created_at: str
    data: dict[str, Any] = Field(default_factory=dict)  # the conference after the event
    details: dict[str, Any] = Field(default_factory=dict)  # call_id, moderator, reason...
