"""The SIP user agent of a media node: UAS dispatch of incoming requests and UAC INVITEs.

Incoming: OPTIONS is answered 200, a new INVITE becomes an :class:`IncomingInvite` handed to
the call manager, CANCEL ends a pending INVITE with 487, in-dialog requests (BYE, INFO,
re-INVITE, REFER, NOTIFY) go to the dialog's owner. Outgoing INVITEs live in ``uac.py``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from voicelane_media.settings import MediaSettings
from voicelane_media.sip.dialog import DialogState
from voicelane_media.sip.message import SIP_VERSION, SipRequest, SipResponse, make_response

from .dialog import Dialog
from .sockets import Peer, SipTransport
from .tls import tls_config
from .transactions import ServerTransaction, TransactionLayer, new_tag

log = logging.getLogger(__name__)

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY"
SUPPORTED_EXTENSIONS: frozenset[str] = frozenset()
IN_DIALOG = ("BYE", "INFO", "REFER", "NOTIFY", "UPDATE", "PRACK", "MESSAGE")


class IncomingInvite:
    """A new INVITE waiting for the call manager to ring, answer or reject it."""

    def __init__(self, ua: UserAgent, request: SipRequest, tx: ServerTransaction, peer: Peer):
        self.ua = ua
        self.request = request
        self.tx = tx
        self.peer = peer
        self.local_tag = new_tag()
        self.canceled = asyncio.Event()
        self.dialog: Dialog | None = None

    @property
    def number(self) -> str:
        """The Request-URI user (the dialled number)."""
        return self.request.request_uri.user or ""

    def _response(self, status: int, reason: str | None = None, body: bytes = b"",
                  content_type: str | None = None) -> SipResponse:
        headers = [("Contact", self.ua.contact(self.peer.transport)),
                   ("User-Agent", self.ua.settings.user_agent)]
        if status in (405, 200):
            headers.append(("Allow", ALLOW))
        return make_response(self.request, status, reason, to_tag=self.local_tag,
                             headers=headers, body=body, content_type=content_type)

    async def ring(self, status: int = 180) -> None:
        if not self.tx.is_final:
            await self.tx.respond(self._response(status))

    async def reject(self, status: int, reason: str | None = None) -> None:
        if not self.tx.is_final:
            await self.tx.respond(self._response(status, reason))

    async def progress(self, sdp: bytes) -> bool:
        """Send 183 Session Progress with the SDP answer (early media, RFC 3960's gateway
        model: unreliable, no 100rel; the 200 carries the same SDP). False once a final
        response went out (the caller canceled meanwhile)."""
        if self.tx.is_final:
            return False
        await self.tx.respond(self._with_routes(
            self._response(183, body=sdp, content_type="application/sdp")))
        return True

    async def answer(self, sdp: bytes) -> Dialog:
        """Send 200 with the SDP answer; the dialog is confirmed when the ACK arrives."""
        req = self.request
        dialog = Dialog.of(DialogState.as_uas(req, self.local_tag), self.ua, self.peer)
        self.dialog = dialog
        await self.tx.respond(self._with_routes(
            self._response(200, body=sdp, content_type="application/sdp")))
        return dialog

    def _with_routes(self, response: SipResponse) -> SipResponse:
        """A dialog-creating response copies the INVITE's Record-Route (RFC 3261 12.1.1)."""
        for rr in self.request.headers.lines("Record-Route"):
            response.headers.add("Record-Route", rr)
        return response


