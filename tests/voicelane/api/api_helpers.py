"""Helpers of the API tests: a tenant seen through the API and the one error shape."""

from __future__ import annotations

from typing import Any

import httpx

from tests.fresh_numbers import e164

__all__ = ["ApiUser", "assert_error", "e164"]


class ApiUser:
    """A tenant seen through the API: its key's headers and a number it owns."""

    def __init__(self, http: httpx.Client, tenant: Any) -> None:
        self.http = http
        self.tenant = tenant
        self.app_id: str = tenant.app.app_id
        self.headers: dict[str, str] = tenant.headers
        self.number = e164()
        r = self.request("POST", "/v1/numbers", json={"number": self.number})
        assert r.status_code == 201, r.text

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {**self.headers, **kw.pop("headers", {})}
        return self.http.request(method, path, headers=headers, **kw)

    def create_call(self, headers: dict[str, str] | None = None, **fields: Any) -> httpx.Response:
        body = {"from": self.number, "to": e164(), **fields}
        return self.request("POST", "/v1/calls", json=body, headers=headers or {})

    def call_ids(self) -> list[str]:
        r = self.request("GET", "/v1/calls", params={"limit": 100})
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["data"]]


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is the one error shape with this status and code; returns the error."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error
