"""Calls: create (validated, idempotent, capped), read, list, cancel, dispatch when due."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from voicelane.contracts.calls import CreateCallRequest
from voicelane.domain.agent import AgentSpec
from voicelane.domain.call import ACTIVE, CallStatus, Channel, Direction, is_terminal
from voicelane.domain.call_factory import new_call
from voicelane.domain.destinations import check_destination
from voicelane.domain.errors import (
    Conflict,
    IdempotencyConflict,
    NotSupported,
    Unavailable,
    ValidationFailed,
)
from voicelane.domain.ids import IDENTIFIER_PATTERN
from voicelane.domain.machine_detection import check_machine_detection
from voicelane.domain.models import App, Call, CallEvent
from voicelane.domain.phone import require_e164
from voicelane.ports import (
    AgentRepository,
    CallCreation,
    CallFilter,
    CallQueue,
    CallRepository,
    IdempotencyRecord,
    MediaControl,
    NumberRepository,
    Page,
    Scheduler,
)
from voicelane.services.agent_rules import check_agent
from voicelane.services.clock import iso, now_iso
from voicelane.services.lifecycle import CallLifecycle, make_event
from voicelane.services.pacing import CallPacer
from voicelane.services.streams import check_stream
from voicelane.services.url_guard import check_url
from voicelane.webhook_ports import Resolver


def request_hash(body: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


class CallService:
    def __init__(
        self,
        calls: CallRepository,
        numbers: NumberRepository,
        agents: AgentRepository,
        queue: CallQueue,
        scheduler: Scheduler,
        media: MediaControl,
        resolver: Resolver | None = None,
        pacer: CallPacer | None = None,
    ) -> None:
        self.calls = calls
        self.pacer = pacer
        self.resolver = resolver
        self.numbers = numbers
        self.agents = agents
        self.queue = queue
        self.scheduler = scheduler
        self.media = media
        self.lifecycle = CallLifecycle(calls)

    # -- create --------------------------------------------------------------------------

    def create(
        self, app: App, req: CreateCallRequest, idempotency_key: str | None = None,
        *, queued_by_event: bool = False,
    ) -> tuple[Call, bool]:
        """Create a call; returns (call, created). A replay returns the first call, created=False.

        Over the app's calls-per-second cap an API create answers 429 ``cps_limit_exceeded``
        before anything is written; a call created from an event (``queued_by_event``: the
        create-call function) is not refused: the media node paces it (services/pacing.py)."""
        body_hash = request_hash(req.model_dump(mode="json", by_alias=True))
        if idempotency_key is not None:
            if not 1 <= len(idempotency_key) <= 255:
                raise ValidationFailed(
                    "Idempotency-Key must be 1-255 characters", code="invalid_idempotency_key"
                )
            replay = self._replay(app, idempotency_key, body_hash)
            if replay is not None:
                return replay, False
        call = self._new_call(app, req)
        if self.pacer is not None and self._dials(call) and not queued_by_event:
            self.pacer.take_now(app)  # 429 cps_limit_exceeded, nothing written
        event = make_event(call, "call.scheduled" if call.status == CallStatus.SCHEDULED else "call.queued")
        call = call.model_copy(update={"event_seq": event.sequence})
        idem = (
            IdempotencyRecord(idempotency_key, body_hash, call.call_id) if idempotency_key else None
        )
        try:
            self.calls.create(
                CallCreation(
                    call=call,
                    event=event,
                    takes_slot=call.status in ACTIVE,
                    max_concurrent=app.max_concurrent_calls,
                    idempotency=idem,
                )
            )
        except IdempotencyConflict:
            assert idempotency_key is not None
            replay = self._replay(app, idempotency_key, body_hash)
            if replay is None:
                raise
            return replay, False
        self._hand_off(call)
        return call, True

    def _replay(self, app: App, key: str, body_hash: str) -> Call | None:
        rec = self.calls.get_idempotency(app.app_id, key)
        if rec is None:
            return None
        if rec.request_hash != body_hash:
            raise IdempotencyConflict(
                "this Idempotency-Key was used with a different request body",
                details={"idempotency_key": key},
            )
        return self.lifecycle.load(rec.result_id, app.app_id)

    def _new_call(self, app: App, req: CreateCallRequest) -> Call:
        for side, channel in (("from_channel", req.from_channel), ("to_channel", req.to_channel)):
            if channel == Channel.AGENT:  # made by adding an agent to a conference only
                raise ValidationFailed(
                    "the agent channel is a conference seat: POST "
                    "/v1/conferences/{id}/participants with agent_id",
                    code="channel_not_supported", details={"field": side})
            if channel == Channel.WHATSAPP:
                raise NotSupported(
                    "the whatsapp channel is not supported yet",
                    code="channel_not_supported",
                    details={"field": side},
                )
        if req.from_channel == Channel.PSTN:
            require_e164(req.from_, "from")
            owned = self.numbers.get(req.from_)
            if owned is None or owned.app_id != app.app_id:
                raise ValidationFailed(
                    "from is not a number of this app",
                    code="from_number_not_owned",
                    details={"from": req.from_},
                )
        else:
            _require_identifier(req.from_, "from")
        if req.to_channel == Channel.PSTN:
            require_e164(req.to, "to")
            # The default is the from-number's country; a call without a number of its own
            # (a browser leg) needs an explicit allow-list to reach a phone.
            own = req.from_ if req.from_channel == Channel.PSTN else None
            check_destination(req.to, app.destination_allow_list, own)
        else:
            _require_identifier(req.to, "to")
        if req.agent_id and req.agent:
            raise ValidationFailed(
                "give agent_id or agent, not both", code="agent_conflict"
            )
        self._check_connect(app, req)
        if req.webhook_commands and not req.webhook_url:
            raise ValidationFailed("webhook_commands needs a webhook_url",
                                   code="webhook_commands_without_url")
        if req.webhook_url and self.resolver is not None:
            # The SSRF guard at registration (422 webhook_url_not_allowed); the dispatcher
            # checks again before every attempt (DNS can change).
            check_url(str(req.webhook_url), self.resolver,
                      allow_private=app.allow_private_webhooks, require_https=False)
        if req.stream is not None:
            check_stream(app, req.stream, self.resolver,
                         has_agent=bool(req.agent_id or req.agent))
        agent: AgentSpec | None = req.agent
        if agent is not None:
            check_agent(app, agent, self.resolver)
        if req.agent_id:
            agent = self.agents.get(app.app_id, req.agent_id)
        if req.agent_id and agent is None:
            raise ValidationFailed(
                "agent_id is not an agent of this app",
                code="agent_not_found",
                details={"agent_id": req.agent_id},
            )
        to_phone = req.to_channel == Channel.PSTN
        check_machine_detection(req.machine_detection, to_phone=to_phone,
                                has_agent=agent is not None)
        # The agent's default applies to its calls to phones only (a browser has no machine).
        detection = req.machine_detection or (agent.machine_detection if agent and to_phone
                                              else None)
        check_machine_detection(detection)  # an inline agent's default is checked here
        now = datetime.now(UTC)
        scheduled_at: str | None = None
        status = CallStatus.QUEUED
        if req.scheduled_at is not None:
            when = req.scheduled_at if req.scheduled_at.tzinfo else req.scheduled_at.replace(tzinfo=UTC)
            if when <= now:
                raise ValidationFailed(
                    "scheduled_at must be in the future", code="scheduled_at_in_past"
                )
            scheduled_at = iso(when)
            status = CallStatus.SCHEDULED
        max_duration = req.max_duration_s or (agent.max_duration_s if agent else 600)
        recording = req.recording if req.recording is not None else bool(agent and agent.recording)
        return new_call(
            app,
            direction=Direction.OUTBOUND,
            status=status,
            from_=req.from_,
            to=req.to,
            from_channel=req.from_channel,
            to_channel=req.to_channel,
            created_at=iso(now),
            agent_id=req.agent_id,
            agent=req.agent,
            context=req.context,
            max_duration_s=max_duration,
            recording=recording,
            webhook_url=req.webhook_url,
            webhook_commands=req.webhook_commands,
            stream=req.stream,
            machine_detection=detection if detection is not None and detection.enabled else None,
            metadata=req.metadata,
            client_state=req.client_state,
            sip_headers=req.sip_headers or None,
            scheduled_at=scheduled_at,
            connect_to=req.connect_to,
            connect_prompt=req.connect_prompt,
        )

    @staticmethod
    def _check_connect(app: App, req: CreateCallRequest) -> None:
        """Click-to-call: the second party passes the allow-list like `to`; nothing else may
        run on the call's audio (422 connect_to_conflict), a prompt needs a second party."""
        if req.connect_to is None:
            if req.connect_prompt is not None:
                raise ValidationFailed("connect_prompt needs connect_to",
                                       code="connect_prompt_without_connect_to")
            return
        taken = [name for name, used in (("agent", req.agent or req.agent_id),
                                         ("stream", req.stream),
                                         ("webhook_commands", req.webhook_commands)) if used]
        if taken:
            raise ValidationFailed(f"connect_to bridges the call; it cannot also have {taken[0]}",
                                   code="connect_to_conflict", details={"field": taken[0]})
        if req.from_channel != Channel.PSTN:
            raise ValidationFailed("click-to-call shows an app number: from must be on pstn",
                                   code="connect_to_conflict", details={"field": "from_channel"})
        check_destination(req.connect_to, app.destination_allow_list, req.from_)

    @staticmethod
    def _dials(call: Call) -> bool:
        """A call queued now for a media node to dial (what the CPS cap counts)."""
        return call.status == CallStatus.QUEUED and Channel.PSTN in (call.to_channel,
                                                                     call.from_channel)

    def _hand_off(self, call: Call) -> None:
        """Queue a call to dial, or schedule it. If the hand-off fails the call fails visibly.
        (The media node paces dialling to the app's calls-per-second cap.)"""
        try:
            if call.status == CallStatus.SCHEDULED:
                assert call.scheduled_at is not None
                self.scheduler.schedule(call.call_id, call.app_id, call.scheduled_at)
            elif self._dials(call):
                self.queue.send(call.call_id)
        except Exception as exc:
            self.lifecycle.transition(
                call.call_id, CallStatus.FAILED, {"end_reason": "enqueue_failed", "ended_at": now_iso()}
            )
            raise Unavailable("the call could not be queued; retry later", code="queue_unavailable") from exc

    # -- read ----------------------------------------------------------------------------

    def get(self, app: App, call_id: str) -> Call:
        return self.lifecycle.load(call_id, app.app_id)

    def list_calls(
        self, app: App, filt: CallFilter, limit: int, offset: int, cursor: str | None
    ) -> Page:
        page = self.calls.list_calls(app.app_id, filt, limit + offset, cursor)
        items = page.items[offset:]
        return Page(items=items, next_cursor=page.next_cursor)

    def events(self, app: App, call_id: str) -> list[CallEvent]:
        self.lifecycle.load(call_id, app.app_id)
        return self.calls.list_events(call_id)

    # -- change --------------------------------------------------------------------------

    def hangup(self, app: App, call_id: str) -> Call:
        """Cancel a queued or scheduled call at once; ask the media node to end a live one."""
        call = self.lifecycle.load(call_id, app.app_id)
        if is_terminal(call.status):
            raise Conflict(
                f"the call has already ended ({call.status.value})",
                code="call_already_ended",
                details={"status": call.status.value},
            )
        if call.status in (CallStatus.QUEUED, CallStatus.SCHEDULED):
            try:
                updated = self.lifecycle.transition(
                    call_id,
                    CallStatus.CANCELED,
                    {"end_reason": "canceled_by_api", "ended_at": now_iso()},
                )
            except Conflict:
                updated = None
            if updated is not None:
                if call.status == CallStatus.SCHEDULED:
                    self.scheduler.delete(call_id)
                return updated
            call = self.lifecycle.load(call_id, app.app_id)  # claimed meanwhile: now live
        self.media.command(call, "hangup", {"command_id": f"hangup-{call_id}"})
        return self.lifecycle.load(call_id, app.app_id)

    def dispatch_scheduled(self, call_id: str, app_id: str | None = None) -> DispatchOutcome:
        """A scheduled call is due: queue it (idempotent: a second run changes nothing).

        With ``app_id`` (the schedule's own), a call of another app is treated as not found."""
        call = self.calls.get(call_id)
        if call is None or (app_id is not None and call.app_id != app_id):
            return DispatchOutcome(call_id, found=False, dispatched=False, status=None)
        if call.status != CallStatus.SCHEDULED:
            return DispatchOutcome(call_id, found=True, dispatched=False, status=call.status)
        try:
            queued = self.lifecycle.transition(call_id, CallStatus.QUEUED)
        except Conflict:  # dispatched or canceled meanwhile: report what it is now
            latest = self.calls.get(call_id)
            return DispatchOutcome(call_id, found=True, dispatched=False,
                                   status=latest.status if latest else None)
        self._hand_off(queued)  # never refused for the CPS cap: the node paces it
        return DispatchOutcome(call_id, found=True, dispatched=True, status=queued.status)


@dataclass(frozen=True)
class DispatchOutcome:
    """What dispatching a due scheduled call did."""

    call_id: str
    found: bool
    dispatched: bool
    status: CallStatus | None


def _require_identifier(value: str, field: str) -> None:
    import re

    if not re.fullmatch(IDENTIFIER_PATTERN, value):
        raise ValidationFailed(
            f"{field} must be an identifier of 1-128 letters, digits or _.:@+-",
            code="invalid_identifier",
            details={"field": field},
        )
