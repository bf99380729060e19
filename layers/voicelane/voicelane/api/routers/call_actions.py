"""/v1/calls/{id}/actions/{action}: live call control (part of the `calls` route group).

Each action with parameters is its own operation with its own body schema (`contracts.actions`),
so the OpenAPI document states what the server enforces; the actions without parameters share
one operation whose `action` is one of their names. An unknown action answers 404
`unknown_action`. The body is validated again by the command service (`parse_command`), the
one parser the commands of webhook answers and WebSocket messages share.

No `from __future__ import annotations` here: the routes are built in a loop, and FastAPI reads
each endpoint's body type from its signature, which must hold the model itself.
"""

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Body, Path
from pydantic import BaseModel

from voicelane.api.deps import ContainerDep, Writes
from voicelane.api.responses import AUTHENTICATED, errors
from voicelane.api.routing import StrictJsonRoute
from voicelane.contracts.actions import (
    ACTIONS,
    CommandResult,
    Empty,
    JoinConference,
    StreamStart,
    Transfer,
    WarmTransfer,
)

router = APIRouter(route_class=StrictJsonRoute, tags=["calls"], responses=AUTHENTICATED)

SUMMARY = "Send a live command to a call"
_NODE = {"e404": ["call_not_found"],
         # the API's own, then those the call's media node answers with (its state now)
         "e409": ["call_already_ended", "action_not_allowed", "call_not_controllable",
                  "call_ended", "call_not_answered", "call_not_ringing", "already_on_hold",
                  "already_recording", "not_recording", "gather_in_progress", "no_stream",
                  "early_media_not_supported", "already_pre_answered"],
         "e503": ["media_node_unavailable", "media_node_error"]}
_CHECKS: dict[type[BaseModel], dict[str, list[str]]] = {
    Transfer: {"e403": ["destination_not_allowed"]},
    WarmTransfer: {"e403": ["destination_not_allowed"],
                   "e409": ["no_agent_summary", "already_bridged"]},
    StreamStart: {"e422": ["stream_url_not_allowed", "stream_agent_conflict"]},
    JoinConference: {"e404": ["conference_not_found"],  # docs/conferences.md
                     "e409": ["conference_ended", "conference_on_other_node", "conference_full",
                              "already_in_conference"]},
}
PARAMETERLESS = sorted(name for name, model in ACTIONS.items() if model is Empty)


def _run(c: ContainerDep, principal: Writes, call_id: str, action: str,
         body: BaseModel | None) -> CommandResult:
    payload = body.model_dump(exclude_unset=True) if body is not None else {}
    return CommandResult.model_validate(c.commands.execute(principal.app, call_id, action, payload))


def _required(model: type[BaseModel]) -> bool:
    return any(field.is_required() for field in model.model_fields.values()) or (
        model.__pydantic_decorators__.model_validators != {})


def _endpoint(action: str, model: type[BaseModel]) -> Callable[..., CommandResult]:
    if _required(model):
        def endpoint(call_id: str, principal: Writes, c: ContainerDep,
                     body: Annotated[model, Body()]) -> CommandResult:  # type: ignore[valid-type]
            return _run(c, principal, call_id, action, body)
    else:
        def endpoint(call_id: str, principal: Writes, c: ContainerDep,  # type: ignore[misc]
                     body: Annotated[model | None, Body()] = None  # type: ignore[valid-type]
                     ) -> CommandResult:
            return _run(c, principal, call_id, action, body)
    endpoint.__name__ = f"call_action_{action}"
    return endpoint


def _codes(model: type[BaseModel]) -> dict[str, list[str]]:
    codes = {key: list(value) for key, value in _NODE.items()}
    for key, value in _CHECKS.get(model, {}).items():
        codes[key] = [*codes.get(key, []), *value]
    return codes


for _action, _model in ACTIONS.items():
    if _model is Empty:
        continue
    router.add_api_route(
        f"/{{call_id}}/actions/{_action}", _endpoint(_action, _model), methods=["POST"],
        status_code=202, summary=f"{SUMMARY}: {_action}",
        description=f"{(_model.__doc__ or '').strip()} Results arrive as call events; "
                    "`command_id` makes a retry harmless.",
        responses=errors(**_codes(_model)), operation_id=f"call_action_{_action}")


@router.post(
    "/{call_id}/actions/{action}",
    status_code=202,
    summary=f"{SUMMARY}: an action without parameters",
    responses=errors(e404=["call_not_found", "unknown_action"],
                     **{k: v for k, v in _NODE.items() if k != "e404"}),
    description=(
        f"Actions without parameters: {', '.join(PARAMETERLESS)} (the others have their own "
        "operation and body). The body may be left out or carry only `command_id`, which makes "
        "a retry harmless. Results arrive as call events."
    ),
    operation_id="call_action",
)
def call_action(
    call_id: str,
    action: Annotated[str, Path(json_schema_extra={"enum": PARAMETERLESS})],
    principal: Writes,
    c: ContainerDep,
    body: Annotated[Empty | None, Body()] = None,
) -> CommandResult:
    return _run(c, principal, call_id, action, body)


__all__ = ["router"]
