"""Sessions: a browser or websocket media leg, its call record and a signed connect token.

A websocket session's ``connect_url`` is the stream endpoint on a media node's public
listener; a webrtc session's is the WHIP-style signalling endpoint on the same listener (POST
the SDP offer with the token as Bearer), and its answer carries the ICE servers to use.

A session's token connects once: the media node that accepts the stream verifies the token,
then :func:`claim_session` moves the session pending -> connected and the call queued ->
initiated, both conditional writes. A session nobody connects to within the token's lifetime
is ended by :meth:`SessionService.expire_due` (the node-sweeper function in AWS, a runner job
locally): pending -> expired, and the call queued -> failed with ``session_expired``, which
frees the app's concurrent-call slot."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from voicelane.contracts.sessions import (
    ClientTokenView,
    ConnectionType,
    CreateClientTokenRequest,
    CreateSessionRequest,
    SessionView,
)
from voicelane.domain.call import CallStatus, Channel, Direction
from voicelane.domain.call_factory import new_call
from voicelane.domain.destinations import check_destination
from voicelane.domain.errors import (
    Conflict,
    IllegalTransition,
    NotFound,
    ValidationFailed,
)
from voicelane.domain.ids import new_id
from voicelane.domain.models import App, Call
from voicelane.domain.phone import require_e164
from voicelane.domain.tokens import sign
from voicelane.domain.webrtc import (
    IceServer,
    client_register_url,
    signalling_url,
    turn_credentials,
)
from voicelane.ports import (
    AgentRepository,
    CallCreation,
    CallRepository,
    NumberRepository,
    SessionRecord,
    SessionStore,
)
from voicelane.services.agent_rules import check_agent
from voicelane.services.clock import iso
from voicelane.services.lifecycle import CallLifecycle, make_event
from voicelane.services.stream_instructions import connect_instructions
from voicelane.services.url_guard import check_url
from voicelane.settings import Settings
from voicelane.webhook_ports import Resolver

log = logging.getLogger(__name__)
CLIENT_TOKEN = "client"  # the connection type claim of a browser identity's registration


def claims_match(record: SessionRecord, claims: dict[str, Any]) -> bool:
    """The token was minted for this session (its call, app and connection type)."""
    return (claims.get("sid") == record.session_id and claims.get("call_id") == record.call_id
            and claims.get("app_id") == record.app_id
            and claims.get("ct") == record.connection_type)


def claim_session(sessions: SessionStore, lifecycle: CallLifecycle, session_id: str,
                  claims: dict[str, Any], node_id: str) -> Call | None:
    """Connect a session on ``node_id`` with a verified token's ``claims``: its call, now
    initiated on that node; None when the token is not this session's, or the session was
    already connected (a reused token), expired, or its call ended meanwhile."""
    record = sessions.get(session_id)
    if record is None or not claims_match(record, claims):
        return None
    if not sessions.mark_connected(session_id, node_id):
        return None
    try:
        return lifecycle.transition(
            record.call_id, CallStatus.INITIATED,
            {"media_node": node_id, "started_at": iso(datetime.now(UTC))},
            {"media_node": node_id, "session_id": session_id,
             "connection_type": record.connection_type})
    except (IllegalTransition, Conflict, NotFound):
        return None  # canceled through the API before the stream connected


class SessionService:
    def __init__(self, calls: CallRepository, agents: AgentRepository, settings: Settings,
                 sessions: SessionStore, numbers: NumberRepository | None = None,
                 resolver: Resolver | None = None) -> None:
        self.calls = calls
        self.resolver = resolver  # None: no SSRF guard (unit tests only)
        self.agents = agents
        self.numbers = numbers
        self.settings = settings
        self.sessions = sessions
        self.lifecycle = CallLifecycle(calls)

    def create(self, app: App, req: CreateSessionRequest) -> SessionView:
        if req.agent_id and req.agent:
            raise ValidationFailed("give agent_id or agent, not both", code="agent_conflict")
        if req.agent_id and self.agents.get(app.app_id, req.agent_id) is None:
            raise ValidationFailed("agent_id is not an agent of this app", code="agent_not_found")
        if req.agent is not None:
            check_agent(app, req.agent, self.resolver)
        if req.webhook_url and self.resolver is not None:
            # the SSRF guard at registration, as on calls (the dispatcher checks again)
            check_url(str(req.webhook_url), self.resolver,
                      allow_private=app.allow_private_webhooks, require_https=False)
        if req.to is not None or req.from_ is not None:
            self._check_phone_call(app, req)
        now = datetime.now(UTC)
        session_id = new_id("sess")
        webrtc = req.connection_type == ConnectionType.WEBRTC
        channel = Channel.WEBRTC if webrtc else Channel.WEBSOCKET
        call = new_call(
            app,
            # a browser calling a phone places an outbound call; any other session is a
            # browser or stream calling in
            direction=Direction.OUTBOUND if req.to else Direction.INBOUND,
            status=CallStatus.QUEUED,
            from_=req.identity,
            to=req.to or f"session:{session_id}",
            from_channel=channel,
            to_channel=Channel.PSTN if req.to else channel,
            caller_id=req.from_,
            created_at=iso(now),
            agent_id=req.agent_id,
            agent=req.agent,
            context=req.context,
            max_duration_s=req.max_duration_s or 600,
            recording=bool(req.recording),
            webhook_url=req.webhook_url,
            metadata=req.metadata,
            client_state=req.client_state,
            session_id=session_id,
        )
        event = make_event(call, "call.queued")
        call = call.model_copy(update={"event_seq": event.sequence})
        ttl_s = self.settings.session_token_ttl_s
        expires = now + timedelta(seconds=ttl_s)
        record = SessionRecord(
            session_id=session_id,
            call_id=call.call_id,
            app_id=app.app_id,
            connection_type=req.connection_type.value,
            sample_rate=req.sample_rate,
            created_at=iso(now),
            expires_at_iso=iso(expires),
        )
        self.calls.create(
            CallCreation(call=call, event=event, takes_slot=True,
                         max_concurrent=app.max_concurrent_calls, session=record)
        )
        token = sign(
            {"sid": session_id, "call_id": call.call_id, "app_id": app.app_id,
             "ct": req.connection_type.value, "sr": req.sample_rate},
            self.settings.session_token_secret,
            ttl_s,
        )
        return self._view(record, call.status.value, token, req.identity)

    def _check_phone_call(self, app: App, req: CreateSessionRequest) -> None:
        """A browser's call to a phone: webrtc only, no agent, the app's own number as the
        caller, and a destination the app's allow-list (or its number's country) allows."""
        if req.connection_type != ConnectionType.WEBRTC:
            raise ValidationFailed("to and from apply to webrtc sessions only",
                                   code="to_needs_webrtc")
        if req.to is None or req.from_ is None:
            raise ValidationFailed("a browser's call to a phone needs both to and from",
                                   code="to_and_from_required")
        if req.agent or req.agent_id:
            raise ValidationFailed("a session calls a phone or runs an agent, not both",
                                   code="to_agent_conflict")
        require_e164(req.to, "to")
        require_e164(req.from_, "from")
        owned = self.numbers.get(req.from_) if self.numbers is not None else None
        if owned is None or owned.app_id != app.app_id:
            raise ValidationFailed("from is not a number of this app",
                                   code="from_number_not_owned", details={"from": req.from_})
        check_destination(req.to, app.destination_allow_list, req.from_)

    def expire_due(self, now: datetime | None = None) -> list[str]:
        """End the calls of sessions nobody connected to in time (``session_expired``)."""
        ended: list[str] = []
        for record in self.sessions.pending_expired(iso(now or datetime.now(UTC))):
            if not self.sessions.mark_expired(record.session_id):
                continue  # a node connected it at the last moment
            try:
                self.lifecycle.transition(
                    record.call_id, CallStatus.FAILED,
                    {"end_reason": "session_expired", "ended_at": iso(datetime.now(UTC)),
                     "duration_s": 0.0},
                    {"end_reason": "session_expired", "session_id": record.session_id})
            except (IllegalTransition, Conflict, NotFound) as exc:
                log.info("session %s: call not expired (%s)", record.session_id, exc)
                continue
            ended.append(record.call_id)
        return ended

    def get(self, app: App, session_id: str) -> SessionView:
        record = self.sessions.get(session_id)
        if record is None or record.app_id != app.app_id:
            raise NotFound("session not found", code="session_not_found")
        call = self.calls.get(record.call_id)
        return self._view(record, call.status.value if call else "unknown", None,
                          call.from_ if call else "web-user")

    def client_token(self, app: App, req: CreateClientTokenRequest) -> ClientTokenView:
        """A browser identity's registration token (``ct: client``): the softphone holding
        it rings for calls to the app's numbers routed to ``identity``."""
        ttl_s = req.ttl_s or self.settings.client_token_ttl_s
        now = datetime.now(UTC)
        token = sign({"ct": CLIENT_TOKEN, "app_id": app.app_id, "identity": req.identity},
                     self.settings.session_token_secret, ttl_s)
        return ClientTokenView(
            identity=req.identity, token=token,
            register_url=client_register_url(self.settings.media_connect_url),
            ice_servers=self.ice_servers(req.identity),
            expires_at=iso(now + timedelta(seconds=ttl_s)))

    def ice_servers(self, identity: str) -> list[IceServer]:
        """The STUN/TURN servers a browser gets, TURN ones with fresh credentials when a
        ``turn_secret`` is set."""
        return turn_credentials(list(self.settings.webrtc_ice_servers),
                                self.settings.turn_secret, identity, self.settings.turn_ttl_s,
                                time.time())

    def _view(self, record: SessionRecord, status: str, token: str | None,
              identity: str) -> SessionView:
        connection_type = ConnectionType(record.connection_type)
        if connection_type == ConnectionType.WEBRTC:
            return SessionView(
                id=record.session_id, call_id=record.call_id, connection_type=connection_type,
                sample_rate=None,
                connect_url=signalling_url(self.settings.media_connect_url, record.session_id),
                token=token, ice_servers=self.ice_servers(identity),
                expires_at=record.expires_at_iso, created_at=record.created_at, status=status)
        base = self.settings.media_connect_url.rstrip("/")
        url = f"{base}/{record.connection_type}/{record.session_id}"
        return SessionView(
            id=record.session_id,
            call_id=record.call_id,
            connection_type=connection_type,
            sample_rate=record.sample_rate,
            connect_url=url,
            token=token,
            instructions=connect_instructions(connection_type, url, token) if token else None,
            expires_at=record.expires_at_iso,
            created_at=record.created_at,
            status=status,
        )
