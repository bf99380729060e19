"""The public WebSocket endpoint of a node: ``/v1/media/{connection_type}/{session_id}``.

One connection, in order: accept; refuse at once if the node is full or draining (else hold a
slot while the connection is admitted); read the
token (the ``token`` query parameter, or for Twilio, whose stream URL takes no query string,
the ``token`` custom parameter of its ``start`` message); verify it; claim the session's call
through the control plane (a conditional write: a token connects once); then hand the call
and its :class:`~.transport.WsTransport` to the node's calls. Nothing is played or read as
audio before the token is accepted; a refusal is a close with a code and a reason.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any, Protocol

from voicelane.domain.errors import Unauthenticated
from voicelane.domain.models import Call
from voicelane.domain.tokens import verify

from voicelane_media.transports.base import CallHost

from .frames import (
    Dialect,
    StreamConnected,
    StreamMedia,
    StreamProtocolError,
    StreamStart,
    StreamStop,
)
from .transport import CLOSE_POLICY, FATAL_CODES, StreamSocket, WsTransport

log = logging.getLogger(__name__)
STREAM_TYPES = ("twilio", "telnyx", "plivo", "websocket")
START_TIMEOUT_S = 10.0
MAX_PREAMBLE_MESSAGES = 20  # connected, start, and a few early media frames at most
# refusal close codes (4000-4999: the application's own)
CLOSE_TRY_LATER = 1013
CLOSE_BAD_REQUEST = 4400
CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_CONFLICT = 4409

DialectFactory = Callable[[str, int | None], Dialect]


class AcceptingSocket(StreamSocket, Protocol):
    """A WebSocket not accepted yet."""

    async def accept(self) -> None: ...


class SessionClaims(Protocol):
    """The control plane as the endpoint needs it (``node.control.ControlPlane``)."""

    async def claim_session(self, session_id: str, claims: dict[str, Any]) -> Call | None: ...


class Refused(Exception):
    """A connection turned away before its call: the close code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


class WsEndpoint:
    """Accepts media-stream connections for one node and hands their calls to ``host``."""

    def __init__(self, host: CallHost, sessions: SessionClaims, token_secret: str,
                 dialects: DialectFactory) -> None:
        self.host = host
        self.sessions = sessions
        self.token_secret = token_secret
        self.dialects = dialects
        self.refused: dict[str, int] = {}  # reason -> count

    async def serve(self, socket: AcceptingSocket, connection_type: str, session_id: str,
                    query_token: str | None) -> None:
        """Run one connection to its end (the call's end, or a refusal)."""
        await socket.accept()
        try:
            if connection_type not in STREAM_TYPES:
                raise Refused(CLOSE_NOT_FOUND, "unknown_connection_type")
            if not self.host.try_reserve():
                raise Refused(CLOSE_TRY_LATER, "node_unavailable")
            try:
                call, transport = await self._admit(socket, connection_type, session_id,
                                                    query_token)
            finally:
                self.host.unreserve()  # the call itself counts from here (accept adopts it)
        except Refused as exc:
            self.refused[exc.reason] = self.refused.get(exc.reason, 0) + 1
            log.info("stream for %s refused: %s", session_id, exc.reason)
            try:
                await socket.close(exc.code, exc.reason)
            except Exception:  # the peer is already gone
                log.debug("close after refusal failed", exc_info=True)
            return
        await self.host.accept(call, transport)

    async def _admit(self, socket: AcceptingSocket, connection_type: str, session_id: str,
                     query_token: str | None) -> tuple[Call, WsTransport]:
        claims = self._verify(query_token, session_id, connection_type) if query_token else None
        rate = claims.get("sr") if claims else None
        try:
            dialect = self.dialects(connection_type, rate if isinstance(rate, int) else None)
        except ValueError as exc:
            raise Refused(CLOSE_BAD_REQUEST, "wrong_codec") from exc
        start = None
        if not dialect.binary_media:  # the provider's start says the stream's id and codec
            start = await self._read_start(socket, dialect)
        if claims is None:
            token = start.custom_parameters.get("token") if start is not None else None
            if not token:
                raise Refused(CLOSE_UNAUTHENTICATED, "token_required")
            claims = self._verify(token, session_id, connection_type)
        call = await self.sessions.claim_session(session_id, claims)
        if call is None:
            raise Refused(CLOSE_CONFLICT, "session_not_available")
        return call, WsTransport(socket, dialect, start, session_id)

    def _verify(self, token: str, session_id: str, connection_type: str) -> dict[str, Any]:
        try:
            claims = verify(token, self.token_secret)
        except Unauthenticated as exc:
            raise Refused(CLOSE_UNAUTHENTICATED, exc.code) from exc
        if claims.get("sid") != session_id or claims.get("ct") != connection_type:
            raise Refused(CLOSE_FORBIDDEN, "token_not_for_this_session")
        return claims

    async def _read_start(self, socket: AcceptingSocket, dialect: Dialect) -> StreamStart:
        """Messages up to the provider's ``start`` (no audio is used before it)."""
        try:
            async with asyncio.timeout(START_TIMEOUT_S):
                for _ in range(MAX_PREAMBLE_MESSAGES):
                    message = await socket.receive()
                    if message.get("type") == "websocket.disconnect":
                        raise Refused(CLOSE_POLICY, "closed_before_start")
                    data = message.get("text")
                    frame = dialect.parse(data if data is not None else message.get("bytes") or b"")
                    if isinstance(frame, StreamStart):
                        return frame
                    if isinstance(frame, StreamStop):
                        raise Refused(1000, "stopped_before_start")
                    if not isinstance(frame, StreamConnected | StreamMedia) and frame is not None:
                        raise Refused(CLOSE_BAD_REQUEST, "start_expected")
        except TimeoutError as exc:
            raise Refused(CLOSE_BAD_REQUEST, "no_start") from exc
        except StreamProtocolError as exc:
            raise Refused(FATAL_CODES.get(exc.code, CLOSE_BAD_REQUEST), exc.code) from exc
        raise Refused(CLOSE_BAD_REQUEST, "no_start")
