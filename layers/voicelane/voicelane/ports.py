"""Ports: what services need from the outside world. Adapters implement them with boto3."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from voicelane.domain.call import CallStatus
from voicelane.domain.models import Agent, ApiKey, App, Call, CallEvent, Number


@dataclass
class CallFilter:
    agent_id: str | None = None
    status: CallStatus | None = None
    direction: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None = None


@dataclass
class IdempotencyRecord:
    key: str
    request_hash: str
    result_id: str


@dataclass(frozen=True)
class SessionRecord:
    """A browser or websocket session: which call it connects to, and until when."""

    session_id: str
    call_id: str
    app_id: str
    connection_type: str
    sample_rate: int | None
    created_at: str
    expires_at_iso: str
    state: str = "pending"  # pending -> connected (claimed by a node) | expired
    node_id: str | None = None


@dataclass
class CallCreation:
    """A new call with its first event, the app slot it takes, its idempotency record and,
    for a session's call, the session record (all written in one transaction)."""

    call: Call
    event: CallEvent
    takes_slot: bool
    max_concurrent: int
    idempotency: IdempotencyRecord | None = None
    session: SessionRecord | None = None


class SessionStore(Protocol):
    """Session records; their state changes are conditional writes (a token is used once)."""

    def get(self, session_id: str) -> SessionRecord | None: ...

    def mark_connected(self, session_id: str, node_id: str) -> bool:
        """pending -> connected on ``node_id``; False when it is not (or no longer) pending."""
        ...

    def mark_expired(self, session_id: str) -> bool:
        """pending -> expired; False when a node connected it (or it expired) meanwhile."""
        ...

    def pending_expired(self, now_iso: str) -> list[SessionRecord]:
        """Sessions still pending whose token lifetime ended before ``now_iso``."""
        ...


class CallRepository(Protocol):
    def create(self, creation: CallCreation) -> None: ...
    def get(self, call_id: str) -> Call | None: ...
    def transition(
        self,
        call: Call,
        target: CallStatus,
        changes: dict[str, Any],
        event: CallEvent,
        extra_condition: dict[str, Any] | None = None,
    ) -> None: ...
    def append_event(self, call: Call, event: CallEvent,
                     changes: dict[str, Any] | None = None) -> None: ...
    def list_events(self, call_id: str) -> list[CallEvent]: ...
    def list_calls(self, app_id: str, filt: CallFilter, limit: int, cursor: str | None) -> Page: ...
    def get_idempotency(self, app_id: str, key: str) -> IdempotencyRecord | None: ...


class AppRepository(Protocol):
    def put_app(self, app: App) -> None: ...
    def get_app(self, app_id: str) -> App | None: ...
    def update_app(self, app_id: str, changes: dict[str, Any]) -> App: ...
    def put_key(self, key: ApiKey) -> None: ...
    def get_key_by_hash(self, key_hash: str) -> ApiKey | None: ...
    def get_key(self, key_id: str) -> ApiKey | None: ...
    def revoke_key(self, key_id: str) -> None: ...
    def list_keys(self, app_id: str) -> list[ApiKey]: ...


class NumberRepository(Protocol):
    def put(self, number: Number) -> None: ...
    def get(self, number: str) -> Number | None: ...
    def list(self, app_id: str) -> list[Number]: ...
    def delete(self, app_id: str, number: str) -> None: ...


class AgentRepository(Protocol):
    def put(self, agent: Agent) -> None: ...
    def get(self, app_id: str, agent_id: str) -> Agent | None: ...
    def list(self, app_id: str) -> list[Agent]: ...
    def delete(self, app_id: str, agent_id: str) -> None: ...


class RateLimitStore(Protocol):
    def hit(self, bucket: str, window_start: int, ttl_s: int) -> int:
        """Count one request in the window and return the window's count."""
        ...


class CpsStore(Protocol):
    """Per-app call counters per kind (create, dial) and second (conditional writes, TTL),
    and the second reserved for a deferred call."""

    def take(self, app_id: str, kind: str, second: int, limit: int) -> bool:
        """Count one call in ``second`` unless it holds ``limit`` already; whether it did."""
        ...

    def counts(self, app_id: str, kind: str, first: int, last: int) -> dict[int, int]:
        """The counts of the seconds ``first..last`` that have any."""
        ...

    def hold(self, app_id: str, call_id: str, second: int) -> None:
        """Remember the (already taken) ``second`` reserved for ``call_id``."""
        ...

    def held(self, app_id: str, call_id: str) -> int | None:
        """The second reserved for ``call_id``, if any."""
        ...


class CallQueue(Protocol):
    def send(self, call_id: str, delay_s: int = 0) -> None: ...


class Scheduler(Protocol):
    def schedule(self, call_id: str, app_id: str, at_iso: str) -> None: ...
    def delete(self, call_id: str) -> None: ...


class MediaControl(Protocol):
    """Forwards a live command to the media node that owns the call."""

    def command(self, call: Call, action: str, body: dict[str, Any]) -> dict[str, Any]: ...


class ArtifactStore(Protocol):
    """Transcripts and recordings of calls."""

    def get_transcript(self, call_id: str) -> dict[str, Any] | None: ...
    def get_recording(self, call_id: str) -> dict[str, Any] | None: ...
    def download_url(self, s3_key: str, expires_s: int) -> str: ...
