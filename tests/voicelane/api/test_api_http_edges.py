"""HTTP edges of the API: bodies that are not JSON, methods a path does not serve, dates."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from voicelane.api import routers
from voicelane.api.routing import StrictJsonRoute

from tests.voicelane.api.api_helpers import ApiUser, assert_error

JSON = {"Content-Type": "application/json"}

NOT_JSON: list[tuple[str, bytes]] = [
    ("malformed", b'{"name": '),
    ("latin-1", '{"name": "caf\u00e9"}'.encode("latin-1")),
    ("invalid utf-8 bytes", b'{"name": "\xff\xfe"}'),
    ("utf-16 with BOM", '{"name": "a"}'.encode("utf-16")),
    ("NaN", b'{"name": "a", "temperature": NaN}'),
    ("Infinity", b'{"name": "a", "script": {"x": Infinity}}'),
    ("-Infinity", b'{"name": "a", "script": {"x": -Infinity}}'),
]


@pytest.mark.parametrize(("case", "body"), NOT_JSON, ids=[c[0] for c in NOT_JSON])
def test_a_body_that_is_not_json_answers_one_status_and_code(
    user: ApiUser, case: str, body: bytes
) -> None:
    r = user.request("POST", "/v1/agents", content=body, headers=JSON)
    error = assert_error(r, 422, "validation_error")
    assert [d["type"] for d in error["details"]] == ["json_invalid"], error
    assert user.request("GET", "/v1/agents").json()["data"] == []


def test_a_utf8_body_with_non_ascii_text_is_json(user: ApiUser) -> None:
    r = user.request("POST", "/v1/agents", content='{"name": "caf\u00e9"}'.encode(),
                     headers=JSON)
    assert r.status_code == 201, r.text
    assert r.json()["name"] == "caf\u00e9"


def test_every_route_parses_bodies_strictly() -> None:
    package = Path(routers.__file__).parent
    modules = [importlib.import_module(f"voicelane.api.routers.{p.stem}")
               for p in sorted(package.glob("*.py")) if p.stem != "__init__"]
    routes = [r for m in modules for r in m.router.routes if isinstance(r, APIRoute)]
    assert len(modules) >= 9 and len(routes) > 30
    assert [r.path for r in routes if not isinstance(r, StrictJsonRoute)] == []
    assert all(m.router.route_class is StrictJsonRoute for m in modules)


@pytest.mark.parametrize(("method", "path", "allow"), [
    ("PUT", "/v1/calls", "GET, POST"),
    ("DELETE", "/v1/calls/call_x/events", "GET"),
    ("PUT", "/v1/agents/agent_x", "DELETE, GET, PATCH"),
    ("POST", "/healthz", "GET"),
    ("OPTIONS", "/v1/webhooks", "GET, POST"),
])
def test_405_lists_every_method_of_the_path_in_allow(
    user: ApiUser, method: str, path: str, allow: str
) -> None:
    r = user.request(method, path)
    assert_error(r, 405, "method_not_allowed")
    assert r.headers["Allow"] == allow


@pytest.mark.parametrize("value", [
    "0.5", "1700000000", "-1", "yesterday", "2026-13-01", "2026-01-01T25:00:00Z",
    "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00",
])
def test_a_date_filter_that_is_not_iso8601_answers_422(user: ApiUser, value: str) -> None:
    for param in ("start_date", "end_date"):
        r = user.request("GET", "/v1/calls", params={param: value})
        error = assert_error(r, 422, "validation_error")
        assert error["details"][0]["loc"] == ["query", param], error


def test_iso8601_date_filters_select_calls(user: ApiUser) -> None:
    call = user.create_call().json()
    for params, expected in [
        ({"start_date": "2000-01-01"}, [call["id"]]),
        ({"start_date": "2000-01-01T00:00:00Z", "end_date": "2001-01-01T00:00:00+01:00"}, []),
        ({"end_date": "2999-01-01T00:00:00"}, [call["id"]]),
        ({"start_date": "2999-01-01"}, []),
    ]:
        r = user.request("GET", "/v1/calls", params=params)
        assert r.status_code == 200, r.text
        assert [c["id"] for c in r.json()["data"]] == expected, params


def test_scheduled_at_as_a_number_answers_422_and_writes_nothing(user: ApiUser) -> None:
    error = assert_error(user.create_call(scheduled_at=4102444800), 422, "validation_error")
    assert error["details"][0]["loc"] == ["body", "scheduled_at"]
    assert user.call_ids() == []


@pytest.mark.parametrize("url", ["https://\u0103\u00fe\x0e\x8a/x", "https://" + "a" * 70 + ".example/"])
def test_a_url_whose_host_is_no_host_name_is_refused_not_a_500(user: ApiUser, url: str) -> None:
    # getaddrinfo's IDNA step raises UnicodeError (not OSError) for these names.
    r = user.request("POST", "/v1/webhooks", json={"url": url})
    assert_error(r, 422, "webhook_url_not_allowed")
    assert_error(user.create_call(webhook_url=url), 422, "webhook_url_not_allowed")
    assert user.request("GET", "/v1/webhooks").json()["data"] == []
    assert user.call_ids() == []
