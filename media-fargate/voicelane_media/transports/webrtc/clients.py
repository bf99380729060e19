"""Browser identities registered on a node, and the calls that ring them (phone to browser).

A softphone holds a registration by keeping a WebSocket open on ``/v1/media/clients?token=``
with a client token the customer's backend minted (``POST /v1/client_tokens``: claims
``ct: client``, the app and the identity). For an inbound call to a number routed to that
identity, every registration of it gets::

    {"type": "incoming", "call_id", "from", "to", "answer_url"}

and the browser answers by POSTing its SDP offer to ``answer_url`` with the same token as
Bearer (WHIP-style: 201 with the answer and a Location to DELETE to hang up), or sends
``{"type": "reject", "call_id"}``. The first answer wins (every registration gets ``answered``);
a caller who gives up is ``canceled``; the end of an answered call is ``ended``. A token that
is not valid closes the socket with 4401 before anything else; messages that are not JSON
objects of a known type are counted and ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from voicelane.domain.errors import Unauthenticated
from voicelane.domain.models import Call
from voicelane.domain.tokens import verify
from voicelane.domain.webrtc import IceServer, turn_credentials
from voicelane_media.transports.base import RingOutcome

from .endpoint import WhipReply, negotiate, refusal
from .offer import check_offer
from .transport import WebRtcTransport

log = logging.getLogger(__name__)
CLIENT_TOKEN = "client"
MAX_MESSAGE_BYTES = 4096


class Socket(Protocol):
    """The registration socket (Starlette's WebSocket)."""

    async def accept(self) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...

    async def send_text(self, data: str) -> None: ...

    async def receive_text(self) -> str: ...


@dataclass(eq=False)
class Registration:
    """One open registration socket of an identity."""

    app_id: str
    identity: str
    socket: Socket

    async def send(self, message: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):  # a socket closing under us
            await self.socket.send_text(json.dumps(message, separators=(",", ":")))


@dataclass(eq=False)
class _Ringing:
    call: Call
    identity: str
    offered: list[Registration]
    decided: asyncio.Future[str]  # "rejected" once every offered registration refused
    transport: WebRtcTransport | None = None
    resource_id: str = ""
    rejected: set[int] = field(default_factory=set)
    gone: asyncio.Event = field(default_factory=asyncio.Event)


class ClientRegistry:
    """The registrations of one node and the calls ringing them (a ``ClientRinger``)."""

    def __init__(self, token_secret: str, ice_servers: Sequence[IceServer],
                 answer_base: Callable[[], str],
                 connect_timeout_s: float = 15.0, turn_secret: str | None = None,
                 turn_ttl_s: int = 3600) -> None:
        self.token_secret = token_secret
        self.ice_servers = list(ice_servers)
        self.answer_base = answer_base  # http(s)://host:port/v1/media/clients
        self.connect_timeout_s = connect_timeout_s
        self.turn_secret = turn_secret
        self.turn_ttl_s = turn_ttl_s
        self.registrations: dict[tuple[str, str], list[Registration]] = {}
        self.calls: dict[str, _Ringing] = {}  # ringing or answered, by call id
        self.bad_messages = 0
        self._tasks: set[asyncio.Future[None]] = set()

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Future[None] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- the registration socket ----------------------------------------------------------

    def claims(self, token: str | None) -> dict[str, Any] | None:
        """A valid client token's claims, else None."""
        if not token:
            return None
        try:
            claims = verify(token, self.token_secret)
        except Unauthenticated:
            return None
        if claims.get("ct") != CLIENT_TOKEN or not claims.get("identity"):
            return None
        return claims

    async def serve(self, socket: Socket, token: str | None) -> None:
        """Hold one registration until the socket closes."""
        claims = self.claims(token)
        await socket.accept()
        if claims is None:
            await socket.close(4401, "a valid client token is required")
            return
        key = (str(claims["app_id"]), str(claims["identity"]))
        registration = Registration(key[0], key[1], socket)
        self.registrations.setdefault(key, []).append(registration)
        await registration.send({"type": "registered", "identity": key[1]})
        try:
            while True:
                text = await socket.receive_text()
                self._on_message(registration, text)
        except Exception:  # WebSocketDisconnect, or a socket gone bad: the registration ends
            pass
        finally:
            regs = self.registrations.get(key, [])
            if registration in regs:
                regs.remove(registration)
            if not regs:
                self.registrations.pop(key, None)

    def _on_message(self, registration: Registration, text: str) -> None:
        try:
            data = json.loads(text) if len(text) <= MAX_MESSAGE_BYTES else None
        except ValueError:
            data = None
        ringing = self.calls.get(str(data.get("call_id"))) if isinstance(data, dict) else None
        if (not isinstance(data, dict) or data.get("type") != "reject" or ringing is None
                or registration not in ringing.offered):
            self.bad_messages += 1
            return
        ringing.rejected.add(id(registration))
        if len(ringing.rejected) >= len(ringing.offered) and not ringing.decided.done():
            ringing.decided.set_result("rejected")

    # -- ringing (ClientRinger) -----------------------------------------------------------

    async def ring(self, call: Call, identity: str, timeout_s: float,
                   canceled: asyncio.Event) -> RingOutcome:
        offered = list(self.registrations.get((call.app_id, identity), []))
        if not offered:
            return RingOutcome("unregistered")
        ringing = _Ringing(call, identity, offered, asyncio.get_running_loop().create_future())
        self.calls[call.call_id] = ringing
        message = {"type": "incoming", "call_id": call.call_id, "from": call.from_,
                   "to": call.to, "answer_url": f"{self.answer_base().rstrip('/')}/calls/{call.call_id}"}
        for registration in offered:
            await registration.send(message)
        cancel: asyncio.Future[Any] = asyncio.ensure_future(canceled.wait())
        decided: asyncio.Future[Any] = ringing.decided
        try:
            await asyncio.wait({decided, cancel}, timeout=timeout_s,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            cancel.cancel()
        if ringing.decided.done() and ringing.decided.result() == "answered":
            return RingOutcome("answered", ringing.transport, ringing.gone)
        result = ("canceled" if canceled.is_set() else
                  ringing.decided.result() if ringing.decided.done() else "timeout")
        if not ringing.decided.done():
            ringing.decided.set_result(result)
        return RingOutcome(result)

    def ended(self, call_id: str, reason: str | None) -> None:
        ringing = self.calls.pop(call_id, None)
        if ringing is None:
            return
        kind = "ended" if ringing.transport is not None else "canceled"
        for registration in ringing.offered:
            self._spawn(registration.send({"type": kind, "call_id": call_id, "reason": reason}))

    # -- answering (the browser's offer) --------------------------------------------------

    async def answer(self, call_id: str, authorization: str | None, content_type: str | None,
                     body: bytes) -> WhipReply:
        """A registered browser answers a ringing call with its SDP offer."""
        header = authorization or ""
        claims = self.claims(header.removeprefix("Bearer ").strip()
                             if header.startswith("Bearer ") else None)
        if claims is None:
            return refusal(401, "invalid_token", "send a valid client token as a Bearer token")
        ringing = self.calls.get(call_id)
        if ringing is None or (claims.get("app_id"), claims.get("identity")) != (
                ringing.call.app_id, ringing.identity):
            return refusal(404, "call_not_ringing", "no call rings this identity here")
        if ringing.decided.done():
            return refusal(409, "call_not_available", "the call was answered, refused or ended")
        if (content_type or "").split(";")[0].strip().lower() != "application/sdp":
            return refusal(415, "unsupported_media_type", "the offer is sent as application/sdp")
        text, problem = check_offer(body)
        if problem is not None:
            return refusal(problem.status, problem.code, problem.message)
        servers = turn_credentials(self.ice_servers, self.turn_secret, ringing.identity,
                                   self.turn_ttl_s, time.time())
        negotiated = await negotiate(text, servers, call_id, self.connect_timeout_s)
        if isinstance(negotiated, WhipReply):
            return negotiated
        if ringing.decided.done():  # canceled or answered elsewhere while negotiating
            await negotiated.pc.close()
            return refusal(409, "call_not_available", "the call was answered, refused or ended")
        ringing.transport = negotiated
        ringing.resource_id = secrets.token_urlsafe(18)
        negotiated.on_gone = ringing.gone.set
        self._spawn(self._connect(ringing, negotiated))
        return WhipReply(201, negotiated.pc.localDescription.sdp, location=ringing.resource_id,
                         etag=ringing.resource_id)

    async def _connect(self, ringing: _Ringing, transport: WebRtcTransport) -> None:
        """The call is the browser's once ICE and DTLS are up; else it rings on."""
        ending = await transport.answer()
        if ringing.decided.done():  # the caller left meanwhile
            await transport.close()
            return
        if ending is not None:
            ringing.transport = None
            return
        ringing.decided.set_result("answered")
        for registration in ringing.offered:
            await registration.send({"type": "answered", "call_id": ringing.call.call_id})

    def delete(self, call_id: str, resource_id: str) -> WhipReply:
        """The browser hangs up (DELETE on its Location)."""
        ringing = self.calls.get(call_id)
        if ringing is None or ringing.transport is None or not hmac.compare_digest(
                ringing.resource_id.encode(), resource_id.encode()):
            return refusal(404, "session_not_found", "no live call at this location")
        ringing.transport.remote_delete()
        return WhipReply(200)
