"""An inbound call a routing rule dials onward (forward, ring_all, round_robin): the caller
keeps ringing while the targets are dialled (``TransportRoom.dial_targets``); the first to
answer is bridged to the caller (``calls/bridge.py``) once the caller's leg is answered, and
the call ends when either side hangs up. Nobody answering refuses the caller with 480.

Each target passes the call's gate before anything is sent to it: the app's destination
allow-list (``LiveCall.check_destination``), then a slot of the app's calls-per-second cap
(waited for, never skipped)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from voicelane.domain.call import CallStatus
from voicelane.domain.errors import Forbidden
from voicelane.domain.models import Call
from voicelane.domain.routing import DIALLING_ACTIONS

from voicelane_media.transports.base import CallEvents, DialedParty, DialGate, DialPlan

from .bridge import bridge
from .call import LiveCall
from .ports import ControlPort

log = logging.getLogger(__name__)
MAX_PACING_WAIT_S = 10.0  # a target still without a CPS slot after this is skipped


class _Dialler(Protocol):
    async def dial_targets(self, events: CallEvents, plan: DialPlan,
                           gate: DialGate) -> DialedParty | None: ...


class OnwardHost(Protocol):
    """What routing onward needs of the node's calls (``manager.CallManager``)."""

    control: ControlPort

    @property
    def room(self) -> _Dialler: ...

    async def answer(self, live: LiveCall) -> None: ...

    def spawn_max_duration(self, live: LiveCall) -> None: ...


def dials_onward(call: Call) -> bool:
    """A routing rule sends this call to numbers or SIP URIs (not to an agent, bot or app)."""
    return call.routing_rule is not None and call.routing_rule.action in DIALLING_ACTIONS


def plan_of(call: Call) -> DialPlan:
    match = call.routing_rule
    assert match is not None and match.targets
    return DialPlan(targets=list(match.targets), all_at_once=match.action == "ring_all",
                    timeout_s=float(match.timeout_s or 30), caller_id=call.from_)


def gate_for(live: LiveCall, control: ControlPort) -> DialGate:
    """The allow-list, then a calls-per-second slot (waited for, at most
    :data:`MAX_PACING_WAIT_S`)."""

    async def gate(target: str) -> bool:
        try:
            await live.check_destination(target)
        except Forbidden:
            log.warning("call %s: routing target %s is not in the app's allow-list",
                        live.call_id, target)
            return False
        waited = 0.0
        while (delay := await control.pace_leg(live.call.app_id)) > 0:
            if waited >= MAX_PACING_WAIT_S:
                return False
            await asyncio.sleep(delay)
            waited += delay
        return True

    return gate


async def route_onward(host: OnwardHost, live: LiveCall) -> None:
    """Ring the call's targets, bridge the first that answers, and run the call to its end."""
    plan = plan_of(live.call)
    await live.record_event("call.routing.dialing", {
        "targets": plan.targets, "mode": "all_at_once" if plan.all_at_once else "in_turn"})
    dial = asyncio.ensure_future(host.room.dial_targets(live, plan,
                                                           gate_for(live, host.control)))
    canceled = asyncio.ensure_future(live.transport.canceled.wait())
    ended = asyncio.ensure_future(live.ended.wait())
    await asyncio.wait({dial, canceled, ended}, return_when=asyncio.FIRST_COMPLETED)
    for waiter in (canceled, ended):
        waiter.cancel()
    if not dial.done():  # the caller left (or the app hung up) while the targets rang
        dial.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await dial
        if not live.finished:
            await live.finish(CallStatus.CANCELED, "hangup_by_caller", 487)
        return
    party = dial.result()
    if party is None:
        cause = await live.transport.reject("not_answered")
        await live.finish(CallStatus.NO_ANSWER, "targets_not_answered", cause)
        return
    try:
        await _bridged(host, live, party)
    finally:
        await party.close()


async def _bridged(host: OnwardHost, live: LiveCall, party: DialedParty) -> None:
    await host.answer(live)
    if live.finished or live.answered_at is None:  # the caller went just as the target answered
        await party.hangup()
        return
    host.spawn_max_duration(live)
    if live.status_write is not None:  # call.answered is stored first: the timeline reads so
        await asyncio.wait([live.status_write])
    await live.record_event("call.bridged", {"to": party.target})
    room = bridge(live.transport, party)
    caller_left = asyncio.ensure_future(live.ended.wait())
    party_left = asyncio.ensure_future(party.ended.wait())
    try:
        await asyncio.wait({caller_left, party_left}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        caller_left.cancel()
        party_left.cancel()
        await room.close()
    if live.ended.is_set():  # the caller (or the app) ended it: release the target
        await party.hangup()
        await live.finish(live.completed_status, live.hangup_reason or "hangup", None)
    else:
        await live.hangup("bridged_party_hangup")
        await live.finish(CallStatus.COMPLETED, "bridged_party_hangup", None)
