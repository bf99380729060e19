"""Conference events reach an app's webhook endpoint through the same outbox, router and
dispatcher as call events, in the call events' payload shape."""

from __future__ import annotations

from voicelane.container import Container
from voicelane.contracts.conferences import CreateConferenceRequest

from tests.conftest import Tenant
from tests.voicelane.webhooks.receiver import Receiver


def test_conference_events_are_delivered_to_a_subscribed_endpoint(
        container: Container, tenant: Tenant) -> None:
    with Receiver() as rx:
        container.webhooks.create_endpoint(tenant.app, tenant.key, rx.url, ["conference.*"])
        conf = container.conferences.create(
            tenant.app, CreateConferenceRequest(name="hooks", client_state="c3RhdGU="))
        container.conferences.end(conf.conference_id, "ended_by_api")

        def both() -> bool:
            return {r.payload["type"] for r in rx.accepted()} >= {"conference.created",
                                                                 "conference.ended"}

        assert rx.wait_for(both, 20), [r.payload for r in rx.accepted()]
        by_type = {r.payload["type"]: r for r in rx.accepted()}
        ended = by_type["conference.ended"].payload
        assert ended["sequence"] == 2 and ended["client_state"] == "c3RhdGU="
        assert ended["data"]["id"] == conf.conference_id
        assert ended["data"]["status"] == "ended"
        assert ended["data"]["payload"] == {"reason": "ended_by_api"}
        assert by_type["conference.created"].headers.get("webhook-signature", "").startswith("v1,")
