"""Outgoing INVITEs (UAC): provisional responses, digest auth (401/407), CANCEL, the 2xx ACK."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from voicelane_media.sip.dialog import DialogState
from voicelane_media.sip.digest import Challenge, authorization
from voicelane_media.sip.grammar import SipParseError
from voicelane_media.sip.message import Headers, SipRequest, SipResponse

from .dialog import Dialog
from .sockets import Peer
from .transactions import new_branch, new_tag
from .ua import UserAgent

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Credentials:
    """A trunk's digest credentials (RFC 3261 22), answered to a 401/407 challenge."""

    username: str
    password: str


class OutgoingInvite:
    """One INVITE toward a trunk or peer. ``send()`` returns the final response (after at
    most one authenticated retry); ``dialog`` is set on 2xx. ``cancel()`` sends CANCEL once
    a provisional response arrived (RFC 3261 9.1) or as soon as one does."""

    def __init__(self, ua: UserAgent, *, request_uri: str, peer: Peer, from_uri: str,
                 to_uri: str, sdp: bytes, headers: Iterable[tuple[str, str]] = (),
                 credentials: Credentials | None = None,
                 on_provisional: Callable[[SipResponse], None] | None = None) -> None:
        self.ua = ua
        self.request_uri = request_uri
        self.peer = peer
        self.from_uri = from_uri
        self.to_uri = to_uri
        self.sdp = sdp
        self.extra = list(headers)
        self.credentials = credentials
        self.on_provisional = on_provisional
        self.call_id = secrets.token_hex(12)
        self.local_tag = new_tag()
        self.seq = 1
        self.current: SipRequest | None = None
        self.dialog: Dialog | None = None
        self._provisional = asyncio.Event()
        self._cancel_requested = False
        self._ack: SipRequest | None = None
        self._acked = asyncio.Event()  # the first 2xx's ACK is built and sent

    def _build(self, auth: tuple[str, str] | None = None) -> SipRequest:
        h = Headers()
        h.add("Via", self.ua.via(self.peer.transport, new_branch()))
        h.add("Max-Forwards", "70")
        h.add("From", f"<{self.from_uri}>;tag={self.local_tag}")
        h.add("To", f"<{self.to_uri}>")
        h.add("Call-ID", self.call_id)
        h.add("CSeq", f"{self.seq} INVITE")
        h.add("Contact", self.ua.contact(self.peer.transport))
        h.add("Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, REFER, NOTIFY")
        h.add("User-Agent", self.ua.settings.user_agent)
        if auth is not None:
            h.add(*auth)
        for name, value in self.extra:
            h.add(name, value)
        return SipRequest.build("INVITE", self.request_uri, list(h), self.sdp, "application/sdp")

    @property
    def got_provisional(self) -> bool:
        """Whether the far end answered with any 1xx (it is alive, so no failover on 408)."""
        return self._provisional.is_set()

    def _provisional_received(self, response: SipResponse) -> None:
        self._provisional.set()
        if self._cancel_requested:
            self.ua.layer.spawn(self._send_cancel())
        if self.on_provisional is not None:
            self.on_provisional(response)

    async def send(self) -> SipResponse:
        auth: tuple[str, str] | None = None
        for attempt in range(2):
            self.current = self._build(auth)
            response = await self.ua.layer.request(self.current, self.peer,
                                                   self._provisional_received,
                                                   self._retransmitted_2xx)
            if response.status in (401, 407) and attempt == 0 and self.credentials and \
                    not self._cancel_requested:
                auth = self._authorization(response)
                if auth is not None:
                    self.seq += 1
                    continue
            break
        if 200 <= response.status < 300:
            await self._confirm(response)
        return response

    def _authorization(self, response: SipResponse) -> tuple[str, str] | None:
        assert self.credentials is not None
        header = "WWW-Authenticate" if response.status == 401 else "Proxy-Authenticate"
        challenges = []
        for value in response.headers.lines(header):
            try:
                challenges.append(Challenge.parse(value))
            except SipParseError:
                continue
        if not challenges:
            return None
        # Prefer SHA-256 when offered (RFC 8760), else the first we understand.
        challenge = next((c for c in challenges if c.algorithm.startswith("SHA-256")), challenges[0])
        value = authorization(challenge, username=self.credentials.username,
                              password=self.credentials.password, method="INVITE",
                              uri=self.request_uri)
        return ("Authorization" if response.status == 401 else "Proxy-Authorization", value)

    async def _confirm(self, response: SipResponse) -> None:
        assert self.current is not None
        self.dialog = Dialog.of(DialogState.as_uac(self.current, response), self.ua, self.peer)
        self._ack = self.dialog.build("ACK", seq=self.seq)
        await self.ua.layer.send_stateless(self._ack, self.dialog.next_hop())
        self._acked.set()

    def _retransmitted_2xx(self, response: SipResponse) -> None:
        self.ua.layer.spawn(self._ack_again(response))

    async def _ack_again(self, response: SipResponse) -> None:
        """The same ACK for a retransmitted 2xx of our dialog (once the first one is out)."""
        await self._acked.wait()
        assert self._ack is not None and self.dialog is not None
        if (response.to_addr.tag or "") != self.dialog.remote_tag:
            log.info("ignoring a 2xx of another fork (to-tag %s)", response.to_addr.tag)
            return
        await self.ua.layer.send_stateless(self._ack, self.dialog.next_hop())

    def cancel(self) -> None:
        """Abandon the INVITE (hang-up before answer, ring timeout)."""
        if self._cancel_requested:
            return
        self._cancel_requested = True
        if self._provisional.is_set():
            self.ua.layer.spawn(self._send_cancel())

    async def _send_cancel(self) -> None:
        request = self.current
        if request is None:
            return
        h = Headers()
        h.add("Via", request.headers.lines("Via")[0])
        for route in request.headers.lines("Route"):
            h.add("Route", route)
        h.add("Max-Forwards", "70")
        h.add("From", request.headers.get("From") or "")
        h.add("To", request.headers.get("To") or "")
        h.add("Call-ID", request.call_id)
        h.add("CSeq", f"{request.cseq.seq} CANCEL")
        cancel = SipRequest.build("CANCEL", request.uri, list(h))
        try:
            await self.ua.layer.request(cancel, self.peer)
        except OSError as exc:
            log.warning("CANCEL failed: %s", exc)
