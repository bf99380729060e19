"""Placing a claimed outbound call: the destination check at the moment of dialling, the
transport, the dial, then what follows the answer: click-to-call's second party
(``click_to_call.py``), or the app's commands for a call nobody else takes; then the call to
its end. The claim itself (pacing, the conditional write) is the manager's
(``CallManager.take``), which hands each claimed call here.
"""

from __future__ import annotations

import logging
from typing import Protocol

from voicelane.domain.call import CallStatus, Channel
from voicelane.domain.clock import now_iso
from voicelane.domain.destinations import check_destination, own_number_of
from voicelane.domain.errors import Forbidden
from voicelane.domain.models import Call

from .call import LiveCall
from .click_to_call import connect, connects
from .legs import LegHost
from .routing import dials_onward
from .transfer import LegDialer

log = logging.getLogger(__name__)


class AppCommandsHook(Protocol):
    """Asks the app for commands after an event the call waits on, and runs them
    (``calls/app_answers.py``; the node plugs it in). False: nobody answers with commands."""

    async def decide(self, live: LiveCall, event_type: str, sequence: int) -> bool: ...


class PlacementHost(LegHost, LegDialer, Protocol):
    """What placing a call needs of the node's calls (``calls.manager.CallManager``)."""

    @property
    def app_commands(self) -> AppCommandsHook | None: ...


def detects_machines(call: Call) -> bool:
    """Answering-machine detection runs when an outbound call with it on is answered."""
    spec = call.machine_detection
    return spec is not None and spec.enabled and call.direction == "outbound"


def unattended(call: Call) -> bool:
    """No agent, bot or routing target takes the call: its app drives it (commands)."""
    return not (call.agent_id or call.agent or call.stream or dials_onward(call))


async def place_outbound(host: PlacementHost, call: Call) -> None:
    """Dial a claimed call and keep it until it ends."""
    if not await may_dial(host, call):
        return
    try:
        transport = await host.room.open_outbound(call)
    except Exception:  # no free media port...: the claimed call must still end
        log.exception("no transport for outbound call %s", call.call_id)
        await host.control.transition(call.call_id, CallStatus.FAILED,
                                      {"end_reason": "media_node_error",
                                       "ended_at": now_iso(), "duration_s": 0.0},
                                      {"end_reason": "media_node_error"})
        return
    live = host.adopt(call, transport)
    host.spawn_max_duration(live)
    ending = await live.transport.dial()
    if ending is not None:
        await live.finish(ending.status, ending.reason, ending.cause)
        return
    await host.answered(live)
    commands = host.app_commands
    if connects(call):  # click-to-call: the second party, bridged (click_to_call.py)
        live.spawn(connect(host, live))
    elif (commands is not None and unattended(call) and not live.finished
            and not detects_machines(call)):  # else asked once it is known who answered
        written = await live.status_write if live.status_write is not None else None
        if isinstance(written, Call):  # call.answered is stored: ask the app what next
            await commands.decide(live, "call.answered", written.event_seq)
    if not live.finished:
        await live.ended.wait()
        await host.completed(live)


async def may_dial(host: PlacementHost, call: Call) -> bool:
    """The destination check at the moment of dialling (the API checked at creation; an
    allow-list narrowed since, e.g. before a scheduled call is due, applies here): a
    refused call fails with ``destination_not_allowed`` and nothing is sent."""
    if call.to_channel != Channel.PSTN:
        return True
    app = await host.control.app(call.app_id)
    try:
        check_destination(call.to, app.destination_allow_list if app else None,
                          own_number_of(call.direction, call.from_channel, call.from_,
                                        call.to_channel, call.to))
    except Forbidden:
        log.warning("call %s: %s is not in the app's allow-list", call.call_id, call.to)
        await host.control.transition(call.call_id, CallStatus.FAILED,
                                      {"end_reason": "destination_not_allowed",
                                       "ended_at": now_iso(), "duration_s": 0.0},
                                      {"end_reason": "destination_not_allowed"})
        return False
    return True
