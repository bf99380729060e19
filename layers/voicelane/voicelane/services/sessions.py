"""Sessions: a browser or websocket media leg, its call record and a signed connect token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from voicelane.contracts.sessions import ConnectionType, CreateSessionRequest, SessionView
from voicelane.domain.call import CallStatus, Channel, Direction
from voicelane.domain.call_factory import new_call
from voicelane.domain.errors import NotFound, ValidationFailed
from voicelane.domain.ids import new_id
from voicelane.domain.models import App
from voicelane.domain.tokens import sign
from voicelane.ports import (
    AgentRepository,
    CallCreation,
    CallRepository,
    SessionRecord,
    SessionStore,
)
from voicelane.services.clock import iso
from voicelane.services.lifecycle import make_event
from voicelane.settings import Settings

TOKEN_TTL_S = 300


class SessionService:
    def __init__(self, calls: CallRepository, agents: AgentRepository, settings: Settings,
                 sessions: SessionStore) -> None:
        self.calls = calls
        self.agents = agents
        self.settings = settings
        self.sessions = sessions

    def create(self, app: App, req: CreateSessionRequest) -> SessionView:
        if req.agent_id and req.agent:
            raise ValidationFailed("give agent_id or agent, not both", code="agent_conflict")
        if req.agent_id and self.agents.get(app.app_id, req.agent_id) is None:
            raise ValidationFailed("agent_id is not an agent of this app", code="agent_not_found")
        now = datetime.now(UTC)
        session_id = new_id("sess")
        channel = Channel.WEBRTC if req.connection_type == ConnectionType.WEBRTC else Channel.WEBSOCKET
        call = new_call(
            app,
            direction=Direction.INBOUND,
            status=CallStatus.QUEUED,
            from_=req.identity,
            to=f"session:{session_id}",
            from_channel=channel,
            to_channel=channel,
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
        expires = now + timedelta(seconds=TOKEN_TTL_S)
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
            TOKEN_TTL_S,
        )
        return self._view(record, call.status.value, token)

    def get(self, app: App, session_id: str) -> SessionView:
        record = self.sessions.get(session_id)
        if record is None or record.app_id != app.app_id:
            raise NotFound("session not found", code="session_not_found")
        call = self.calls.get(record.call_id)
        return self._view(record, call.status.value if call else "unknown", None)

    def _view(self, record: SessionRecord, status: str, token: str | None) -> SessionView:
        base = self.settings.media_connect_url.rstrip("/")
        return SessionView(
            id=record.session_id,
            call_id=record.call_id,
            connection_type=ConnectionType(record.connection_type),
            sample_rate=record.sample_rate,
            connect_url=f"{base}/{record.connection_type}/{record.session_id}",
            token=token,
            expires_at=record.expires_at_iso,
            created_at=record.created_at,
            status=status,
        )
