"""/v1/calls"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response

from voicelane.api.deps import ContainerDep, CreateCall, Lists, Reads, Writes
from voicelane.api.responses import AGENT_RULES, AUTHENTICATED, errors
from voicelane.api.routers import call_actions
from voicelane.api.routing import StrictJsonRoute
from voicelane.contracts.artifacts import RecordingView, TranscriptView
from voicelane.contracts.calls import (
    CallEventList,
    CallEventView,
    CallList,
    CallView,
    CreateCallRequest,
)
from voicelane.contracts.common import CURSOR_PATTERN, IsoDateTime
from voicelane.domain.call import CallStatus, Direction
from voicelane.ports import CallFilter

router = APIRouter(route_class=StrictJsonRoute, prefix="/v1/calls", tags=["calls"], responses=AUTHENTICATED)


@router.post(
    "", status_code=201, summary="Create a call",
    responses=errors(
        e403=["destination_not_allowed"],
        e409=["idempotency_conflict"],
        e422=["invalid_idempotency_key", "invalid_phone_number", "invalid_identifier",
              "from_number_not_owned", "agent_conflict", "agent_not_found",
              "scheduled_at_in_past", "channel_not_supported", "webhook_url_not_allowed",
              "stream_url_not_allowed", "stream_agent_conflict",
              "machine_detection_not_supported", "webhook_commands_without_url",
              "connect_to_conflict", "connect_prompt_without_connect_to",
              *AGENT_RULES],
        e429=["concurrency_limit_exceeded", "cps_limit_exceeded"],
        e503=["queue_unavailable"],
    ),
)
def create_call(
    body: CreateCallRequest,
    principal: CreateCall,
    c: ContainerDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(
        alias="Idempotency-Key", json_schema_extra={"minLength": 1, "maxLength": 255},
        description="Makes the create idempotent for 24 h: 1-255 characters")] = None,
) -> CallView:
    call, created = c.calls.create(principal.app, body, idempotency_key)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return CallView.of(call)


@router.get("", summary="List calls", responses=errors(e422=["invalid_cursor"]))
def list_calls(
    principal: Lists,
    c: ContainerDep,
    agent_id: str | None = None,
    status: CallStatus | None = None,
    direction: Direction | None = None,
    start_date: IsoDateTime | None = None,
    end_date: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1000)] = 0,
    cursor: Annotated[str | None, Query(
        min_length=1, max_length=512, json_schema_extra={"pattern": CURSOR_PATTERN},
        description="The `next_cursor` of the previous page (opaque)")] = None,
) -> CallList:
    filt = CallFilter(
        agent_id=agent_id,
        status=status,
        direction=direction.value if direction else None,
        start_ms=int(start_date.timestamp() * 1000) if start_date else None,
        end_ms=int(end_date.timestamp() * 1000) if end_date else None,
    )
    page = c.calls.list_calls(principal.app, filt, limit, offset, cursor)
    return CallList(
        data=[CallView.of(call) for call in page.items],
        limit=limit,
        offset=offset,
        next_cursor=page.next_cursor,
    )


@router.get("/{call_id}", summary="Get a call", responses=errors(e404=["call_not_found"]))
def get_call(call_id: str, principal: Reads, c: ContainerDep) -> CallView:
    return CallView.of(c.calls.get(principal.app, call_id))


@router.get("/{call_id}/events", summary="A call's timeline", responses=errors(e404=["call_not_found"]))
def call_events(call_id: str, principal: Reads, c: ContainerDep) -> CallEventList:
    events = c.calls.events(principal.app, call_id)
    return CallEventList(data=[CallEventView.of(ev) for ev in events])


@router.get("/{call_id}/transcript", summary="A call's transcript",
            responses=errors(e404=["call_not_found", "transcript_not_found"]))
def call_transcript(call_id: str, principal: Reads, c: ContainerDep) -> TranscriptView:
    return TranscriptView.model_validate(c.artifacts.transcript(principal.app, call_id))


@router.get("/{call_id}/recording", summary="A call's recording",
            responses=errors(e404=["call_not_found", "recording_not_found"]))
def call_recording(call_id: str, principal: Reads, c: ContainerDep) -> RecordingView:
    return RecordingView.model_validate(c.artifacts.recording(principal.app, call_id))


@router.post("/{call_id}/hangup", summary="Hang up or cancel a call",
             responses=errors(e404=["call_not_found"], e409=["call_already_ended"],
                              e503=["unavailable"]))
def hangup(call_id: str, principal: Writes, c: ContainerDep) -> CallView:
    return CallView.of(c.calls.hangup(principal.app, call_id))


# Live commands belong to the calls route group (same Lambda function).
router.include_router(call_actions.router)