class UserAgent:
    """Owns the transport, the transaction layer and the live dialogs."""

    def __init__(self, settings: MediaSettings,
                 on_invite: Callable[[IncomingInvite], None] | None = None) -> None:
        self.settings = settings
        self.on_invite = on_invite
        self.transport = SipTransport(settings.sip_host, settings.sip_port, self._on_message,
                                      tls_config(settings))
        self.layer = TransactionLayer(self.transport, self._on_request, self._on_ack,
                                      t1=settings.t1_s)
        self.dialogs: dict[tuple[str, str], Dialog] = {}
        self.pending: dict[tuple[str, str], IncomingInvite] = {}  # (call-id, branch)
        self.accepting = True  # False while draining: new INVITEs get 503

    async def start(self) -> None:
        await self.transport.start()

    async def stop(self) -> None:
        await self.layer.close()
        await self.transport.stop()

    @property
    def port(self) -> int:
        return self.transport.port

    @property
    def tls_port(self) -> int | None:
        """The SIP-over-TLS listener's port (None without a certificate)."""
        return self.transport.tls_port

    def via(self, transport: str, branch: str) -> str:
        port = self.transport.port_for(transport)
        return f"SIP/2.0/{transport} {self.settings.advertised_host}:{port};branch={branch};rport"

    def contact(self, transport: str, user: str = "voicelane") -> str:
        """``sip:`` with ``;transport=tcp|tls`` (not ``sips:``: a sips Contact would oblige
        every hop after us to be TLS, RFC 5630 3.1.3, which a carrier's side may not be)."""
        suffix = f";transport={transport.lower()}" if transport in ("TCP", "TLS") else ""
        port = self.transport.port_for(transport)
        return f"<sip:{user}@{self.settings.advertised_host}:{port}{suffix}>"

    def forget(self, dialog: Dialog) -> None:
        self.dialogs.pop(dialog.key, None)

    # -- dispatch -----------------------------------------------------------------------

    def _on_message(self, message: object, peer: Peer) -> None:
        self.layer.on_message(message, peer)  # type: ignore[arg-type]

    def _on_ack(self, request: SipRequest, peer: Peer) -> None:
        return None  # 2xx ACKs only stop retransmissions (done by the transaction layer)

    def _on_request(self, request: SipRequest, peer: Peer, tx: ServerTransaction) -> None:
        self.layer.spawn(self._handle(request, peer, tx))

    async def _reply(self, tx: ServerTransaction, status: int, reason: str | None = None,
                     headers: list[tuple[str, str]] | None = None) -> None:
        await tx.respond(make_response(tx.request, status, reason, to_tag=new_tag(),
                                       headers=headers or []))

    async def _handle(self, request: SipRequest, peer: Peer, tx: ServerTransaction) -> None:
        problem = self._check(request)
        if problem is not None:
            status, reason, headers = problem
            await self._reply(tx, status, reason, headers)
            return
        method = request.method
        if method == "CANCEL":
            await self._cancel(request, tx)
            return
        to_tag = request.to_addr.tag
        if to_tag is not None:
            dialog = self.dialogs.get((request.call_id, to_tag))
            if dialog is None:
                await self._reply(tx, 481)
                return
            if not dialog.accept_remote_seq(request):
                await self._reply(tx, 500, "CSeq out of order")
                return
            if dialog.handler is None:
                await self._reply(tx, 200 if method in ("BYE", "NOTIFY", "INFO") else 501)
                if method == "BYE":
                    self.forget(dialog)
                return
            await dialog.handler.on_dialog_request(dialog, request, tx)
            return
        if method == "OPTIONS":
            await self._reply(tx, 200, None, [("Allow", ALLOW), ("Accept", "application/sdp")])
        elif method == "INVITE":
            await self._new_invite(request, peer, tx)
        elif method in IN_DIALOG:
            await self._reply(tx, 481)
        elif method in ("REGISTER", "SUBSCRIBE", "PUBLISH"):
            await self._reply(tx, 405, None, [("Allow", ALLOW)])
        else:
            await self._reply(tx, 501)

    def _check(self, request: SipRequest) -> tuple[int, str | None, list[tuple[str, str]]] | None:
        """RFC 3261 8.2 checks: SIP version, URI scheme, Max-Forwards, Require, body type."""
        if request.version.upper() != SIP_VERSION:
            return 505, None, []  # 8.2 / 21.5.7: the reply itself is SIP/2.0
        if request.uri.split(":", 1)[0].lower() not in ("sip", "sips"):
            return 416, None, []
        max_forwards = request.headers.get("Max-Forwards")
        if max_forwards is not None and int(max_forwards) == 0 and request.method != "OPTIONS":
            return 483, None, []
        required = [r.strip() for r in request.get_all("Require")]
        unsupported = [r for r in required if r.lower() not in SUPPORTED_EXTENSIONS]
        if unsupported and request.method not in ("CANCEL", "ACK"):
            return 420, None, [("Unsupported", ", ".join(unsupported))]
        if request.method == "INVITE" and request.body and \
                request.content_type not in ("application/sdp",):
            return 415, None, [("Accept", "application/sdp")]
        return None

    async def _new_invite(self, request: SipRequest, peer: Peer, tx: ServerTransaction) -> None:
        await tx.respond(make_response(request, 100))
        incoming = IncomingInvite(self, request, tx, peer)
        if not self.accepting or self.on_invite is None:
            await incoming.reject(503, "Service Unavailable (draining)")
            return
        key = (request.call_id, request.top_via.branch or "")
        self.pending[key] = incoming
        asyncio.get_running_loop().call_later(300, self.pending.pop, key, None)
        self.on_invite(incoming)

    async def _cancel(self, request: SipRequest, tx: ServerTransaction) -> None:
        invite_tx = self.layer.find_invite(request)
        if invite_tx is None:
            await self._reply(tx, 481)
            return
        await tx.respond(make_response(request, 200, to_tag=new_tag()))
        incoming = self.pending.pop((request.call_id, request.top_via.branch or ""), None)
        if not invite_tx.is_final:
            if incoming is not None:
                incoming.canceled.set()
                await incoming.reject(487)
            else:
                await invite_tx.respond(make_response(invite_tx.request, 487, to_tag=new_tag()))
