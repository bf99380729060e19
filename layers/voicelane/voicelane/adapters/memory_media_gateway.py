"""An in-memory media gateway: media-plane services unit-tested without moto.

:class:`InMemoryMediaGateway` is the same :class:`ServiceMediaGateway` the AWS wiring builds
(so claims, transitions and events go through the same CallLifecycle and domain state
machine), over dictionaries that keep DynamoDB's conditions: a call is created once, within
its app's concurrent-call cap; a transition or event applies only to the call as it was read
(status and ``event_seq``), so a claim succeeds once and event sequences stay gap-free. The
``call-requests`` queue keeps SQS's visibility rules, and :meth:`MemoryRequestQueue.redeliver`
plays an expired visibility timeout.

The moto-backed tests stay the integration proof of the AWS adapters.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from typing import Any

from voicelane.adapters.media_gateway import ServiceMediaGateway
from voicelane.domain.call import ACTIVE, LIVE, CallStatus
from voicelane.domain.errors import Conflict, LimitExceeded, NotFound, StaleWrite
from voicelane.domain.models import Agent, App, Call, CallEvent, MediaNode, Number, Trunk
from voicelane.media_gateway import ObjectUnreadable, RecordingMetadata, TranscriptRecord
from voicelane.ports import CallCreation, CallFilter, IdempotencyRecord, Page, SessionRecord
from voicelane.services.lifecycle import CallLifecycle, make_event
from voicelane.services.nodes import NodeService
from voicelane.services.trunks import TrunkService
from voicelane.settings import Settings


class MemoryDirectory:
    """Apps (with their live-call counter), numbers, agents and trunks."""

    def __init__(self) -> None:
        self.apps: dict[str, App] = {}
        self.numbers: dict[str, Number] = {}
        self.agents: dict[tuple[str, str], Agent] = {}
        self.trunk_items: dict[tuple[str, str], Trunk] = {}

    def get_app(self, app_id: str) -> App | None:
        return self.apps.get(app_id)

    def get_number(self, number: str) -> Number | None:
        return self.numbers.get(number)

    def get_agent(self, app_id: str, agent_id: str) -> Agent | None:
        return self.agents.get((app_id, agent_id))

    # TrunkRepository
    def put(self, trunk: Trunk) -> None:
        self.trunk_items[(trunk.app_id, trunk.trunk_id)] = trunk

    def get(self, app_id: str, trunk_id: str) -> Trunk | None:
        return self.trunk_items.get((app_id, trunk_id))

    def list(self, app_id: str) -> list[Trunk]:
        return [t for (a, _), t in self.trunk_items.items() if a == app_id]

    def delete(self, app_id: str, trunk_id: str) -> None:
        self.trunk_items.pop((app_id, trunk_id), None)


class _Numbers:
    def __init__(self, directory: MemoryDirectory) -> None:
        self.directory = directory
        self.turns: dict[tuple[str, str], int] = {}
        self.lock = threading.Lock()

    def get(self, number: str) -> Number | None:
        return self.directory.get_number(number)

    def next_turn(self, number: str, rule: str) -> int:
        with self.lock:
            turn = self.turns.get((number, rule), 0)
            self.turns[(number, rule)] = turn + 1
            return turn


class _Agents:
    def __init__(self, directory: MemoryDirectory) -> None:
        self.directory = directory

    def get(self, app_id: str, agent_id: str) -> Agent | None:
        return self.directory.get_agent(app_id, agent_id)


class MemoryCalls:
    """CallRepository with the conditions of the DynamoDB adapter (one lock = one table)."""

    def __init__(self, directory: MemoryDirectory) -> None:
        self.directory = directory
        self.calls: dict[str, Call] = {}
        self.events: dict[str, list[CallEvent]] = {}
        self.sessions: dict[str, SessionRecord] = {}
        self.idempotency: dict[tuple[str, str], IdempotencyRecord] = {}
        self._lock = threading.Lock()

    def create(self, creation: CallCreation) -> None:
        call = creation.call
        with self._lock:
            if call.call_id in self.calls:
                raise Conflict("the call could not be created", details={"reasons": ["exists"]})
            if creation.takes_slot:
                app = self.directory.apps.get(call.app_id)
                if app is None:
                    raise NotFound("the call's app does not exist", code="app_not_found")
                if app.active_calls >= creation.max_concurrent:
                    raise LimitExceeded("the app is at its concurrent-call cap",
                                        code="concurrency_limit_exceeded",
                                        details={"max_concurrent_calls": creation.max_concurrent})
                self._count(call.app_id, 1)
            if creation.idempotency is not None:
                rec = creation.idempotency
                self.idempotency[(call.app_id, rec.key)] = rec
            if creation.session is not None:
                self.sessions[creation.session.session_id] = creation.session
            self.calls[call.call_id] = call
            self.events[call.call_id] = [creation.event]

    def get(self, call_id: str) -> Call | None:
        return self.calls.get(call_id)

    def transition(self, call: Call, target: CallStatus, changes: dict[str, Any],
                   event: CallEvent, extra_condition: dict[str, Any] | None = None) -> None:
        with self._lock:
            stored = self._as_read(call, event)
            for field, value in (extra_condition or {}).items():
                if getattr(stored, field, None) != value:
                    raise StaleWrite("the call changed concurrently")
            self.calls[call.call_id] = stored.model_copy(
                update={**changes, "status": target, "event_seq": event.sequence})
            was_active, now_active = call.status in ACTIVE, target in ACTIVE
            if was_active != now_active and call.app_id in self.directory.apps:
                self._count(call.app_id, 1 if now_active else -1)
            self.events[call.call_id].append(event)

    def append_event(self, call: Call, event: CallEvent,
                     changes: dict[str, Any] | None = None) -> None:
        with self._lock:
            stored = self._as_read(call, event)
            self.calls[call.call_id] = stored.model_copy(
                update={**(changes or {}), "event_seq": event.sequence})
            self.events[call.call_id].append(event)

    def _as_read(self, call: Call, event: CallEvent) -> Call:
        """The stored call if it is still as `call` was read, else StaleWrite."""
        stored = self.calls.get(call.call_id)
        if (stored is None or stored.status != call.status
                or stored.event_seq != call.event_seq or event.sequence != call.event_seq + 1):
            raise StaleWrite("the call changed concurrently")
        return stored

    def _count(self, app_id: str, delta: int) -> None:
        app = self.directory.apps[app_id]
        self.directory.apps[app_id] = app.model_copy(
            update={"active_calls": app.active_calls + delta})

    def list_events(self, call_id: str) -> list[CallEvent]:
        return list(self.events.get(call_id, []))

    def list_calls(self, app_id: str, filt: CallFilter, limit: int, cursor: str | None) -> Page:
        calls = sorted((c for c in self.calls.values() if c.app_id == app_id
                        and (filt.status is None or c.status == filt.status)),
                       key=lambda c: c.call_id, reverse=True)
        return Page(items=calls[:limit])

    def get_idempotency(self, app_id: str, key: str) -> IdempotencyRecord | None:
        return self.idempotency.get((app_id, key))


class MemorySessions:
    """SessionStore over the calls' session records (same lock: one table)."""

    def __init__(self, calls: MemoryCalls) -> None:
        self.calls = calls

    def get(self, session_id: str) -> SessionRecord | None:
        return self.calls.sessions.get(session_id)

    def _leave_pending(self, session_id: str, state: str, node_id: str | None) -> bool:
        with self.calls._lock:
            record = self.calls.sessions.get(session_id)
            if record is None or record.state != "pending":
                return False
            self.calls.sessions[session_id] = dataclasses.replace(record, state=state,
                                                                   node_id=node_id)
            return True

    def mark_connected(self, session_id: str, node_id: str) -> bool:
        return self._leave_pending(session_id, "connected", node_id)

    def mark_expired(self, session_id: str) -> bool:
        return self._leave_pending(session_id, "expired", None)

    def pending_expired(self, now_iso: str) -> list[SessionRecord]:
        return [r for r in list(self.calls.sessions.values())
                if r.state == "pending" and r.expires_at_iso < now_iso]


