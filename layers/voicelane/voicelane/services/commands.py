"""Live call commands: validated, idempotent on command_id, forwarded to the owning node."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import ValidationError

from voicelane.contracts.actions import (
    ACTIONS,
    ActionBody,
    JoinConference,
    StreamStart,
    Transfer,
    WarmTransfer,
    parse_action,
)
from voicelane.domain.call import CallStatus, is_terminal
from voicelane.domain.call_control import EARLY_MEDIA, PRE_ANSWER
from voicelane.domain.destinations import check_destination, own_number_of
from voicelane.domain.errors import Conflict, NotFound, ValidationFailed
from voicelane.domain.models import App, Call
from voicelane.ports import MediaControl
from voicelane.services.calls import CallService
from voicelane.services.conferences import ConferenceService
from voicelane.services.streams import check_stream
from voicelane.webhook_ports import Resolver

__all__ = ["PRE_ANSWER", "CommandService", "CommandStore", "check_command", "parse_command"]


def parse_command(action: str, body: dict[str, Any]) -> ActionBody:
    """The parsed body of one command, or the API's error: 404 unknown_action, 422
    validation_error. Shared by the REST actions and the commands of webhook answers and
    WebSocket messages, so all three refuse the same input."""
    if action not in ACTIONS:
        raise NotFound(f"unknown action {action!r}", code="unknown_action",
                       details={"actions": sorted(ACTIONS)})
    try:
        return parse_action(action, body)
    except ValidationError as exc:
        raise ValidationFailed(
            f"the {action} body is not valid", code="validation_error",
            details=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()],
        ) from exc


def check_command(app: App, call: Call, parsed: ActionBody, resolver: Resolver | None) -> None:
    """The checks of a parsed command that need the call: a transfer's destination (every
    number Voicelane dials passes this check), a stream's URL and dialect."""
    if isinstance(parsed, Transfer | WarmTransfer):
        check_destination(parsed.to, app.destination_allow_list,
                          own_number_of(call.direction, call.from_channel, call.from_,
                                        call.to_channel, call.to))
    if isinstance(parsed, StreamStart):
        check_stream(app, parsed.spec(), resolver, has_agent=bool(call.agent_id or call.agent))


class CommandStore(Protocol):
    def get(self, call_id: str, command_id: str) -> dict[str, Any] | None: ...
    def put_once(self, call_id: str, command_id: str, result: dict[str, Any]) -> dict[str, Any]:
        """Store `result` unless a result exists; return the stored one."""
        ...


class CommandService:
    def __init__(self, calls: CallService, media: MediaControl, store: CommandStore,
                 conferences: ConferenceService | None = None) -> None:
        self.calls = calls
        self.media = media
        self.store = store
        self.conferences = conferences

    def execute(self, app: App, call_id: str, action: str, body: dict[str, Any]) -> dict[str, Any]:
        parsed = parse_command(action, body)
        call = self.calls.get(app, call_id)
        check_command(app, call, parsed, self.calls.resolver)
        if parsed.command_id:
            previous = self.store.get(call_id, parsed.command_id)
            if previous is not None:
                return previous
        if is_terminal(call.status):
            raise Conflict(f"the call has ended ({call.status.value})", code="call_already_ended")
        if call.status in (CallStatus.QUEUED, CallStatus.SCHEDULED):
            if action != "hangup":
                raise Conflict(f"{action} needs a live call; the call is {call.status.value}",
                               code="action_not_allowed")
            self.calls.hangup(app, call_id)
            result = {"call_id": call_id, "action": action, "command_id": parsed.command_id,
                      "status": "completed"}
        else:
            early = action in EARLY_MEDIA and call.pre_answered_at is not None
            if call.status != CallStatus.IN_PROGRESS and action not in PRE_ANSWER and not early:
                raise Conflict(f"{action} needs an answered call; the call is {call.status.value}",
                               code="action_not_allowed")
            if isinstance(parsed, JoinConference) and self.conferences is not None:
                # 404/409 before the node is asked (it checks again in its own write)
                self.conferences.check_join(app, call, parsed.conference_id)
            payload = parsed.model_dump(exclude_none=True)
            self.media.command(call, action, payload)
            result = {"call_id": call_id, "action": action, "command_id": parsed.command_id,
                      "status": "accepted"}
        if parsed.command_id:
            return self.store.put_once(call_id, parsed.command_id, result)
        return result
