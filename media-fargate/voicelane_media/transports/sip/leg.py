"""One call's SIP/RTP transport: its dialog and its RTP session (a ``transports.base.Transport``).

The inbound and outbound set-up (``inbound.py``, ``outbound.py``) subclass :class:`SipLeg`;
what follows the answer is the same both ways: in-dialog requests (BYE, INFO digits, re-INVITE
hold, NOTIFY of a REFER), hangup, hold, REFER and the media operations.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from voicelane_media import sdp, sdp_codecs, sdp_crypto
from voicelane_media.agent.leg import MediaLeg
from voicelane_media.codecs.g711 import Int16Array
from voicelane_media.codecs.wideband import wideband_codec
from voicelane_media.rtp.srtp import SrtpContext
from voicelane_media.sip.message import SipRequest, make_response
from voicelane_media.transports.base import (
    AudioTap,
    CallEvents,
    EarlyMediaRefused,
    Ending,
    LiveSource,
    Referral,
)

from .context import SipContext
from .dialog import Dialog
from .media_leg import RtpAgentLeg
from .rtp import RtpSession
from .transactions import ServerTransaction
from .transfer import refer

log = logging.getLogger(__name__)


def dtmf_from_info(body: bytes) -> str | None:
    """The digit of an ``application/dtmf-relay`` INFO body (``Signal=5``)."""
    for line in body.decode("latin-1").splitlines():
        name, _, value = line.partition("=")
        if name.strip().lower() == "signal" and value.strip()[:1] in "0123456789*#ABCDabcd":
            return value.strip()[:1].upper() if value.strip() else None
    return None


class SipLeg:
    """The SIP dialog + RTP session of one call, driven by its call through ``Transport``."""

    sample_rate = 8000  # G.711; 16000 once G.722 or Opus is negotiated

    def __init__(self, ctx: SipContext, session: RtpSession,
                 codecs: tuple[str, ...] | None = None) -> None:
        self.ctx = ctx
        self.session = session
        # most preferred first: the trunk's, else the node's (``sip_codecs``)
        self.codec_preference: tuple[str, ...] = codecs or ctx.settings.codec_preference
        self.codec_name: str | None = None  # negotiated, once media is applied
        self.dialog: Dialog | None = None
        self.sdp_version = 1
        self.refer_result: asyncio.Future[int] | None = None
        self.canceled = asyncio.Event()
        self._events: CallEvents | None = None
        session.on_dtmf = self._on_dtmf
        # SDES-SRTP: the trunk's policy and our master key (one per leg, kept on re-INVITEs)
        self.srtp_policy = "off"
        self.crypto: sdp_crypto.CryptoAttribute | None = None
        self.srtp_savp = False  # the SRTP negotiated is on RTP/SAVP (not best-effort RTP/AVP)

    def bind(self, events: CallEvents) -> None:
        self._events = events

    @property
    def bound(self) -> bool:
        return self._events is not None

    @property
    def events(self) -> CallEvents:
        if self._events is None:
            raise RuntimeError("the SIP leg is not bound to a call yet")
        return self._events

    @property
    def connected(self) -> bool:
        return self.dialog is not None and not self.dialog.ended

    @property
    def ringing(self) -> bool:
        return False

    @property
    def early_media(self) -> bool:
        return False

    # -- set-up (the inbound and outbound legs implement their side) -----------------------

    async def ring(self) -> None:
        raise RuntimeError("only an inbound leg rings")

    async def answer(self) -> Ending | None:
        raise RuntimeError("only an inbound leg answers")

    async def pre_answer(self) -> Ending | None:
        raise EarlyMediaRefused("early_media_not_supported",
                                "pre_answer needs an inbound call; this one is outbound")

    async def reject(self, reason: str) -> int:
        raise RuntimeError("only an inbound leg is rejected")

    async def dial(self) -> Ending | None:
        raise RuntimeError("only an outbound leg dials")

    async def _abandon(self, reason: str) -> None:
        """End a call that has no dialog yet (CANCEL, or a final refusal)."""

    # -- media events ---------------------------------------------------------------------

    def _on_dtmf(self, digit: str) -> None:
        self.events.dtmf_received(digit)

    # -- SDP ------------------------------------------------------------------------------

    def set_srtp_policy(self, policy: str) -> None:
        """The trunk's ``srtp`` (off | optional | mandatory); a key is drawn when needed."""
        self.srtp_policy = sdp_crypto.validate_policy(policy)
        if policy != "off" and self.crypto is None:
            self.crypto = sdp_crypto.new_crypto()

    def offer_policy(self) -> str:
        """The first offer follows the trunk's policy; a re-offer (hold) keeps what the call
        negotiated: plain stays plain, SRTP stays SRTP on the same profile."""
        if self.dialog is None:
            return self.srtp_policy
        if self.session.srtp is None:
            return "off"
        return "mandatory" if self.srtp_savp else "optional"

    def local_sdp(self, direction: str = "sendrecv") -> sdp.SessionDescription:
        """Our offer: the preferred codecs, or, mid-call, those at the current rate; with
        ``a=crypto`` under the SRTP policy."""
        self.sdp_version += 1
        preference = self.codec_preference if self.codec_name is None else (
            sdp_codecs.same_rate_preference(self.codec_name, self.codec_preference))
        offer = sdp.make_offer(self.ctx.settings.advertised_host, self.session.local_port,
                               sdp_codecs.offer_codecs(preference), direction=direction,
                               session_id=abs(hash(self.events.call_id)) % 10**9,
                               version=self.sdp_version)
        return sdp_crypto.secure_offer(offer, self.offer_policy(), self.crypto)

    def answer_offer(self, offer: sdp.SessionDescription, preference: Sequence[str],
                     version: int = 1) -> tuple[sdp.SessionDescription, sdp.NegotiatedAudio,
                                                sdp_crypto.SrtpKeys | None]:
        """Our answer to ``offer`` (codecs by ``preference``) under the SRTP policy;
        :class:`sdp.SdpError` means 488."""
        answer, negotiated = sdp_codecs.answer_with_preference(
            offer, preference, self.ctx.settings.advertised_host, self.session.local_port,
            version=version)
        keys = sdp_crypto.secure_answer(offer, answer, self.srtp_policy, self.crypto)
        self.srtp_savp = keys is not None and sdp_crypto.audio_is_secure(answer)
        return answer, negotiated, keys

    def apply_media(self, negotiated: sdp.NegotiatedAudio, dtmf_clock: int = 8000, *,
                    keys: sdp_crypto.SrtpKeys | None = None) -> None:
        """Point the RTP session at the negotiated peer and codec (a wideband codec gets its
        own decoder and encoder, kept across re-INVITEs that keep the codec), with SRTP when
        ``keys`` are given."""
        host = negotiated.remote_address or (self.dialog.peer.host if self.dialog else "127.0.0.1")
        name = negotiated.codec.name
        decoder, encoder = self.session.inbound.codec, self.session.outbound.codec
        if name.lower() != (self.codec_name or "").lower():
            decoder, encoder = wideband_codec(name), wideband_codec(name)
        codecs = (decoder, encoder) if decoder is not None and encoder is not None else None
        self.session.set_remote(host, negotiated.remote_port, negotiated.codec.payload_type,
                                negotiated.telephone_event, codecs=codecs,
                                dtmf_clock=dtmf_clock)
        self.session.set_direction(negotiated.direction)
        self.codec_name = name
        self.sample_rate = self.session.sample_rate
        self._apply_srtp(keys)

    def _apply_srtp(self, keys: sdp_crypto.SrtpKeys | None) -> None:
        current = self.session.srtp
        if keys is None:
            if current is not None:
                log.info("call %s: SRTP off after a re-negotiation", self.events.call_id)
            self.session.set_srtp(None)
            return
        if current is not None and current.keys == (keys.local, keys.remote):
            return  # the same keys: keep the streams' rollover and replay state
        self.session.set_srtp(SrtpContext(keys.suite, keys.local, keys.remote),
                              self.ctx.settings.srtp_max_auth_failures, self._srtp_failed)

    def _srtp_failed(self) -> None:
        log.warning("call %s: %d SRTP packets in a row failed authentication, ending it",
                    self.events.call_id, self.ctx.settings.srtp_max_auth_failures)
        self.events.spawn(self.events.hangup("srtp_auth_failed"))

    # -- in-dialog requests ---------------------------------------------------------------

    async def on_dialog_request(self, dialog: Dialog, request: SipRequest,
                                tx: ServerTransaction) -> None:
        method = request.method
        if method == "BYE":
            await tx.respond(make_response(request, 200))
            self.ctx.ua.forget(dialog)
            dialog.ended = True
            self.events.remote_hangup()
        elif method == "INFO":
            digit = dtmf_from_info(request.body) if request.content_type in (
                "application/dtmf-relay", "application/dtmf") else None
            await tx.respond(make_response(request, 200))
            if digit:
                self._on_dtmf(digit)
        elif method == "INVITE":
            await self._reinvite(dialog, request, tx)
        elif method == "NOTIFY":
            await tx.respond(make_response(request, 200))
            self._refer_progress(request)
        elif method == "REFER":
            await tx.respond(make_response(request, 603, "Decline (transfer not accepted)"))
        elif method == "OPTIONS":
            await tx.respond(make_response(request, 200))
        else:
            await tx.respond(make_response(request, 501))

    async def _reinvite(self, dialog: Dialog, request: SipRequest, tx: ServerTransaction) -> None:
        dialog.update_target(request)
        if not request.body:
            await tx.respond(make_response(request, 488, "Not Acceptable Here (offerless re-INVITE)"))
            return
        try:
            offer = sdp.SessionDescription.parse(request.body)
            preference = self.codec_preference if self.codec_name is None else (
                sdp_codecs.same_rate_preference(self.codec_name, self.codec_preference))
            answer, negotiated, keys = self.answer_offer(offer, preference,
                                                         self.sdp_version + 1)
        except sdp.SdpError as exc:
            await tx.respond(make_response(request, 488, f"Not Acceptable Here ({exc})"))
            return
        self.sdp_version += 1
        self.apply_media(negotiated, sdp_codecs.event_clock(offer, negotiated), keys=keys)
        await tx.respond(make_response(request, 200, to_tag=dialog.local_tag,
                                       headers=[("Contact", self.ctx.ua.contact(dialog.transport))],
                                       body=answer.serialize(), content_type="application/sdp"))
        self.events.hold_changed(negotiated.direction in ("recvonly", "inactive"), "remote")

    def _refer_progress(self, request: SipRequest) -> None:
        if self.refer_result is None or self.refer_result.done():
            return
        body = request.body.decode("latin-1", "replace")
        parts = body.split()
        if len(parts) >= 2 and parts[0].startswith("SIP/") and parts[1].isdigit():
            status = int(parts[1])
            if status >= 200:
                self.refer_result.set_result(status)

    # -- call control ---------------------------------------------------------------------

    async def hangup(self, reason: str) -> None:
        """BYE if answered, else CANCEL / a final refusal (the set-up side decides)."""
        if self.dialog is not None and not self.dialog.ended:
            self.events.spawn(self._bye())
        else:
            await self._abandon(reason)

    async def _bye(self) -> None:
        assert self.dialog is not None
        await self.dialog.bye()

    async def hold(self, held: bool) -> dict[str, Any] | None:
        """A re-INVITE with ``sendonly`` (hold) or ``sendrecv``; the failure's SIP status."""
        assert self.dialog is not None
        direction = "sendonly" if held else "sendrecv"
        policy = self.offer_policy()
        offer = self.local_sdp(direction)
        response = await self.dialog.reinvite(offer.serialize())
        if 200 <= response.status < 300:
            self.session.set_direction(direction)
            try:  # the peer may answer with a new key: use it from now on
                keys = sdp_crypto.accept_secure_answer(
                    offer, sdp.SessionDescription.parse(response.body), policy, self.crypto)
                if keys is not None:
                    self._apply_srtp(keys)
            except sdp.SdpError as exc:
                log.warning("call %s: hold answer unusable for SRTP (%s); keys kept",
                            self.events.call_id, exc)
            return None
        return {"sip_status": response.status}

    async def refer(self, to: str) -> Referral | None:
        return await refer(self, to)

    # -- media ----------------------------------------------------------------------------

    async def send_dtmf(self, digits: str) -> None:
        await self.session.send_dtmf(digits)

    async def play(self, pcm: Int16Array) -> int:
        return await self.session.play(pcm)

    def stop_playback(self) -> int:
        return self.session.stop_playback()

    def add_audio_tap(self, tap: AudioTap) -> None:
        self.session.add_audio_tap(tap)

    def remove_audio_tap(self, tap: AudioTap) -> None:
        self.session.remove_audio_tap(tap)

    def add_playout_tap(self, tap: AudioTap) -> None:
        self.session.add_playout_tap(tap)

    def remove_playout_tap(self, tap: AudioTap) -> None:
        self.session.remove_playout_tap(tap)

    def set_live_source(self, source: LiveSource | None) -> None:
        self.session.set_live_source(source)

    def stats(self) -> dict[str, Any]:
        return self.session.stats()

    def media_leg(self) -> MediaLeg:
        return RtpAgentLeg(self.session, self.events, self.sample_rate)

    async def close(self) -> None:
        await self.session.close()
