"""The WHIP-style signalling endpoint of a node: ``/v1/media/webrtc/{session_id}``.

``POST`` with the SDP offer (``application/sdp``) and the session's token as Bearer, in order:
refuse at once if the node is full or draining (503); verify the token (401/403, before any
media); check the offer (400/413/422, ``offer.py``) and let aiortc parse it and answer
(gathering every candidate: no trickle); only then claim the session's call through the
control plane (a conditional write: a token connects once, 409 after), hand the call and its
:class:`~.transport.WebRtcTransport` to the node's calls, and answer 201 with the SDP answer
and a ``Location``. ``DELETE`` on that Location (it holds an unguessable resource id, which
is its authority: the token may have expired by then) ends the call as the caller's hangup.

A refusal never claims the call and never leaves a peer connection open.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from aiortc import RTCPeerConnection, RTCSessionDescription
from voicelane.domain.errors import Unauthenticated
from voicelane.domain.models import Call
from voicelane.domain.tokens import verify
from voicelane.domain.webrtc import IceServer, turn_credentials
from voicelane_media.transports.base import CallHost
from voicelane_media.transports.ws.endpoint import SessionClaims

from .ice import rtc_configuration
from .offer import check_offer
from .transport import WebRtcTransport

log = logging.getLogger(__name__)
CONNECTION_TYPE = "webrtc"


@dataclass(frozen=True)
class WhipReply:
    """What the HTTP handler answers: status, body, headers; an error has a code."""

    status: int
    body: str = ""
    code: str | None = None
    location: str | None = None
    etag: str | None = None


def refusal(status: int, code: str, message: str) -> WhipReply:
    return WhipReply(status, message, code=code)


async def negotiate(sdp: str, servers: Sequence[IceServer], label: str,
                    connect_timeout_s: float) -> WebRtcTransport | WhipReply:
    """A peer connection answering ``sdp`` (every candidate gathered: no trickle) and its
    transport, or the 422 refusal when aiortc cannot answer it (nothing left open)."""
    pc = RTCPeerConnection(rtc_configuration(servers))
    transport = WebRtcTransport(pc, label, connect_timeout_s)
    try:
        await pc.setRemoteDescription(RTCSessionDescription(sdp=sdp, type="offer"))
        pc.addTrack(transport.outbound)
        await pc.setLocalDescription(await pc.createAnswer())
    except Exception as exc:  # aiortc refused what our checks let through
        await pc.close()
        log.info("webrtc offer for %s not answerable: %r", label, exc)
        return refusal(422, "offer_not_answerable", f"the offer cannot be answered: {exc}")
    return transport


@dataclass
class _Resource:
    resource_id: str
    transport: WebRtcTransport
    task: asyncio.Task[None]


class WhipEndpoint:
    """Answers webrtc offers for one node and hands their calls to ``host``."""

    def __init__(self, host: CallHost, sessions: SessionClaims, token_secret: str,
                 ice_servers: Sequence[IceServer], connect_timeout_s: float = 15.0,
                 turn_secret: str | None = None, turn_ttl_s: int = 3600,
                 node_id: str = "node") -> None:
        self.host = host
        self.turn_secret = turn_secret  # the node's own TURN credentials, as a browser's
        self.turn_ttl_s = turn_ttl_s
        self.node_id = node_id
        self.sessions = sessions
        self.token_secret = token_secret
        self.ice_servers = list(ice_servers)
        self.connect_timeout_s = connect_timeout_s
        self.refused: dict[str, int] = {}  # code -> count
        self.resources: dict[str, _Resource] = {}  # session_id -> its live call

    async def offer(self, session_id: str, authorization: str | None, content_type: str | None,
                    body: bytes) -> WhipReply:
        """One offer, answered or refused."""
        reply = await self._offer(session_id, authorization, content_type, body)
        if reply.code is not None:
            self.refused[reply.code] = self.refused.get(reply.code, 0) + 1
            log.info("webrtc offer for %s refused: %s", session_id, reply.code)
        return reply

    async def _offer(self, session_id: str, authorization: str | None,
                     content_type: str | None, body: bytes) -> WhipReply:
        token = (authorization or "").removeprefix("Bearer ").strip() \
            if (authorization or "").startswith("Bearer ") else ""
        if not token:
            return refusal(401, "token_required", "send the session token as a Bearer token")
        try:
            claims = verify(token, self.token_secret)
        except Unauthenticated as exc:
            return refusal(401, exc.code, "the session token is not valid")
        if claims.get("sid") != session_id or claims.get("ct") != CONNECTION_TYPE:
            return refusal(403, "token_not_for_this_session", "the token is another session's")
        if (content_type or "").split(";")[0].strip().lower() != "application/sdp":
            return refusal(415, "unsupported_media_type", "the offer is sent as application/sdp")
        text, problem = check_offer(body)
        if problem is not None:
            return refusal(problem.status, problem.code, problem.message)
        if not self.host.try_reserve():
            return refusal(503, "node_unavailable", "this node takes no new calls now")
        try:
            return await self._answer(session_id, claims, text)
        finally:
            self.host.unreserve()  # the call itself counts from here (accept adopts it)

    async def _answer(self, session_id: str, claims: dict[str, Any], sdp: str) -> WhipReply:
        servers = turn_credentials(self.ice_servers, self.turn_secret, self.node_id,
                                   self.turn_ttl_s, time.time())
        negotiated = await negotiate(sdp, servers, session_id, self.connect_timeout_s)
        if isinstance(negotiated, WhipReply):
            return negotiated
        transport = negotiated
        call: Call | None = await self.sessions.claim_session(session_id, claims)
        if call is None:
            await transport.pc.close()
            return refusal(409, "session_not_available",
                            "the session was connected already, expired or ended")
        resource_id = secrets.token_urlsafe(18)
        task = asyncio.ensure_future(self._run(session_id, call, transport))
        self.resources[session_id] = _Resource(resource_id, transport, task)
        return WhipReply(201, transport.pc.localDescription.sdp, location=resource_id,
                         etag=resource_id)

    async def _run(self, session_id: str, call: Call, transport: WebRtcTransport) -> None:
        try:
            await self.host.accept(call, transport)
        finally:
            self.resources.pop(session_id, None)

    def delete(self, session_id: str, resource_id: str) -> WhipReply:
        """The browser hangs up (``DELETE`` on its Location)."""
        resource = self.resources.get(session_id)
        if resource is None or not hmac.compare_digest(resource.resource_id.encode(),
                                                       resource_id.encode()):
            return refusal(404, "session_not_found", "no live webrtc call at this location")
        resource.transport.remote_delete()
        return WhipReply(200)

    async def close(self) -> None:
        """Node shutdown: the calls are ended by the call manager; wait for their tasks."""
        tasks = [r.task for r in self.resources.values()]
        await asyncio.gather(*tasks, return_exceptions=True)
