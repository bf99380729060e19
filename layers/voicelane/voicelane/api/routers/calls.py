"""/v1/calls"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from voicelane.api.deps import ContainerDep, CreateCall, Lists, Reads, Writes
from voicelane.api.routers import call_actions
from voicelane.contracts.calls import (
    CallEventList,
    CallEventView,
    CallList,
    CallView,
    CreateCallRequest,
)
from voicelane.domain.call import CallStatus, Direction
from voicelane.ports import CallFilter

router = APIRouter(prefix="/v1/calls", tags=["calls"])


def _view(call: Any) -> dict[str, Any]:
    return CallView.of(call).to_json()


@router.post("", status_code=201, response_model=None, summary="Create a call")
def create_call(
    body: CreateCallRequest,
    principal: CreateCall,
    c: ContainerDep,
    response: Response,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> dict[str, Any]:
    call, created = c.calls.create(principal.app, body, idempotency_key)
    if not created:
        response.headers["Idempotent-Replayed"] = "true"
    return _view(call)


@router.get("", response_model=CallList, summary="List calls")
def list_calls(
    principal: Lists,
    c: ContainerDep,
    agent_id: str | None = None,
    status: CallStatus | None = None,
    direction: Direction | None = None,
    start_date: datetime | None = None,
    end_date: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=1000)] = 0,
    cursor: str | None = None,
) -> dict[str, Any]:
    filt = CallFilter(
        agent_id=agent_id,
        status=status,
        direction=direction.value if direction else None,
        start_ms=int(start_date.timestamp() * 1000) if start_date else None,
        end_ms=int(end_date.timestamp() * 1000) if end_date else None,
    )
    page = c.calls.list_calls(principal.app, filt, limit, offset, cursor)
    return {
        "data": [_view(call) for call in page.items],
        "limit": limit,
        "offset": offset,
        "next_cursor": page.next_cursor,
    }


@router.get("/{call_id}", response_model=None, summary="Get a call")
def get_call(call_id: str, principal: Reads, c: ContainerDep) -> dict[str, Any]:
    return _view(c.calls.get(principal.app, call_id))


@router.get("/{call_id}/events", response_model=CallEventList, summary="A call's timeline")
def call_events(call_id: str, principal: Reads, c: ContainerDep) -> dict[str, Any]:
    events = c.calls.events(principal.app, call_id)
    return {"data": [CallEventView.of(ev).model_dump() for ev in events]}


@router.get("/{call_id}/transcript", response_model=None, summary="A call's transcript")
def call_transcript(call_id: str, principal: Reads, c: ContainerDep) -> dict[str, Any]:
    return c.artifacts.transcript(principal.app, call_id)


@router.get("/{call_id}/recording", response_model=None, summary="A call's recording")
def call_recording(call_id: str, principal: Reads, c: ContainerDep) -> dict[str, Any]:
    return c.artifacts.recording(principal.app, call_id)


@router.post("/{call_id}/hangup", response_model=None, summary="Hang up or cancel a call")
def hangup(call_id: str, principal: Writes, c: ContainerDep) -> dict[str, Any]:
    return _view(c.calls.hangup(principal.app, call_id))


# Live commands belong to the calls route group (same Lambda function).
router.include_router(call_actions.router)
