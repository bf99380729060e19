"""Inbound SIP calls: an INVITE to an app's number, from one of its trunks, is offered to the
node's calls (``CallHost.inbound``), which ring it and answer it at once for an agent or on the
app's command; the caller's CANCEL, the app's reject or the answer timeout end it unanswered.

SRTP: the call takes the policy of the trunks its source address belongs to (the strictest;
``inbound_acl.inbound_srtp_policy``); a mandatory trunk's plain offer gets 488 before any
call record, and a TLS trunk's INVITE over UDP/TCP gets 403."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace

from voicelane.domain.call import CallStatus
from voicelane.domain.conference_bridge import is_bridge_user
from voicelane.domain.errors import Conflict, LimitExceeded, NotFound, Unauthenticated
from voicelane.domain.phone import is_e164

from voicelane_media import sdp, sdp_codecs
from voicelane_media.sip.message import SipRequest
from voicelane_media.transports.base import CallHost, EarlyMediaRefused, Ending

from .context import SipContext
from .inbound_acl import inbound_srtp_policy, source_allowed, trunks_of_source
from .leg import SipLeg
from .rtp import PortsExhausted, RtpSession
from .ua import IncomingInvite

log = logging.getLogger(__name__)
REJECTIONS = {"busy": (486, None), "unavailable": (480, None),
              "not_answered": (480, "Temporarily Unavailable (not answered)")}


async def _resolve(host: str) -> list[str]:
    """A trunk host's addresses (none if it does not resolve within 2 s)."""
    loop = asyncio.get_running_loop()
    try:
        infos = await asyncio.wait_for(loop.getaddrinfo(host, None), 2.0)
    except (OSError, TimeoutError):
        return []
    return [str(info[4][0]) for info in infos]


def caller_of(request: SipRequest) -> str:
    """The call's `from`: the From user when it is an E.164 number, else the From URI
    without its parameters (``sip:tester@127.0.0.1``), so a SIP caller stays reachable."""
    uri = request.from_addr.sip_uri
    if uri.user is not None and is_e164(uri.user):
        return uri.user
    return str(replace(uri, password=None, params=[], headers=[]))


def x_headers(incoming: IncomingInvite) -> dict[str, str]:
    return {name: value for name, value in incoming.request.headers
            if name.lower().startswith("x-")}


async def offer_inbound(ctx: SipContext, host: CallHost, incoming: IncomingInvite) -> None:
    """Check an INVITE (number, source, SDP) and offer it to the node's calls."""
    if is_bridge_user(incoming.number):  # another node bridging a caller into a conference
        await offer_bridge(ctx, host, incoming)
        return
    number = await ctx.control.number(incoming.number)
    if number is None:
        await incoming.reject(404, "Not Found (no such number)")
        return
    trunks = await ctx.control.trunks(number.app_id)
    if not await source_allowed(incoming.peer.host, ctx.settings.trusted_networks, trunks,
                                _resolve):
        log.warning("refused an INVITE to %s from %s: not a trunk of its app", incoming.number,
                    incoming.peer.host)
        await incoming.reject(403, "Forbidden (not from a trunk of this number's app)")
        return
    matched = await trunks_of_source(incoming.peer.host, trunks, _resolve)
    if any(t.transport == "tls" for t in matched) and incoming.peer.transport != "TLS":
        # SDES keys travel in the SDP: a TLS trunk's INVITE in clear may already be overheard
        log.warning("refused an INVITE to %s from %s over %s: its trunk is TLS",
                    incoming.number, incoming.peer.host, incoming.peer.transport)
        await incoming.reject(403, "Forbidden (this trunk uses TLS)")
        return
    try:
        offer = sdp.SessionDescription.parse(incoming.request.body)
    except sdp.SdpError as exc:
        await incoming.reject(488, f"Not Acceptable Here ({exc})")
        return
    try:
        session = await ctx.pool.open_session()
    except PortsExhausted:
        await incoming.reject(503, "Service Unavailable (no free media ports)")
        return
    trunk = matched[0] if matched else None  # the first: whose codecs the call follows
    preference = tuple(trunk.codecs) if trunk is not None and trunk.codecs else None
    try:  # a common codec, before any ringing or call record (RFC 3261 13.3.1.3)
        leg = InboundSipLeg(ctx, session, incoming, offer, preference,
                            inbound_srtp_policy(matched))
    except sdp.SdpError as exc:
        await session.close()
        await incoming.reject(488, f"Not Acceptable Here ({exc})")
        return
    try:
        await host.inbound(number, caller_of(incoming.request), x_headers(incoming), leg)
    except LimitExceeded:
        await incoming.reject(486, "Busy Here (app at its concurrent-call cap)")
        await leg.close()
    except NotFound:  # the app went away between the number lookup and the call record
        await incoming.reject(404, "Not Found (no such app)")
        await leg.close()
    except Exception:
        if not leg.bound:  # no call took it over: its ports are still ours to free
            await leg.close()
        raise


