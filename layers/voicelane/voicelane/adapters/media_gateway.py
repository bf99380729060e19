"""The media gateway over the control plane's own repositories and services.

:class:`ServiceMediaGateway` implements the ``MediaGateway`` port by composing what the API
uses: CallLifecycle for transitions and events (each status change one conditional
TransactWriteItems with its event), the call repository for creation (the app's slot taken in
the same transaction), the directory repositories, the node registry, and three small stores
for what only the media plane writes (artifact records, audio objects, the call-requests
queue). `Container.media_gateway` wires it to DynamoDB, S3 and SQS; the in-memory gateway
(adapters/memory_media_gateway.py) wires the same class to dictionaries.

This module imports no boto3: the AWS pieces are imported where they are built.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from voicelane.domain.call import CallStatus, Channel
from voicelane.domain.call_control import AppAnswer
from voicelane.domain.call_factory import new_inbound_call, new_leg_call, require_app
from voicelane.domain.clock import now_iso
from voicelane.domain.conference import Conference, ConferenceTrack
from voicelane.domain.conference_bridge import bridge_uri, check_bridge_user
from voicelane.domain.errors import Conflict, IllegalTransition, NotFound, NotSupported
from voicelane.domain.models import Agent, App, Call, CallEvent, MediaNode, Number, Trunk
from voicelane.domain.routing import InboundFacts, RoutingMatch, RoutingRule, evaluate, match_of
from voicelane.media_gateway import (
    CallRequest,
    ConferenceRoute,
    RecordingMetadata,
    TranscriptRecord,
    wav_sample_rate,
)
from voicelane.ports import (
    CallCreation,
    CallRepository,
    SessionStore,
)
from voicelane.services.call_control import AnswerService
from voicelane.services.conferences import ConferenceService, check_joinable
from voicelane.services.lifecycle import CallLifecycle, make_event
from voicelane.services.nodes import NodeService
from voicelane.services.pacing import CallPacer, leg_pacing_id
from voicelane.services.sessions import claim_session
from voicelane.services.trunks import TrunkService
from voicelane.settings import Settings


class AppReader(Protocol):
    def get_app(self, app_id: str) -> App | None: ...


class NumberReader(Protocol):
    def get(self, number: str) -> Number | None: ...

    def next_turn(self, number: str, rule: str) -> int:
        """The number's round-robin counter for ``rule``, incremented atomically (0 first)."""
        ...


def utc_now() -> datetime:
    return datetime.now(UTC)


class AgentReader(Protocol):
    def get(self, app_id: str, agent_id: str) -> Agent | None: ...


class ArtifactRecords(Protocol):
    """Where transcript and recording records are written."""

    def put_transcript(self, record: TranscriptRecord) -> None: ...
    def put_recording(self, meta: RecordingMetadata) -> None: ...


class AudioObjects(Protocol):
    """The recordings bucket: recordings written, prompts and recordings read."""

    def put_wav(self, key: str, wav: bytes) -> None: ...
    def read(self, key: str, max_bytes: int) -> bytes: ...


class RequestQueue(Protocol):
    """The consumer side of ``call-requests``: (call id or None, receipt handle) pairs."""

    def receive(self, wait_s: int, max_messages: int) -> list[tuple[str | None, str]]: ...
    def delete(self, receipt_handle: str) -> None: ...
    def release(self, receipt_handle: str) -> None: ...
    def defer(self, call_id: str, receipt_handle: str, delay_s: int) -> None: ...


def recording_key(call: Call) -> str:
    """Where a call's recording object lives (one layout for every store)."""
    return f"recordings/{call.app_id}/{call.call_id}.wav"


