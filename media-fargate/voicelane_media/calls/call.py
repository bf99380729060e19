"""A live call on this node: its SIP dialog, its media session and how it ends."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from voicelane.domain.call import CallStatus
from voicelane.domain.models import Call
from voicelane.services.clock import now_iso

from voicelane_media import sdp
from voicelane_media.sip.message import SipRequest, make_response
from voicelane_media.transports.sip.dialog import Dialog
from voicelane_media.transports.sip.rtp import RtpSession
from voicelane_media.transports.sip.transactions import ServerTransaction

if TYPE_CHECKING:
    from voicelane_media.transports.sip.ua import IncomingInvite
    from voicelane_media.transports.sip.uac import OutgoingInvite

    from .manager import CallManager

log = logging.getLogger(__name__)


def dtmf_from_info(body: bytes) -> str | None:
    """The digit of an ``application/dtmf-relay`` INFO body (``Signal=5``)."""
    for line in body.decode("latin-1").splitlines():
        name, _, value = line.partition("=")
        if name.strip().lower() == "signal" and value.strip()[:1] in "0123456789*#ABCDabcd":
            return value.strip()[:1].upper() if value.strip() else None
    return None


class CallLeg:
    """Signalling + media of one call; ends exactly once through :meth:`finish`."""

    def __init__(self, manager: CallManager, call: Call, session: RtpSession) -> None:
        self.manager = manager
        self.call = call
        self.session = session
        self.dialog: Dialog | None = None
        self.outgoing: OutgoingInvite | None = None
        self.incoming: IncomingInvite | None = None
        self.offer: sdp.SessionDescription | None = None
        self.sdp_version = 1
        self.status = call.status
        self.answered_at: float | None = None
        self.ended = asyncio.Event()
        self.finished = False
        self.hangup_reason: str | None = None  # set when this side ends the call
        self.on_hold = False
        self.recording = False
        self.recording_started: float | None = None
        self.command_ids: dict[str, dict[str, Any]] = {}
        self.tasks: set[asyncio.Task[None]] = set()
        self.gather: Any = None
        self.bridged_to: CallLeg | None = None
        self.refer_result: asyncio.Future[int] | None = None
        self.status_write: asyncio.Future[Any] | None = None  # an in-flight status change
        self.agent_task: asyncio.Task[None] | None = None  # the AI agent running on this call
        self.agent_masks_dtmf = False  # its spec's dtmf_events is `masked`
        self.metrics: dict[str, Any] | None = None  # the agent's per-turn metrics
        session.on_dtmf = self._on_dtmf

    @property
    def call_id(self) -> str:
        return str(self.call.call_id)

    def spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # -- media events ---------------------------------------------------------------------

    def _on_dtmf(self, digit: str) -> None:
        masked = (self.agent_masks_dtmf and self.agent_task is not None
                  and not self.agent_task.done())
        details: dict[str, object] = {"masked": True} if masked else {"digit": digit}
        self.spawn(self.manager.control.record_event(self.call_id, "call.dtmf.received", details))
        if self.gather is not None:
            self.gather.feed(digit)

    # -- SDP ------------------------------------------------------------------------------

    def local_sdp(self, direction: str = "sendrecv") -> sdp.SessionDescription:
        settings = self.manager.settings
        self.sdp_version += 1
        return sdp.make_offer(settings.advertised_host, self.session.local_port,
                              direction=direction, session_id=abs(hash(self.call_id)) % 10**9,
                              version=self.sdp_version)

    def apply_media(self, negotiated: sdp.NegotiatedAudio) -> None:
        host = negotiated.remote_address or (self.dialog.peer.host if self.dialog else "127.0.0.1")
        self.session.set_remote(host, negotiated.remote_port, negotiated.codec.payload_type,
                                negotiated.telephone_event)
        self.session.set_direction(negotiated.direction)

    # -- in-dialog requests ---------------------------------------------------------------

    async def on_dialog_request(self, dialog: Dialog, request: SipRequest,
                                tx: ServerTransaction) -> None:
        method = request.method
        if method == "BYE":
            await tx.respond(make_response(request, 200))
            self.manager.ua.forget(dialog)
            dialog.ended = True
            remote = "hangup_by_caller" if self.call.direction == "inbound" else "hangup_by_callee"
            self.hangup_reason = self.hangup_reason or remote
            self.ended.set()
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
            answer, negotiated = sdp.answer(offer, sdp.DEFAULT_CODECS,
                                            self.manager.settings.advertised_host,
                                            self.session.local_port,
                                            version=self.sdp_version + 1)
        except sdp.SdpError as exc:
            await tx.respond(make_response(request, 488, f"Not Acceptable Here ({exc})"))
            return
        self.sdp_version += 1
        self.apply_media(negotiated)
        await tx.respond(make_response(request, 200, to_tag=dialog.local_tag,
                                       headers=[("Contact", self.manager.ua.contact(dialog.transport))],
                                       body=answer.serialize(), content_type="application/sdp"))
        held = negotiated.direction in ("recvonly", "inactive")
        if held != self.on_hold:
            self.on_hold = held
            self.spawn(self.manager.control.record_event(
                self.call_id, "call.hold" if held else "call.unhold", {"by": "remote"}))

    def _refer_progress(self, request: SipRequest) -> None:
        if self.refer_result is None or self.refer_result.done():
            return
        body = request.body.decode("latin-1", "replace")
        parts = body.split()
        if len(parts) >= 2 and parts[0].startswith("SIP/") and parts[1].isdigit():
            status = int(parts[1])
            if status >= 200:
                self.refer_result.set_result(status)

    # -- ending ---------------------------------------------------------------------------

    async def hangup(self, reason: str) -> None:
        """End from this side: BYE if answered, CANCEL/reject if not."""
        self.hangup_reason = self.hangup_reason or reason
        if self.dialog is not None and not self.dialog.ended:
            self.spawn(self.dialog.bye())
        elif self.outgoing is not None:
            self.outgoing.cancel()
        elif self.incoming is not None:
            await self.incoming.reject(480 if reason == "not_answered" else 603)
        self.ended.set()

    def quality(self) -> dict[str, Any]:
        try:
            stats = dict(self.session.stats())
        except Exception:  # stats never block the end of a call
            log.exception("stats failed for %s", self.call_id)
            return {}
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in stats.items()}

    async def finish(self, target: CallStatus, end_reason: str, sip_cause: int | None) -> None:
        """Final transition with duration, end_reason, SIP cause and quality; once."""
        if self.finished:
            return
        self.finished = True
        self.ended.set()
        if self.gather is not None:
            self.gather.cancel()
        self.session.stop_playback()
        if self.recording:
            await self.manager.save_recording(self)
        if self.agent_task is not None:  # it stores the transcript and metrics before the end
            await asyncio.wait({self.agent_task}, timeout=15)
        quality = self.quality()
        duration = round(time.monotonic() - self.answered_at, 3) if self.answered_at else 0.0
        changes: dict[str, Any] = {"end_reason": end_reason, "ended_at": now_iso(),
                                   "duration_s": duration, "quality": quality}
        if sip_cause is not None:
            changes["sip_cause"] = sip_cause
        if self.metrics is not None:
            changes["metrics"] = self.metrics
        details = {"end_reason": end_reason, "sip_cause": sip_cause, "duration_s": duration,
                   "quality": quality}
        if self.status_write is not None:
            # An earlier status write that failed must not keep the call from ending.
            await asyncio.wait([self.status_write])
            if not self.status_write.cancelled() and self.status_write.exception() is not None:
                log.warning("status write of %s failed: %r", self.call_id,
                            self.status_write.exception())
        await self.manager.control.transition(self.call_id, target, changes, details)
        for task in list(self.tasks):
            if task is not asyncio.current_task():
                task.cancel()
        try:
            await self.session.close()
        finally:
            self.manager.release(self)
