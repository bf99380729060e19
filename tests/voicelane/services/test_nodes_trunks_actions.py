"""Trunks API, live-command forwarding with command_id idempotency, and the node sweeper
(calls and conferences)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import httpx
import pytest
from voicelane.container import Container
from voicelane.contracts.conferences import CreateConferenceRequest
from voicelane.domain.call import CallStatus
from voicelane.domain.errors import Conflict
from voicelane.services.clock import now_iso
from voicelane_local.platform import LocalPlatform


@pytest.fixture
def api(local_platform: LocalPlatform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=local_platform.api_url, timeout=10) as client:
        yield client


class FakeNode(BaseHTTPRequestHandler):
    """A media node's internal endpoint on loopback: records commands, answers as told."""

    received: list[dict[str, Any]] = []
    answer_status = 202

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"{}")
        FakeNode.received.append({"path": self.path, "auth": self.headers.get("Authorization"),
                                  "body": body})
        status = FakeNode.answer_status
        payload = ({"accepted": True} if status < 400 else
                   {"error": {"code": "call_not_answered", "message": "not answered yet"}})
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def fake_node(container: Container) -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), FakeNode)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    node_id = f"node-{time.time_ns()}"
    container.nodes.register(node_id, f"http://127.0.0.1:{server.server_port}", capacity=10)
    FakeNode.received = []
    FakeNode.answer_status = 202
    yield node_id
    server.shutdown()
    server.server_close()


def _live_call(container: Container, tenant: Any, api: httpx.Client, node_id: str,
               answered: bool = True) -> str:
    container.numbers.create(tenant.app, "+1415555" + str(time.time_ns())[-4:], None)
    number = container.numbers.list(tenant.app)[-1].number
    call = api.post("/v1/calls", json={"from": number, "to": "+14155550199"},
                    headers=tenant.headers).json()
    container.lifecycle.transition(call["id"], CallStatus.INITIATED,
                                   {"media_node": node_id, "started_at": now_iso()})
    if answered:
        container.lifecycle.transition(call["id"], CallStatus.IN_PROGRESS,
                                       {"answered_at": now_iso()})
    return str(call["id"])


