"""An inbound call a ``conference`` routing rule sends into a conference by name.

As Twilio's ``<Dial><Conference>name</Conference></Dial>``: the control plane finds the app's
conference of that name that has not ended, or creates it with the rule's settings (the name
is a conditional write, so two first callers make one conference); the caller is answered
and joins it (the join is the conference's conditional write, with its
``conference.participant.joined``), and stays until it hangs up or the conference ends.

A conference lives on the node of its first participant. A caller that reaches another node
is answered there and bridged to the conference's node over a SIP leg of its own (``dial_leg``
to ``sip:confbridge-<token>@<that node>``, ``leg_purpose`` ``conference_bridge``,
``calls/bridge.bridge``); that node checks the token the control plane signed and seats the
caller's call in the room (:func:`seat_bridged`), so the conference lists the caller as on
any other node. A full conference refuses before the answer (``486``, ``conference_full``);
a node that cannot be reached, ``480`` ``conference_on_other_node``. ``call.routing.conference``
on the call says what happened (``result`` ``joined``, ``bridged`` or the refusal's code).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

from voicelane.domain.call import CallStatus
from voicelane.domain.conference import Conference
from voicelane.domain.errors import VoicelaneError
from voicelane.domain.models import Call
from voicelane.media_gateway import ConferenceRoute

from voicelane_media.transports.base import Transport

from .call import LiveCall
from .conference import ConferenceHub, JoinRefused
from .legs import DialedLeg
from .ports import ControlPort
from .transfer import run_bridge

log = logging.getLogger(__name__)
ATTEMPTS = 3  # ended (or moved to a node) between finding it and joining it: look again
BRIDGE_PURPOSE = "conference_bridge"
# How a refusal before the answer reads on the wire (the transport's reasons) and the record.
REFUSALS = {"conference_full": ("busy", CallStatus.BUSY)}
REFUSED = ("unavailable", CallStatus.FAILED)  # 480: a node that cannot be reached, or else
# a bridged caller's end, by why its seat left
LEFT = {"kicked": "conference_kicked", "media_node_lost": "media_node_lost"}
# How often a bridged caller's node asks whether its seat is still in the room: the seat's
# node can die without a BYE (its sweeper then marks the seat left, media_node_lost).
SEAT_CHECK_S = 10.0


class ConferenceHost(Protocol):
    """What the conference action needs of the node's calls (``manager.CallManager``)."""

    conferences: ConferenceHub

    @property
    def control(self) -> ControlPort: ...

    async def answer(self, live: LiveCall) -> None: ...

    async def dial_leg(self, parent: LiveCall, to: str, *, purpose: str,
                       from_: str | None = None) -> DialedLeg: ...


def joins_conference(call: Call) -> bool:
    """A routing rule sends this call into a conference by name."""
    return call.routing_rule is not None and call.routing_rule.conference is not None


def _flags(call: Call) -> tuple[bool, bool]:
    """(moderator, muted) as the call's rule says."""
    rule = call.routing_rule
    action = rule.conference if rule is not None else None
    return (action.moderator, action.muted) if action is not None else (False, False)


async def route_to_conference(host: ConferenceHost, live: LiveCall) -> None:
    """Find or create the conference, answer, join here or bridge to its node; or refuse."""
    moderator, muted = _flags(live.call)
    for _ in range(ATTEMPTS):
        try:
            route = await live.control.open_conference(live.call_id)
        except VoicelaneError as exc:
            await _refuse(live, exc.code)
            return
        if not await _answer(host, live):
            return
        conference = route.conference
        if route.bridge_uri is not None:
            await _bridge(host, live, route)
            return
        try:
            await host.conferences.join(live, conference.conference_id, moderator=moderator,
                                        muted=muted)
        except JoinRefused as exc:
            # ended just now (the name is free again), or a caller on another node joined
            # first (the next look bridges there)
            if exc.code in ("conference_ended", "conference_on_other_node"):
                continue
            await _report(live, exc.code, conference.conference_id, route.created)
            await _end(live, exc.code)
            return
        await _report(live, "joined", conference.conference_id, route.created)
        return
    await _report(live, "conference_ended", None, False)
    await _end(live, "conference_ended")


