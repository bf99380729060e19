"""/v1/calls/{id}/actions/{action}: live call control (part of the `calls` route group)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from voicelane.api.deps import ContainerDep, Writes
from voicelane.api.routing import StrictJsonRoute
from voicelane.contracts.actions import CommandResult

router = APIRouter(route_class=StrictJsonRoute, tags=["calls"])


@router.post(
    "/{call_id}/actions/{action}",
    status_code=202,
    summary="Send a live command to a call",
    description=(
        "Actions: answer, reject, hangup, play, speak, gather, send_dtmf, hold, unhold, "
        "transfer, record_start, record_stop, record_pause, record_resume. Results arrive as "
        "call events. `command_id` makes a retry harmless."
    ),
)
def call_action(
    call_id: str,
    action: str,
    principal: Writes,
    c: ContainerDep,
    body: Annotated[dict[str, Any] | None, Body()] = None,
) -> CommandResult:
    return CommandResult.model_validate(
        c.commands.execute(principal.app, call_id, action, body or {})
    )
