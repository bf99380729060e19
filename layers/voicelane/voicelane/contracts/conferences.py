"""Conferences API contracts: a room of calls mixed on one media node."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool, model_validator

from voicelane.domain.conference import (
    NAME_MAX,
    Conference,
    ConferenceEvent,
    ConferenceSettings,
    ConferenceStatus,
    Participant,
    ParticipantStatus,
)

_DIAL_TARGET = r"^(\+[1-9]\d{1,14}|sips?:[^\s<>]+)$"


class CreateConferenceRequest(ConferenceSettings):
    """A conference: created empty, it lives on the media node of the first call to join.
    Its name is unique among the app's conferences that have not ended."""

    name: str = Field(min_length=1, max_length=NAME_MAX,
                      description="For people: shown in events. Unique among the app's "
                                  "conferences not ended yet (a `conference` routing rule "
                                  "finds the conference by it)")
    client_state: str | None = Field(default=None, max_length=4096)


class ConferenceView(BaseModel):
    """A conference as the API shows it."""

    id: str
    app_id: str
    name: str
    status: ConferenceStatus = Field(description="idle (nobody joined yet), active, ended")
    max_participants: int
    record: bool
    record_tracks: bool
    beep: bool
    end_on_moderator_leave: bool
    media_node: str | None = Field(description="The node its participants' media meet on "
                                               "(the node of the first call to join)")
    participant_count: int
    participants_total: int
    created_at: str
    started_at: str | None
    ended_at: str | None
    end_reason: str | None
    client_state: str | None

    @classmethod
    def of(cls, conference: Conference) -> ConferenceView:
        data = conference.model_dump()
        data["id"] = data.pop("conference_id")
        data.pop("event_seq")
        return cls.model_validate(data)

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class ConferenceList(BaseModel):
    """A page of the app's conferences, newest first."""

    data: list[ConferenceView]
    next_cursor: str | None


class ParticipantView(BaseModel):
    """One call in a conference."""

    conference_id: str
    call_id: str
    moderator: bool
    muted: bool
    held: bool
    status: ParticipantStatus
    joined_at: str
    left_at: str | None
    left_reason: str | None
    agent_id: str | None = Field(default=None, description="The agent seated (a participant "
                                 "added with `agent_id`)")

    @classmethod
    def of(cls, participant: Participant) -> ParticipantView:
        return cls.model_validate(participant.model_dump(exclude={"app_id"}))


class ParticipantList(BaseModel):
    """A conference's participants (those who left too), in joining order."""

    data: list[ParticipantView]


def _given(name: str) -> dict[str, Any]:
    """JSON Schema: ``name`` is present and not null (exactly one target is)."""
    return {"required": [name], "properties": {name: {"type": "string"}}}


class DialParticipantRequest(BaseModel):
    """Dial someone straight into an active conference, from its media node, or seat one of
    the app's agents there (``agent_id``): exactly one of ``to`` and ``agent_id``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True,
                              json_schema_extra={"oneOf": [_given("to"), _given("agent_id")]})

    to: str | None = Field(default=None, min_length=2, max_length=256, pattern=_DIAL_TARGET,
                           description="An E.164 number or a SIP URI (the app's allow-list "
                                       "applies)")
    agent_id: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_]+$",
        description="One of the app's agents joins instead: it hears the room's mix and "
                    "speaks into it, on a call record of its own (channel `agent`)")
    from_: str | None = Field(default=None, alias="from", max_length=128,
                              pattern=r"^\+[1-9]\d{1,14}$",
                              description="Caller ID (default: the number of the conference's "
                                          "first participant)")
    moderator: StrictBool = False
    muted: StrictBool = False

    @model_validator(mode="after")
    def _one_target(self) -> DialParticipantRequest:
        if (self.to is None) == (self.agent_id is None):
            raise ValueError("give exactly one of `to` and `agent_id`")
        return self


class DialParticipantResult(BaseModel):
    """The dial was started; `conference.participant.joined` (with its call id) follows."""

    conference_id: str
    status: str = Field(description="accepted")


class ParticipantAction(BaseModel):
    """Body of a participant action (mute, unmute, hold, unhold, kick)."""

    model_config = ConfigDict(extra="forbid")

    music_url: str | None = Field(
        default=None, max_length=2048, pattern=r"^https?://",
        description="hold only: what the held participant hears (default: silence)")


class ActionResult(BaseModel):
    """A conference action was accepted by its media node; its events follow."""

    conference_id: str
    action: str
    call_id: str | None
    status: str = Field(description="accepted")


class ConferenceEventView(BaseModel):
    """One entry of a conference's timeline; `data` is the conference after the event."""

    id: str
    type: str
    sequence: int
    created_at: str
    data: dict[str, Any]
    details: dict[str, Any]

    @classmethod
    def of(cls, event: ConferenceEvent) -> ConferenceEventView:
        return cls(id=event.event_id, type=event.type, sequence=event.sequence,
                   created_at=event.created_at, data=event.data, details=event.details)


class ConferenceEventList(BaseModel):
    data: list[ConferenceEventView]


class TrackView(BaseModel):
    """One participant's track: what the room heard from it, from ``offset_s`` into the mix."""

    call_id: str
    agent_id: str | None
    s3_key: str
    duration_s: float
    offset_s: float
    channels: int
    format: str
    sample_rate: int
    size_bytes: int
    download_url: str


class ConferenceRecordingView(BaseModel):
    """A conference's recording: the room's mix, one channel, and a short-lived URL; with
    `record_tracks`, one track per participant too."""

    conference_id: str
    s3_key: str
    duration_s: float
    channels: int
    format: str
    sample_rate: int
    size_bytes: int
    created_at: str
    download_url: str
    download_url_expires_in_s: int
    tracks: list[TrackView] = Field(default_factory=list)
