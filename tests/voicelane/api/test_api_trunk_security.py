"""Trunk TLS and SRTP settings through the HTTP API: created, validated, changed with PATCH,
and what the media node reads back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from voicelane.container import Container


def test_tls_and_srtp_are_set_validated_and_changed(
        http: httpx.Client, new_tenant: Callable[..., Any], container: Container) -> None:
    t = new_tenant()
    created = http.post("/v1/trunks", headers=t.headers, json={
        "name": "carrier", "host": "sip.carrier.example", "port": 5061, "transport": "tls",
        "srtp": "mandatory", "username": "acme", "password": "s3cret"})
    assert created.status_code == 201, created.text
    trunk = created.json()
    assert (trunk["transport"], trunk["srtp"], trunk["port"]) == ("tls", "mandatory", 5061)
    assert http.post("/v1/trunks", headers=t.headers, json={
        "name": "plain", "host": "192.0.2.1"}).json()["srtp"] == "off"  # the default

    for bad in ({"srtp": "always"}, {"srtp": True}, {"transport": "sctp"}, {"transport": "TLS"}):
        resp = http.post("/v1/trunks", headers=t.headers,
                         json={"name": "x", "host": "192.0.2.1", **bad})
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["code"] == "validation_error"

    path = f"/v1/trunks/{trunk['id']}"
    changed = http.patch(path, headers=t.headers, json={"srtp": "optional", "port": 5062})
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert (body["srtp"], body["port"], body["transport"], body["username"]) == (
        "optional", 5062, "tls", "acme")
    assert body["updated_at"] and body["has_password"] is True
    stored = container.trunks.get(t.app, trunk["id"])
    assert (stored.srtp, stored.port, stored.password) == ("optional", 5062, "s3cret")

    cleared = http.patch(path, headers=t.headers, json={"password": None, "name": None})
    assert cleared.status_code == 200 and cleared.json()["has_password"] is False
    assert cleared.json()["name"] == "carrier"  # null leaves a required field alone

    for bad in ({"srtp": "sometimes"}, {"port": 0}, {"inbound_addresses": ["10.0.0.0/33"]},
                {"trunk_id": "trunk_x"}):
        resp = http.patch(path, headers=t.headers, json=bad)
        assert resp.status_code == 422, resp.text
    assert http.get(path, headers=t.headers).json()["srtp"] == "optional"  # nothing written

    other = new_tenant()
    missing = http.patch(path, headers=other.headers, json={"srtp": "off"})
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "trunk_not_found"
