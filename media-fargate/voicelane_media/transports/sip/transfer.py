"""Transfer: REFER the peer to the target (RFC 3515); when the peer refuses, dial the target
ourselves through the app's trunks and bridge the two legs' audio on this node."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Protocol

from voicelane.domain.call import CallStatus
from voicelane.domain.errors import Forbidden

from voicelane_media import sdp, sdp_crypto
from voicelane_media.rtp.srtp import SrtpContext
from voicelane_media.sip.message import make_response
from voicelane_media.transports.base import CallEvents

from .context import SipContext
from .dialog import Dialog, peer_for_uri
from .routes import routes_for
from .rtp import RtpSession
from .rtp import bridge as media_bridge
from .sockets import Peer
from .uac import OutgoingInvite

log = logging.getLogger(__name__)
REFER_WAIT_S = 30.0


class Transferring(Protocol):
    """What a transfer needs of the SIP leg it runs on (``leg.SipLeg``, which imports this)."""

    ctx: SipContext
    session: RtpSession
    dialog: Dialog | None
    refer_result: asyncio.Future[int] | None

    @property
    def events(self) -> CallEvents: ...


def refer_target(to: str, host: str, port: int) -> str:
    return to if to.startswith(("sip:", "sips:")) else f"sip:{to}@{host}:{port}"


async def transfer(leg: Transferring, to: str) -> None:
    call = leg.events
    assert leg.dialog is not None
    try:  # the API and the agent's tool checked already; this gate is where dialling starts
        await call.check_destination(to)
    except Forbidden as exc:
        await call.record_event("call.transfer.failed", {"to": to, "reason": exc.code})
        return
    peer = leg.dialog.next_hop()
    target = refer_target(to, peer.host, peer.port)
    leg.refer_result = asyncio.get_running_loop().create_future()
    response = await leg.dialog.request("REFER", [("Refer-To", f"<{target}>"),
                                                   ("Referred-By", leg.dialog.local_uri)])
    if 200 <= response.status < 300:
        try:
            final = await asyncio.wait_for(leg.refer_result, timeout=REFER_WAIT_S)
        except TimeoutError:
            final = 408
        await call.record_event("call.transfer.completed" if final < 300
                                else "call.transfer.failed", {"to": to, "sip_status": final})
        if final < 300:
            await call.hangup("transferred")
        return
    log.info("call %s: REFER refused with %s; bridging", call.call_id, response.status)
    await bridge(leg, to, response.status)


async def bridge(leg: Transferring, to: str, refer_status: int) -> None:
    """Dial ``to`` as a second leg and relay audio both ways until either side hangs up."""
    ctx = leg.ctx
    call = leg.events
    policy = "off"  # the second leg's SRTP: its trunk's; a sips: target's is best effort
    if to.startswith(("sip:", "sips:")):
        peer, target, credentials = peer_for_uri(to, "UDP"), to, None
        policy = "optional" if to.startswith("sips:") else "off"
    else:
        routes = routes_for(list(await ctx.control.trunks(call.call.app_id)),
                            ctx.settings.fallback_trunk)
        if not routes:
            await call.record_event("call.transfer.failed", {
                "to": to, "reason": "no_trunk", "refer_status": refer_status})
            return
        route = routes[0]
        peer = Peer(route.transport, route.host, route.port)
        target, credentials = refer_target(to, route.host, route.port), route.credentials
        policy = route.srtp
    if not await call.wait_for_dial_slot("transfer"):  # this INVITE counts toward the CPS cap
        await call.record_event("call.transfer.failed", {
            "to": to, "reason": "cps_limit_exceeded", "refer_status": refer_status})
        return
    other = await ctx.pool.open_session()
    crypto = sdp_crypto.new_crypto() if policy != "off" else None
    offer = sdp_crypto.secure_offer(sdp.make_offer(ctx.settings.advertised_host, other.local_port),
                                    policy, crypto)
    invite = OutgoingInvite(ctx.ua, request_uri=target, peer=peer,
                            from_uri=f"sip:{call.call.to}@{ctx.settings.advertised_host}",
                            to_uri=target, sdp=offer.serialize(), credentials=credentials)
    response = await invite.send()
    if not 200 <= response.status < 300 or invite.dialog is None:
        await other.close()
        await call.record_event("call.transfer.failed",
                                {"to": to, "sip_status": response.status})
        return
    try:
        answer = sdp.SessionDescription.parse(response.body)
        negotiated = sdp.accept_answer(offer, answer)
        keys = sdp_crypto.accept_secure_answer(offer, answer, policy, crypto)
    except sdp.SdpError:
        await invite.dialog.bye()
        await other.close()
        return
    other.set_remote(negotiated.remote_address or peer.host, negotiated.remote_port,
                     negotiated.codec.payload_type, negotiated.telephone_event)
    if keys is not None:
        other.set_srtp(SrtpContext(keys.suite, keys.local, keys.remote))
    await call.record_event("call.bridged", {"to": to, "refer_status": refer_status})
    leg.session.stop_playback()
    relay = media_bridge(leg.session, other)
    second = invite.dialog
    second_ended = asyncio.Event()

    class _SecondLeg:
        async def on_dialog_request(self, dialog: object, request: object, tx: object) -> None:
            await tx.respond(make_response(request, 200))  # type: ignore[attr-defined, arg-type]
            if getattr(request, "method", "") == "BYE":
                second.ended = True
                second_ended.set()

    second.handler = _SecondLeg()
    ended = asyncio.ensure_future(call.ended.wait())
    other_ended = asyncio.ensure_future(second_ended.wait())
    await asyncio.wait({ended, other_ended}, return_when=asyncio.FIRST_COMPLETED)
    relay.stop()
    for task in (ended, other_ended):
        task.cancel()
    if not second.ended:
        with contextlib.suppress(Exception):
            await second.bye()
    await other.close()
    if not call.ended.is_set():
        await call.hangup("bridged_party_hangup")
        await call.finish(CallStatus.COMPLETED, "bridged_party_hangup", None)

