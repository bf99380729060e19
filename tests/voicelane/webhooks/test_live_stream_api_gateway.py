"""The live event stream's AWS path: the events-ws function keeps connections in DynamoDB and
the event-router function pushes each event to the app's connections through the API Gateway
Management API (a real botocore client, SigV4 and all, against a loopback server that answers
as API Gateway does: 200 for a live connection, 410 GoneException for a closed one)."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from voicelane.adapters.dynamo.ws_connections import DynamoWsConnections
from voicelane.adapters.webhook_io import ApiGatewayLiveStream
from voicelane.container import Container
from voicelane_local.webhook_jobs import LocalLambdaContext, load_handler

from tests.conftest import Tenant

EVENTS = Path(__file__).resolve().parents[3] / "events"


class ManagementApi:
    """POST /@connections/{id}: records what each live connection was sent."""

    def __init__(self, live: set[str]) -> None:
        self.live = live
        self.posts: list[tuple[str, dict[str, Any], str]] = []  # connection, payload, auth
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                data = self.rfile.read(int(self.headers.get("content-length", 0)))
                connection = unquote(self.path).removeprefix("/@connections/")
                if connection in api.live:
                    api.posts.append((connection, json.loads(data),
                                      self.headers.get("authorization", "")))
                    self._answer(200, b"", {})
                else:
                    body = json.dumps({"message": "Gone"}).encode()
                    self._answer(410, body, {"x-amzn-ErrorType": "GoneException"})

            def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for name, value in {**headers, "content-length": str(len(body))}.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> ManagementApi:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def ws_event(route: str, connection_id: str, api_key: str = "") -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "events_ws.json").read_text()
                                       .replace("{{API_KEY}}", api_key)
                                       .replace("{{CONNECTION_ID}}", connection_id))
    event["requestContext"]["routeKey"] = route
    return event


def stream_event(app_id: str, event_id: str) -> dict[str, Any]:
    text = (EVENTS / "event_router.json").read_text()
    text = text.replace("app_01sample0000000000000000", app_id)
    text = text.replace("evt_01sample0000000000000000", event_id)
    text = text.replace("https://example.com/hooks", "")  # no webhook: only the live stream
    return json.loads(text)  # type: ignore[no-any-return]


@pytest.fixture
def api_gateway_push(container: Container) -> Iterator[ManagementApi]:
    """The router's live stream swapped for the AWS one, pointed at a loopback API."""
    router = container.event_router
    saved = router.live
    live: set[str] = set()
    with ManagementApi(live) as api:
        settings = container.settings.model_copy(update={"events_ws_management_url": api.url})
        router.live = ApiGatewayLiveStream(settings, DynamoWsConnections(container.table))
        try:
            yield api
        finally:
            router.live = saved


def test_events_reach_the_apps_connections_only_and_gone_ones_are_forgotten(
        container: Container, new_tenant: Any, api_gateway_push: ManagementApi) -> None:
    events_ws, router = load_handler("events_ws"), load_handler("event_router")
    ctx = LocalLambdaContext("events-ws")
    mine: Tenant = new_tenant("ws-mine")
    other: Tenant = new_tenant("ws-other")
    suffix = str(time.time_ns())
    conn = {name: f"{name}-{suffix}=" for name in ("mine-1", "mine-2", "mine-gone", "other")}
    for name, tenant in (("mine-1", mine), ("mine-2", mine), ("mine-gone", mine),
                         ("other", other)):
        answer = events_ws(ws_event("$connect", conn[name], tenant.api_key), ctx)
        assert answer["statusCode"] == 200, answer
    assert events_ws(ws_event("$connect", f"bad-{suffix}", "sk_test_nope"), ctx)[
        "statusCode"] == 401
    api_gateway_push.live.update({conn["mine-1"], conn["mine-2"], conn["other"]})
    connections = DynamoWsConnections(container.table)
    assert sorted(connections.for_app(mine.app.app_id)) == sorted(
        [conn["mine-1"], conn["mine-2"], conn["mine-gone"]])

    event_id = f"evt_01ws{suffix[-20:]}"
    result = router(stream_event(mine.app.app_id, event_id), LocalLambdaContext("event-router"))
    assert result == {"batchItemFailures": []}

    got = {c: payload for c, payload, _ in api_gateway_push.posts}
    assert set(got) == {conn["mine-1"], conn["mine-2"]}  # never the other app's connection
    assert all(p["id"] == event_id and p["type"] == "call.answered" for p in got.values())
    assert all(auth.startswith("AWS4-HMAC-SHA256 ") for _, _, auth in api_gateway_push.posts)
    # API Gateway said the closed connection is gone: it is no longer pushed to
    assert sorted(connections.for_app(mine.app.app_id)) == sorted([conn["mine-1"], conn["mine-2"]])

    assert events_ws(ws_event("$disconnect", conn["mine-1"]), ctx)["statusCode"] == 200
    assert connections.for_app(mine.app.app_id) == [conn["mine-2"]]
    assert connections.for_app(other.app.app_id) == [conn["other"]]