async def _answer(host: ConferenceHost, live: LiveCall) -> bool:
    """The caller answered (once), its call.answered stored first; False if it left."""
    if live.answered_at is None:
        await host.answer(live)
        if live.finished or live.answered_at is None:
            return False
        if live.status_write is not None:
            await asyncio.wait([live.status_write])
    return not live.finished


async def _bridge(host: ConferenceHost, live: LiveCall, route: ConferenceRoute) -> None:
    """The conference lives on another node: a leg there, bridged to the caller."""
    assert route.bridge_uri is not None
    conference = route.conference
    dialed = await host.dial_leg(live, route.bridge_uri, purpose=BRIDGE_PURPOSE)
    leg = dialed.live
    if leg is None:
        ending = dialed.ending
        await _report(live, "bridge_failed", conference.conference_id, route.created,
                      leg_call_id=dialed.call.call_id if dialed.call else None,
                      sip_status=ending.cause if ending else None)
        await _end(live, "conference_bridge_failed")
        return
    await _report(live, "bridged", conference.conference_id, route.created,
                  leg_call_id=leg.call_id, conference_node=conference.media_node)
    watch = asyncio.ensure_future(_watch_seat(live, leg, conference.conference_id))
    try:
        await run_bridge(live, leg, {"conference_id": conference.conference_id},
                         a_follows=False)
    finally:
        watch.cancel()
    if live.ended.is_set():
        return  # the caller left: the seat went with it (the inbound call completes)
    why = await live.control.conference_left_reason(conference.conference_id, live.call_id)
    await _end(live, LEFT.get(why or "", "conference_ended"))


async def _watch_seat(live: LiveCall, leg: LiveCall, conference_id: str) -> None:
    """Hang up the bridge leg once the control plane says the caller's seat left the room
    (its node lost, or the seat ended with no BYE reaching this node)."""
    while not leg.ended.is_set():
        await asyncio.sleep(SEAT_CHECK_S)
        why = await live.control.conference_left_reason(conference_id, live.call_id)
        if why is not None:
            log.info("bridged caller %s: its seat left (%s)", live.call_id, why)
            await leg.hangup(why)
            return


async def seat_bridged(host: ConferenceHost, conference: Conference, call: Call,
                       transport: Transport) -> None:
    """The conference's node: the bridge leg from ``call``'s node joins the room as ``call``
    (its participant record is the caller's), until either side hangs up. The call's record
    belongs to its own node, which writes its status; this side only holds the seat."""
    seat = LiveCall(host.control, call, transport, lambda _: None)
    if await transport.answer() is not None:  # the other node canceled meanwhile
        return
    seat.answered_at = time.monotonic()
    seat.up.set()
    moderator, muted = _flags(call)
    try:
        await host.conferences.join(seat, conference.conference_id, moderator=moderator,
                                    muted=muted)
    except JoinRefused as exc:
        log.info("bridge seat for %s refused: %s", call.call_id, exc.code)
        await seat.hangup(exc.code)
        return
    await seat.ended.wait()


async def _end(live: LiveCall, reason: str) -> None:
    await live.hangup(reason)
    await live.finish(CallStatus.COMPLETED, reason, None)


async def _report(live: LiveCall, result: str, conference_id: str | None, created: bool,
                  **more: object) -> None:
    rule = live.call.routing_rule
    name = rule.conference.conference if rule is not None and rule.conference else None
    details: dict[str, object] = {"conference": name, "result": result, "created": created}
    if conference_id is not None:
        details["conference_id"] = conference_id
    details.update({k: v for k, v in more.items() if v is not None})
    await live.record_event("call.routing.conference", details)


async def _refuse(live: LiveCall, code: str) -> None:
    """Refused before the answer: a SIP final response and the code as the end reason."""
    log.info("call %s refused by its conference rule: %s", live.call_id, code)
    await _report(live, code, None, False)
    reason, status = REFUSALS.get(code, REFUSED)
    cause = await live.transport.reject(reason)
    await live.finish(status, code, cause)
