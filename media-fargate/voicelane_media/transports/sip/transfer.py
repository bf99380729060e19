"""Transfer: REFER the peer to the target (RFC 3515); when the peer refuses, dial the target
ourselves through the app's trunks and bridge the two legs' audio on this node."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from voicelane.domain.call import CallStatus

from voicelane_media import sdp
from voicelane_media.calls.call import CallLeg
from voicelane_media.transports.sip.rtp import bridge as media_bridge

from .dialog import peer_for_uri
from .outbound import routes_for
from .sockets import Peer
from .uac import OutgoingInvite

log = logging.getLogger(__name__)
REFER_WAIT_S = 30.0


def refer_target(to: str, host: str, port: int) -> str:
    return to if to.startswith(("sip:", "sips:")) else f"sip:{to}@{host}:{port}"


async def transfer(leg: CallLeg, to: str) -> None:
    control = leg.manager.control
    assert leg.dialog is not None
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
        await control.record_event(leg.call_id, "call.transfer.completed" if final < 300
                                   else "call.transfer.failed", {"to": to, "sip_status": final})
        if final < 300:
            await leg.hangup("transferred")
        return
    log.info("call %s: REFER refused with %s; bridging", leg.call_id, response.status)
    await bridge(leg, to, response.status)


async def bridge(leg: CallLeg, to: str, refer_status: int) -> None:
    """Dial ``to`` as a second leg and relay audio both ways until either side hangs up."""
    manager = leg.manager
    control = manager.control
    if to.startswith(("sip:", "sips:")):
        peer, target, credentials = peer_for_uri(to, "UDP"), to, None
    else:
        routes = routes_for(manager, list(await control.trunks(leg.call.app_id)))
        if not routes:
            await control.record_event(leg.call_id, "call.transfer.failed", {
                "to": to, "reason": "no_trunk", "refer_status": refer_status})
            return
        route = routes[0]
        peer = Peer(route.transport, route.host, route.port)
        target, credentials = refer_target(to, route.host, route.port), route.credentials
    other = await manager.pool.open_session()
    offer = sdp.make_offer(manager.settings.advertised_host, other.local_port)
    invite = OutgoingInvite(manager.ua, request_uri=target, peer=peer,
                            from_uri=f"sip:{leg.call.to}@{manager.settings.advertised_host}",
                            to_uri=target, sdp=offer.serialize(), credentials=credentials)
    response = await invite.send()
    if not 200 <= response.status < 300 or invite.dialog is None:
        await other.close()
        await control.record_event(leg.call_id, "call.transfer.failed",
                                   {"to": to, "sip_status": response.status})
        return
    try:
        negotiated = sdp.accept_answer(offer, sdp.SessionDescription.parse(response.body))
    except sdp.SdpError:
        await invite.dialog.bye()
        await other.close()
        return
    other.set_remote(negotiated.remote_address or peer.host, negotiated.remote_port,
                     negotiated.codec.payload_type, negotiated.telephone_event)
    await control.record_event(leg.call_id, "call.bridged", {"to": to, "refer_status": refer_status})
    leg.session.stop_playback()
    relay = media_bridge(leg.session, other)
    second = invite.dialog
    second_ended = asyncio.Event()

    class _SecondLeg:
        async def on_dialog_request(self, dialog: object, request: object, tx: object) -> None:
            from voicelane_media.sip.message import make_response

            await tx.respond(make_response(request, 200))  # type: ignore[attr-defined, arg-type]
            if getattr(request, "method", "") == "BYE":
                second.ended = True
                second_ended.set()

    second.handler = _SecondLeg()
    ended = asyncio.ensure_future(leg.ended.wait())
    other_ended = asyncio.ensure_future(second_ended.wait())
    await asyncio.wait({ended, other_ended}, return_when=asyncio.FIRST_COMPLETED)
    relay.stop()
    for task in (ended, other_ended):
        task.cancel()
    if not second.ended:
        with contextlib.suppress(Exception):
            await second.bye()
    await other.close()
    if not leg.ended.is_set():
        await leg.hangup("bridged_party_hangup")
        await leg.finish(CallStatus.COMPLETED, "bridged_party_hangup", None)

