"""/v1/webhooks, /v1/deliveries and /v1/calls/{id}/deliveries (docs/webhooks.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from voicelane.api.deps import ContainerDep, Lists, Reads, Writes
from voicelane.api.responses import AUTHENTICATED, errors
from voicelane.api.routing import StrictJsonRoute
from voicelane.contracts.webhooks import (
    CallUrlSecretView,
    CreateWebhookRequest,
    DeliveryList,
    DeliveryView,
    RotateSecretRequest,
    UpdateWebhookRequest,
    WebhookEndpointList,
    WebhookEndpointView,
    WebhookEndpointWithSecret,
)
from voicelane.domain.webhooks import CALL_ENDPOINT_ID

router = APIRouter(route_class=StrictJsonRoute, tags=["webhooks"], responses=AUTHENTICATED)

Limit = Annotated[int, Query(ge=1, le=100)]


@router.post("/v1/webhooks", status_code=201, summary="Register a webhook endpoint",
             responses=errors(e422=["invalid_event_types", "webhook_url_not_allowed",
                                    "too_many_webhooks"]))
def create_webhook(body: CreateWebhookRequest, principal: Writes,
                   c: ContainerDep) -> WebhookEndpointWithSecret:
    ep, secret = c.webhooks.create_endpoint(principal.app, principal.key, body.url,
                                            body.event_types, body.enabled, body.description,
                                            body.commands)
    return WebhookEndpointWithSecret.with_secret(ep, secret)


@router.get("/v1/webhooks", summary="List webhook endpoints")
def list_webhooks(principal: Lists, c: ContainerDep) -> WebhookEndpointList:
    endpoints = c.webhooks.list_endpoints(principal.app)
    return WebhookEndpointList(data=[WebhookEndpointView.of(ep) for ep in endpoints])


@router.get("/v1/webhooks/call-url-secret",
            summary="The secret that signs deliveries to calls' own webhook_url")
def call_url_secret(principal: Reads, c: ContainerDep) -> CallUrlSecretView:
    return CallUrlSecretView.of(c.webhooks.call_endpoint(principal.app))


@router.post("/v1/webhooks/call-url-secret/rotate",
             summary="Rotate the secret that signs calls' own webhook_url deliveries")
def rotate_call_url_secret(body: RotateSecretRequest, principal: Writes,
                           c: ContainerDep) -> WebhookEndpointWithSecret:
    ep, secret = c.webhooks.rotate_secret(principal.app, CALL_ENDPOINT_ID, body.grace_period_s)
    return WebhookEndpointWithSecret.with_secret(ep, secret)


@router.get("/v1/webhooks/{webhook_id}", summary="Get a webhook endpoint", responses=errors(e404=["webhook_not_found"]))
def get_webhook(webhook_id: str, principal: Reads, c: ContainerDep) -> WebhookEndpointView:
    return WebhookEndpointView.of(c.webhooks.get_endpoint(principal.app, webhook_id))


@router.patch("/v1/webhooks/{webhook_id}", summary="Change a webhook endpoint",
              responses=errors(e404=["webhook_not_found"],
                               e422=["invalid_event_types", "webhook_url_not_allowed"]))
def update_webhook(webhook_id: str, body: UpdateWebhookRequest, principal: Writes,
                   c: ContainerDep) -> WebhookEndpointView:
    changes = body.model_dump(exclude_unset=True)
    ep = c.webhooks.update_endpoint(principal.app, principal.key, webhook_id, changes)
    return WebhookEndpointView.of(ep)


@router.delete("/v1/webhooks/{webhook_id}", status_code=204, summary="Delete a webhook endpoint",
               responses=errors(e404=["webhook_not_found"]))
def delete_webhook(webhook_id: str, principal: Writes, c: ContainerDep) -> None:
    c.webhooks.delete_endpoint(principal.app, webhook_id)


@router.post("/v1/webhooks/{webhook_id}/rotate-secret", summary="Rotate an endpoint's secret",
             responses=errors(e404=["webhook_not_found"]))
def rotate_secret(webhook_id: str, body: RotateSecretRequest, principal: Writes,
                  c: ContainerDep) -> WebhookEndpointWithSecret:
    if webhook_id == CALL_ENDPOINT_ID:
        return rotate_call_url_secret(body, principal, c)
    ep, secret = c.webhooks.rotate_secret(principal.app, webhook_id, body.grace_period_s)
    return WebhookEndpointWithSecret.with_secret(ep, secret)


@router.get("/v1/webhooks/{webhook_id}/deliveries", summary="Deliveries to an endpoint",
            responses=errors(e404=["webhook_not_found"]))
def webhook_deliveries(webhook_id: str, principal: Lists, c: ContainerDep,
                       limit: Limit = 50) -> DeliveryList:
    items = c.webhooks.endpoint_deliveries(principal.app, webhook_id, limit)
    return DeliveryList(data=[DeliveryView.of(d) for d in items])


@router.get("/v1/calls/{call_id}/deliveries", summary="Webhook deliveries of a call's events",
            responses=errors(e404=["call_not_found"]))
def call_deliveries(call_id: str, principal: Lists, c: ContainerDep,
                    limit: Limit = 100) -> DeliveryList:
    items = c.webhooks.call_deliveries(principal.app, call_id, limit)
    return DeliveryList(data=[DeliveryView.of(d) for d in items])


@router.get("/v1/deliveries/{delivery_id}", summary="A delivery and its attempts",
            responses=errors(e404=["delivery_not_found"]))
def get_delivery(delivery_id: str, principal: Reads, c: ContainerDep) -> DeliveryView:
    return DeliveryView.of(c.webhooks.get_delivery(principal.app, delivery_id))


@router.post("/v1/deliveries/{delivery_id}/redeliver", status_code=202,
             responses=errors(e404=["delivery_not_found"], e503=["queue_unavailable"]),
             summary="Send a delivery again (same webhook-id and body)")
def redeliver(delivery_id: str, principal: Writes, c: ContainerDep) -> DeliveryView:
    return DeliveryView.of(c.webhooks.redeliver(principal.app, delivery_id))
