"""The dispatcher: one signed POST per queued delivery, every attempt recorded, retries on the
schedule through SQS visibility (a function never sleeps), the DLQ after the last attempt."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from voicelane.domain.errors import ValidationFailed
from voicelane.domain.webhooks import (
    DELIVERY_FAILED_EVENT,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    WebhookEndpoint,
    signature_header,
)
from voicelane.services.clock import iso, now_iso
from voicelane.services.url_guard import check_url
from voicelane.services.webhook_routing import failed_event
from voicelane.webhook_ports import (
    AppLookup,
    DeliveryQueue,
    QueuedDelivery,
    Resolver,
    WebhookRepository,
    WebhookSender,
)

log = logging.getLogger("voicelane.webhooks.dispatcher")
SAVE_CHUNK = 25  # items in one BatchWriteItem


@dataclass(frozen=True)
class DispatchConfig:
    schedule: tuple[int, ...]
    timeout_s: float
    concurrency: int


@dataclass
class Outcome:
    """What to do with the message: delete it (done) or leave it for `retry_in_s`."""

    delivery_id: str
    done: bool
    retry_in_s: int = 0
    status: str = ""


class WebhookDispatcher:
    def __init__(self, repo: WebhookRepository, queue: DeliveryQueue, sender: WebhookSender,
                 resolver: Resolver, apps: AppLookup, config: DispatchConfig,
                 clock: Callable[[], float] = time.time) -> None:
        self.repo = repo
        self.queue = queue
        self.sender = sender
        self.resolver = resolver
        self.apps = apps
        self.config = config
        self.clock = clock
        self.pool = ThreadPoolExecutor(max_workers=config.concurrency,
                                       thread_name_prefix="webhook-post")

    def dispatch(self, messages: list[QueuedDelivery]) -> dict[str, Outcome]:
        """Attempt every message's delivery (concurrently); outcomes by message id.

        A first receive of a message that carries its delivery uses it as is (the router sent
        it right after creating the record: nothing attempted yet); any other receive reads
        the record, so a redelivered message finds what earlier attempts recorded."""
        to_read = [m.delivery_id for m in messages if m.fresh is None]
        stored = self.repo.get_deliveries(to_read) if to_read else {}
        deliveries = {m.message_id: m.fresh or stored.get(m.delivery_id) for m in messages}
        known = [d for d in deliveries.values() if d is not None]
        endpoints = self.repo.get_endpoints(list({(d.app_id, d.endpoint_id) for d in known}))
        private = {}
        for app_id in {d.app_id for d in known}:
            app = self.apps.get_app(app_id)
            private[app_id] = bool(app and app.allow_private_webhooks)
        futures = {
            self.pool.submit(self._one, m, deliveries[m.message_id], endpoints, private):
                m.message_id
            for m in messages
        }
        outcomes: dict[str, Outcome] = {}
        changed: dict[str, Delivery] = {}
        # Records are written a BatchWriteItem's worth at a time as POSTs finish, so the writes
        # overlap the batch's slower POSTs instead of all waiting for the slowest one.
        for fut in as_completed(futures):
            message_id = futures[fut]
            try:
                outcome, updated = fut.result()
            except Exception:
                log.exception("delivery of message %s failed unexpectedly", message_id)
                outcome, updated = Outcome("", done=False, retry_in_s=5, status="error"), None
            outcomes[message_id] = outcome
            if updated is not None:
                changed[updated.delivery_id] = updated  # one write per record per request
                if len(changed) == SAVE_CHUNK:
                    self.repo.save_deliveries(list(changed.values()))
                    changed = {}
        if changed:
            self.repo.save_deliveries(list(changed.values()))
        deferrals = [(m.receipt_handle, outcomes[m.message_id].retry_in_s) for m in messages
                     if not outcomes[m.message_id].done]
        if deferrals:
            self.queue.defer(deferrals)
        return outcomes

    def _one(self, message: QueuedDelivery, d: Delivery | None,
             endpoints: dict[tuple[str, str], WebhookEndpoint], private: dict[str, bool]
             ) -> tuple[Outcome, Delivery | None]:
        if d is None:
            log.warning("message %s names no delivery %s", message.message_id, message.delivery_id)
            return Outcome(message.delivery_id, done=True, status="unknown"), None
        if d.status in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
            return Outcome(d.delivery_id, done=True, status="duplicate"), None  # a replayed message
        endpoint = endpoints.get((d.app_id, d.endpoint_id))
        if endpoint is None or not endpoint.enabled:
            reason = "endpoint_deleted" if endpoint is None else "endpoint_disabled"
            return self._fail(d, reason, dead_letter=False)
        now = self.clock()
        try:
            ip = check_url(d.url, self.resolver, allow_private=private.get(d.app_id, False),
                           require_https=False)
        except ValidationFailed as exc:
            attempt = DeliveryAttempt(attempt=len(d.attempts) + 1, at=now_iso(), latency_ms=0,
                                      error=f"webhook_url_not_allowed: {exc.details['reason']}")
            return self._fail(d.model_copy(update={"attempts": [*d.attempts, attempt]}),
                              "webhook_url_not_allowed")
        timestamp = int(now)
        headers = {
            "webhook-id": d.delivery_id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signature_header(endpoint.active_secrets(now), d.delivery_id,
                                                  timestamp, d.body),
        }
        result = self.sender.post(d.url, ip, d.body, headers, self.config.timeout_s)
        attempt = DeliveryAttempt(attempt=len(d.attempts) + 1, at=now_iso(),
                                  status_code=result.status_code, latency_ms=result.latency_ms,
                                  error=result.error)
        d = d.model_copy(update={"attempts": [*d.attempts, attempt]})
        code = result.status_code
        if code is not None and 200 <= code < 300:
            return Outcome(d.delivery_id, done=True, status="delivered"), d.model_copy(
                update={"status": DeliveryStatus.DELIVERED, "delivered_at": attempt.at,
                        "next_attempt_at": None})
        if code == 410:
            if d.endpoint_id != "call":
                self.repo.put_endpoint(endpoint.model_copy(update={
                    "enabled": False, "disabled_reason": "receiver answered 410 Gone",
                    "updated_at": now_iso()}))
            return self._fail(d, "endpoint_gone", dead_letter=False)
        made = len(d.attempts) - d.schedule_base
        if made >= len(self.config.schedule):
            return self._fail(d, "attempts_exhausted")
        delay = max(self.config.schedule[made], result.retry_after_s or 0)
        when = iso(datetime.now(UTC) + timedelta(seconds=delay))
        return Outcome(d.delivery_id, done=False, retry_in_s=delay, status="retrying"), d.model_copy(
            update={"status": DeliveryStatus.RETRYING, "next_attempt_at": when})

    def _fail(self, d: Delivery, reason: str, dead_letter: bool = True
              ) -> tuple[Outcome, Delivery]:
        """Give up: the record says failed, the DLQ keeps the message, the app gets an event."""
        if dead_letter:
            self.queue.dead_letter(d.delivery_id, reason)
        if d.event_type != DELIVERY_FAILED_EVENT:  # never a failure about a failure (no loops)
            self.repo.put_app_event(failed_event(d, reason))
        failed = d.model_copy(update={"status": DeliveryStatus.FAILED, "failed_at": now_iso(),
                                      "next_attempt_at": None})
        return Outcome(d.delivery_id, done=True, status=f"failed:{reason}"), failed
