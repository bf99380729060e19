"""/v1/webhooks, /v1/deliveries and /v1/calls/{id}/deliveries (docs/webhooks.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from voicelane.api.deps import ContainerDep, Lists, Reads, Writes
from voicelane.domain.webhooks import CALL_ENDPOINT_ID, Delivery, WebhookEndpoint

router = APIRouter(tags=["webhooks"])


class CreateWebhookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2048)
    event_types: list[str] = Field(default_factory=lambda: ["*"])
    enabled: bool = True
    description: str | None = Field(default=None, max_length=256)


class UpdateWebhookRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=8, max_length=2048)
    event_types: list[str] | None = None
    enabled: bool | None = None
    description: str | None = Field(default=None, max_length=256)


class RotateSecretRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    grace_period_s: int | None = Field(default=None, ge=0, le=7 * 24 * 3600)


def endpoint_view(ep: WebhookEndpoint, secret: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": ep.endpoint_id, "url": ep.url or None, "event_types": ep.event_types,
        "enabled": ep.enabled, "description": ep.description,
        "disabled_reason": ep.disabled_reason, "created_at": ep.created_at,
        "updated_at": ep.updated_at,
        "secrets_in_grace": sum(1 for s in ep.secrets if s.expires_at is not None),
    }
    if secret is not None:
        view["secret"] = secret  # shown once, at creation or rotation
    return view


def delivery_view(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.delivery_id, "webhook_id": d.endpoint_id, "event_id": d.event_id,
        "event_type": d.event_type, "call_id": d.call_id, "url": d.url, "status": d.status.value,
        "attempts": [a.model_dump() for a in d.attempts], "created_at": d.created_at,
        "next_attempt_at": d.next_attempt_at, "delivered_at": d.delivered_at,
        "failed_at": d.failed_at,
    }


Limit = Annotated[int, Query(ge=1, le=100)]


@router.post("/v1/webhooks", status_code=201, summary="Register a webhook endpoint")
def create_webhook(body: CreateWebhookRequest, principal: Writes, c: ContainerDep) -> dict[str, Any]:
    ep, secret = c.webhooks.create_endpoint(principal.app, principal.key, body.url,
                                            body.event_types, body.enabled, body.description)
    return endpoint_view(ep, secret)


@router.get("/v1/webhooks", summary="List webhook endpoints")
def list_webhooks(principal: Lists, c: ContainerDep) -> dict[str, Any]:
    return {"data": [endpoint_view(ep) for ep in c.webhooks.list_endpoints(principal.app)]}


@router.get("/v1/webhooks/call-url-secret",
            summary="The secret that signs deliveries to calls' own webhook_url")
def call_url_secret(principal: Reads, c: ContainerDep) -> dict[str, Any]:
    ep = c.webhooks.call_endpoint(principal.app)
    return {"secret": ep.secrets[0].secret,
            "secrets_in_grace": sum(1 for s in ep.secrets if s.expires_at is not None)}


@router.post("/v1/webhooks/call-url-secret/rotate",
             summary="Rotate the secret that signs calls' own webhook_url deliveries")
def rotate_call_url_secret(body: RotateSecretRequest, principal: Writes,
                           c: ContainerDep) -> dict[str, Any]:
    ep, secret = c.webhooks.rotate_secret(principal.app, CALL_ENDPOINT_ID, body.grace_period_s)
    return endpoint_view(ep, secret)


@router.get("/v1/webhooks/{webhook_id}", summary="Get a webhook endpoint")
def get_webhook(webhook_id: str, principal: Reads, c: ContainerDep) -> dict[str, Any]:
    return endpoint_view(c.webhooks.get_endpoint(principal.app, webhook_id))


@router.patch("/v1/webhooks/{webhook_id}", summary="Change a webhook endpoint")
def update_webhook(webhook_id: str, body: UpdateWebhookRequest, principal: Writes,
                   c: ContainerDep) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    ep = c.webhooks.update_endpoint(principal.app, principal.key, webhook_id, changes)
    return endpoint_view(ep)


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, summary="Delete a webhook endpoint")
def delete_webhook(webhook_id: str, principal: Writes, c: ContainerDep) -> None:
    c.webhooks.delete_endpoint(principal.app, webhook_id)


@router.post("/v1/webhooks/{webhook_id}/rotate-secret", summary="Rotate an endpoint's secret")
def rotate_secret(webhook_id: str, body: RotateSecretRequest, principal: Writes,
                  c: ContainerDep) -> dict[str, Any]:
    if webhook_id == CALL_ENDPOINT_ID:
        return rotate_call_url_secret(body, principal, c)
    ep, secret = c.webhooks.rotate_secret(principal.app, webhook_id, body.grace_period_s)
    return endpoint_view(ep, secret)


@router.get("/v1/webhooks/{webhook_id}/deliveries", summary="Deliveries to an endpoint")
def webhook_deliveries(webhook_id: str, principal: Lists, c: ContainerDep,
                       limit: Limit = 50) -> dict[str, Any]:
    items = c.webhooks.endpoint_deliveries(principal.app, webhook_id, limit)
    return {"data": [delivery_view(d) for d in items]}


@router.get("/v1/calls/{call_id}/deliveries", summary="Webhook deliveries of a call's events")
def call_deliveries(call_id: str, principal: Lists, c: ContainerDep,
                    limit: Limit = 100) -> dict[str, Any]:
    items = c.webhooks.call_deliveries(principal.app, call_id, limit)
    return {"data": [delivery_view(d) for d in items]}


@router.get("/v1/deliveries/{delivery_id}", summary="A delivery and its attempts")
def get_delivery(delivery_id: str, principal: Reads, c: ContainerDep) -> dict[str, Any]:
    return delivery_view(c.webhooks.get_delivery(principal.app, delivery_id))


@router.post("/v1/deliveries/{delivery_id}/redeliver", status_code=202,
             summary="Send a delivery again (same webhook-id and body)")
def redeliver(delivery_id: str, principal: Writes, c: ContainerDep) -> dict[str, Any]:
    return delivery_view(c.webhooks.redeliver(principal.app, delivery_id))
