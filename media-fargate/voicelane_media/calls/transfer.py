"""Transfers and bridges of live calls, on any transport.

- :func:`cold_transfer`: REFER the peer to the target when the transport has REFER and the
  peer takes it; else (refused, or a media stream or browser that has none) dial the target
  as a leg of the call (``CallManager.dial_leg``: allow-list, trunks with failover, pacing,
  a record of its own) and bridge the two.
- :func:`run_bridge`: two live calls hearing each other (``calls/bridge.py``) until either
  ends, then the other is hung up (``bridged_party_hangup``). While bridged, each record's
  ``bridged_call_id`` names the other (``call.bridged`` on both, one write each).

- :func:`dial_while_up`: dial a leg for a call that may hang up while the leg rings: the
  ringing leg is CANCELled the moment the call ends.

Warm transfers (``warm_transfer.py``) and click-to-call (``click_to_call.py``) dial through
:func:`dial_while_up` and end in :func:`run_bridge` too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from voicelane.domain.call import CallStatus
from voicelane.domain.errors import Forbidden

from voicelane_media.transports.base import Ending

from .bridge import bridge
from .call import LiveCall
from .legs import DialedLeg

log = logging.getLogger(__name__)


class LegDialer(Protocol):
    """What a transfer needs of the node's calls (``CallManager``)."""

    async def dial_leg(self, parent: LiveCall, to: str, *, purpose: str,
                       from_: str | None = None, timeout_s: float | None = None,
                       on_live: Callable[[LiveCall], None] | None = None) -> DialedLeg:
        ...

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        """Run ``coro`` beside the calls (it outlives any one of them)."""
        ...


def failure(dialed: DialedLeg) -> dict[str, Any]:
    """Why a dialled leg did not answer, for a ``call.transfer.failed`` event."""
    ending = dialed.ending
    details: dict[str, Any] = {"reason": ending.reason if ending else "not_answered"}
    if ending is not None and ending.cause is not None:
        details["sip_status"] = ending.cause
    if dialed.call is not None:
        details["target_call_id"] = dialed.call.call_id
    return details


PARENT_ENDED = "parent_ended"  # a leg's end_reason when its call left while it rang


async def dial_while_up(dialer: LegDialer, live: LiveCall, to: str, *, purpose: str,
                        from_: str | None = None,
                        timeout_s: float | None = None) -> DialedLeg:
    """``dialer.dial_leg`` for ``live``, given up the moment ``live`` ends (or whoever awaits
    this is cancelled): the leg still ringing is hung up at once (a CANCEL; its record ends
    ``canceled`` / ``parent_ended``; a 200 that crosses the CANCEL gets a BYE) and the answer
    is ``DialedLeg(None, Ending(canceled, parent_ended), leg's call)``.

    The dial runs in a task of its own: the end of ``live`` cancels its call's tasks, and a
    dial cancelled half-way would leave the leg ringing and its record unfinished."""
    legs: list[LiveCall] = []
    over = False

    def started(leg: LiveCall) -> None:
        legs.append(leg)
        if over:  # the INVITE goes out after the caller left (pacing, a slow write)
            leg.spawn(leg.hangup(PARENT_ENDED))

    dial = asyncio.ensure_future(dialer.dial_leg(live, to, purpose=purpose, from_=from_,
                                                 timeout_s=timeout_s, on_live=started))
    gone = asyncio.ensure_future(live.ended.wait())
    try:
        await asyncio.wait({dial, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not dial.done():
            over = True
            for leg in legs:
                leg.spawn(leg.hangup(PARENT_ENDED))
            dialer.spawn(_release(dial))
    if dial.done():
        return dial.result()
    return DialedLeg(None, Ending(CallStatus.CANCELED, PARENT_ENDED),
                     legs[0].call if legs else None)


async def _release(dial: asyncio.Future[DialedLeg]) -> None:
    """The end of a leg given up while it rang (its record ends on its own)."""
    try:
        leg = await dial
    except Exception:
        log.exception("a leg given up while ringing failed")
        return
    if leg.live is not None and not leg.live.finished:  # answered in the same tick
        await leg.live.hangup(PARENT_ENDED)


async def cold_transfer(dialer: LegDialer, live: LiveCall, to: str) -> None:
    """Hand ``live``'s caller to ``to``: REFER, else dial and bridge (events on the call)."""
    try:  # the API and the agent's tool checked already; this gate is where dialling starts
        await live.check_destination(to)
    except Forbidden as exc:
        await live.record_event("call.transfer.failed", {"to": to, "reason": exc.code})
        return
    referral = await live.transport.refer(to)
    if referral is not None and referral.accepted:
        done = referral.status < 300
        await live.record_event("call.transfer.completed" if done else "call.transfer.failed",
                                {"to": to, "sip_status": referral.status})
        if done:
            await live.hangup("transferred")
        return
    refer_status = referral.status if referral is not None else None
    if referral is not None:
        log.info("call %s: REFER refused with %s; dialling and bridging", live.call_id,
                 refer_status)
    dialed = await dial_while_up(dialer, live, to, purpose="transfer")
    if dialed.live is None:
        await live.record_event("call.transfer.failed",
                                {"to": to, "refer_status": refer_status, **failure(dialed)})
        return
    await run_bridge(live, dialed.live, {"to": to, "refer_status": refer_status,
                                         "purpose": "transfer"})


async def run_bridge(a: LiveCall, b: LiveCall, details: dict[str, Any], *,
                     a_follows: bool = True) -> None:
    """Bridge ``a`` and ``b`` until either ends; then hang up the other (``a`` only when
    ``a_follows``: a caller that its own flow ends with a reason of its own; whether ``a``
    left is then its ``ended``)."""
    followers = (a, b) if a_follows else (b,)
    if a.finished or b.finished:  # one side left before the bridge: end the other too
        for side in followers:
            if not side.finished:
                await side.hangup("bridged_party_hangup")
        return
    room = bridge(a.transport, b.transport)
    a.bridged_to, b.bridged_to = b.call_id, a.call_id
    await asyncio.gather(
        a.control.record_bridge(a.call_id, b.call_id, "call.bridged",
                                {**details, "bridged_call_id": b.call_id}),
        b.control.record_bridge(b.call_id, a.call_id, "call.bridged",
                                {**details, "bridged_call_id": a.call_id}))
    ended = [asyncio.ensure_future(side.ended.wait()) for side in (a, b)]
    try:
        await asyncio.wait(ended, return_when=asyncio.FIRST_COMPLETED)
    finally:  # also when the task carrying the bridge is cancelled (its call finished)
        for task in ended:
            task.cancel()
        await room.close()
        for side in followers:  # the one still up follows the one that left
            if not side.ended.is_set():
                with contextlib.suppress(Exception):
                    await side.hangup("bridged_party_hangup")
