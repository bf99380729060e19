"""A browser and a phone in one call, either way round.

- Browser to phone: a webrtc session created with ``to`` is an outbound call from the browser
  (``from_channel`` webrtc, ``to_channel`` pstn, ``caller_id`` the app's number). Once the
  browser is connected, :func:`call_phone` dials the phone as a leg of it
  (``CallManager.dial_leg``, purpose ``browser_to_phone``: the allow-list, pacing and trunks
  of every leg) and bridges the two (``calls/bridge.py``: Opus 48 kHz on one side, G.711 8 kHz
  on the other, resampled once each way by the mixer). Whichever side hangs up ends the other.
- Phone to browser: a number whose ``client`` names a browser identity rings the browsers
  registered for it on this node (:class:`ClientRinger`, ``transports/webrtc/clients.py``);
  :func:`ring_client` answers the caller once a browser connected, and bridges them; nobody
  registered is 480 and ``client_not_registered``; a browser's refusal 486 and
  ``client_rejected``; nobody answering in time 480 and ``not_answered``.

Both record their progress as events of the calls involved, and tell the browser on its
``events`` data channel (``browser_to_phone``) or its registration socket (``phone_to_browser``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Protocol, runtime_checkable

from voicelane.domain.call import CallStatus, Channel
from voicelane.domain.models import Call

from voicelane_media.settings import MediaSettings
from voicelane_media.transports.base import ClientRinger, RingOutcome, Transport

from .bridge import MediaRoom, bridge
from .call import LiveCall
from .legs import DialedLeg

log = logging.getLogger(__name__)
PURPOSE = "browser_to_phone"


class CallManager(Protocol):
    """What browser calls need of the node's calls (``calls.manager.CallManager``; a
    Protocol so that module and this one do not import each other)."""

    settings: MediaSettings
    clients: ClientRinger | None
    calls: dict[str, LiveCall]

    async def dial_leg(self, parent: LiveCall, to: str, *, purpose: str,
                       from_: str | None = None,
                       on_live: Callable[[LiveCall], None] | None = None) -> DialedLeg: ...

    async def answer(self, live: LiveCall) -> None: ...

    def spawn(self, coro: Coroutine[Any, Any, None]) -> None: ...


@runtime_checkable
class Notifies(Protocol):
    """A transport that can tell its browser about the call (the WebRTC one)."""

    def notify(self, message: dict[str, Any]) -> None: ...


def calls_a_phone(call: Call) -> bool:
    """A browser's call to a phone number (a webrtc session with ``to``)."""
    return call.from_channel == Channel.WEBRTC and call.to_channel == Channel.PSTN


def _notify(transport: Transport, message: dict[str, Any]) -> None:
    if isinstance(transport, Notifies):
        transport.notify(message)


async def call_phone(manager: CallManager, browser: LiveCall) -> None:
    """Dial the browser's ``to`` and bridge it to the browser until either hangs up."""
    call = browser.call
    _notify(browser.transport, {"type": "dialing", "to": call.to})
    dialing = asyncio.ensure_future(manager.dial_leg(browser, call.to, purpose=PURPOSE,
                                                     from_=call.caller_id))
    gone = asyncio.ensure_future(browser.ended.wait())
    await asyncio.wait({dialing, gone}, return_when=asyncio.FIRST_COMPLETED)
    if not dialing.done():  # the browser hung up while the phone rang: cancel the leg
        for leg in _legs_of(manager, browser):
            await leg.hangup("parent_hung_up")
    dialed = await dialing
    gone.cancel()
    if dialed.live is None:
        if browser.ended.is_set():  # the browser left first: its call ends as its hangup
            return
        reason = dialed.ending.reason if dialed.ending else "failed"
        cause = dialed.ending.cause if dialed.ending else None
        details = {"to": call.to, "leg_call_id": dialed.call.call_id if dialed.call else None,
                   "reason": reason, "sip_cause": cause}
        await browser.record_event("call.bridge.failed", details)
        _notify(browser.transport, {"type": "failed", **details})
        await browser.hangup(f"phone_{reason}")
        return
    leg = dialed.live
    if browser.ended.is_set():  # answered just as the browser left
        await leg.hangup("parent_hung_up")
        return
    await join(browser, leg, browser_first=True)


