"""Where a call record is born: API-created outbound calls, browser/websocket sessions and
inbound SIP calls all build their `Call` here, from the app it belongs to.

A call needs its app (tenancy, and the concurrent-call cap its creation is checked against), so
a missing app is an error here, never a default: `NotFound("app_not_found")`.
"""

from __future__ import annotations

from typing import Any

from voicelane.domain.call import CallStatus, Channel, Direction
from voicelane.domain.clock import now_iso
from voicelane.domain.errors import NotFound
from voicelane.domain.ids import new_id
from voicelane.domain.models import App, Call, Number
from voicelane.domain.routing import (
    AgentAction,
    RoutingMatch,
    RoutingRule,
    StreamAction,
)


def require_app(app: App | None, app_id: str) -> App:
    """`app`, or NotFound when the app a call would belong to does not exist."""
    if app is None:
        raise NotFound("the call's app does not exist", code="app_not_found",
                       details={"app_id": app_id})
    return app


def new_call(app: App, *, direction: Direction, status: CallStatus, from_: str, to: str,
             from_channel: Channel, to_channel: Channel, created_at: str | None = None,
             **fields: Any) -> Call:
    """A new call of `app` with a fresh id; `fields` are the other `Call` fields (by name)."""
    return Call.model_validate({
        **fields,
        "call_id": new_id("call"), "app_id": app.app_id, "direction": direction,
        "status": status, "from": from_, "to": to, "from_channel": from_channel,
        "to_channel": to_channel, "created_at": created_at or now_iso(),
    })


def new_inbound_call(app: App, number: Number, caller: str, node_id: str,
                     sip_headers: dict[str, str] | None = None,
                     routed: tuple[RoutingMatch, RoutingRule] | None = None) -> Call:
    """A SIP call from `caller` to `number`, already `initiated` on media node `node_id`.

    `routed`: the number's routing rule that took the call. It decides who answers (an agent,
    a bot's stream, or nobody: the app's commands or a dialled target); without one the
    number's own `agent_id` and `stream` do, as before routing rules existed."""
    if number.app_id != app.app_id:
        raise NotFound("the number's app does not exist", code="app_not_found",
                       details={"app_id": number.app_id})
    agent_id, stream = number.agent_id, number.stream
    match: RoutingMatch | None = None
    recording = False
    if routed is not None:
        match, rule = routed
        action = rule.action
        agent_id = action.agent_id if isinstance(action, AgentAction) else None
        stream = action.stream if isinstance(action, StreamAction) else None
        recording = bool(getattr(action, "record", False))
    now = now_iso()
    return new_call(app, direction=Direction.INBOUND, status=CallStatus.INITIATED,
                    from_=caller, to=number.number, from_channel=Channel.PSTN,
                    to_channel=Channel.PSTN, created_at=now, started_at=now,
                    agent_id=agent_id, stream=stream, media_node=node_id,
                    sip_headers=sip_headers or None, routing_rule=match, recording=recording)


def new_leg_call(app: App, parent: Call, to: str, from_: str, node_id: str, purpose: str,
                 to_channel: Channel = Channel.PSTN, agent_id: str | None = None) -> Call:
    """An outbound leg dialled by media node ``node_id`` for ``parent`` (a transfer target, a
    conference participant, click-to-call's second party), already ``initiated`` there. It
    inherits the parent's webhook, recording choice and metadata; never its agent or stream
    (``agent_id``: an agent's own seat in a conference, on the ``agent`` channel)."""
    if parent.app_id != app.app_id:
        raise NotFound("the parent call's app does not exist", code="app_not_found",
                       details={"app_id": parent.app_id})
    now = now_iso()
    return new_call(app, direction=Direction.OUTBOUND, status=CallStatus.INITIATED,
                    from_=from_, to=to, from_channel=Channel.PSTN, to_channel=to_channel,
                    created_at=now, started_at=now, media_node=node_id,
                    parent_call_id=parent.call_id, leg_purpose=purpose,
                    webhook_url=parent.webhook_url, metadata=dict(parent.metadata),
                    recording=parent.recording, agent_id=agent_id,
                    max_duration_s=parent.max_duration_s)
