"""The node's view of the control plane: every read and write goes through voicelane's
services (CallLifecycle for call changes, so each one is a conditional write with its event),
run in worker threads so the event loop never blocks on DynamoDB, SQS or S3."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from voicelane.container import Container
from voicelane.domain.call import CallStatus, Channel, Direction
from voicelane.domain.errors import Conflict, IllegalTransition, NotFound
from voicelane.domain.ids import new_id
from voicelane.domain.models import Agent, Call, MediaNode, Number, Trunk
from voicelane.ports import CallCreation
from voicelane.services.clock import now_iso
from voicelane.services.lifecycle import make_event

from .recordings import RecordingStore

log = logging.getLogger(__name__)
T = TypeVar("T")


class ControlPlane:
    """Async facade over the voicelane container for one media node."""

    def __init__(self, container: Container, node_id: str) -> None:
        self.container = container
        self.node_id = node_id
        self.recordings = RecordingStore(container.table, container.settings)
        self._queue_url: str | None = None

    async def _run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.to_thread(fn, *args, **kwargs)

    # -- calls ----------------------------------------------------------------------------

    async def get_call(self, call_id: str) -> Call | None:
        return await self._run(self.container.call_repo.get, call_id)

    async def claim(self, call_id: str) -> Call | None:
        """queued -> initiated with media_node = me; ``None`` if another node (or an earlier
        delivery) already took it, or it was canceled."""
        try:
            return await self._run(
                self.container.lifecycle.transition, call_id, CallStatus.INITIATED,
                {"media_node": self.node_id, "started_at": now_iso()},
                {"media_node": self.node_id},
            )
        except (IllegalTransition, Conflict, NotFound):
            return None

    async def transition(self, call_id: str, target: CallStatus,
                         changes: dict[str, Any] | None = None,
                         details: dict[str, Any] | None = None) -> Call | None:
        """A status change owned by this node; ``None`` when the call already moved on."""
        try:
            return await self._run(self.container.lifecycle.transition, call_id, target,
                                   changes or {}, details or {}, expect_node=self.node_id)
        except (IllegalTransition, Conflict, NotFound) as exc:
            log.info("call %s: %s not applied (%s)", call_id, target.value, exc)
            return None

    async def record_event(self, call_id: str, event_type: str,
                           details: dict[str, Any] | None = None) -> None:
        try:
            await self._run(self.container.lifecycle.record_event, call_id, event_type,
                            details or {})
        except (Conflict, NotFound) as exc:
            log.warning("call %s: event %s not recorded (%s)", call_id, event_type, exc)

    async def create_inbound(self, number: Number, caller: str,
                             sip_headers: dict[str, str]) -> Call:
        """The inbound call record (initiated, media_node = me) with its call.initiated event."""
        app = await self._run(self.container.apps.apps.get_app, number.app_id)
        now = now_iso()
        call = Call.model_validate({
            "call_id": new_id("call"), "app_id": number.app_id, "direction": Direction.INBOUND,
            "status": CallStatus.INITIATED, "from": caller, "to": number.number,
            "from_channel": Channel.PSTN, "to_channel": Channel.PSTN,
            "agent_id": number.agent_id, "created_at": now, "started_at": now,
            "media_node": self.node_id, "sip_headers": sip_headers or None,
        })
        event = make_event(call, "call.initiated", {"direction": "inbound"})
        call = call.model_copy(update={"event_seq": event.sequence})
        cap = getattr(app, "max_concurrent_calls", 10_000)
        await self._run(self.container.call_repo.create,
                        CallCreation(call=call, event=event, takes_slot=True, max_concurrent=cap))
        return call

    # -- directory ------------------------------------------------------------------------

    async def number(self, e164: str) -> Number | None:
        return await self._run(self.container.number_repo.get, e164)

    async def allows_private_urls(self, app_id: str) -> bool:
        """The app's `allow_private_webhooks` (also governs agents' HTTP tools)."""
        app = await self._run(self.container.apps.apps.get_app, app_id)
        return bool(app and app.allow_private_webhooks)

    async def agent(self, app_id: str, agent_id: str) -> Agent | None:
        return await self._run(self.container.agent_repo.get, app_id, agent_id)

    async def trunks(self, app_id: str) -> list[Trunk]:
        return await self._run(self.container.trunks.for_app, app_id)

    # -- call-requests queue --------------------------------------------------------------

    async def receive_requests(self, wait_s: int, max_messages: int) -> list[dict[str, Any]]:
        from voicelane import resources
        from voicelane.adapters import aws
        from voicelane.adapters.queues import queue_url

        settings = self.container.settings

        def receive() -> list[dict[str, Any]]:
            if self._queue_url is None:
                self._queue_url = queue_url(settings, resources.CALL_REQUESTS_QUEUE,
                                            settings.call_requests_queue_url)
            resp = aws.client("sqs", settings).receive_message(
                QueueUrl=self._queue_url, MaxNumberOfMessages=max(1, min(10, max_messages)),
                WaitTimeSeconds=wait_s)
            messages: list[dict[str, Any]] = resp.get("Messages", [])
            return messages

        return await self._run(receive)

    async def delete_request(self, receipt_handle: str) -> None:
        from voicelane.adapters import aws

        settings = self.container.settings
        await self._run(aws.client("sqs", settings).delete_message,
                        QueueUrl=self._queue_url, ReceiptHandle=receipt_handle)

    async def release_requests(self, messages: list[dict[str, Any]]) -> None:
        """Make received messages visible again at once (another node takes them)."""
        from voicelane.adapters import aws

        sqs = aws.client("sqs", self.container.settings)
        for message in messages:
            try:
                await self._run(sqs.change_message_visibility, QueueUrl=self._queue_url,
                                ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
            except Exception as exc:  # it reappears after the visibility timeout anyway
                log.warning("could not release a call request: %s", exc)

    @staticmethod
    def call_id_of(message: dict[str, Any]) -> str | None:
        try:
            body = json.loads(message.get("Body", ""))
        except json.JSONDecodeError:
            return None
        call_id = body.get("call_id") if isinstance(body, dict) else None
        return call_id if isinstance(call_id, str) else None

    # -- node registry --------------------------------------------------------------------

    async def register(self, internal_url: str, capacity: int, sip_address: str) -> MediaNode:
        return await self._run(self.container.nodes.register, self.node_id, internal_url,
                               capacity, sip_address)

    async def heartbeat(self, node: MediaNode, live_calls: int, status: str) -> MediaNode:
        return await self._run(self.container.nodes.heartbeat, node, live_calls, status)

    async def deregister(self) -> None:
        await self._run(self.container.nodes.deregister, self.node_id)

    # -- recordings -----------------------------------------------------------------------

    async def save_recording(self, call: Call, wav: bytes, duration_s: float) -> str:
        return await self._run(self.recordings.save, call, wav, duration_s)