def test_commands_and_subscriptions_on_the_api_gateway_websocket(
        container: Container, local_platform: Any, new_tenant: Any,
        api_gateway_push: ManagementApi) -> None:
    """$default runs the app's messages through the same CommandService as the REST actions and
    answers each as the route's response; a subscription narrows what the router pushes; another
    app's connection can neither follow nor command the call."""
    import httpx

    events_ws, router = load_handler("events_ws"), load_handler("event_router")
    ctx = LocalLambdaContext("events-ws")
    mine: Tenant = new_tenant("ws-cmd", destination_allow_list=["*"])
    other: Tenant = new_tenant("ws-cmd-other")
    suffix = str(time.time_ns())
    conn, spy = f"cmd-{suffix}=", f"spy-{suffix}="
    api_gateway_push.live.update({conn, spy})
    for connection, tenant in ((conn, mine), (spy, other)):
        assert events_ws(ws_event("$connect", connection, tenant.api_key), ctx)["statusCode"] == 200
    with httpx.Client(base_url=local_platform.api_url, headers=mine.headers, timeout=10) as api:
        assert api.post("/v1/numbers", json={"number": "+14155550177"}).status_code == 201
        created = api.post("/v1/calls", json={"from": "+14155550177", "to": "+14155550123",
                                               "scheduled_at": "2099-01-01T00:00:00Z"})
        assert created.status_code in (200, 201, 202), created.text
        call_id = created.json()["id"]

    def send(connection: str, message: dict[str, Any] | str) -> dict[str, Any]:
        event = ws_event("$default", connection)
        event["requestContext"]["eventType"] = "MESSAGE"
        event["body"] = message if isinstance(message, str) else json.dumps(message)
        answer = events_ws(event, ctx)
        assert answer["statusCode"] == 200
        reply: dict[str, Any] = json.loads(answer["body"])  # the two-way route's response
        return reply

    assert events_ws({**ws_event("$default", conn), "body": "ping"}, ctx)["body"] == "pong"
    assert send(conn, {"type": "subscribe", "call_ids": [call_id]}) == {
        "type": "subscribed", "call_ids": [call_id]}
    refused = send(spy, {"type": "subscribe", "call_ids": [call_id]})
    assert (refused["code"], refused["status"]) == ("call_not_found", 404)
    refused = send(spy, {"type": "command", "call_id": call_id, "action": "hangup",
                         "command_id": "spy"})
    assert (refused["type"], refused["code"], refused["command_id"]) == \
        ("error", "call_not_found", "spy")
    bad = send(conn, {"type": "command", "call_id": call_id, "action": "speak"})
    assert (bad["code"], bad["status"]) == ("action_not_allowed", 409) or \
        (bad["code"], bad["status"]) == ("validation_error", 422)
    assert send(conn, {"type": "dance"})["code"] == "invalid_message"

    # the router pushes only the followed call's events to the connection
    start = len(api_gateway_push.posts)
    event_id = f"evt_01wc{suffix[-20:]}"
    router(stream_event(mine.app.app_id, event_id), LocalLambdaContext("event-router"))
    assert [p for c, p, _ in api_gateway_push.posts[start:]
            if p.get("id") == event_id] == []  # the sample event is another call's

    ack = send(conn, {"type": "command", "call_id": call_id, "action": "hangup",
                      "command_id": "bye"})
    assert ack == {"type": "ack", "call_id": call_id, "action": "hangup", "command_id": "bye",
                   "status": "completed"}
    assert container.call_repo.get(call_id).status.value == "canceled"  # type: ignore[union-attr]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the local runner routes the call's events meanwhile
        seen = {(c, p["type"]) for c, p, _ in api_gateway_push.posts
                if (p.get("data") or {}).get("id") == call_id}
        if (conn, "call.canceled") in seen:
            break
        time.sleep(0.1)
    assert {(conn, "call.scheduled"), (conn, "call.canceled")} <= seen
    assert not [c for c, _ in seen if c == spy]


def test_websocket_commands_count_against_the_keys_write_limit_and_end_with_the_key(
        container: Container, new_tenant: Any, api_gateway_push: ManagementApi) -> None:
    """A connection's commands are the REST actions' `writes`: the same per-key limit (429
    with Retry-After in the reply), and a key revoked after connecting commands no more."""
    from voicelane.domain.models import RateLimits

    events_ws = load_handler("events_ws")
    ctx = LocalLambdaContext("events-ws")
    tenant: Tenant = new_tenant("ws-limits", rate_limits=RateLimits(writes=2))
    conn = f"lim-{time.time_ns()}="
    assert events_ws(ws_event("$connect", conn, tenant.api_key), ctx)["statusCode"] == 200

    def command(command_id: str) -> dict[str, Any]:
        event = ws_event("$default", conn)
        event["body"] = json.dumps({"type": "command", "call_id": "call_01nosuchcall0000000000000",
                                    "action": "hangup", "command_id": command_id})
        reply: dict[str, Any] = json.loads(events_ws(event, ctx)["body"])
        return reply

    assert [command(n)["code"] for n in ("1", "2")] == ["call_not_found", "call_not_found"]
    limited = command("3")
    assert (limited["code"], limited["status"], limited["command_id"]) == (
        "rate_limited", 429, "3")
    assert 1 <= limited["retry_after_s"] <= 60
    subscribe = ws_event("$default", conn)
    subscribe["body"] = json.dumps({"type": "subscribe", "call_ids": "*"})
    assert json.loads(events_ws(subscribe, ctx)["body"])["type"] == "subscribed"  # not a write

    container.apps.revoke_key(tenant.key.key_id)
    revoked = command("4")
    assert (revoked["code"], revoked["status"]) == ("invalid_api_key", 401)
