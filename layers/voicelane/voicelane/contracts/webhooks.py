"""Webhook API contracts: /v1/webhooks, /v1/deliveries, /v1/calls/{id}/deliveries.

See docs/webhooks.md. A signing secret is shown only when it is made (creation, rotation):
those answers are `WebhookEndpointWithSecret`; every other answer omits the key.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from voicelane.contracts.common import URL_SCHEMA
from voicelane.domain.storable import JSON_INTEGER
from voicelane.domain.webhooks import Delivery, DeliveryAttempt, DeliveryStatus, WebhookEndpoint

# What services.webhooks.validate_event_types enforces (422 invalid_event_types).
EVENT_TYPES: dict[str, Any] = {
    "minItems": 1, "maxItems": 50,
    "items": {"type": "string", "pattern": r"^(\*|[a-z0-9._]{1,98}\.\*|[a-z0-9._]{1,100})$"},
    "description": "Event types or patterns: `call.completed`, `call.*` or `*` (1-50).",
}


class CreateWebhookRequest(BaseModel):
    """A new endpoint: where to post, and which event types (glob patterns, `*` for all)."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=8, max_length=2048, json_schema_extra=URL_SCHEMA)
    event_types: list[str] = Field(default_factory=lambda: ["*"], json_schema_extra=EVENT_TYPES)
    enabled: StrictBool = True
    description: str | None = Field(default=None, max_length=256)
    commands: StrictBool = Field(
        default=False, description="Answers to call.initiated (inbound), call.answered "
                                   "(outbound) and call.gather.ended may carry commands.")


class UpdateWebhookRequest(BaseModel):
    """Any subset of an endpoint's fields."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=8, max_length=2048,
                            json_schema_extra=URL_SCHEMA)
    event_types: list[str] | None = Field(default=None, json_schema_extra=EVENT_TYPES)
    enabled: StrictBool | None = None
    description: str | None = Field(default=None, max_length=256)
    commands: StrictBool | None = None


class RotateSecretRequest(BaseModel):
    """How long the previous secret keeps signing beside the new one (none: it stops now)."""

    model_config = ConfigDict(extra="forbid")

    grace_period_s: Annotated[int, Field(ge=0, le=7 * 24 * 3600), JSON_INTEGER] | None = None


def _in_grace(ep: WebhookEndpoint) -> int:
    return sum(1 for s in ep.secrets if s.expires_at is not None)


class WebhookEndpointView(BaseModel):
    """An endpoint as the API shows it (its secrets are not shown again)."""

    id: str
    url: str | None
    event_types: list[str]
    enabled: bool
    description: str | None
    disabled_reason: str | None
    commands: bool = Field(default=False, description="Answers may carry commands")
    created_at: str
    updated_at: str | None
    secrets_in_grace: int = Field(
        description="Previous secrets still signing during their rotation grace period"
    )

    @classmethod
    def of(cls, ep: WebhookEndpoint) -> WebhookEndpointView:
        return cls.model_validate(_fields(ep))


class WebhookEndpointWithSecret(WebhookEndpointView):
    """An endpoint with its new signing secret: shown once, at creation or rotation."""

    secret: str

    @classmethod
    def with_secret(cls, ep: WebhookEndpoint, secret: str) -> WebhookEndpointWithSecret:
        return cls.model_validate({**_fields(ep), "secret": secret})


def _fields(ep: WebhookEndpoint) -> dict[str, Any]:
    return {
        "id": ep.endpoint_id, "url": ep.url or None, "event_types": ep.event_types,
        "enabled": ep.enabled, "description": ep.description,
        "disabled_reason": ep.disabled_reason, "commands": ep.commands, "created_at": ep.created_at,
        "updated_at": ep.updated_at, "secrets_in_grace": _in_grace(ep),
    }


class WebhookEndpointList(BaseModel):
    """The app's endpoints."""

    data: list[WebhookEndpointView]


class CallUrlSecretView(BaseModel):
    """The secret that signs deliveries to calls' own `webhook_url`."""

    secret: str
    secrets_in_grace: int

    @classmethod
    def of(cls, ep: WebhookEndpoint) -> CallUrlSecretView:
        return cls(secret=ep.secrets[0].secret, secrets_in_grace=_in_grace(ep))


class DeliveryAttemptView(BaseModel):
    """One POST of a delivery."""

    attempt: int
    at: str
    status_code: int | None = Field(description="The endpoint's status; none if it did not answer")
    latency_ms: int
    error: str | None

    @classmethod
    def of(cls, attempt: DeliveryAttempt) -> DeliveryAttemptView:
        return cls.model_validate(attempt.model_dump())


class DeliveryView(BaseModel):
    """One event for one endpoint, and its attempts; `id` is the `webhook-id` header."""

    id: str
    webhook_id: str
    event_id: str
    event_type: str
    call_id: str | None
    url: str
    status: DeliveryStatus
    attempts: list[DeliveryAttemptView]
    created_at: str
    next_attempt_at: str | None
    delivered_at: str | None
    failed_at: str | None

    @classmethod
    def of(cls, d: Delivery) -> DeliveryView:
        return cls(
            id=d.delivery_id, webhook_id=d.endpoint_id, event_id=d.event_id,
            event_type=d.event_type, call_id=d.call_id, url=d.url, status=d.status,
            attempts=[DeliveryAttemptView.of(a) for a in d.attempts], created_at=d.created_at,
            next_attempt_at=d.next_attempt_at, delivered_at=d.delivered_at, failed_at=d.failed_at,
        )


class DeliveryList(BaseModel):
    """Deliveries of an endpoint or of a call's events."""

    data: list[DeliveryView]
