"""Inbound calls: an INVITE to an app's number becomes an inbound call record; an agent
answers it at once (greeting until the agent loop lands), otherwise the app answers or
rejects it with commands, and it is refused with 480 after the answer timeout."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING

from voicelane.domain.call import CallStatus
from voicelane.domain.errors import LimitExceeded

from voicelane_media import sdp
from voicelane_media.calls.call import CallLeg

from .inbound_acl import source_allowed
from .ua import IncomingInvite

if TYPE_CHECKING:
    from voicelane_media.calls.manager import CallManager

log = logging.getLogger(__name__)


async def _resolve(host: str) -> list[str]:
    """A trunk host's addresses (none if it does not resolve within 2 s)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, None), 2.0)
    except (OSError, TimeoutError):
        return []
    return [str(info[4][0]) for info in infos]


def caller_of(incoming: IncomingInvite) -> str:
    uri = incoming.request.from_addr.sip_uri
    return uri.user or uri.host


def x_headers(incoming: IncomingInvite) -> dict[str, str]:
    return {name: value for name, value in incoming.request.headers
            if name.lower().startswith("x-")}


async def handle_inbound(manager: CallManager, incoming: IncomingInvite) -> None:
    number = await manager.control.number(incoming.number)
    if number is None:
        await incoming.reject(404, "Not Found (no such number)")
        return
    trunks = await manager.control.trunks(number.app_id)
    if not await source_allowed(incoming.peer.host, manager.settings.trusted_networks, trunks,
                                _resolve):
        log.warning("refused an INVITE to %s from %s: not a trunk of its app", incoming.number,
                    incoming.peer.host)
        await incoming.reject(403, "Forbidden (not from a trunk of this number's app)")
        return
    try:
        offer = sdp.SessionDescription.parse(incoming.request.body)
    except sdp.SdpError as exc:
        await incoming.reject(488, f"Not Acceptable Here ({exc})")
        return
    try:
        call = await manager.control.create_inbound(number, caller_of(incoming),
                                                    x_headers(incoming))
    except LimitExceeded:
        await incoming.reject(486, "Busy Here (app at its concurrent-call cap)")
        return
    session = await manager.pool.open_session()
    leg = CallLeg(manager, call, session)
    leg.incoming = incoming
    leg.offer = offer
    manager.adopt(leg)
    try:
        await incoming.ring()
        if call.agent_id:
            await answer(leg)
        else:
            await _wait_for_app(manager, leg)
        if leg.dialog is not None and not leg.finished:
            manager.spawn_max_duration(leg)
            await leg.ended.wait()
            await manager.completed(leg)
    except Exception:
        log.exception("inbound call %s crashed", call.call_id)
        await leg.hangup("media_node_error")
        await leg.finish(CallStatus.COMPLETED if leg.answered_at else CallStatus.FAILED,
                         "media_node_error", None)


async def _wait_for_app(manager: CallManager, leg: CallLeg) -> None:
    """Wait for ``answer``/``reject`` (commands) or the caller's CANCEL, else 480."""
    assert leg.incoming is not None
    canceled = asyncio.ensure_future(leg.incoming.canceled.wait())
    decided = asyncio.ensure_future(leg.ended.wait())
    answered = asyncio.ensure_future(_dialog_ready(leg))
    done, pending = await asyncio.wait({canceled, decided, answered},
                                       timeout=manager.settings.inbound_answer_timeout_s,
                                       return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    if leg.dialog is not None or leg.finished:
        return
    if canceled in done:
        await leg.finish(CallStatus.CANCELED, "hangup_by_caller", 487)
    elif not done:
        await leg.incoming.reject(480, "Temporarily Unavailable (not answered)")
        await leg.finish(CallStatus.NO_ANSWER, "not_answered", 480)


async def _dialog_ready(leg: CallLeg) -> None:
    while leg.dialog is None:
        await asyncio.sleep(0.05)


async def answer(leg: CallLeg) -> None:
    """Send 200 with our SDP answer and report the call answered."""
    incoming = leg.incoming
    assert incoming is not None and leg.offer is not None
    manager = leg.manager
    try:
        answer_sdp, negotiated = sdp.answer(leg.offer, sdp.DEFAULT_CODECS,
                                            manager.settings.advertised_host,
                                            leg.session.local_port)
    except sdp.SdpError as exc:
        await incoming.reject(488, f"Not Acceptable Here ({exc})")
        await leg.finish(CallStatus.FAILED, "media_negotiation_failed", 488)
        return
    if incoming.canceled.is_set():
        return
    dialog = await incoming.answer(answer_sdp.serialize())
    dialog.handler = leg
    leg.dialog = dialog
    leg.apply_media(negotiated)
    leg.answered_at = time.monotonic()
    await manager.answered(leg)


async def reject(leg: CallLeg, reason: str) -> None:
    """The app refuses the call: busy -> 486 (busy), unavailable -> 480, else 603."""
    assert leg.incoming is not None
    if reason == "busy":
        await leg.incoming.reject(486)
        await leg.finish(CallStatus.BUSY, "rejected_busy", 486)
    elif reason == "unavailable":
        await leg.incoming.reject(480)
        await leg.finish(CallStatus.FAILED, "rejected_unavailable", 480)
    else:
        await leg.incoming.reject(603)
        await leg.finish(CallStatus.FAILED, "rejected", 603)