class MemoryNodes:
    """NodeRepository; a node's live calls are read from the calls."""

    def __init__(self, calls: MemoryCalls) -> None:
        self.calls = calls
        self.nodes: dict[str, MediaNode] = {}

    def put(self, node: MediaNode) -> None:
        self.nodes[node.node_id] = node

    def get(self, node_id: str) -> MediaNode | None:
        return self.nodes.get(node_id)

    def all_nodes(self) -> list[MediaNode]:
        return list(self.nodes.values())

    def delete(self, node_id: str) -> None:
        self.nodes.pop(node_id, None)

    def live_calls(self, node_id: str) -> list[Call]:
        return [c for c in self.calls.calls.values()
                if c.media_node == node_id and c.status in LIVE]


class MemoryArtifacts:
    """Artifact records and audio objects (keys of the recordings bucket or s3:// URLs)."""

    def __init__(self) -> None:
        self.transcripts: dict[str, TranscriptRecord] = {}
        self.recordings: dict[str, RecordingMetadata] = {}
        self.objects: dict[str, bytes] = {}

    def put_transcript(self, record: TranscriptRecord) -> None:
        self.transcripts[record.call_id] = record

    def put_recording(self, meta: RecordingMetadata) -> None:
        self.recordings[meta.call_id] = meta

    def put_wav(self, key: str, wav: bytes) -> None:
        self.objects[key] = wav

    def read(self, key: str, max_bytes: int) -> bytes:
        body = self.objects.get(key)
        if body is None:
            raise ObjectUnreadable(f"cannot read {key}: no such object")
        if len(body) > max_bytes:
            raise ObjectUnreadable(f"{key} is larger than {max_bytes} bytes",
                                   code="object_too_large")
        return body


