"""The rules of commands in webhook answers (pure): which events wait for the app, who is asked,
and how an answer is read: validated whole, the REST API's codes for a bad command."""

from __future__ import annotations

import json

import pytest
from voicelane.domain.call import CallStatus, Channel, Direction
from voicelane.domain.call_control import CommandFallback, asks_app, command_target
from voicelane.domain.models import App, Call
from voicelane.domain.webhooks import WebhookEndpoint
from voicelane.services.call_control import read_answer
from voicelane.webhook_ports import HttpResult

APP = App(app_id="app_1", name="a", created_at="2026-01-01T00:00:00Z")
CALL = Call.model_validate({
    "call_id": "call_1", "app_id": "app_1", "direction": Direction.INBOUND,
    "status": CallStatus.INITIATED, "from": "+15105550100", "to": "+14155550100",
    "from_channel": Channel.PSTN, "to_channel": Channel.PSTN,
    "created_at": "2026-01-01T00:00:00Z"})


def answer(body: object, status: int = 200, webhook_id: str = "msg_1") -> dict[str, object]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    got = read_answer(APP, CALL, webhook_id, HttpResult(status, 12, None, None, raw), None)
    return {"outcome": got.outcome, "reason": got.reason, "commands": got.commands,
            **got.details}


def test_which_events_wait_for_the_app() -> None:
    inbound = {"direction": "inbound"}
    outbound = {"direction": "outbound"}
    assert asks_app("call.initiated", inbound) and not asks_app("call.initiated", outbound)
    assert asks_app("call.answered", outbound) and not asks_app("call.answered", inbound)
    assert not asks_app("call.initiated", {**inbound, "agent_id": "agent_1"})
    assert not asks_app("call.answered", {**outbound, "stream": {"url": "wss://x"}})
    assert asks_app("call.gather.ended", {**inbound, "agent_id": "agent_1"})
    assert not asks_app("call.completed", inbound)
    detecting = {**outbound, "machine_detection": {"mode": "detect", "action": "webhook"}}
    assert not asks_app("call.answered", detecting)  # asked once it is known who answered
    assert asks_app("call.machine.detection.ended", detecting)
    assert asks_app("call.machine.detection.failed", detecting)
    assert not asks_app("call.machine.detection.ended", {**detecting, "agent_id": "agent_1"})
    assert asks_app("call.answered", {**outbound, "machine_detection": {"mode": "off"}})


def test_calls_a_routing_rule_or_a_parent_call_drives_do_not_wait_for_the_app() -> None:
    routed = {"direction": "inbound", "routing_rule": {"name": "r", "action": "ring_all"}}
    assert not asks_app("call.initiated", routed)
    assert asks_app("call.initiated", {**routed, "routing_rule": {"name": "r",
                                                                  "action": "commands"}})
    # A leg its parent dialled (a routing target, a transfer target): the node never asks.
    assert not asks_app("call.answered", {"direction": "outbound", "parent_call_id": "call_1"})


def test_the_call_url_wins_then_the_oldest_matching_commands_endpoint() -> None:
    def ep(i: str, created: str, types: list[str], commands: bool = True,
           enabled: bool = True) -> WebhookEndpoint:
        return WebhookEndpoint(endpoint_id=i, app_id="app_1", url=f"http://{i}", commands=commands,
                               event_types=types, enabled=enabled, created_at=created)

    endpoints = [ep("new", "2026-02", ["*"]), ep("plain", "2026-01", ["*"], commands=False),
                 ep("off", "2026-01", ["*"], enabled=False), ep("old", "2026-01-02", ["call.*"]),
                 ep("dtmf", "2026-01-01", ["call.dtmf.*"])]
    target = command_target("call.initiated", {}, endpoints)
    assert target is not None and target.endpoint_id == "old"
    own = command_target("call.initiated", {"webhook_url": "http://own",
                                            "webhook_commands": True}, endpoints)
    assert own is not None and (own.endpoint_id, own.url) == ("call", "http://own")
    assert command_target("call.initiated", {"webhook_url": "http://own"}, []) is None


def test_no_commands_and_a_list_of_commands() -> None:
    assert answer(b"", 204)["commands"] == [] and answer(b"", 204)["outcome"] == "commands"
    assert answer(b"  ", 200)["outcome"] == "commands"
    got = answer({"commands": [{"action": "answer"},
                               {"action": "speak", "text": "hi", "command_id": "c1"},
                               {"action": "gather", "max_digits": 2}],
                  "webhook_id": "msg_1"})
    assert got["outcome"] == "commands"
    assert got["commands"] == [
        {"action": "answer"}, {"action": "speak", "text": "hi", "command_id": "c1"},
        {"action": "gather", "max_digits": 2, "terminator": "#", "timeout_s": 5.0,
         "input": "dtmf"}]


@pytest.mark.parametrize(("body", "status", "reason", "extra"), [
    (b"<Response/>", 200, "invalid_answer", {}),
    ([{"action": "answer"}], 200, "invalid_answer", {}),
    ({"commands": [{"action": "answer"}] * 21}, 200, "invalid_answer", {}),
    ({"commands": [], "webhook_id": "msg_other"}, 200, "answer_mismatch", {}),
    ({"commands": [{"action": "answer"}, {"action": "dance"}]}, 200, "invalid_command",
     {"index": 1, "code": "unknown_action"}),
    ({"commands": [{"action": "answer"}, {"action": "speak", "text": ""}]}, 200,
     "invalid_command", {"index": 1, "code": "validation_error"}),
    ({"commands": [{"action": "gather"}, {"action": "speak", "text": "x"}]}, 200,
     "invalid_command", {"index": 1, "code": "command_after_end"}),
    ({"commands": ["answer"]}, 200, "invalid_command", {"index": 0}),
    ({"commands": []}, 503, "webhook_status", {"status_code": 503}),
])
def test_a_bad_answer_fails_whole(body: object, status: int, reason: str,
                                  extra: dict[str, object]) -> None:
    got = answer(body, status)
    assert got["outcome"] == "failed" and got["reason"] == reason and got["commands"] == []
    assert {k: got[k] for k in extra} == extra


def test_timeouts_and_connection_errors() -> None:
    def of(error: str) -> str | None:
        return read_answer(APP, CALL, "m", HttpResult(None, 5000, error), None).reason

    assert of("timeout: TimeoutError") == "webhook_timeout"
    assert of("connection error: ConnectionRefusedError") == "webhook_unreachable"


def test_a_fallback_that_transfers_needs_a_target() -> None:
    with pytest.raises(ValueError, match="transfer_to"):
        CommandFallback(then="transfer")
    assert CommandFallback().then == "hangup"
