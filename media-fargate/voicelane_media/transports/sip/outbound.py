"""Outbound SIP calls: dial through the app's trunks in priority order, report ringing,
fail over on 5xx and timeouts, and hand the answered leg back to its call."""

from __future__ import annotations

import asyncio
import logging

from voicelane.domain.call import CallStatus

from voicelane_media import sdp, sdp_codecs, sdp_crypto
from voicelane_media.amd.early_media import EarlyMediaClassifier
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.sip.message import SipResponse
from voicelane_media.transports.base import Ending

from .context import SipContext
from .dialog import peer_for_uri
from .leg import SipLeg
from .routes import Route, routes_for
from .rtp import RtpSession
from .sockets import Peer
from .uac import OutgoingInvite

log = logging.getLogger(__name__)


# Local hang-ups before the answer that cancel the call (its end_reason says who): the API, or
# the call that dialled this leg (another routing target answered, its caller left).
CANCELED_HERE = frozenset({"hangup_by_api", "answered_elsewhere", "parent_ended"})


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


class OutboundSipLeg(SipLeg):
    """The SIP leg of one claimed outbound call, from INVITE to the answer (or its end)."""

    def __init__(self, ctx: SipContext, session: RtpSession) -> None:
        super().__init__(ctx, session)
        self.outgoing: OutgoingInvite | None = None
        self.ringing_reported = False
        self.ring_timed_out = False
        self._offer: sdp.SessionDescription | None = None  # of the INVITE now outstanding
        self._early: EarlyMediaClassifier | None = None  # listening to a 183's media
        self.unreachable = False  # the early media's SIT said so: canceled, failed at once

    async def _abandon(self, reason: str) -> None:
        if self.outgoing is not None:
            self.outgoing.cancel()

    def _on_provisional(self, response: SipResponse) -> None:
        if response.status == 183 and response.body and self._early is None:
            self._listen_early(response)
        if response.status in (180, 183) and not self.ringing_reported:
            self.ringing_reported = True
            self.events.ringing(response.status)
            self.events.spawn(self._ring_timer())

    def _listen_early(self, response: SipResponse) -> None:
        """A 183 with SDP: receive the network's media before the answer (RFC 3960's
        gateway model), only listening, and classify it (`call.early_media`)."""
        if self._offer is None:
            return
        try:
            answer = sdp.SessionDescription.parse(response.body)
            keys = sdp_crypto.accept_secure_answer(self._offer, answer, self.srtp_policy,
                                                   self.crypto)
            negotiated = sdp.accept_answer(self._offer, answer)
        except sdp.SdpError as exc:  # the 200 may still bring a usable answer
            log.info("call %s: early media SDP not usable: %s", self.events.call_id, exc)
            return
        self.apply_media(negotiated, sdp_codecs.event_clock(answer, negotiated), keys=keys)
        self.session.set_direction("recvonly")  # nothing goes toward the callee yet
        self._early = EarlyMediaClassifier(self.session.sample_rate)
        self.session.add_audio_tap(self._early_frame)

    def _early_frame(self, pcm: Int16Array) -> None:
        classifier = self._early
        if classifier is None or self.dialog is not None:
            return
        verdict = classifier.feed(pcm)
        if verdict is None:
            return
        self.session.remove_audio_tap(self._early_frame)
        self.events.early_media_heard(verdict.details())
        if verdict.unreachable and self.outgoing is not None:
            self.unreachable = True  # ends the call now, not at the ring timeout
            self.outgoing.cancel()

    def _stop_early(self) -> None:
        """The early media is over (answer or final failure): report it if undecided."""
        classifier = self._early
        if classifier is None:
            return
        self.session.remove_audio_tap(self._early_frame)
        if classifier.result is None and classifier.elapsed_ms > 0:
            self.events.early_media_heard(classifier.verdict().details())
        classifier.result = classifier.verdict()

    async def _ring_timer(self) -> None:
        await asyncio.sleep(self.ctx.settings.ring_timeout_s)
        if self.outgoing is not None and self.dialog is None:
            self.ring_timed_out = True
            self.outgoing.cancel()

    def _invite(self, route: Route, offer: bytes) -> OutgoingInvite:
        call = self.events.call
        settings = self.ctx.settings
        if call.to.startswith(("sip:", "sips:")):  # a SIP URI leg goes where the URI says
            target = call.to
        else:
            target = f"sip:{call.to}@{route.host}:{route.port}"
            if route.transport in ("TCP", "TLS"):
                target += f";transport={route.transport.lower()}"
        headers = [(k, v) for k, v in (call.sip_headers or {}).items() if k.startswith("X-")]
        headers.append(("X-Voicelane-Call-Id", call.call_id))
        return OutgoingInvite(
            self.ctx.ua, request_uri=target, peer=Peer(route.transport, route.host, route.port),
            from_uri=f"sip:{call.from_}@{settings.advertised_host}", to_uri=target, sdp=offer,
            headers=headers, credentials=route.credentials, on_provisional=self._on_provisional)

    async def dial(self) -> Ending | None:
        call = self.events
        if call.call.to.startswith(("sip:", "sips:")):
            peer = peer_for_uri(call.call.to, "UDP")  # sips: is TLS, with best-effort SRTP
            routes = [Route("sip_uri", peer.host, peer.port, peer.transport,
                            srtp="optional" if call.call.to.startswith("sips:") else "off")]
        else:
            trunks = await self.ctx.control.trunks(call.call.app_id)
            routes = routes_for(list(trunks), self.ctx.settings.fallback_trunk)
        if not routes:
            return Ending(CallStatus.FAILED, "no_trunk")
        last: SipResponse | None = None
        for route in routes:
            if call.hangup_reason is not None:
                break
            self.codec_preference = route.codecs or self.ctx.settings.codec_preference
            self.set_srtp_policy(route.srtp)  # a mandatory trunk gets RTP/SAVP only
            offer = self.local_sdp()  # each trunk gets its own codecs and SRTP policy
            invite = self._invite(route, offer.serialize())
            self.outgoing, self._offer = invite, offer
            try:
                response = await invite.send()
            except OSError as exc:  # TCP connect refused, unreachable host...
                log.warning("call %s: trunk %s unreachable: %s", call.call_id, route.name, exc)
                continue
            last = response
            self._stop_early()
            if 200 <= response.status < 300:
                return await self._answered(invite, offer, response)
            if self.unreachable or not fails_over(response, invite.got_provisional):
                break
            log.info("call %s: trunk %s answered %s, failing over", call.call_id, route.name,
                     response.status)
        self.outgoing = None
        if last is None:
            return Ending(CallStatus.FAILED, "trunk_failure")
        if self.unreachable:
            return Ending(CallStatus.FAILED, "number_unreachable", last.status)
        canceled = call.hangup_reason in CANCELED_HERE
        status, reason = outcome(last.status, canceled_by_api=canceled,
                                 ring_timeout=self.ring_timed_out)
        if call.hangup_reason == "max_duration" or (canceled and status == CallStatus.CANCELED):
            reason = call.hangup_reason or reason
        return Ending(status, reason, last.status)

    async def _answered(self, invite: OutgoingInvite, offer: sdp.SessionDescription,
                        response: SipResponse) -> Ending | None:
        call = self.events
        assert invite.dialog is not None
        dialog = self.dialog = invite.dialog
        dialog.handler = self
        self.outgoing = None
        if call.hangup_reason is not None:  # hung up while the 200 was on its way
            await self.hangup(call.hangup_reason)
            return Ending(CallStatus.CANCELED, call.hangup_reason, 200)
        try:
            answer = sdp.SessionDescription.parse(response.body)
            keys = sdp_crypto.accept_secure_answer(offer, answer, self.srtp_policy, self.crypto)
            self.srtp_savp = keys is not None and self.srtp_policy == "mandatory"
            negotiated = sdp.accept_answer(offer, answer)
            self.apply_media(negotiated, sdp_codecs.event_clock(answer, negotiated), keys=keys)
        except sdp.SdpError as exc:
            log.warning("call %s: unusable SDP answer: %s", call.call_id, exc)
            await dialog.bye("SIP;cause=488")
            return Ending(CallStatus.FAILED, "media_negotiation_failed", 488)
        return None
