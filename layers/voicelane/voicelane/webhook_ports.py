"""Ports of the event fan-out (router, dispatcher, live stream). Adapters implement them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

# IpAddress and Resolver live with the SSRF guard; re-exported for the fan-out's imports.
from voicelane.domain.url_guard import IpAddress as IpAddress
from voicelane.domain.url_guard import Resolver as Resolver
from voicelane.domain.webhooks import Delivery, WebhookEndpoint


class WebhookRepository(Protocol):
    def put_endpoint(self, endpoint: WebhookEndpoint, *, new: bool = False) -> bool: ...
    def get_endpoint(self, app_id: str, endpoint_id: str) -> WebhookEndpoint | None: ...
    def get_endpoints(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], WebhookEndpoint]: ...
    def list_endpoints(self, app_id: str) -> list[WebhookEndpoint]: ...
    def delete_endpoint(self, app_id: str, endpoint_id: str) -> bool: ...
    def create_delivery(self, delivery: Delivery) -> Delivery | None:
        """Put if absent; returns None when created, else the existing delivery."""
        ...
    def get_delivery(self, delivery_id: str) -> Delivery | None: ...
    def get_deliveries(self, delivery_ids: list[str]) -> dict[str, Delivery]: ...
    def save_deliveries(self, deliveries: list[Delivery]) -> None: ...
    def list_endpoint_deliveries(self, app_id: str, endpoint_id: str, limit: int) -> list[Delivery]: ...
    def list_call_deliveries(self, call_id: str, limit: int) -> list[Delivery]: ...
    def markers_present(self, event_ids: list[str], kind: str) -> set[str]: ...
    def create_deliveries_and_claim(self, deliveries: list[Delivery], event_ids: list[str],
                                    kind: str) -> bool:
        """All new or nothing: create every delivery and claim every (event, kind) marker in
        one transaction (at most 100 items); False (nothing written) if any already exists."""
        ...
    def claim_marker(self, event_id: str, kind: str) -> bool: ...
    def release_marker(self, event_id: str, kind: str) -> None: ...
    def put_markers(self, event_ids: list[str], kind: str) -> None: ...
    def put_app_event(self, event: dict[str, Any]) -> None: ...


@dataclass
class QueuedDelivery:
    """A `webhook-deliveries` message as the dispatcher receives it."""

    message_id: str
    receipt_handle: str
    delivery_id: str
    receive_count: int = 1
    carried: Delivery | None = None  # the delivery as the router created it (first sends only)

    @property
    def fresh(self) -> Delivery | None:
        """The carried delivery if this is its first receive (nothing attempted yet), else
        None: a redelivered message must read what earlier attempts recorded."""
        return self.carried if self.receive_count <= 1 else None


class DeliveryQueue(Protocol):
    def send(self, delivery_ids: list[str], carried: dict[str, Delivery] | None = None
             ) -> list[str]:
        """Send one message per delivery, carrying the deliveries in `carried` (new ones);
        returns the ids that could not be sent."""
        ...
    def defer(self, deferrals: list[tuple[str, int]]) -> None:
        """Hide each (receipt handle, delay in seconds) message for its delay."""
        ...
    def dead_letter(self, delivery_id: str, reason: str) -> None: ...


class EventPublisher(Protocol):
    def publish(self, events: list[dict[str, Any]]) -> set[str]:
        """Publish webhook payloads to the bus; returns the ids that failed."""
        ...


@dataclass
class HttpResult:
    status_code: int | None
    latency_ms: int
    error: str | None = None
    retry_after_s: int | None = None
    body: bytes = b""  # the receiver's answer (up to 64 KiB): read for commands only


class WebhookSender(Protocol):
    def post(
        self, url: str, ip: IpAddress, body: str, headers: dict[str, str], timeout_s: float
    ) -> HttpResult: ...


class LiveStream(Protocol):
    def push(self, app_id: str, payload: dict[str, Any]) -> None: ...


class AppLookup(Protocol):
    def get_app(self, app_id: str) -> Any: ...
