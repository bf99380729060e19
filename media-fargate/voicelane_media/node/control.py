"""The node's view of the control plane: a thin async facade over the ``MediaGateway`` port.

Every read and write goes through the gateway (call changes are conditional writes with their
event there), run in worker threads so the event loop never blocks on DynamoDB, SQS or S3.
Outcomes the node treats as normal (a call that moved on, a claim lost to another node) come
back as ``None`` here instead of exceptions.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from voicelane.domain.call import CallStatus
from voicelane.domain.call_control import AppAnswer
from voicelane.domain.clock import now_iso
from voicelane.domain.conference import Conference
from voicelane.domain.errors import Conflict, IllegalTransition, NotFound
from voicelane.domain.models import Agent, App, Call, CallEvent, MediaNode, Number, Trunk
from voicelane.media_gateway import CallRequest, ConferenceRoute, MediaGateway, TranscriptRecord
from voicelane.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class ControlPlane:
    """Async facade over the media gateway for one media node."""

    def __init__(self, gateway: MediaGateway, node_id: str) -> None:
        self.gateway = gateway
        self.node_id = node_id

    @property
    def settings(self) -> Settings:
        """The control plane's settings (local mode, the internal token)."""
        return self.gateway.settings

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    # -- calls ----------------------------------------------------------------------------

    async def get_call(self, call_id: str) -> Call | None:
        return await self._run(self.gateway.get_call, call_id)

    async def claim(self, call_id: str) -> Call | None:
        """queued -> initiated with media_node = me; ``None`` if another node (or an earlier
        delivery) already took it, or it was canceled."""
        return await self._run(self.gateway.claim, call_id, self.node_id)

    async def claim_session(self, session_id: str, claims: dict[str, Any]) -> Call | None:
        """Connect a media-stream session here (its token's verified ``claims``): its call,
        initiated on this node; ``None`` when the token was used, or is another session's."""
        return await self._run(self.gateway.claim_session, session_id, claims, self.node_id)

    async def transition(self, call_id: str, target: CallStatus,
                         changes: dict[str, Any] | None = None,
                         details: dict[str, Any] | None = None) -> Call | None:
        """A status change owned by this node; ``None`` when the call already moved on."""
        try:
            return await self._run(self.gateway.transition, call_id, target, changes or {},
                                   details or {}, self.node_id)
        except (IllegalTransition, Conflict, NotFound) as exc:
            log.info("call %s: %s not applied (%s)", call_id, target.value, exc)
            return None

    async def record_event(self, call_id: str, event_type: str,
                           details: dict[str, Any] | None = None) -> CallEvent | None:
        try:
            return await self._run(self.gateway.record_event, call_id, event_type, details or {})
        except (Conflict, NotFound) as exc:
            log.warning("call %s: event %s not recorded (%s)", call_id, event_type, exc)
            return None

    async def record_bridge(self, call_id: str, bridged_call_id: str | None, event_type: str,
                            details: dict[str, Any]) -> CallEvent | None:
        """``bridged_call_id`` set (None: cleared) with its event, in one write."""
        try:
            return await self._run(self.gateway.record_bridge, call_id, bridged_call_id,
                                   event_type, details)
        except (Conflict, NotFound) as exc:
            log.warning("call %s: %s not recorded (%s)", call_id, event_type, exc)
            return None

    async def record_pre_answer(self, call_id: str,
                                details: dict[str, Any]) -> CallEvent | None:
        """``pre_answered_at`` set with ``call.early_media.started``, in one write."""
        try:
            return await self._run(self.gateway.record_pre_answer, call_id, details)
        except (Conflict, NotFound) as exc:
            log.warning("call %s: call.early_media.started not recorded (%s)", call_id, exc)
            return None

    async def ask_app(self, call_id: str, sequence: int,
                      fallback_url: str | None) -> AppAnswer:
        """The gateway's ``ask_app`` under a hard deadline (the answer timeout + 0.5 s): an
        answer that comes later is dropped with its worker thread's result, never applied."""
        deadline = self.settings.webhook_answer_timeout_s + 0.5
        try:
            return await asyncio.wait_for(
                self._run(self.gateway.ask_app, call_id, sequence, fallback_url), deadline)
        except TimeoutError:
            return AppAnswer("failed", reason="webhook_timeout",
                             details={"error": f"no answer within {deadline:.1f} s"})
        except Exception as exc:  # the control plane failing must not leave the caller in silence
            log.warning("call %s: asking the app failed: %s", call_id, exc)
            return AppAnswer("failed", reason="answer_error", details={"error": str(exc)[:200]})

    async def create_inbound(self, number: Number, caller: str,
                             sip_headers: dict[str, str]) -> Call:
        """The inbound call record (initiated, media_node = me) with its call.initiated event.
        LimitExceeded when the app is at its cap; NotFound when its app is gone."""
        return await self._run(self.gateway.create_inbound, number, caller, sip_headers,
                               self.node_id)

    async def create_leg(self, parent: Call, to: str, from_: str, purpose: str,
                         agent_id: str | None = None) -> Call:
        """An outbound leg for ``parent`` (initiated on this node, its call.initiated event);
        with ``agent_id``, that agent's conference seat. LimitExceeded when the app is at its
        cap; NotFound when the parent or app is gone."""
        return await self._run(self.gateway.create_leg, parent.call_id, to, from_,
                               self.node_id, purpose, agent_id)

    # -- conferences ----------------------------------------------------------------------

    async def open_conference(self, call_id: str) -> ConferenceRoute:
        """By the call's routing rule (raises the gateway's Conflict/NotSupported)."""
        return await self._run(self.gateway.open_conference, call_id, self.node_id)

    async def seat_bridge(self, user: str) -> tuple[Conference, Call]:
        """A bridge INVITE's user, checked (raises Unauthenticated/NotFound/Conflict)."""
        return await self._run(self.gateway.seat_bridge, user, self.node_id)

    async def conference_left_reason(self, conference_id: str, call_id: str) -> str | None:
        return await self._quiet(self.gateway.conference_left_reason, conference_id, call_id)

    async def join_conference(self, conference_id: str, call_id: str, *, moderator: bool,
                              muted: bool) -> Conference:
        """The call joins on this node (raises the gateway's Conflict/NotFound)."""
        return await self._run(self.gateway.join_conference, conference_id, call_id,
                               self.node_id, moderator=moderator, muted=muted)

    async def leave_conference(self, conference_id: str, call_id: str,
                               reason: str) -> Conference | None:
        return await self._quiet(self.gateway.leave_conference, conference_id, call_id, reason)

    async def set_conference_flag(self, conference_id: str, call_id: str, flag: str,
                                  value: bool) -> Conference | None:
        return await self._quiet(self.gateway.set_conference_flag, conference_id, call_id,
                                 flag, value)

    async def end_conference(self, conference_id: str, reason: str) -> Conference | None:
        return await self._quiet(self.gateway.end_conference, conference_id, reason)

    async def save_conference_recording(self, conference: Conference, wav: bytes,
                                        duration_s: float) -> None:
        await self._quiet(self.gateway.save_conference_recording, conference, wav, duration_s)

    async def save_conference_track(self, conference: Conference, call_id: str,
                                    agent_id: str | None, wav: bytes, duration_s: float,
                                    offset_s: float) -> None:
        await self._quiet(self.gateway.save_conference_track, conference, call_id, agent_id,
                          wav, duration_s, offset_s)

    async def _quiet(self, fn: Callable[..., T], *args: Any) -> T | None:
        """A conference write whose failure is logged, never raised into the room."""
        try:
            return await self._run(fn, *args)
        except Exception as exc:
            log.warning("conference write %s failed: %s", getattr(fn, "__name__", fn), exc)
            return None

    # -- directory ------------------------------------------------------------------------

    async def number(self, e164: str) -> Number | None:
        """The number, if it routes to an app that exists: a number left behind by a deleted
        app is refused like an unknown one (404, no call record)."""
        return await self._run(self._routable_number, e164)

    def _routable_number(self, e164: str) -> Number | None:
        number = self.gateway.number(e164)
        if number is not None and self.gateway.app(number.app_id) is None:
            log.warning("number %s belongs to app %s, which does not exist: refused", e164,
                        number.app_id)
            return None
        return number

    async def allows_private_urls(self, app_id: str) -> bool:
        """The app's `allow_private_webhooks` (also governs agents' HTTP tools)."""
        app = await self._run(self.gateway.app, app_id)
        return bool(app and app.allow_private_webhooks)

    async def app(self, app_id: str) -> App | None:
        return await self._run(self.gateway.app, app_id)

    async def agent(self, app_id: str, agent_id: str) -> Agent | None:
        return await self._run(self.gateway.agent, app_id, agent_id)

    async def trunks(self, app_id: str) -> list[Trunk]:
        return await self._run(self.gateway.trunks, app_id)

    # -- call-requests queue --------------------------------------------------------------
    # The node's callers hold received requests as dicts ({"ReceiptHandle", "call_id"});
    # `requests()` gives the typed values.

    async def requests(self, wait_s: int, max_messages: int) -> list[CallRequest]:
        """Long-poll ``call-requests`` for up to ``max_messages`` requests."""
        return await self._run(self.gateway.receive_requests, wait_s, max_messages)

    async def receive_requests(self, wait_s: int, max_messages: int) -> list[dict[str, Any]]:
        return [{"ReceiptHandle": r.receipt_handle, "call_id": r.call_id}
                for r in await self.requests(wait_s, max_messages)]

    async def delete_request(self, receipt_handle: str) -> None:
        await self._run(self.gateway.delete_request, receipt_handle)

    async def pace_dial(self, call_id: str) -> int:
        """Seconds before the call may be dialled (its app's calls-per-second cap); 0: now."""
        return await self._run(self.gateway.pace_dial, call_id)

    async def pace_leg(self, call_id: str, leg: str) -> int:
        """Seconds before a new leg of the live call may be dialled (a slot is held for it)."""
        return await self._run(self.gateway.pace_leg, call_id, leg)

    async def defer_request(self, call_id: str, receipt_handle: str, delay_s: int) -> None:
        """Queue the request again, visible after ``delay_s``; the received one is deleted."""
        await self._run(self.gateway.defer_request, call_id, receipt_handle, delay_s)

    async def release_requests(self, messages: list[dict[str, Any]]) -> None:
        """Make received messages visible again at once (another node takes them)."""
        for message in messages:
            try:
                await self._run(self.gateway.release_request, str(message["ReceiptHandle"]))
            except Exception as exc:  # it reappears after the visibility timeout anyway
                log.warning("could not release a call request: %s", exc)

    @staticmethod
    def call_id_of(message: dict[str, Any]) -> str | None:
        """The call a received request names (also accepts a raw SQS message's ``Body``)."""
        if "call_id" in message:
            call_id = message["call_id"]
            return call_id if isinstance(call_id, str) else None
        try:
            body = json.loads(message.get("Body", ""))
        except json.JSONDecodeError:
            return None
        call_id = body.get("call_id") if isinstance(body, dict) else None
        return call_id if isinstance(call_id, str) else None

    # -- node registry --------------------------------------------------------------------

    async def register(self, internal_url: str, capacity: int, sip_address: str) -> MediaNode:
        return await self._run(self.gateway.register_node, self.node_id, internal_url,
                               capacity, sip_address)

    async def heartbeat(self, node: MediaNode, live_calls: int, status: str) -> MediaNode:
        return await self._run(self.gateway.heartbeat, node, live_calls, status)

    async def deregister(self) -> None:
        await self._run(self.gateway.deregister_node, self.node_id)

    # -- artifacts ------------------------------------------------------------------------

    async def save_recording(self, call: Call, wav: bytes, duration_s: float) -> str:
        meta = await self._run(self.gateway.save_recording, call, wav, duration_s)
        return meta.s3_key

    async def save_transcript(self, call: Call, content: dict[str, Any], reason: str | None,
                              transferred_to: str | None) -> None:
        """Store the call's redacted transcript (what GET /v1/calls/{id}/transcript serves)."""
        record = TranscriptRecord(call_id=call.call_id, app_id=call.app_id,
                                  agent_id=call.agent_id, reason=reason,
                                  transferred_to=transferred_to, created_at=now_iso(),
                                  content=content)
        await self._run(self.gateway.save_transcript, record)

    async def read_object(self, key: str, max_bytes: int) -> bytes:
        """An audio object by recordings-bucket key or ``s3://bucket/key`` (ObjectUnreadable)."""
        return await self._run(self.gateway.read_object, key, max_bytes)
