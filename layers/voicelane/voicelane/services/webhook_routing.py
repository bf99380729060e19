"""The event router: each new outbox event becomes one delivery per matching endpoint, one
EventBridge event and one push to live-stream subscribers. Every hop is idempotent so a
replayed stream record changes nothing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from voicelane.domain.call_control import asks_app, command_target
from voicelane.domain.webhooks import (
    CALL_ENDPOINT_ID,
    DELIVERY_FAILED_EVENT,
    Delivery,
    DeliveryStatus,
    WebhookEndpoint,
    delivery_id_for,
    event_matches,
)
from voicelane.services.clock import now_iso
from voicelane.services.webhooks import ensure_call_endpoint
from voicelane.webhook_ports import DeliveryQueue, EventPublisher, LiveStream, WebhookRepository

log = logging.getLogger("voicelane.webhooks.router")
ROUTED = "ROUTED"
EVENTBRIDGE = "EVENTBRIDGE"
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's TransactWriteItems limit


@dataclass
class RoutedEvent:
    """An outbox item as the router needs it: the webhook payload and where it came from."""

    app_id: str
    call_id: str | None
    payload: dict[str, Any]  # the JSON posted to endpoints (docs/webhooks.md)
    webhook_url: str | None = None
    exclude_endpoint: str | None = None  # a delivery.failed event never goes to its own endpoint

    @property
    def event_id(self) -> str:
        return str(self.payload["id"])


@dataclass
class RouteResult:
    failed: set[str] = field(default_factory=set)  # event ids to retry
    deliveries_enqueued: int = 0
    published: int = 0
    skipped: int = 0
    routed_types: list[str] = field(default_factory=list)  # of events routed the first time


def event_from_item(item: dict[str, Any]) -> RoutedEvent | None:
    """The routable event of a table item (a call, conference or app event), else None."""
    entity = item.get("entity")
    if entity == "event":
        data = dict(item.get("data") or {})
        data["payload"] = item.get("details") or {}
        payload = {
            "id": item["event_id"], "type": item["type"], "created_at": item["created_at"],
            "sequence": item["sequence"], "data": data, "client_state": data.get("client_state"),
        }
        return RoutedEvent(str(item["app_id"]), str(item["call_id"]), payload,
                           webhook_url=data.get("webhook_url") or None)
    if entity == "conference_event":  # the same shape as a call event's, conference in data
        data = dict(item.get("data") or {})
        details = item.get("details") or {}
        data["payload"] = details
        payload = {
            "id": item["event_id"], "type": item["type"], "created_at": item["created_at"],
            "sequence": item["sequence"], "data": data, "client_state": data.get("client_state"),
        }
        return RoutedEvent(str(item["app_id"]), details.get("call_id"), payload)
    if entity == "app_event":
        payload = {
            "id": item["event_id"], "type": item["type"], "created_at": item["created_at"],
            "sequence": None, "data": item.get("data") or {}, "client_state": None,
        }
        return RoutedEvent(str(item["app_id"]), item.get("call_id"), payload,
                           exclude_endpoint=item.get("endpoint_id"))
    return None


class EventRouter:
    def __init__(self, repo: WebhookRepository, queue: DeliveryQueue, bus: EventPublisher,
                 live: LiveStream | None = None) -> None:
        self.repo = repo
        self.queue = queue
        self.bus = bus
        self.live = live
        self._apps_with_call_secret: set[str] = set()

    def route(self, events: list[RoutedEvent]) -> RouteResult:
        """Route a batch; events that could not be fully routed are in `failed` (retry them)."""
        result = RouteResult()
        if not events:
            return result
        done = self.repo.markers_present([e.event_id for e in events], ROUTED)
        todo = [e for e in events if e.event_id not in done]
        result.skipped = len(events) - len(todo)
        endpoints: dict[str, list[WebhookEndpoint]] = {}
        plans: list[tuple[RoutedEvent, list[Delivery]]] = []
        for ev in todo:
            try:
                if ev.app_id not in endpoints:
                    endpoints[ev.app_id] = self.repo.list_endpoints(ev.app_id)
                plans.append((ev, self._deliveries(ev, endpoints[ev.app_id])))
            except Exception:
                log.exception("routing event %s failed", ev.event_id)
                result.failed.add(ev.event_id)
        claimed = self._create_all_new(plans)
        to_send: dict[str, str] = {}  # delivery id -> event id
        created: dict[str, Delivery] = {}  # sent with their message: no read on first attempt
        for ev, deliveries in plans:
            if ev.event_id in claimed:
                to_send.update((d.delivery_id, ev.event_id) for d in deliveries)
                created.update((d.delivery_id, d) for d in deliveries)
                continue
            try:
                for d in deliveries:
                    existing = self.repo.create_delivery(d)
                    if existing is None:
                        to_send[d.delivery_id] = ev.event_id
                        created[d.delivery_id] = d
                    # An existing, never-attempted delivery was created by a run that failed
                    # before its message was sent: send its id (the dispatcher reads the record
                    # and drops it if another message delivered it meanwhile).
                    elif existing.status == DeliveryStatus.PENDING and not existing.attempts:
                        to_send[d.delivery_id] = ev.event_id
            except Exception:
                log.exception("routing event %s failed", ev.event_id)
                result.failed.add(ev.event_id)
        unsent = self.queue.send(list(to_send), created) if to_send else []
        result.failed |= {to_send[d] for d in unsent}
        result.deliveries_enqueued = len(to_send) - len(unsent)
        result.failed |= self._publish([e for e in todo if e.event_id not in result.failed],
                                       claimed, result)
        routed = [e for e in todo if e.event_id not in result.failed]
        for ev in routed:
            self._push(ev)
        self.repo.put_markers([e.event_id for e in routed], ROUTED)
        result.routed_types = [str(e.payload.get("type")) for e in routed]
        return result

    def _create_all_new(self, plans: list[tuple[RoutedEvent, list[Delivery]]]) -> set[str]:
        """The common case in few requests: events seen for the first time get their deliveries
        and their EventBridge claim in one transaction per chunk (<= 100 items). A chunk with
        anything already there (a replay) writes nothing; its events take the per-item path.
        Returns the events whose deliveries were created and publication claimed."""
        done: set[str] = set()

        def create(chunk: list[tuple[RoutedEvent, list[Delivery]]]) -> None:
            if not chunk or sum(len(ds) + 1 for _, ds in chunk) > MAX_TRANSACTION_ITEMS:
                return  # an event with too many endpoints for one transaction: per item
            try:
                ok = self.repo.create_deliveries_and_claim(
                    [d for _, ds in chunk for d in ds], [ev.event_id for ev, _ in chunk],
                    EVENTBRIDGE)
            except Exception:
                log.exception("creating the deliveries of %d events at once failed", len(chunk))
                ok = False
            if ok:
                done.update(ev.event_id for ev, _ in chunk)

        chunk: list[tuple[RoutedEvent, list[Delivery]]] = []
        size = 0
        for ev, deliveries in plans:
            if chunk and size + len(deliveries) + 1 > MAX_TRANSACTION_ITEMS:
                create(chunk)
                chunk, size = [], 0
            chunk.append((ev, deliveries))
            size += len(deliveries) + 1
        create(chunk)
        return done

    def _deliveries(self, ev: RoutedEvent, endpoints: list[WebhookEndpoint]) -> list[Delivery]:
        import json

        body = json.dumps(ev.payload, separators=(",", ":"), sort_keys=True)
        targets: list[tuple[str, str]] = []
        if ev.webhook_url:
            if ev.app_id not in self._apps_with_call_secret:
                ensure_call_endpoint(self.repo, ev.app_id)
                self._apps_with_call_secret.add(ev.app_id)
            targets.append((CALL_ENDPOINT_ID, ev.webhook_url))
        for ep in endpoints:
            if (ep.endpoint_id != CALL_ENDPOINT_ID and ep.enabled
                    and ep.endpoint_id != ev.exclude_endpoint
                    and event_matches(str(ev.payload["type"]), ep.event_types)):
                targets.append((ep.endpoint_id, ep.url))
        event_type = str(ev.payload["type"])
        data = ev.payload.get("data") or {}
        if ev.call_id and asks_app(event_type, data):
            # The media node asked this endpoint synchronously (services/call_control.py) and
            # recorded that delivery itself: one delivery per event and endpoint.
            asked = command_target(event_type, data, endpoints)
            if asked is not None:
                targets = [t for t in targets if t[0] != asked.endpoint_id]
        now = now_iso()
        return [
            Delivery(delivery_id=delivery_id_for(ev.event_id, ep_id), app_id=ev.app_id,
                     endpoint_id=ep_id, event_id=ev.event_id, event_type=str(ev.payload["type"]),
                     call_id=ev.call_id, url=url, body=body, created_at=now)
            for ep_id, url in targets
        ]

    def _publish(self, events: list[RoutedEvent], already_claimed: set[str],
                 result: RouteResult) -> set[str]:
        """PutEvents once per event: a conditional marker claims the publication first."""
        claimed = [e for e in events if e.event_id in already_claimed
                   or self.repo.claim_marker(e.event_id, EVENTBRIDGE)]
        if not claimed:
            return set()
        try:
            failed = self.bus.publish([e.payload for e in claimed])
        except Exception:
            log.exception("PutEvents failed")
            failed = {e.event_id for e in claimed}
        for event_id in failed:
            self.repo.release_marker(event_id, EVENTBRIDGE)
        result.published = len(claimed) - len(failed)
        return failed

    def _push(self, ev: RoutedEvent) -> None:
        if self.live is None:
            return
        try:
            self.live.push(ev.app_id, ev.payload)
        except Exception:  # the live stream is best effort; webhooks are the reliable path
            log.exception("live push of %s failed", ev.event_id)


def failed_event(delivery: Delivery, reason: str) -> dict[str, Any]:
    """The `webhook.delivery.failed` app event of a delivery that used up its attempts."""
    from voicelane.domain.ids import new_id

    last = delivery.attempts[-1].model_dump() if delivery.attempts else None
    return {
        "event_id": new_id("evt"),
        "app_id": delivery.app_id,
        "call_id": delivery.call_id,
        "endpoint_id": delivery.endpoint_id,
        "type": DELIVERY_FAILED_EVENT,
        "created_at": now_iso(),
        "data": {
            "delivery_id": delivery.delivery_id, "endpoint_id": delivery.endpoint_id,
            "url": delivery.url, "event_id": delivery.event_id, "event_type": delivery.event_type,
            "call_id": delivery.call_id, "attempts": len(delivery.attempts), "reason": reason,
            "last_attempt": last,
        },
    }
