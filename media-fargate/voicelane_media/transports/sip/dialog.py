"""SIP dialogs on asyncio: the pure dialog state (``voicelane_media.sip.dialog``) plus who owns
it, where its messages go, and sending BYE, re-INVITE, INFO, REFER and NOTIFY through the
transaction layer.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from typing import Protocol

from voicelane_media.settings import MediaSettings
from voicelane_media.sip.dialog import DialogState
from voicelane_media.sip.message import SipRequest, SipResponse
from voicelane_media.sip.uri import SipUri

from .sockets import Peer
from .transactions import ServerTransaction, TransactionLayer, new_branch

log = logging.getLogger(__name__)


class DialogHandler(Protocol):
    """The owner of a dialog (a call leg) receives its in-dialog requests."""

    async def on_dialog_request(self, dialog: Dialog, request: SipRequest,
                                tx: ServerTransaction) -> None: ...


class DialogOwner(Protocol):
    """What a dialog needs from its user agent (``ua.UserAgent``, which imports this module):
    the headers it offers, the transaction layer, and the registry of live dialogs."""

    settings: MediaSettings
    layer: TransactionLayer
    dialogs: dict[tuple[str, str], Dialog]

    def via(self, transport: str, branch: str) -> str: ...

    def contact(self, transport: str, user: str = "voicelane") -> str: ...

    def forget(self, dialog: Dialog) -> None: ...


def peer_for_uri(uri: str, default_transport: str) -> Peer:
    """Next hop for a SIP URI (no DNS SRV: the URI's host and port, 5060 by default, 5061
    for TLS; a ``sips:`` URI is always TLS)."""
    parsed = SipUri.parse(uri.strip("<>"))
    transport = "TLS" if parsed.scheme.lower() == "sips" else \
        (parsed.transport or default_transport).upper()
    return Peer(transport, parsed.host.strip("[]"),
                parsed.port or (5061 if transport == "TLS" else 5060))


@dataclass
class Dialog(DialogState):
    """A live dialog of this node's user agent (the state is :class:`DialogState`)."""

    ua: DialogOwner
    transport: str
    peer: Peer  # where the dialog's first message came from / went to (fallback next hop)
    handler: DialogHandler | None = None
    ended: bool = False
    extra: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, state: DialogState, ua: DialogOwner, peer: Peer) -> Dialog:
        """A live dialog over ``peer``'s transport from its state; registers it with the UA."""
        values = {f.name: getattr(state, f.name) for f in fields(DialogState)}
        dialog = cls(**values, ua=ua, transport=peer.transport, peer=peer)
        ua.dialogs[dialog.key] = dialog
        return dialog

    def next_hop(self) -> Peer:
        """First Route (loose routing) or the remote target, over the dialog's transport."""
        try:
            return peer_for_uri(self.next_hop_uri(), self.transport)
        except ValueError:
            return self.peer

    def build(self, method: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b"",
              content_type: str | None = None, *, seq: int | None = None) -> SipRequest:
        """A request inside this dialog (new branch; CSeq advanced unless ``seq`` given)."""
        return self.build_request(
            method, via=self.ua.via(self.transport, new_branch()),
            contact=self.ua.contact(self.transport),
            headers=[("User-Agent", self.ua.settings.user_agent), *headers],
            body=body, content_type=content_type, seq=seq)

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
