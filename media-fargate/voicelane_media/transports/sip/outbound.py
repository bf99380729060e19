"""Outbound calls: dial through the app's trunks in priority order, report progress, run."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

from voicelane.domain.call import CallStatus
from voicelane.domain.models import Call

from voicelane_media import sdp
from voicelane_media.calls.call import CallLeg
from voicelane_media.sip.message import SipResponse

from .sockets import Peer
from .uac import Credentials, OutgoingInvite

if TYPE_CHECKING:
    from voicelane_media.calls.manager import CallManager

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Route:
    """One way out: a trunk (or the node's fallback peer in development)."""

    name: str
    host: str
    port: int
    transport: str  # UDP | TCP
    credentials: Credentials | None = None


def parse_fallback(value: str) -> Route | None:
    """``host:port[;transport=tcp]`` from settings, for apps without trunks (development)."""
    if not value:
        return None
    hostport, _, params = value.partition(";")
    host, _, port = hostport.rpartition(":")
    transport = "TCP" if "transport=tcp" in params.lower() else "UDP"
    return Route("fallback", host or hostport, int(port) if port.isdigit() else 5060, transport)


def outcome(status: int, *, canceled_by_api: bool, ring_timeout: bool) -> tuple[CallStatus, str]:
    """Final status and end_reason of a non-2xx final answer to our INVITE."""
    if status == 487 and canceled_by_api:
        return CallStatus.CANCELED, "hangup_by_api"
    if status in (486, 600):
        return CallStatus.BUSY, "busy"
    if status in (408, 480, 487) or ring_timeout:
        return CallStatus.NO_ANSWER, "no_answer"
    if status >= 500:
        return CallStatus.FAILED, "trunk_failure"
    return CallStatus.FAILED, "call_rejected"


def fails_over(response: SipResponse, got_provisional: bool) -> bool:
    """Try the next trunk on timeout (no answer at all), 503 or any 5xx."""
    if response.status >= 500 and response.status < 600:
        return True
    return response.status == 408 and not got_provisional


class OutboundDialer:
    """Runs one claimed outbound call from INVITE to the final status."""

    def __init__(self, manager: CallManager, leg: CallLeg, routes: list[Route]) -> None:
        self.manager = manager
        self.leg = leg
        self.routes = routes
        self.ringing_reported = False
        self.ring_timed_out = False

    def _on_provisional(self, response: SipResponse) -> None:
        if response.status in (180, 183) and not self.ringing_reported:
            self.ringing_reported = True
            self.leg.status = CallStatus.RINGING
            # Kept so `answered` can wait for it: the 200 often follows the 180 at once.
            self.leg.status_write = asyncio.ensure_future(self.manager.control.transition(
                self.leg.call_id, CallStatus.RINGING, {}, {"sip_status": response.status}))
            self.leg.spawn(self._ring_timer())

    async def _ring_timer(self) -> None:
        await asyncio.sleep(self.manager.settings.ring_timeout_s)
        if self.leg.outgoing is not None and self.leg.dialog is None:
            self.ring_timed_out = True
            self.leg.outgoing.cancel()

    def _invite(self, route: Route, offer: bytes) -> OutgoingInvite:
        call = self.leg.call
        settings = self.manager.settings
        target = f"sip:{call.to}@{route.host}:{route.port}"
        if route.transport == "TCP":
            target += ";transport=tcp"
        headers = [(k, v) for k, v in (call.sip_headers or {}).items() if k.startswith("X-")]
        headers.append(("X-Voicelane-Call-Id", call.call_id))
        return OutgoingInvite(
            self.manager.ua, request_uri=target, peer=Peer(route.transport, route.host, route.port),
            from_uri=f"sip:{call.from_}@{settings.advertised_host}", to_uri=target, sdp=offer,
            headers=headers, credentials=route.credentials, on_provisional=self._on_provisional)

    async def run(self) -> None:
        leg = self.leg
        if not self.routes:
            await leg.finish(CallStatus.FAILED, "no_trunk", None)
            return
        offer = leg.local_sdp()
        last: SipResponse | None = None
        for route in self.routes:
            if leg.hangup_reason is not None:
                break
            invite = self._invite(route, offer.serialize())
            leg.outgoing = invite
            try:
                response = await invite.send()
            except OSError as exc:  # TCP connect refused, unreachable host...
                log.warning("call %s: trunk %s unreachable: %s", leg.call_id, route.name, exc)
                continue
            last = response
            if 200 <= response.status < 300:
                await self._answered(invite, offer, response)
                return
            if not fails_over(response, invite.got_provisional):
                break
            log.info("call %s: trunk %s answered %s, failing over", leg.call_id, route.name,
                     response.status)
        leg.outgoing = None
        if last is None:
            await leg.finish(CallStatus.FAILED, "trunk_failure", None)
            return
        status, reason = outcome(last.status, canceled_by_api=leg.hangup_reason == "hangup_by_api",
                                 ring_timeout=self.ring_timed_out)
        if leg.hangup_reason == "max_duration":
            reason = "max_duration"
        await leg.finish(status, reason, last.status)

    async def _answered(self, invite: OutgoingInvite, offer: sdp.SessionDescription,
                        response: SipResponse) -> None:
        leg = self.leg
        assert invite.dialog is not None
        leg.dialog = invite.dialog
        leg.dialog.handler = leg
        leg.outgoing = None
        if leg.hangup_reason is not None:  # hung up while the 200 was on its way
            await leg.hangup(leg.hangup_reason)
            await leg.finish(CallStatus.CANCELED if leg.status != CallStatus.IN_PROGRESS
                             else CallStatus.COMPLETED, leg.hangup_reason, 200)
            return
        try:
            leg.apply_media(sdp.accept_answer(offer, sdp.SessionDescription.parse(response.body)))
        except sdp.SdpError as exc:
            log.warning("call %s: unusable SDP answer: %s", leg.call_id, exc)
            await leg.dialog.bye("SIP;cause=488")
            await leg.finish(CallStatus.FAILED, "media_negotiation_failed", 488)
            return
        await self.manager.answered(leg)


def routes_for(manager: CallManager, trunks: list[object]) -> list[Route]:
    routes = [Route(getattr(t, "name", "trunk"), t.host, t.port,  # type: ignore[attr-defined]
                    t.transport.upper(),  # type: ignore[attr-defined]
                    Credentials(t.username, t.password or "")  # type: ignore[attr-defined]
                    if getattr(t, "username", None) else None)
              for t in trunks]
    if not routes:
        fallback = parse_fallback(manager.settings.fallback_trunk)
        if fallback is not None:
            routes.append(fallback)
    return routes


async def place_outbound(manager: CallManager, call: Call) -> None:
    """Dial a claimed call and keep it until it ends."""
    session = await manager.pool.open_session()
    leg = CallLeg(manager, call, session)
    manager.adopt(leg)
    trunks = await manager.control.trunks(call.app_id)
    dialer = OutboundDialer(manager, leg, routes_for(manager, list(trunks)))
    manager.spawn_max_duration(leg)
    await dialer.run()
    if leg.dialog is not None and not leg.finished:
        await leg.ended.wait()
        await manager.completed(leg)