async def offer_bridge(ctx: SipContext, host: CallHost, incoming: IncomingInvite) -> None:
    """A node-to-node leg seating a caller in a conference of this node: only with a token
    the control plane signed for that conference and caller (403 otherwise; ``404`` for a
    conference gone, ``480``/``486`` for one that ended or is full)."""
    try:
        conference, call = await ctx.control.seat_bridge(incoming.number)
    except Unauthenticated:
        log.warning("refused a conference bridge INVITE from %s: bad token", incoming.peer.host)
        await incoming.reject(403, "Forbidden (not a valid conference bridge)")
        return
    except NotFound:
        await incoming.reject(404, "Not Found (no such conference)")
        return
    except Conflict as exc:
        await incoming.reject(486 if exc.code == "conference_full" else 480, exc.code)
        return
    try:
        offer = sdp.SessionDescription.parse(incoming.request.body)
        session = await ctx.pool.open_session()
    except sdp.SdpError as exc:
        await incoming.reject(488, f"Not Acceptable Here ({exc})")
        return
    except PortsExhausted:
        await incoming.reject(503, "Service Unavailable (no free media ports)")
        return
    try:
        leg = InboundSipLeg(ctx, session, incoming, offer)
    except sdp.SdpError as exc:
        await session.close()
        await incoming.reject(488, f"Not Acceptable Here ({exc})")
        return
    try:
        await host.seat_bridged(conference, call, leg)
    finally:
        await leg.close()


class InboundSipLeg(SipLeg):
    """The SIP leg of an inbound call: the INVITE's transaction until it is answered.
    Raises :class:`sdp.SdpError` when ``offer`` has nothing we can answer (no common codec)."""

    def __init__(self, ctx: SipContext, session: RtpSession, incoming: IncomingInvite,
                 offer: sdp.SessionDescription, codecs: tuple[str, ...] | None = None,
                 srtp_policy: str = "off") -> None:
        super().__init__(ctx, session, codecs)
        self.incoming = incoming
        self.offer = offer
        self.canceled = incoming.canceled
        self.set_srtp_policy(srtp_policy)
        self._early = False  # pre_answer sent the 183: media flows before the answer
        self.answer_sdp, self.negotiated, self.srtp_keys = self.answer_offer(
            offer, self.codec_preference)
        # known before the answer: the call's recording and agent start at this rate
        self.sample_rate = sdp_codecs.pcm_rate(self.negotiated.codec.name)

    @property
    def ringing(self) -> bool:
        return self.dialog is None

    @property
    def early_media(self) -> bool:
        return self._early and self.dialog is None and not self.incoming.tx.is_final

    async def ring(self) -> None:
        await self.incoming.ring()

    async def pre_answer(self) -> Ending | None:
        """183 with our SDP answer (the one the 200 will carry, byte for byte: same session
        version), then media toward the caller from now on."""
        if not self.ringing or self.incoming.tx.is_final:
            raise EarlyMediaRefused("call_not_ringing",
                                    "pre_answer needs an inbound call not yet answered")
        if self._early:
            raise EarlyMediaRefused("already_pre_answered", "the call is in early media already")
        if self.incoming.canceled.is_set() or not await self.incoming.progress(
                self.answer_sdp.serialize()):
            return Ending(CallStatus.CANCELED, "hangup_by_caller", 487)
        self._early = True
        self._apply_answer()
        return None

    async def answer(self) -> Ending | None:
        """Send 200 with our SDP answer; ``None`` once media is set up (after early media it
        already flows: the same RTP stream goes on)."""
        incoming = self.incoming
        if incoming.canceled.is_set():
            return Ending(CallStatus.CANCELED, "hangup_by_caller", 487)
        dialog = await incoming.answer(self.answer_sdp.serialize())
        dialog.handler = self
        self.dialog = dialog
        if not self._early:
            self._apply_answer()
        return None

    def _apply_answer(self) -> None:
        self.apply_media(self.negotiated, sdp_codecs.event_clock(self.offer, self.negotiated),
                         keys=self.srtp_keys)

    async def reject(self, reason: str) -> int:
        """busy -> 486, unavailable -> 480, not_answered -> 480, anything else -> 603; in
        early media the sending stops at once."""
        status, phrase = REJECTIONS.get(reason, (603, None))
        await self.incoming.reject(status, phrase)
        self._stop_early()
        return status

    def _stop_early(self) -> None:
        if self._early:
            self.session.stop_playback()
            self.session.set_direction("inactive")

    async def _abandon(self, reason: str) -> None:
        await self.incoming.reject(480 if reason == "not_answered" else 603)
        self._stop_early()
