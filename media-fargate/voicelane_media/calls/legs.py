"""Legs a live call dials for itself: a transfer's target, a conference participant, the
second party of click-to-call, a forwarded inbound call, a browser's call to a phone.

A leg is a call of its own: a record linked to its parent by ``parent_call_id`` (with its
``leg_purpose``), its own events and webhooks, and a concurrent-call slot of the app. The node
that hosts the parent dials it, so both legs' media meet on one node (``calls/bridge.py`` mixes
them), and it passes the same checks as every call Voicelane places: the app's destination
allow-list, the app's calls-per-second cap (a leg waits for its slot, never skips it; a cap
full for longer than ``call.LEG_PACING_MAX_WAIT_S`` fails it ``cps_limit_exceeded``), the
trunks in priority order with failover. Once dialled, a leg runs to its own end like any call:
whoever bridged it only decides what it hears.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from voicelane.domain.call import CallStatus
from voicelane.domain.errors import Forbidden, LimitExceeded, NotFound
from voicelane.domain.models import Call

from voicelane_media.transports.base import Ending, Transport

from .call import LiveCall
from .ports import ControlPort

log = logging.getLogger(__name__)


class LegRoom(Protocol):
    async def open_outbound(self, call: Call) -> Transport: ...


class LegHost(Protocol):
    """What dialling a leg needs of the node's calls (``calls.manager.CallManager``)."""

    @property
    def control(self) -> ControlPort: ...

    @property
    def room(self) -> LegRoom: ...

    def adopt(self, call: Call, transport: Transport) -> LiveCall: ...

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...

    def spawn_max_duration(self, live: LiveCall) -> None: ...

    async def answered(self, live: LiveCall) -> None: ...

    async def completed(self, live: LiveCall) -> None: ...


@dataclass(frozen=True)
class DialedLeg:
    """What dialling a leg gave: the answered leg, or how it ended (``call`` is None when no
    record was created: refused by the allow-list or the app's concurrent-call cap)."""

    live: LiveCall | None
    ending: Ending | None
    call: Call | None

    @property
    def answered(self) -> bool:
        return self.live is not None


async def dial_leg(manager: LegHost, parent: LiveCall, to: str, *, purpose: str,
                   from_: str | None = None, timeout_s: float | None = None,
                   on_live: Callable[[LiveCall], None] | None = None) -> DialedLeg:
    """Dial ``to`` (E.164 or a SIP URI) for ``parent``, showing ``from_`` (default: the
    parent's own number) as caller ID; returns once the leg is answered or has ended (given
    up with ``no_answer`` after ``timeout_s``, when given, of ringing). ``on_live`` gets the
    leg's live call as its INVITE goes out (to hang up a leg that is still ringing: a
    CANCEL)."""
    caller_id = from_ or own_number(parent.call)
    try:
        await parent.check_destination(to)
    except Forbidden:
        log.warning("call %s: leg to %s refused by the allow-list", parent.call_id, to)
        return DialedLeg(None, Ending(CallStatus.FAILED, "destination_not_allowed"), None)
    try:
        call = await manager.control.create_leg(parent.call, to, caller_id, purpose)
    except LimitExceeded:
        return DialedLeg(None, Ending(CallStatus.FAILED, "concurrency_limit_exceeded"), None)
    except NotFound:
        return DialedLeg(None, Ending(CallStatus.FAILED, "call_not_found"), None)
    # The one pacing gate of every leg (its INVITE counts toward the app's cap): the slot is
    # held under the leg's own id; a cap full beyond what a caller can wait dials nothing.
    if not await parent.wait_for_dial_slot(call.call_id):
        await manager.control.transition(call.call_id, CallStatus.FAILED,
                                         {"end_reason": "cps_limit_exceeded"},
                                         {"end_reason": "cps_limit_exceeded"})
        return DialedLeg(None, Ending(CallStatus.FAILED, "cps_limit_exceeded"), call)
    try:
        transport = await manager.room.open_outbound(call)
    except Exception:  # no free media port...: the leg's record must still end
        log.exception("no transport for leg %s", call.call_id)
        await manager.control.transition(call.call_id, CallStatus.FAILED,
                                         {"end_reason": "media_node_error"},
                                         {"end_reason": "media_node_error"})
        return DialedLeg(None, Ending(CallStatus.FAILED, "media_node_error"), call)
    live = manager.adopt(call, transport)
    manager.spawn_max_duration(live)
    if timeout_s is not None:
        live.spawn(_give_up_after(live, timeout_s))
    if on_live is not None:
        on_live(live)
    ending = await transport.dial()
    if ending is not None:
        await live.finish(ending.status, ending.reason, ending.cause)
        return DialedLeg(None, ending, call)
    await manager.answered(live)
    manager.spawn(run_to_end(manager, live))
    return DialedLeg(live, None, call)


async def _give_up_after(live: LiveCall, timeout_s: float) -> None:
    await asyncio.sleep(timeout_s)
    if not live.transport.connected and not live.finished:
        await live.hangup("no_answer")  # a CANCEL: the set-up ends with no_answer


async def run_to_end(manager: LegHost, live: LiveCall) -> None:
    """An answered leg, until it ends (then its record is completed)."""
    if not live.finished:
        await live.ended.wait()
        await manager.completed(live)


def own_number(call: Call) -> str:
    """The app's side of ``call``: the number it was dialled on, or the one it calls from."""
    return call.to if call.direction == "inbound" else call.from_
