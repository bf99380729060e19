"""Endpoints API, SSRF guard, signatures, retries, 410, rotation and idempotency, on the local
stack with a real receiver on loopback."""

from __future__ import annotations

import ipaddress
import itertools
import time
from collections.abc import Callable

import httpx
import pytest
from voicelane.container import Container
from voicelane.contracts.calls import CreateCallRequest
from voicelane.domain.call import CallStatus
from voicelane_local.platform import LocalPlatform

from tests.conftest import Tenant
from tests.voicelane.webhooks.receiver import Receiver, verify


def make_call(c: Container, tenant: Tenant, webhook_url: str | None = None) -> str:
    req = CreateCallRequest.model_validate({"from": "a", "to": "b", "from_channel": "webrtc",
                                            "to_channel": "webrtc", "webhook_url": webhook_url})
    call, _ = c.calls.create(tenant.app, req)
    return call.call_id


def register(p: LocalPlatform, tenant: Tenant, url: str, **extra: object) -> httpx.Response:
    return httpx.post(f"{p.api_url}/v1/webhooks", json={"url": url, **extra},
                      headers=tenant.headers)


def test_endpoint_signs_with_its_secret_and_filters_types(
    local_platform: LocalPlatform, container: Container, tenant: Tenant
) -> None:
    with Receiver() as rx:
        resp = register(local_platform, tenant, rx.url, event_types=["call.completed"])
        assert resp.status_code == 201, resp.text
        secret = resp.json()["secret"]
        assert secret.startswith("whsec_")
        listed = httpx.get(f"{local_platform.api_url}/v1/webhooks", headers=tenant.headers).json()
        assert [e["id"] for e in listed["data"]] == [resp.json()["id"]]
        assert "secret" not in listed["data"][0]
        call_id = make_call(container, tenant)
        for status in (CallStatus.INITIATED, CallStatus.IN_PROGRESS, CallStatus.COMPLETED):
            container.lifecycle.transition(call_id, status)
        assert rx.wait_for(lambda: len(rx.accepted()) >= 1, 20)
        time.sleep(1)
        assert [r.payload["type"] for r in rx.requests] == ["call.completed"]
        r = rx.requests[0]
        assert verify(secret, r.headers, r.body)
        assert not verify("whsec_" + "A" * 44, r.headers, r.body)
        assert r.payload["data"]["id"] == call_id and r.payload["sequence"] == 4


@pytest.mark.parametrize("url", [
    "http://127.0.0.1/x", "http://10.0.0.8/x", "http://169.254.169.254/latest/meta-data",
    "http://[::1]/x", "http://[::ffff:127.0.0.1]/x", "http://100.64.1.1/x", "http://0.0.0.0/x",
    "http://[fd00:ec2::254]/x", "http://224.0.0.1/x", "http://localhost:8080/x", "ftp://example.com/x",
])
def test_registration_refuses_internal_addresses(
    local_platform: LocalPlatform, new_tenant: Callable[..., Tenant], url: str
) -> None:
    strict = new_tenant("strict")  # allow_private_webhooks is off by default
    resp = register(local_platform, strict, url)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "webhook_url_not_allowed"
    listed = httpx.get(f"{local_platform.api_url}/v1/webhooks", headers=strict.headers).json()
    assert listed["data"] == []


def test_live_keys_need_https(local_platform: LocalPlatform, container: Container,
                              new_tenant: Callable[..., Tenant]) -> None:
    t = new_tenant("live", allow_private_webhooks=True)
    _, live_key = container.apps.create_key(t.app.app_id, "live")
    resp = httpx.post(f"{local_platform.api_url}/v1/webhooks", json={"url": "http://127.0.0.1/x"},
                      headers={"Authorization": f"Bearer {live_key}"})
    assert resp.status_code == 422
    assert "https" in resp.json()["error"]["details"]["reason"]


def test_create_call_refuses_a_private_webhook_url_and_writes_nothing(
    container: Container, new_tenant: Callable[..., Tenant], local_platform: LocalPlatform
) -> None:
    strict = new_tenant("strict-create", max_concurrent_calls=100)
    resp = httpx.post(f"{local_platform.api_url}/v1/calls", headers=strict.headers, json={
        "from": "a", "to": "b", "from_channel": "webrtc", "to_channel": "webrtc",
        "webhook_url": "http://127.0.0.1:9/hooks"})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "webhook_url_not_allowed"
    listed = httpx.get(f"{local_platform.api_url}/v1/calls", headers=strict.headers)
    assert listed.json()["data"] == []


def test_delivery_time_guard_refuses_what_registration_allowed(
    container: Container, new_tenant: Callable[..., Tenant]
) -> None:
    # Registered while the app allowed private addresses; then the app turns strict: the
    # dispatcher's check before each attempt refuses the call's loopback URL.
    app = new_tenant("strict-delivery", max_concurrent_calls=100, allow_private_webhooks=True)
    with Receiver() as rx:
        call_id = make_call(container, app, rx.url)
        table = container.table  # (DynamoAppRepository.update_app fails on None settings)
        table.transact([table.tx_update(f"APP#{app.app.app_id}", "APP",
                                        "SET allow_private_webhooks = :no", {":no": False})])
        container.lifecycle.transition(call_id, CallStatus.CANCELED)
        deadline = time.time() + 20
        canceled = None
        while time.time() < deadline:
            canceled = next((d for d in container.webhooks.call_deliveries(app.app, call_id, 10)
                             if d.event_type == "call.canceled"), None)
            if canceled is not None and canceled.status == "failed":
                break
            time.sleep(0.2)
        assert canceled is not None and canceled.status == "failed"
        assert "webhook_url_not_allowed" in (canceled.attempts[-1].error or "")
        assert all(r.payload["type"] != "call.canceled" for r in rx.requests)


