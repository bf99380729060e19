"""Webhook endpoints (create, list, delete, rotate secrets) and delivery records (list,
redeliver). Routing and dispatch live in webhook_routing.py and webhook_dispatch.py."""

from __future__ import annotations

import logging
import time
from typing import Any

from voicelane.domain.errors import NotFound, Unavailable, ValidationFailed
from voicelane.domain.ids import new_id
from voicelane.domain.models import ApiKey, App
from voicelane.domain.webhooks import (
    CALL_ENDPOINT_ID,
    Delivery,
    DeliveryStatus,
    SigningSecret,
    WebhookEndpoint,
    new_secret,
)
from voicelane.ports import CallRepository
from voicelane.services.clock import now_iso
from voicelane.services.url_guard import check_url
from voicelane.webhook_ports import DeliveryQueue, Resolver, WebhookRepository

log = logging.getLogger(__name__)

MAX_ENDPOINTS = 20
_TYPE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._*")


def validate_event_types(types: list[str]) -> list[str]:
    if not 1 <= len(types) <= 50:
        raise ValidationFailed("give 1-50 event types", code="invalid_event_types")
    for t in types:
        wildcard_ok = "*" not in t or t == "*" or (t.endswith(".*") and "*" not in t[:-2])
        if not t or len(t) > 100 or not set(t) <= _TYPE_CHARS or not wildcard_ok:
            raise ValidationFailed(
                f"invalid event type filter {t!r} (use e.g. call.completed, call.*, *)",
                code="invalid_event_types",
                details={"event_type": t},
            )
    return sorted(set(types))