class ServiceMediaGateway:
    """``MediaGateway`` on the control plane's repositories and services."""

    def __init__(self, settings: Settings, *, calls: CallRepository, apps: AppReader,
                 numbers: NumberReader, agents: AgentReader, trunks: TrunkService,
                 nodes: NodeService, records: ArtifactRecords, objects: AudioObjects,
                 requests: RequestQueue, sessions: SessionStore,
                 pacer: CallPacer | None = None,
                 answers: AnswerService | None = None,
                 clock: Callable[[], datetime] = utc_now,
                 conferences: ConferenceService | None = None) -> None:
        self._settings = settings
        self.clock = clock  # the moment routing rules are evaluated at (tests set it)
        self.calls = calls
        self.lifecycle = CallLifecycle(calls)
        self.apps = apps
        self.numbers = numbers
        self.agents = agents
        self.trunk_service = trunks
        self.nodes = nodes
        self.records = records
        self.objects = objects
        self.requests = requests
        self.sessions = sessions
        self.pacer = pacer  # None: dialling is not paced (unit tests)
        self.answers = answers  # None: no webhook answers with commands (unit tests)
        self._conferences = conferences  # None: no conferences (unit tests)

    @property
    def settings(self) -> Settings:
        return self._settings

    # -- calls --------------------------------------------------------------------------

    def get_call(self, call_id: str) -> Call | None:
        return self.calls.get(call_id)

    def claim(self, call_id: str, node_id: str) -> Call | None:
        try:
            return self.lifecycle.transition(
                call_id, CallStatus.INITIATED, {"media_node": node_id, "started_at": now_iso()},
                {"media_node": node_id})
        except (IllegalTransition, Conflict, NotFound):
            return None

    def claim_session(self, session_id: str, token_claims: dict[str, Any],
                      node_id: str) -> Call | None:
        return claim_session(self.sessions, self.lifecycle, session_id, token_claims, node_id)

    def transition(self, call_id: str, target: CallStatus, changes: dict[str, Any],
                   details: dict[str, Any], node_id: str | None = None) -> Call:
        return self.lifecycle.transition(call_id, target, changes, details, expect_node=node_id)

    def record_event(self, call_id: str, event_type: str,
                     details: dict[str, Any]) -> CallEvent:
        return self.lifecycle.record_event(call_id, event_type, details)

    def record_bridge(self, call_id: str, bridged_call_id: str | None, event_type: str,
                      details: dict[str, Any]) -> CallEvent:
        return self.lifecycle.record_event(call_id, event_type, details,
                                           {"bridged_call_id": bridged_call_id})

    def record_pre_answer(self, call_id: str, details: dict[str, Any]) -> CallEvent:
        return self.lifecycle.record_event(call_id, "call.early_media.started", details,
                                           {"pre_answered_at": now_iso()})

    def create_inbound(self, number: Number, caller: str, sip_headers: dict[str, str],
                       node_id: str) -> Call:
        app = require_app(self.apps.get_app(number.app_id), number.app_id)
        routed = self.route(number, caller, sip_headers)
        call = new_inbound_call(app, number, caller, node_id, sip_headers, routed)
        details: dict[str, Any] = {"direction": "inbound"}
        if call.routing_rule is not None:
            details["routing_rule"] = call.routing_rule.model_dump(mode="json",
                                                                   exclude_none=True)
        event = make_event(call, "call.initiated", details)
        call = call.model_copy(update={"event_seq": event.sequence})
        self.calls.create(CallCreation(call=call, event=event, takes_slot=True,
                                       max_concurrent=app.max_concurrent_calls))
        return call

    def route(self, number: Number, caller: str,
              sip_headers: dict[str, str]) -> tuple[RoutingMatch, RoutingRule] | None:
        """The number's first routing rule that matches this call now (``self.clock``)."""
        if not number.routing:
            return None
        found = evaluate(number.routing, InboundFacts(caller, dict(sip_headers)), self.clock())
        if found is None:
            return None
        index, rule = found
        turn = self.numbers.next_turn(number.number, rule.name) \
            if rule.action.type == "round_robin" else 0
        return match_of(index, rule, turn), rule

    def with_clock(self, clock: Callable[[], datetime]) -> ServiceMediaGateway:
        """This gateway, reading the time from ``clock`` (a node under test sets the hour)."""
        twin = copy.copy(self)
        twin.clock = clock
        return twin

    def create_leg(self, parent_call_id: str, to: str, from_: str, node_id: str,
                   purpose: str, agent_id: str | None = None) -> Call:
        parent = self.calls.get(parent_call_id)
        if parent is None:
            raise NotFound("no such call", code="call_not_found",
                           details={"call_id": parent_call_id})
        app = require_app(self.apps.get_app(parent.app_id), parent.app_id)
        channel = Channel.AGENT if agent_id else Channel.PSTN
        call = new_leg_call(app, parent, to, from_, node_id, purpose, channel, agent_id)
        event = make_event(call, "call.initiated", {
            "direction": "outbound", "parent_call_id": parent_call_id, "leg_purpose": purpose})
        call = call.model_copy(update={"event_seq": event.sequence})
        self.calls.create(CallCreation(call=call, event=event, takes_slot=True,
                                       max_concurrent=app.max_concurrent_calls))
        return call

    def ask_app(self, call_id: str, sequence: int, fallback_url: str | None = None) -> AppAnswer:
        if self.answers is None:
            return AppAnswer("no_target")
        call = self.calls.get(call_id)
        app = self.apps.get_app(call.app_id) if call else None
        event = next((e for e in reversed(self.calls.list_events(call_id))
                      if e.sequence == sequence), None) if call else None
        if call is None or app is None or event is None:
            raise NotFound("no such call event", code="call_not_found",
                           details={"call_id": call_id, "sequence": sequence})
        return self.answers.ask(app, call, event, fallback_url)

    # -- directory ----------------------------------------------------------------------

    def number(self, e164: str) -> Number | None:
        return self.numbers.get(e164)

    def app(self, app_id: str) -> App | None:
        return self.apps.get_app(app_id)

    def agent(self, app_id: str, agent_id: str) -> Agent | None:
        return self.agents.get(app_id, agent_id)

    def trunks(self, app_id: str) -> list[Trunk]:
        return self.trunk_service.for_app(app_id)

    # -- conferences --------------------------------------------------------------------

    @property
    def conferences(self) -> ConferenceService:
        if self._conferences is None:
            raise NotSupported("this gateway has no conferences", code="conferences_unavailable")
        return self._conferences

    def get_conference(self, conference_id: str) -> Conference | None:
        return self.conferences.repo.get(conference_id)

    def open_conference(self, call_id: str, node_id: str) -> ConferenceRoute:
        call = self.calls.get(call_id)
        rule = call.routing_rule if call is not None else None
        if call is None or rule is None or rule.conference is None:
            raise NotSupported("the call has no conference routing rule",
                               code="no_conference_rule")
        action = rule.conference
        conference, created = self.conferences.open_named(call.app_id, action.conference,
                                                          action)
        owner_id = conference.media_node
        if owner_id is None or owner_id == node_id:
            check_joinable(conference, node_id)
            return ConferenceRoute(conference, created)
        check_joinable(conference, owner_id)  # ended or full: refused here already
        owner = self.nodes.get(owner_id)
        if owner is None or not owner.sip_address:  # not registered (any more): no way there
            raise Conflict("the conference lives on a media node that cannot be reached",
                           code="conference_on_other_node",
                           details={"conference_node": owner_id})
        return ConferenceRoute(conference, created, bridge_uri(
            conference, call_id, owner, self._settings.internal_token))

    def seat_bridge(self, user: str, node_id: str) -> tuple[Conference, Call]:
        conference_id, call_id = check_bridge_user(user, self._settings.internal_token)
        conference = self.conferences.repo.get(conference_id)
        call = self.calls.get(call_id)
        if conference is None or call is None:
            raise NotFound("conference not found", code="conference_not_found")
        check_joinable(conference, node_id)
        return conference, call

    def conference_left_reason(self, conference_id: str, call_id: str) -> str | None:
        participant = self.conferences.repo.participant(conference_id, call_id)
        return participant.left_reason if participant is not None else None

    def join_conference(self, conference_id: str, call_id: str, node_id: str, *,
                        moderator: bool, muted: bool) -> Conference:
        call = self.calls.get(call_id)
        if call is None:
            raise NotFound("call not found", code="call_not_found")
        return self.conferences.join(conference_id, call, node_id, moderator=moderator,
                                     muted=muted)[0]

    def leave_conference(self, conference_id: str, call_id: str,
                         reason: str) -> Conference | None:
        return self.conferences.leave(conference_id, call_id, reason)

    def set_conference_flag(self, conference_id: str, call_id: str, flag: str,
                            value: bool) -> Conference | None:
        return self.conferences.set_flag(conference_id, call_id, flag, value)

    def end_conference(self, conference_id: str, reason: str) -> Conference:
        return self.conferences.end(conference_id, reason)

    def save_conference_recording(self, conference: Conference, wav: bytes,
                                  duration_s: float) -> RecordingMetadata:
        key = f"recordings/{conference.app_id}/{conference.conference_id}.wav"
        self.objects.put_wav(key, wav)
        meta = RecordingMetadata(call_id=conference.conference_id, app_id=conference.app_id,
                                 s3_key=key, duration_s=duration_s, size_bytes=len(wav),
                                 created_at=now_iso(), channels=1,
                                 sample_rate=wav_sample_rate(wav))
        self.conferences.recording_saved(conference.conference_id, meta)
        return meta

    def save_conference_track(self, conference: Conference, call_id: str,
                              agent_id: str | None, wav: bytes, duration_s: float,
                              offset_s: float) -> ConferenceTrack:
        key = f"recordings/{conference.app_id}/{conference.conference_id}/{call_id}.wav"
        self.objects.put_wav(key, wav)
        track = ConferenceTrack(conference_id=conference.conference_id, call_id=call_id,
                                agent_id=agent_id, s3_key=key, duration_s=duration_s,
                                offset_s=offset_s, size_bytes=len(wav),
                                sample_rate=wav_sample_rate(wav), created_at=now_iso())
        self.conferences.track_saved(track)
        return track

    # -- artifacts ----------------------------------------------------------------------

    def save_transcript(self, record: TranscriptRecord) -> None:
        self.records.put_transcript(record)

    def save_recording(self, call: Call, wav: bytes, duration_s: float) -> RecordingMetadata:
        key = recording_key(call)
        self.objects.put_wav(key, wav)
        meta = RecordingMetadata(call_id=call.call_id, app_id=call.app_id, s3_key=key,
                                 duration_s=duration_s, size_bytes=len(wav),
                                 created_at=now_iso(), sample_rate=wav_sample_rate(wav))
        self.records.put_recording(meta)
        return meta

    def read_object(self, key: str, max_bytes: int) -> bytes:
        return self.objects.read(key, max_bytes)

    # -- call-requests queue ------------------------------------------------------------

    def receive_requests(self, wait_s: int, max_messages: int) -> list[CallRequest]:
        return [CallRequest(call_id, handle)
                for call_id, handle in self.requests.receive(wait_s, max_messages)]

    def delete_request(self, receipt_handle: str) -> None:
        self.requests.delete(receipt_handle)

    def release_request(self, receipt_handle: str) -> None:
        self.requests.release(receipt_handle)

    def pace_dial(self, call_id: str) -> int:
        if self.pacer is None:
            return 0
        call = self.calls.get(call_id)
        app = self.apps.get_app(call.app_id) if call is not None else None
        # legs of a live call never come through the queue: they are paced by pace_leg
        if call is None or app is None or call.status != CallStatus.QUEUED:
            return 0  # nothing to pace: the claim drops it
        return self.pacer.admit(app, call_id)

    def pace_leg(self, call_id: str, leg: str) -> int:
        if self.pacer is None:
            return 0
        call = self.calls.get(call_id)
        app = self.apps.get_app(call.app_id) if call is not None else None
        if app is None:
            return 0
        return self.pacer.admit(app, leg_pacing_id(call_id, leg))

    def defer_request(self, call_id: str, receipt_handle: str, delay_s: int) -> None:
        self.requests.defer(call_id, receipt_handle, delay_s)

    # -- node registry ------------------------------------------------------------------

    def register_node(self, node_id: str, internal_url: str, capacity: int,
                      sip_address: str) -> MediaNode:
        return self.nodes.register(node_id, internal_url, capacity, sip_address)

    def heartbeat(self, node: MediaNode, live_calls: int, status: str) -> MediaNode:
        return self.nodes.heartbeat(node, live_calls, status)

    def deregister_node(self, node_id: str) -> None:
        self.nodes.deregister(node_id)
