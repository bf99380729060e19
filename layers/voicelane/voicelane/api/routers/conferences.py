"""/v1/conferences: rooms of calls mixed on one media node (docs/conferences.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query

from voicelane.api.deps import ContainerDep, Lists, Reads, Writes
from voicelane.api.responses import AUTHENTICATED, errors
from voicelane.api.routing import StrictJsonRoute
from voicelane.contracts.common import CURSOR_PATTERN
from voicelane.contracts.conferences import (
    ActionResult,
    ConferenceEventList,
    ConferenceEventView,
    ConferenceList,
    ConferenceRecordingView,
    ConferenceView,
    CreateConferenceRequest,
    DialParticipantRequest,
    DialParticipantResult,
    ParticipantAction,
    ParticipantList,
    ParticipantView,
    TrackView,
)

router = APIRouter(route_class=StrictJsonRoute, prefix="/v1/conferences", tags=["conferences"],
                   responses=AUTHENTICATED)
_NODE = ["media_node_unavailable", "media_node_error"]


@router.post("", status_code=201, summary="Create a conference",
             responses=errors(e409=["conference_name_taken"]))
def create_conference(body: CreateConferenceRequest, principal: Writes,
                      c: ContainerDep) -> ConferenceView:
    return ConferenceView.of(c.conferences.create(principal.app, body))


@router.get("", summary="List conferences", responses=errors(e422=["invalid_cursor"]))
def list_conferences(
    principal: Lists, c: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(
        min_length=1, max_length=512, json_schema_extra={"pattern": CURSOR_PATTERN},
        description="The `next_cursor` of the previous page (opaque)")] = None,
) -> ConferenceList:
    items, next_cursor = c.conferences.list_page(principal.app, limit, cursor)
    return ConferenceList(data=[ConferenceView.of(x) for x in items], next_cursor=next_cursor)


@router.get("/{conference_id}", summary="Get a conference",
            responses=errors(e404=["conference_not_found"]))
def get_conference(conference_id: str, principal: Reads, c: ContainerDep) -> ConferenceView:
    return ConferenceView.of(c.conferences.get(principal.app, conference_id))


@router.get("/{conference_id}/events", summary="A conference's timeline",
            responses=errors(e404=["conference_not_found"]))
def conference_events(conference_id: str, principal: Reads,
                      c: ContainerDep) -> ConferenceEventList:
    events = c.conferences.events(principal.app, conference_id)
    return ConferenceEventList(data=[ConferenceEventView.of(e) for e in events])


@router.get("/{conference_id}/recording",
            summary="A conference's recording (its mix, and its participants' tracks)",
            responses=errors(e404=["conference_not_found", "recording_not_found"]))
def conference_recording(conference_id: str, principal: Reads,
                         c: ContainerDep) -> ConferenceRecordingView:
    meta = c.conferences.recording(principal.app, conference_id)
    url, ttl = c.artifacts.download_url(meta.s3_key)
    tracks = [TrackView(**t.model_dump(include=set(TrackView.model_fields)),
                        download_url=c.artifacts.download_url(t.s3_key)[0])
              for t in c.conferences.tracks(principal.app, conference_id)]
    return ConferenceRecordingView(
        conference_id=conference_id, s3_key=meta.s3_key, duration_s=meta.duration_s,
        channels=meta.channels, format=meta.format, sample_rate=meta.sample_rate,
        size_bytes=meta.size_bytes, created_at=meta.created_at, download_url=url,
        download_url_expires_in_s=ttl, tracks=tracks)


@router.get("/{conference_id}/participants", summary="A conference's participants",
            responses=errors(e404=["conference_not_found"]))
def list_participants(conference_id: str, principal: Reads, c: ContainerDep) -> ParticipantList:
    found = c.conferences.participants(principal.app, conference_id)
    return ParticipantList(data=[ParticipantView.of(p) for p in found])


@router.post(
    "/{conference_id}/participants", status_code=202,
    summary="Dial someone straight into the conference, or seat an agent in it",
    description="The conference's media node dials the number or SIP URI (the app's "
                "allow-list, calls-per-second pacing and trunk failover apply) and joins the "
                "answered call; `conference.participant.joined` names its call. With "
                "`agent_id` instead of `to`, that agent joins on a call of its own (channel "
                "`agent`): it hears the mix and everyone hears it; the joined event names "
                "the agent too.",
    responses=errors(e403=["destination_not_allowed"], e404=["conference_not_found"],
                     e422=["agent_not_found"],
                     e409=["conference_ended", "conference_not_active", "conference_full",
                           "conference_not_here"], e503=_NODE))
def dial_participant(conference_id: str, body: DialParticipantRequest, principal: Writes,
                     c: ContainerDep) -> DialParticipantResult:
    c.conferences.dial(principal.app, conference_id,
                       body.model_dump(by_alias=True, exclude_none=True))
    return DialParticipantResult(conference_id=conference_id, status="accepted")


@router.post(
    "/{conference_id}/participants/{call_id}/actions/{action}", status_code=202,
    summary="Mute, unmute, hold, unhold or kick a participant",
    description="`hold` takes an optional `music_url` (else the participant hears silence); "
                "`kick` takes the participant out and hangs its call up "
                "(`end_reason` conference_kicked).",
    responses=errors(e404=["conference_not_found", "participant_not_found", "unknown_action"],
                     e409=["conference_ended", "conference_not_active", "participant_left",
                           "conference_not_here", "action_not_allowed"], e503=_NODE))
def participant_action(conference_id: str, call_id: str, action: str, principal: Writes,
                       c: ContainerDep,
                       body: Annotated[ParticipantAction | None, Body()] = None) -> ActionResult:
    payload = body.model_dump(exclude_none=True) if body else {}
    c.conferences.participant_action(principal.app, conference_id, call_id, action, payload)
    return ActionResult(conference_id=conference_id, action=action, call_id=call_id,
                        status="accepted")


@router.post(
    "/{conference_id}/actions/end", status_code=202, summary="End a conference",
    description="Every participant is hung up (`end_reason` conference_ended).",
    responses=errors(e404=["conference_not_found"],
                     e409=["conference_ended", "conference_not_here"], e503=_NODE))
def end_conference(conference_id: str, principal: Writes, c: ContainerDep) -> ActionResult:
    c.conferences.end_by_api(principal.app, conference_id)
    return ActionResult(conference_id=conference_id, action="end", call_id=None,
                        status="accepted")