def _legs_of(manager: CallManager, parent: LiveCall) -> list[LiveCall]:
    return [live for live in manager.calls.values()
            if live.call.parent_call_id == parent.call_id and live.call.leg_purpose == PURPOSE]


async def join(a: LiveCall, b: LiveCall, *, browser_first: bool) -> None:
    """Bridge two live calls until either ends, then hang the other up (``bridge_ended``)."""
    room = bridge(a.transport, b.transport)
    browser, phone = (a, b) if browser_first else (b, a)
    # each record names the other while bridged (cleared when it ends), with its event
    a.bridged_to, b.bridged_to = b.call_id, a.call_id
    await a.control.record_bridge(a.call_id, b.call_id, "call.bridged",
                                  {"bridged_call_id": b.call_id})
    await b.control.record_bridge(b.call_id, a.call_id, "call.bridged",
                                  {"bridged_call_id": a.call_id})
    _notify(browser.transport, {"type": "answered", "call_id": browser.call_id,
                                "bridged_call_id": phone.call_id})
    try:
        await _until_either_ends(a, b)
    finally:
        await room.close()
    first, other = (a, b) if a.ended.is_set() else (b, a)
    _notify(browser.transport, {"type": "ended", "by": "browser" if first is browser else "phone",
                                "reason": first.hangup_reason})
    if not other.ended.is_set():
        await other.hangup("bridge_ended")


async def _until_either_ends(a: LiveCall, b: LiveCall) -> None:
    waits = [asyncio.ensure_future(a.ended.wait()), asyncio.ensure_future(b.ended.wait())]
    try:
        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()


# -- phone to browser ----------------------------------------------------------------------


async def ring_client(manager: CallManager, live: LiveCall, identity: str) -> None:
    """An inbound call to a number routed to ``identity``: ring, then answer and bridge the
    caller to the browser, or refuse the caller with why (returns once answered or ended)."""
    ringer = manager.clients
    if ringer is None:
        outcome = RingOutcome("unregistered")
    else:
        await live.record_event("call.client.ringing", {"client": identity})
        outcome = await ringer.ring(live.call, identity, manager.settings.inbound_answer_timeout_s,
                                    live.transport.canceled)
    if outcome.result != "answered" or outcome.transport is None or outcome.gone is None:
        await _refuse(live, identity, outcome)
        if ringer is not None:
            ringer.ended(live.call_id, live.hangup_reason)
        return
    browser, gone = outcome.transport, outcome.gone
    await manager.answer(live)
    if live.answered_at is None or live.finished:
        await browser.close()
        if ringer is not None:
            ringer.ended(live.call_id, live.hangup_reason)
        return
    manager.spawn(_bridge_to_browser(live, browser, gone, ringer, identity))


async def _refuse(live: LiveCall, identity: str, outcome: RingOutcome) -> None:
    if outcome.result == "canceled":
        await live.finish(CallStatus.CANCELED, "hangup_by_caller", 487)
        return
    if outcome.result == "unregistered":
        await live.record_event("call.client.unavailable", {"client": identity})
        cause = await live.transport.reject("unavailable")  # 480: nobody to ring
        await live.finish(CallStatus.FAILED, "client_not_registered", cause)
    elif outcome.result == "rejected":
        cause = await live.transport.reject("busy")
        await live.finish(CallStatus.BUSY, "client_rejected", cause)
    else:
        cause = await live.transport.reject("not_answered")
        await live.finish(CallStatus.NO_ANSWER, "not_answered", cause)


async def _bridge_to_browser(live: LiveCall, browser: Transport, gone: asyncio.Event,
                             ringer: ClientRinger | None, identity: str) -> None:
    # The caller talks from its 200 OK on: bridge first, then store the events (a DynamoDB
    # write each, seconds on a loaded node, which the caller's audio must not wait for).
    room: MediaRoom = bridge(live.transport, browser)
    ended = asyncio.ensure_future(live.ended.wait())
    left = asyncio.ensure_future(gone.wait())
    try:
        await live.record_event("call.client.answered", {"client": identity})
        await live.record_event("call.bridged", {"client": identity})
        await asyncio.wait({ended, left}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        ended.cancel()
        left.cancel()
        await room.close()
    if gone.is_set() and not live.ended.is_set():
        await live.hangup("hangup_by_client")
    await browser.close()
    if ringer is not None:
        ringer.ended(live.call_id, live.hangup_reason)