def test_trunks_crud_never_shows_the_password(api: httpx.Client, new_tenant: Callable[..., Any]) -> None:
    t = new_tenant()
    second = api.post("/v1/trunks", headers=t.headers, json={
        "name": "backup", "host": "sip.backup.example", "priority": 20})
    first = api.post("/v1/trunks", headers=t.headers, json={
        "name": "main", "host": "203.0.113.10", "port": 5080, "transport": "tcp",
        "username": "acme", "password": "s3cret", "priority": 1})
    assert first.status_code == 201 and second.status_code == 201
    assert "password" not in first.json() and first.json()["has_password"] is True
    listed = api.get("/v1/trunks", headers=t.headers).json()["data"]
    assert [tr["name"] for tr in listed] == ["main", "backup"]  # dialling order
    assert "s3cret" not in json.dumps(listed)
    bad = api.post("/v1/trunks", headers=t.headers, json={"name": "x", "host": "bad host!"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"
    other = new_tenant()
    assert api.get(f"/v1/trunks/{first.json()['id']}", headers=other.headers).status_code == 404
    assert api.delete(f"/v1/trunks/{first.json()['id']}", headers=t.headers).status_code == 204
    assert len(api.get("/v1/trunks", headers=t.headers).json()["data"]) == 1



def test_trunk_codec_preferences(api: httpx.Client, new_tenant: Callable[..., Any]) -> None:
    t = new_tenant()
    wide = api.post("/v1/trunks", headers=t.headers, json={
        "name": "wide", "host": "203.0.113.10", "codecs": ["OPUS", "g722", "pcmu", "opus"]})
    assert wide.status_code == 201
    assert wide.json()["codecs"] == ["opus", "G722", "PCMU"]  # canonical, in order, no repeat
    fetched = api.get(f"/v1/trunks/{wide.json()['id']}", headers=t.headers).json()
    assert fetched["codecs"] == ["opus", "G722", "PCMU"]
    plain = api.post("/v1/trunks", headers=t.headers, json={"name": "plain", "host": "203.0.113.11"})
    assert plain.json()["codecs"] is None  # the node's default (G.711)
    for bad in (["G729"], [], "opus"):
        answer = api.post("/v1/trunks", headers=t.headers,
                          json={"name": "bad", "host": "203.0.113.12", "codecs": bad})
        assert answer.status_code == 422, bad
        assert answer.json()["error"]["code"] == "validation_error"
    assert len(api.get("/v1/trunks", headers=t.headers).json()["data"]) == 2

def test_action_forwarded_to_owning_node_and_idempotent(
    api: httpx.Client, container: Container, new_tenant: Callable[..., Any], fake_node: str
) -> None:
    t = new_tenant(destination_allow_list=["*"])
    call_id = _live_call(container, t, api, fake_node)
    body = {"text": "Hello there", "command_id": "cmd-1"}
    first = api.post(f"/v1/calls/{call_id}/actions/speak", headers=t.headers, json=body)
    assert first.status_code == 202, first.text
    assert first.json()["status"] == "accepted"
    again = api.post(f"/v1/calls/{call_id}/actions/speak", headers=t.headers, json=body)
    assert again.status_code == 202 and again.json() == first.json()
    assert len(FakeNode.received) == 1  # the retry did not reach the node again
    sent = FakeNode.received[0]
    assert sent["path"] == f"/internal/calls/{call_id}/actions/speak"
    assert sent["auth"] == f"Bearer {container.settings.internal_token}"
    assert sent["body"]["text"] == "Hello there"


def test_action_errors(api: httpx.Client, container: Container,
                       new_tenant: Callable[..., Any], fake_node: str) -> None:
    t = new_tenant(destination_allow_list=["*"])
    call_id = _live_call(container, t, api, fake_node, answered=False)
    unknown = api.post(f"/v1/calls/{call_id}/actions/teleport", headers=t.headers, json={})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_action"
    bad = api.post(f"/v1/calls/{call_id}/actions/send_dtmf", headers=t.headers,
                   json={"digits": "12x"})
    assert bad.status_code == 422
    early = api.post(f"/v1/calls/{call_id}/actions/play", headers=t.headers,
                     json={"url": "https://example.com/a.wav"})
    assert early.status_code == 409 and early.json()["error"]["code"] == "action_not_allowed"
    FakeNode.answer_status = 409
    refused = api.post(f"/v1/calls/{call_id}/actions/answer", headers=t.headers, json={})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "call_not_answered"
    assert FakeNode.received == [{"path": f"/internal/calls/{call_id}/actions/answer",
                                  "auth": f"Bearer {container.settings.internal_token}",
                                  "body": {}}]
    other = new_tenant()
    assert api.post(f"/v1/calls/{call_id}/actions/hangup", headers=other.headers,
                    json={}).status_code == 404


def test_hangup_action_cancels_a_queued_call(api: httpx.Client, container: Container,
                                             new_tenant: Callable[..., Any]) -> None:
    t = new_tenant()
    container.numbers.create(t.app, "+14155557001", None)
    call = api.post("/v1/calls", json={"from": "+14155557001", "to": "+14155550199"},
                    headers=t.headers).json()
    resp = api.post(f"/v1/calls/{call['id']}/actions/hangup", headers=t.headers, json={})
    assert resp.status_code == 202 and resp.json()["status"] == "completed"
    assert api.get(f"/v1/calls/{call['id']}", headers=t.headers).json()["status"] == "canceled"


def test_sweeper_ends_calls_of_a_silent_node(api: httpx.Client, container: Container,
                                             new_tenant: Callable[..., Any]) -> None:
    t = new_tenant(destination_allow_list=["*"])
    node = container.nodes.register(f"lost-{time.time_ns()}", "http://127.0.0.1:9", capacity=5)
    answered = _live_call(container, t, api, node.node_id, answered=True)
    ringing = _live_call(container, t, api, node.node_id, answered=False)
    assert {c.call_id for c in container.node_repo.live_calls(node.node_id)} == {answered, ringing}
    fresh = container.nodes.sweep(now=time.time())  # heartbeat fresh: its calls stay
    assert answered not in fresh and ringing not in fresh
    ended = container.nodes.sweep(now=time.time() + 60)  # other tests' nodes may go too
    assert {answered, ringing} <= set(ended)
    a = api.get(f"/v1/calls/{answered}", headers=t.headers).json()
    r = api.get(f"/v1/calls/{ringing}", headers=t.headers).json()
    assert (a["status"], a["end_reason"]) == ("completed", "media_node_lost")
    assert (r["status"], r["end_reason"]) == ("failed", "media_node_lost")
    events = api.get(f"/v1/calls/{answered}/events", headers=t.headers).json()["data"]
    assert events[-1]["type"] == "call.completed"
    assert container.node_repo.get(node.node_id) is None
    assert container.apps.get_app(t.app.app_id).active_calls == 0


def test_sweeper_ends_the_conferences_of_a_silent_node(
        api: httpx.Client, container: Container, new_tenant: Callable[..., Any]) -> None:
    t = new_tenant(destination_allow_list=["*"])
    node = container.nodes.register(f"lost-{time.time_ns()}", "http://127.0.0.1:9", capacity=5)
    conf = container.conferences.create(t.app, CreateConferenceRequest(name="lost"))
    call_id = _live_call(container, t, api, node.node_id)
    call = container.call_repo.get(call_id)
    assert call is not None
    container.conferences.join(conf.conference_id, call, node.node_id, moderator=False,
                               muted=False)
    # a call on another node is refused with a clear code
    with pytest.raises(Conflict) as refused:
        container.conferences.join(conf.conference_id, call.model_copy(
            update={"call_id": "call_other"}), "another-node", moderator=False, muted=False)
    assert refused.value.code == "conference_on_other_node"
    container.nodes.sweep(now=time.time() + 60)
    got = api.get(f"/v1/conferences/{conf.conference_id}", headers=t.headers).json()
    assert (got["status"], got["end_reason"], got["participant_count"]) == (
        "ended", "media_node_lost", 0)
    (participant,) = api.get(f"/v1/conferences/{conf.conference_id}/participants",
                             headers=t.headers).json()["data"]
    assert participant["left_reason"] == "media_node_lost"
    assert api.get(f"/v1/calls/{call_id}", headers=t.headers).json()["end_reason"] == \
        "media_node_lost"
    types = [e["type"] for e in api.get(f"/v1/conferences/{conf.conference_id}/events",
                                        headers=t.headers).json()["data"]]
    assert types == ["conference.created", "conference.participant.joined",
                     "conference.participant.left", "conference.ended"]
    assert container.conferences.repo.active_on_node(node.node_id) == []