class MemoryRequestQueue:
    """``call-requests`` with SQS's visibility: a received message is hidden until deleted,
    released, or :meth:`redeliver`-ed (its visibility timeout expired)."""

    def __init__(self) -> None:
        self.visible: list[tuple[str | None, str]] = []
        self.in_flight: dict[str, str | None] = {}
        self.deleted: list[str] = []
        self.deferred: list[tuple[str, int]] = []
        self._handles = itertools.count(1)
        self._ready = threading.Condition()

    def send(self, call_id: str | None) -> None:
        """Enqueue a request (None: a message whose body names no call)."""
        with self._ready:
            self.visible.append((call_id, f"rh-{next(self._handles)}"))
            self._ready.notify_all()

    def receive(self, wait_s: int, max_messages: int) -> list[tuple[str | None, str]]:
        deadline = time.monotonic() + wait_s
        with self._ready:
            while not self.visible and (left := deadline - time.monotonic()) > 0:
                self._ready.wait(left)
            taken, self.visible = self.visible[:max(1, max_messages)], self.visible[max(1, max_messages):]
            for call_id, handle in taken:
                self.in_flight[handle] = call_id
            return taken

    def delete(self, receipt_handle: str) -> None:
        with self._ready:
            self.in_flight.pop(receipt_handle, None)
            self.deleted.append(receipt_handle)

    def release(self, receipt_handle: str) -> None:
        with self._ready:
            if receipt_handle in self.in_flight:
                self.visible.append((self.in_flight.pop(receipt_handle), receipt_handle))
                self._ready.notify_all()

    def defer(self, call_id: str, receipt_handle: str, delay_s: int) -> None:
        """Sent again (visible at once here; ``deferred`` records the delay asked for)."""
        self.deferred.append((call_id, delay_s))
        self.delete(receipt_handle)
        self.send(call_id)

    def redeliver(self) -> None:
        """Every received, undeleted message becomes visible again, with a new handle."""
        with self._ready:
            for call_id in self.in_flight.values():
                self.visible.append((call_id, f"rh-{next(self._handles)}"))
            self.in_flight.clear()
            self._ready.notify_all()


class InMemoryMediaGateway(ServiceMediaGateway):
    """The media gateway on dictionaries; seed it with :meth:`add_app`, :meth:`add_number`,
    :meth:`queue_call` and look at ``calls``, ``artifacts``, ``queue`` afterwards."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.directory = MemoryDirectory()
        self.call_store = MemoryCalls(self.directory)
        self.node_store = MemoryNodes(self.call_store)
        self.artifacts = MemoryArtifacts()
        self.queue = MemoryRequestQueue()
        self.session_store = MemorySessions(self.call_store)
        super().__init__(
            settings or Settings(local=True), calls=self.call_store, apps=self.directory,
            numbers=_Numbers(self.directory), agents=_Agents(self.directory),
            trunks=TrunkService(self.directory), nodes=NodeService(self.node_store, CallLifecycle(self.call_store)),
            records=self.artifacts, objects=self.artifacts, requests=self.queue,
            sessions=self.session_store)

    def add_app(self, app: App) -> App:
        self.directory.apps[app.app_id] = app
        return app

    def add_number(self, number: Number) -> Number:
        self.directory.numbers[number.number] = number
        return number

    def add_agent(self, agent: Agent) -> Agent:
        self.directory.agents[(agent.app_id, agent.agent_id)] = agent
        return agent

    def add_trunk(self, trunk: Trunk) -> Trunk:
        self.directory.put(trunk)
        return trunk

    def queue_call(self, call: Call) -> Call:
        """Store ``call`` as queued (taking its app's slot) and send its call request."""
        queued = call.model_copy(update={"status": CallStatus.QUEUED, "event_seq": 0})
        event = make_event(queued, "call.queued")
        queued = queued.model_copy(update={"event_seq": event.sequence})
        app = self.directory.apps.get(call.app_id)
        self.call_store.create(CallCreation(call=queued, event=event, takes_slot=True,
                                            max_concurrent=app.max_concurrent_calls if app else 0))
        self.queue.send(queued.call_id)
        return queued

    def events(self, call_id: str) -> list[CallEvent]:
        return self.call_store.list_events(call_id)