class WebhookService:
    def __init__(self, repo: WebhookRepository, calls: CallRepository, queue: DeliveryQueue,
                 resolver: Resolver, grace_s: int) -> None:
        self.repo = repo
        self.calls = calls
        self.queue = queue
        self.resolver = resolver
        self.grace_s = grace_s

    # -- endpoints ----------------------------------------------------------------------

    def create_endpoint(self, app: App, key: ApiKey, url: str, event_types: list[str],
                        enabled: bool = True, description: str | None = None,
                        commands: bool = False) -> tuple[WebhookEndpoint, str]:
        """A new endpoint; the secret is returned once (the endpoint view never shows it)."""
        types = validate_event_types(event_types)
        check_url(url, self.resolver, allow_private=app.allow_private_webhooks,
                  require_https=key.mode == "live")
        if len(self.repo.list_endpoints(app.app_id)) > MAX_ENDPOINTS:  # includes `call`
            raise ValidationFailed(f"an app has at most {MAX_ENDPOINTS} endpoints",
                                   code="too_many_webhooks")
        secret = new_secret()
        endpoint = WebhookEndpoint(
            endpoint_id=new_id("whep"), app_id=app.app_id, url=url, event_types=types,
            enabled=enabled, description=description, commands=commands, secrets=[SigningSecret(secret=secret)],
            created_at=now_iso(),
        )
        self.repo.put_endpoint(endpoint, new=True)
        return endpoint, secret

    def get_endpoint(self, app: App, endpoint_id: str) -> WebhookEndpoint:
        ep = self.repo.get_endpoint(app.app_id, endpoint_id) if endpoint_id != CALL_ENDPOINT_ID else None
        if ep is None:
            raise NotFound("webhook endpoint not found", code="webhook_not_found",
                           details={"id": endpoint_id})
        return ep

    def list_endpoints(self, app: App) -> list[WebhookEndpoint]:
        return [e for e in self.repo.list_endpoints(app.app_id) if e.endpoint_id != CALL_ENDPOINT_ID]

    def update_endpoint(self, app: App, key: ApiKey, endpoint_id: str,
                        changes: dict[str, Any]) -> WebhookEndpoint:
        ep = self.get_endpoint(app, endpoint_id)
        if "event_types" in changes:
            changes["event_types"] = validate_event_types(changes["event_types"])
        if "url" in changes:
            check_url(changes["url"], self.resolver, allow_private=app.allow_private_webhooks,
                      require_https=key.mode == "live")
        if changes.get("enabled"):
            changes["disabled_reason"] = None
        updated = ep.model_copy(update={**changes, "updated_at": now_iso()})
        self.repo.put_endpoint(updated)
        return updated

    def delete_endpoint(self, app: App, endpoint_id: str) -> None:
        if endpoint_id == CALL_ENDPOINT_ID or not self.repo.delete_endpoint(app.app_id, endpoint_id):
            raise NotFound("webhook endpoint not found", code="webhook_not_found",
                           details={"id": endpoint_id})

    def rotate_secret(self, app: App, endpoint_id: str, grace_s: int | None = None
                      ) -> tuple[WebhookEndpoint, str]:
        """A new current secret; the previous ones keep signing for the grace period."""
        ep = self.call_endpoint(app) if endpoint_id == CALL_ENDPOINT_ID else self.get_endpoint(
            app, endpoint_id)
        grace = self.grace_s if grace_s is None else grace_s
        now = int(time.time())
        kept = [
            s.model_copy(update={"expires_at": s.expires_at if s.expires_at else now + grace})
            for s in ep.secrets
            if (s.expires_at or now + grace) > now and grace > 0
        ]
        secret = new_secret()
        updated = ep.model_copy(update={"secrets": [SigningSecret(secret=secret), *kept],
                                        "updated_at": now_iso()})
        self.repo.put_endpoint(updated)
        return updated, secret

    def call_endpoint(self, app: App) -> WebhookEndpoint:
        """The pseudo endpoint holding the secret that signs each call's own `webhook_url`."""
        return ensure_call_endpoint(self.repo, app.app_id)

    # -- deliveries ---------------------------------------------------------------------

    def endpoint_deliveries(self, app: App, endpoint_id: str, limit: int) -> list[Delivery]:
        if endpoint_id != CALL_ENDPOINT_ID:
            self.get_endpoint(app, endpoint_id)
        return self.repo.list_endpoint_deliveries(app.app_id, endpoint_id, limit)

    def call_deliveries(self, app: App, call_id: str, limit: int) -> list[Delivery]:
        call = self.calls.get(call_id)
        if call is None or call.app_id != app.app_id:
            raise NotFound("call not found", code="call_not_found", details={"call_id": call_id})
        return self.repo.list_call_deliveries(call_id, limit)

    def get_delivery(self, app: App, delivery_id: str) -> Delivery:
        d = self.repo.get_delivery(delivery_id)
        if d is None or d.app_id != app.app_id:
            raise NotFound("delivery not found", code="delivery_not_found",
                           details={"id": delivery_id})
        return d

    def redeliver(self, app: App, delivery_id: str) -> Delivery:
        """Queue the same delivery (same webhook-id and body) again, with a fresh schedule."""
        d = self.get_delivery(app, delivery_id)
        if d.status in (DeliveryStatus.PENDING, DeliveryStatus.RETRYING):
            return d  # already on its way; a second chain would only add duplicates
        updated = d.model_copy(update={"status": DeliveryStatus.PENDING,
                                       "schedule_base": len(d.attempts), "next_attempt_at": None})
        self.repo.save_deliveries([updated])
        try:
            queued = not self.queue.send([d.delivery_id])
        except Exception:  # the queue is down (the SDK raised): the same answer as a refusal
            log.warning("redeliver %s: the queue refused the message", d.delivery_id,
                        exc_info=True)
            queued = False
        if not queued:
            # Put the record back: left `pending`, every later redeliver would answer "on its
            # way" with nothing queued.
            self.repo.save_deliveries([d])
            raise Unavailable("the delivery could not be queued; retry later",
                              code="queue_unavailable")
        return updated



def ensure_call_endpoint(repo: WebhookRepository, app_id: str) -> WebhookEndpoint:
    """The app's `call` pseudo endpoint, created with a secret on first use."""
    ep = repo.get_endpoint(app_id, CALL_ENDPOINT_ID)
    if ep is None:
        fresh = WebhookEndpoint(endpoint_id=CALL_ENDPOINT_ID, app_id=app_id,
                                secrets=[SigningSecret(secret=new_secret())], created_at=now_iso())
        if repo.put_endpoint(fresh, new=True):
            ep = fresh
        else:
            ep = repo.get_endpoint(app_id, CALL_ENDPOINT_ID)
    assert ep is not None
    return ep
