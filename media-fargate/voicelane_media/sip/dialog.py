"""RFC 3261 section 12 dialog state as a pure value: tags, URIs, CSeq spaces, route set, remote
target, and the requests built inside the dialog.

A dialog comes from an INVITE and its 2xx: :meth:`DialogState.as_uas` (we answered) or
:meth:`DialogState.as_uac` (we called). "Local" is always this side. Sending, and which address
the next hop resolves to, belong to the transport above (``transports/sip/dialog.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .headers import NameAddr
from .message import Headers, SipRequest, SipResponse


def without_tag(value: str | None) -> str:
    """A From/To header value with its tag parameter removed (the dialog's local/remote URI)."""
    addr = NameAddr.parse(value or "")
    addr.params = [(k, v) for k, v in addr.params if k.lower() != "tag"]
    return str(addr)


def route_set_from(record_routes: Iterable[str], *, uac: bool) -> list[str]:
    """The route set (12.1.1 / 12.1.2): Record-Route as received by the UAS, reversed by the UAC."""
    routes = [str(NameAddr.parse(r)) for r in record_routes]
    return list(reversed(routes)) if uac else routes


@dataclass
class DialogState:
    """One dialog's state; ``local_seq`` is the last CSeq we sent, ``remote_seq`` the peer's."""

    call_id: str
    local_tag: str
    remote_tag: str
    local_uri: str  # our From (UAC) or To (UAS) header value without tag
    remote_uri: str
    remote_target: str  # the peer's Contact URI
    route_set: list[str]
    local_seq: int
    remote_seq: int

    @classmethod
    def as_uas(cls, invite: SipRequest, local_tag: str) -> DialogState:
        """The dialog our 2xx to ``invite`` creates (RFC 3261 12.1.1)."""
        contacts = invite.contacts
        return cls(
            call_id=invite.call_id, local_tag=local_tag, remote_tag=invite.from_addr.tag or "",
            local_uri=without_tag(invite.headers.get("To")),
            remote_uri=without_tag(invite.headers.get("From")),
            remote_target=contacts[0].uri if contacts else invite.from_addr.uri,
            route_set=route_set_from([str(r) for r in invite.record_routes], uac=False),
            local_seq=0, remote_seq=invite.cseq.seq,
        )

    @classmethod
    def as_uac(cls, invite: SipRequest, response: SipResponse) -> DialogState:
        """The dialog a 2xx to our ``invite`` creates (RFC 3261 12.1.2)."""
        contacts = response.contacts
        return cls(
            call_id=invite.call_id, local_tag=invite.from_addr.tag or "",
            remote_tag=response.to_addr.tag or "",
            local_uri=without_tag(invite.headers.get("From")),
            remote_uri=without_tag(invite.headers.get("To")),
            remote_target=contacts[0].uri if contacts else invite.uri,
            route_set=route_set_from([str(r) for r in response.record_routes], uac=True),
            local_seq=invite.cseq.seq, remote_seq=0,
        )

    @property
    def key(self) -> tuple[str, str]:
        """(Call-ID, local tag): how an in-dialog request finds us (its To tag is ours)."""
        return (self.call_id, self.local_tag)

    def next_hop_uri(self) -> str:
        """Where an in-dialog request goes first: the first route (loose routing) or the target."""
        target = self.route_set[0] if self.route_set else self.remote_target
        return NameAddr.parse(target).uri if "<" in target else target

    def build_request(self, method: str, *, via: str, contact: str,
                      headers: Iterable[tuple[str, str]] = (), body: bytes = b"",
                      content_type: str | None = None, seq: int | None = None) -> SipRequest:
        """A request inside the dialog (12.2.1.1). The CSeq advances unless ``seq`` is given
        (the ACK of a 2xx and a CANCEL reuse their INVITE's); ``via`` carries a new branch."""
        if seq is None:
            self.local_seq += 1
            seq = self.local_seq
        h = Headers()
        h.add("Via", via)
        for route in self.route_set:
            h.add("Route", route)
        h.add("Max-Forwards", "70")
        h.add("From", f"{self.local_uri};tag={self.local_tag}")
        h.add("To", f"{self.remote_uri};tag={self.remote_tag}")
        h.add("Call-ID", self.call_id)
        h.add("CSeq", f"{seq} {method}")
        h.add("Contact", contact)
        for name, value in headers:
            h.add(name, value)
        return SipRequest.build(method, self.remote_target, list(h), body, content_type)

    def accept_remote_seq(self, request: SipRequest) -> bool:
        """RFC 3261 12.2.2: a CSeq not above the last one is out of order (the UA answers 500);
        ACK and CANCEL reuse their INVITE's and are always accepted."""
        seq = request.cseq.seq
        if request.method in ("ACK", "CANCEL"):
            return True
        if self.remote_seq and seq <= self.remote_seq:
            return False
        self.remote_seq = seq
        return True

    def update_target(self, request: SipRequest) -> None:
        """Target refresh: a re-INVITE may move the peer's Contact."""
        contacts = request.contacts
        if contacts:
            self.remote_target = contacts[0].uri
