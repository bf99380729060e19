"""/v1/calls/{id}/actions/{action}: live call control (part of the `calls` route group)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from voicelane.api.deps import ContainerDep, Writes
from voicelane.api.responses import AUTHENTICATED, errors
from voicelane.api.routing import StrictJsonRoute
from voicelane.contracts.actions import CommandResult

router = APIRouter(route_class=StrictJsonRoute, tags=["calls"], responses=AUTHENTICATED)


@router.post(
    "/{call_id}/actions/{action}",
    status_code=202,
    summary="Send a live command to a call",
    responses=errors(e403=["destination_not_allowed"],
                     e404=["call_not_found", "unknown_action"],
                     e409=["call_already_ended", "action_not_allowed", "no_agent_summary",
                           "already_bridged"],
                     e422=["stream_url_not_allowed", "stream_agent_conflict"],
                     e503=["unavailable"]),
    description=(
        "Actions: answer, reject, hangup, play, speak, gather, send_dtmf, hold, unhold, "
        "transfer, warm_transfer, record_start, record_stop, record_pause, record_resume, "
        "stream_start, stream_stop. Results arrive as call events (a warm transfer: "
        "call.transfer.initiated, target_answered, whispered, bridged or declined/failed; "
        "docs/transfers.md). `command_id` makes a retry harmless."
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