def test_failures_retry_on_the_schedule_and_keep_their_webhook_id(
    container: Container, tenant: Tenant, fast_retries: Callable[..., None],
    local_platform: LocalPlatform
) -> None:
    fast_retries(schedule=(0, 1, 1, 1, 1, 1, 1, 1, 1, 1), timeout_s=0.5)
    with Receiver(slow_s=0.8, script=["error", "slow", "reset"]) as rx:
        call_id = make_call(container, tenant, rx.url)
        assert rx.wait_for(lambda: len(rx.accepted()) >= 2, 30)  # the slow one answers late
        assert len({r.headers["webhook-id"] for r in rx.requests}) == 1
        assert rx.wait_for(lambda: httpx.get(
            f"{local_platform.api_url}/v1/calls/{call_id}/deliveries",
            headers=tenant.headers).json()["data"][0]["status"] == "delivered", 10)
        resp = httpx.get(f"{local_platform.api_url}/v1/calls/{call_id}/deliveries",
                         headers=tenant.headers).json()["data"]
        attempts = resp[0]["attempts"]
        assert [a["attempt"] for a in attempts] == list(range(1, len(attempts) + 1))
        assert [a["status_code"] for a in attempts] == [503, None, None, 200]
        assert "timeout" in attempts[1]["error"] and "connection" in attempts[2]["error"]
        gaps = [b["at"] > a["at"] for a, b in itertools.pairwise(attempts)]
        assert all(gaps)


def test_exhausted_attempts_fail_dead_letter_and_record_an_event(
    container: Container, tenant: Tenant, fast_retries: Callable[..., None],
    local_platform: LocalPlatform
) -> None:
    fast_retries(schedule=(0, 1, 1), timeout_s=0.5)
    with Receiver(status=500) as rx, Receiver() as watcher:
        resp = register(local_platform, tenant, watcher.url, event_types=["webhook.*"])
        assert resp.status_code == 201
        call_id = make_call(container, tenant, rx.url)
        assert watcher.wait_for(lambda: len(watcher.accepted()) >= 1, 30)
        assert len(rx.requests) == 3
        failed = watcher.accepted()[0].payload
        assert failed["type"] == "webhook.delivery.failed"
        assert failed["data"]["call_id"] == call_id and failed["data"]["attempts"] == 3
        (d,) = [x for x in container.webhooks.call_deliveries(tenant.app, call_id, 10)
                if x.endpoint_id == "call"]
        assert d.status == "failed"
        # Redeliver: the same webhook-id and body, a fresh schedule.
        r = httpx.post(f"{local_platform.api_url}/v1/deliveries/{d.delivery_id}/redeliver",
                       headers=tenant.headers)
        assert r.status_code == 202
        assert rx.wait_for(lambda: len(rx.requests) >= 4, 10)
        assert {q.headers["webhook-id"] for q in rx.requests} == {d.delivery_id}
        assert len({q.body for q in rx.requests}) == 1


def test_410_disables_the_endpoint(container: Container, tenant: Tenant,
                                   local_platform: LocalPlatform) -> None:
    with Receiver(status=410) as rx:
        ep = register(local_platform, tenant, rx.url).json()
        call_id = make_call(container, tenant)
        assert rx.wait_for(lambda: len(rx.requests) >= 1, 20)
        assert rx.wait_for(lambda: not httpx.get(
            f"{local_platform.api_url}/v1/webhooks/{ep['id']}",
            headers=tenant.headers).json()["enabled"], 10)
        container.lifecycle.transition(call_id, CallStatus.CANCELED)
        time.sleep(1.5)
        assert len(rx.requests) == 1  # no delivery to a disabled endpoint


def test_rotation_signs_with_old_and_new_secret(container: Container, tenant: Tenant,
                                               local_platform: LocalPlatform) -> None:
    with Receiver() as rx:
        ep = register(local_platform, tenant, rx.url).json()
        rotated = httpx.post(f"{local_platform.api_url}/v1/webhooks/{ep['id']}/rotate-secret",
                             json={}, headers=tenant.headers).json()
        assert rotated["secret"] != ep["secret"] and rotated["secrets_in_grace"] == 1
        make_call(container, tenant)
        assert rx.wait_for(lambda: len(rx.accepted()) >= 1, 20)
        r = rx.accepted()[0]
        assert len(r.headers["webhook-signature"].split(" ")) == 2
        assert verify(ep["secret"], r.headers, r.body)
        assert verify(rotated["secret"], r.headers, r.body)


def test_no_private_reason_for_public_addresses() -> None:
    from voicelane.domain.webhooks import forbidden_reason

    assert forbidden_reason(ipaddress.ip_address("93.184.216.34")) is None
    assert forbidden_reason(ipaddress.ip_address("2606:4700::1111")) is None
    assert forbidden_reason(ipaddress.ip_address("64:ff9b::a00:1")) is not None  # NAT64 of 10/8
