"""SIP dialogs (RFC 3261 section 12) on asyncio: state, in-dialog requests, routing.

A dialog is created by a 2xx to INVITE (either side). It knows its route set (Record-Route),
the remote target (Contact), both CSeq spaces, and builds and sends BYE, re-INVITE, INFO,
REFER and NOTIFY through the transaction layer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from voicelane_media.sip.headers import NameAddr
from voicelane_media.sip.message import Headers, SipRequest, SipResponse
from voicelane_media.sip.uri import SipUri

from .transactions import ServerTransaction, new_branch
from .transport import Peer

if TYPE_CHECKING:
    from .ua import UserAgent

log = logging.getLogger(__name__)


class DialogHandler(Protocol):
    """The owner of a dialog (a call leg) receives its in-dialog requests."""

    async def on_dialog_request(self, dialog: Dialog, request: SipRequest,
                                tx: ServerTransaction) -> None: ...


def peer_for_uri(uri: str, default_transport: str) -> Peer:
    """Next hop for a SIP URI (no DNS SRV: the URI's host and port, 5060 by default)."""
    parsed = SipUri.parse(uri.strip("<>"))
    transport = (parsed.transport or default_transport).upper()
    return Peer(transport, parsed.host.strip("[]"), parsed.port or 5060)


@dataclass
class Dialog:
    """Dialog state; ``local`` is always this node's side."""

    ua: UserAgent
    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # our From (UAC) or To (UAS) header value without tag
    remote_uri: str
    remote_target: str  # the peer's Contact URI
    route_set: list[str]
    local_seq: int
    remote_seq: int
    transport: str
    peer: Peer  # where the dialog's first message came from / went to (fallback next hop)
    handler: DialogHandler | None = None
    ended: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return (self.call_id, self.local_tag)

    def next_hop(self) -> Peer:
        """First Route (loose routing) or the remote target, over the dialog's transport."""
        try:
            target = self.route_set[0] if self.route_set else self.remote_target
            return peer_for_uri(NameAddr.parse(target).uri if "<" in target else target,
                                self.transport)
        except ValueError:
            return self.peer

    def build(self, method: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b"",
              content_type: str | None = None, *, seq: int | None = None) -> SipRequest:
        """A request inside this dialog (new branch; CSeq advanced unless ``seq`` given)."""
        if seq is None:
            self.local_seq += 1
            seq = self.local_seq
        h = Headers()
        h.add("Via", self.ua.via(self.transport, new_branch()))
        for route in self.route_set:
            h.add("Route", route)
        h.add("Max-Forwards", "70")
        h.add("From", f"{self.local_uri};tag={self.local_tag}")
        h.add("To", f"{self.remote_uri};tag={self.remote_tag}")
        h.add("Call-ID", self.call_id)
        h.add("CSeq", f"{seq} {method}")
        h.add("Contact", self.ua.contact(self.transport))
        h.add("User-Agent", self.ua.settings.user_agent)
        for name, value in headers:
            h.add(name, value)
        return SipRequest.build(method, self.remote_target, list(h), body, content_type)

    async def request(self, method: str, headers: Iterable[tuple[str, str]] = (),
                      body: bytes = b"", content_type: str | None = None) -> SipResponse:
        """Send an in-dialog request and wait for its final response."""
        request = self.build(method, headers, body, content_type)
        return await self.ua.layer.request(request, self.next_hop())

    async def reinvite(self, sdp: bytes) -> SipResponse:
        """A re-INVITE (hold/unhold); ACKs a 2xx."""
        request = self.build("INVITE", (), sdp, "application/sdp")
        response = await self.ua.layer.request(request, self.next_hop())
        if 200 <= response.status < 300:
            ack = self.build("ACK", seq=request.cseq.seq)
            await self.ua.layer.send_stateless(ack, self.next_hop())
        return response

    async def bye(self, reason: str | None = None) -> SipResponse | None:
        if self.ended:
            return None
        self.ended = True
        headers = [("Reason", reason)] if reason else []
        try:
            return await self.request("BYE", headers)
        finally:
            self.ua.forget(self)

    def accept_remote_seq(self, request: SipRequest) -> bool:
        """RFC 3261 12.2.2: lower CSeq than the last one -> 500; ACK/CANCEL reuse it."""
        seq = request.cseq.seq
        if request.method in ("ACK", "CANCEL"):
            return True
        if self.remote_seq and seq <= self.remote_seq:
            return False
        self.remote_seq = seq
        return True

    def update_target(self, request: SipRequest) -> None:
        """Target refresh (re-INVITE may change the Contact)."""
        contacts = request.contacts
        if contacts:
            self.remote_target = contacts[0].uri


def route_set_from(record_routes: list[str], *, uac: bool) -> list[str]:
    """The dialog's route set: Record-Route as received (UAS) or reversed (UAC)."""
    routes = [str(NameAddr.parse(r)) for r in record_routes]
    return list(reversed(routes)) if uac else routes
