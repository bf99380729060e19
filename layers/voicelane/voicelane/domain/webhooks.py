"""Webhooks: endpoints, deliveries, Standard Webhooks signatures, event filters, SSRF rules.

Pure code (no I/O): the services and adapters build on it, and tests check it directly.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import secrets
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from voicelane.domain.ids import _encode

SECRET_PREFIX = "whsec_"
# An app URL: a host, no credentials, no whitespace or control character. Spelled out rather
# than \s, which differs between the OpenAPI schema's ECMA regexes (U+0085 is not \s there)
# and pydantic's (it is): a URL the schema allows must not be refused by the server.
NOT_IN_URL = (r"\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
               r"\ufeff")
URL_PATTERN = rf"^https?://[^{NOT_IN_URL}/?#@]+(/[^{NOT_IN_URL}]*)?$"
CALL_ENDPOINT_ID = "call"  # the pseudo endpoint of each call's own `webhook_url`
DELIVERY_FAILED_EVENT = "webhook.delivery.failed"
DEFAULT_RETRY_SCHEDULE: tuple[int, ...] = (0, 5, 300, 1800, 7200, 18000, 36000, 36000)


class DeliveryStatus(StrEnum):
    PENDING = "pending"  # created, waiting for its first attempt
    RETRYING = "retrying"  # an attempt failed; another is scheduled
    DELIVERED = "delivered"
    FAILED = "failed"  # every attempt failed (or the endpoint is gone/disabled)


class SigningSecret(BaseModel):
    secret: str
    expires_at: int | None = None  # epoch seconds; None = current secret


class WebhookEndpoint(BaseModel):
    """An app-level endpoint (or the pseudo endpoint `call` holding the per-call URL secret)."""

    endpoint_id: str
    app_id: str
    url: str = ""
    event_types: list[str] = Field(default_factory=lambda: ["*"])
    enabled: bool = True
    description: str | None = None
    disabled_reason: str | None = None
    commands: bool = False  # answers to call events may carry commands (domain/call_control.py)
    secrets: list[SigningSecret] = Field(default_factory=list)
    created_at: str
    updated_at: str | None = None

    def active_secrets(self, now_s: float) -> list[str]:
        """Secrets that sign now: the current one plus any still in its rotation grace period."""
        return [s.secret for s in self.secrets if s.expires_at is None or s.expires_at > now_s]


class DeliveryAttempt(BaseModel):
    attempt: int
    at: str
    status_code: int | None = None
    latency_ms: int
    error: str | None = None


class Delivery(BaseModel):
    """One event for one endpoint; its id is the `webhook-id` header of every attempt."""

    delivery_id: str
    app_id: str
    endpoint_id: str
    event_id: str
    event_type: str
    call_id: str | None = None
    url: str
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: list[DeliveryAttempt] = Field(default_factory=list)
    body: str  # the exact JSON posted, the same for every attempt
    created_at: str
    next_attempt_at: str | None = None
    schedule_base: int = 0  # attempts made before the last redeliver (the schedule restarts)
    delivered_at: str | None = None
    failed_at: str | None = None


def delivery_id_for(event_id: str, endpoint_id: str) -> str:
    """Deterministic: the same event and endpoint always give the same delivery (idempotency)."""
    digest = hashlib.sha256(f"{event_id}|{endpoint_id}".encode()).digest()
    return "msg_" + _encode(int.from_bytes(digest[:16], "big"), 26)


# A message carries its delivery up to this size, so that a SendMessageBatch of 10 stays within
# SQS's 256 KiB per request; larger ones carry the id only and the dispatcher reads the record.
MAX_CARRIED_MESSAGE_BYTES = 24_000


def delivery_message(delivery_id: str, carried: Delivery | None = None) -> str:
    """A `webhook-deliveries` message body. The router's first send carries the new delivery
    (no attempts yet), so its first attempt needs no read of the record; every other send
    (a re-send, a redeliver) names the delivery only."""
    if carried is not None:
        body = json.dumps({"delivery_id": delivery_id,
                           "delivery": carried.model_dump(mode="json", exclude={"attempts"})})
        if len(body.encode()) <= MAX_CARRIED_MESSAGE_BYTES:
            return body
    return json.dumps({"delivery_id": delivery_id})


def read_delivery_message(body: str) -> tuple[str, Delivery | None]:
    """(delivery id, carried delivery or None) of a message body; ValueError if malformed. A
    carried delivery that does not validate is dropped (the record is read instead)."""
    try:
        data = json.loads(body)
        delivery_id = str(data["delivery_id"])
    except (TypeError, KeyError) as exc:
        raise ValueError(f"not a delivery message: {exc}") from exc
    carried = data.get("delivery")
    if not isinstance(carried, dict):
        return delivery_id, None
    try:
        delivery = Delivery.model_validate(carried)
    except ValidationError:
        return delivery_id, None
    if delivery.delivery_id != delivery_id or delivery.attempts:
        return delivery_id, None
    return delivery_id, delivery


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_...` secret: the base64-decoded part after the prefix."""
    raw = secret.removeprefix(SECRET_PREFIX)
    return base64.b64decode(raw)


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """One Standard Webhooks signature: ``v1,<base64 HMAC-SHA256("{id}.{timestamp}.{body}")>``."""
    mac = hmac.new(secret_key(secret), f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def signature_header(secrets_: list[str], msg_id: str, timestamp: int, body: str) -> str:
    """The `webhook-signature` header: one signature per active secret, space-separated."""
    return " ".join(sign(s, msg_id, timestamp, body) for s in secrets_)


def event_matches(event_type: str, filters: list[str]) -> bool:
    """``*`` matches everything, ``call.*`` every type starting ``call.``, else exact match."""
    for f in filters:
        if f == "*" or f == event_type:
            return True
        if f.endswith(".*") and event_type.startswith(f[:-1]):
            return True
    return False


def parse_schedule(text: str) -> tuple[int, ...]:
    """``"0,5,300"`` -> (0, 5, 300): the delay before each attempt (the first is usually 0)."""
    values = tuple(int(float(p)) for p in text.split(",") if p.strip())
    if not values or any(v < 0 or v > 43_200 for v in values):
        raise ValueError("retry schedule: 1+ delays in seconds, each 0..43200")
    return values


_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}


def forbidden_reason(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why a webhook may not go to `ip` (None = a public address)."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            inner = forbidden_reason(embedded)
            return f"embedded IPv4: {inner}" if inner else None
    checks: tuple[tuple[bool, str], ...] = (
        (ip in _METADATA, "cloud metadata"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_multicast, "multicast"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "carrier-grade NAT"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    return None


def payload_of(event: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of a call event's webhook (see docs/webhooks.md)."""
    data = dict(event.get("data") or {})
    data["payload"] = event.get("details") or {}
    return {
        "id": event["event_id"],
        "type": event["type"],
        "created_at": event["created_at"],
        "sequence": event.get("sequence"),
        "data": data,
        "client_state": data.get("client_state"),
    }
