"""Commands in webhook answers, end to end: a sipp caller dials a number of an app whose
webhook endpoint answers with commands (a tiny IVR on loopback, tests/interop/ivr_app.py).

The inbound call's call.initiated is answered with answer + gather (spoken prompt); the gather
result's call.gather.ended with speak + hangup: the caller is answered, presses 1 and is hung
up on. A receiver that times out or answers garbage gets the number's fallback instead: the
default (spoken apology, hangup) or the fallback URL's commands (here: reject busy)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from voicelane_local.media_node import LocalNode
from voicelane_local.platform import LocalPlatform

from tests.interop.ivr_app import NO_COMMANDS, Answer, IvrApp, Script, commands
from tests.interop.sipp_helpers import SCENARIOS, Api, Sipp, new_number, requires_sipp

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(60)]


@pytest.fixture
def ivr(api: Api) -> Iterator[Callable[[Script], IvrApp]]:
    """``ivr(script)``: an IVR app registered as the app's command endpoint."""
    apps: list[IvrApp] = []

    def start(script: Script) -> IvrApp:
        app = IvrApp(script).start()
        apps.append(app)
        ep = api.ok(api.post("/v1/webhooks", {"url": app.url, "event_types": ["call.*"],
                                              "commands": True}))
        assert ep["commands"] is True
        app.secret = ep["secret"]
        return app

    yield start
    for app in apps:
        app.stop()


@pytest.fixture
def short_answer_timeout(local_platform: LocalPlatform, monkeypatch: pytest.MonkeyPatch) -> float:
    """The answer timeout at 1 s for this test (VOICELANE_WEBHOOK_ANSWER_TIMEOUT_S, default 5)."""
    container = local_platform.container
    monkeypatch.setattr(container.settings, "webhook_answer_timeout_s", 1.0)
    monkeypatch.setattr(container.answers, "timeout_s", 1.0)
    return 1.0


def menu(event: dict[str, Any]) -> Answer:
    if event["type"] == "call.initiated":
        # A thinking app: the event router has long seen call.initiated by the time this
        # answer is recorded, and must not deliver it to this endpoint a second time.
        time.sleep(0.6)
        return commands({"action": "answer"},
                        {"action": "gather", "max_digits": 1, "timeout_s": 6,
                         "prompt_text": "Press one for sales.", "command_id": "menu"})
    if event["type"] == "call.gather.ended":
        digits = event["data"]["payload"].get("digits")
        if digits == "1":
            return commands({"action": "speak", "text": "Connecting you to sales. Goodbye."},
                            {"action": "hangup"})
        return commands({"action": "hangup"})
    return NO_COMMANDS


def test_ivr_answers_gathers_and_hangs_up_from_webhook_answers(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp],
        ivr: Callable[[Script], IvrApp]) -> None:
    app = ivr(menu)
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    caller = sipp("-sf", str(SCENARIOS / "uac_ivr.xml"), "-s", number, "-mi", "127.0.0.1",
                  target=f"127.0.0.1:{media_node.sip_port}")
    assert caller.wait() == 0, caller.output()  # answered, pressed 1, got the BYE
    call_id = api.wait_event_for_number(number)
    call = api.wait_status(call_id, {"completed"})
    assert call["end_reason"] == "hangup_by_api"

    types = api.event_types(call_id)
    assert types.index("call.initiated") < types.index("call.answered") \
        < types.index("call.gather.ended") < types.index("call.completed")
    events = api.events(call_id)
    gathered = next(e for e in events if e["type"] == "call.gather.ended")
    assert gathered["details"]["digits"] == "1"
    spoken = [e["details"]["text"] for e in events if e["type"] == "call.speak.started"]
    assert spoken == ["Connecting you to sales. Goodbye."]
    assert "call.command.failed" not in types
    # speak ran to its end before the hangup (the list runs in order)
    assert types.index("call.speak.ended") < types.index("call.completed")

    # both decisions were asked once, signed, and recorded as that event's only delivery
    for event_type in ("call.initiated", "call.gather.ended"):
        asked = app.of_type(event_type, call_id)
        assert len(asked) == 1 and asked[0].signed, event_type
    deliveries = api.ok(api.get(f"/v1/calls/{call_id}/deliveries"))["data"]
    initiated = [d for d in deliveries if d["event_type"] == "call.initiated"]
    assert [d["id"] for d in initiated] == [app.of_type("call.initiated", call_id)[0].webhook_id]
    assert initiated[0]["status"] == "delivered" and len(initiated[0]["attempts"]) == 1
    assert len(app.of_type("call.initiated", call_id)) == 1  # no second, asynchronous copy


def test_a_receiver_that_times_out_gets_the_default_fallback_and_its_late_answer_is_ignored(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp],
        ivr: Callable[[Script], IvrApp], short_answer_timeout: float) -> None:
    def slow(event: dict[str, Any]) -> Answer:
        if event["type"] == "call.initiated":
            time.sleep(short_answer_timeout + 1.5)  # answers after the platform gave up
            return commands({"action": "answer"}, {"action": "speak", "text": "too late"})
        return NO_COMMANDS

    ivr_app = ivr(slow)
    number = new_number()
    api.ok(api.post("/v1/numbers", {"number": number}))
    caller = sipp("-sf", str(SCENARIOS / "uac_hung_up.xml"), "-s", number, "-mi", "127.0.0.1",
                  target=f"127.0.0.1:{media_node.sip_port}")
    assert caller.wait() == 0, caller.output()  # answered with the apology, then BYE
    call_id = api.wait_event_for_number(number)
    call = api.wait_status(call_id, {"completed"})
    assert call["end_reason"] == "app_unavailable"
    events = api.events(call_id)
    failed = [e["details"] for e in events if e["type"] == "call.command.failed"]
    assert len(failed) == 1 and failed[0]["reason"] == "webhook_timeout"
    assert failed[0]["event_type"] == "call.initiated" and failed[0]["then"] == "fallback"
    spoken = [e["details"]["text"] for e in events if e["type"] == "call.speak.started"]
    assert spoken == ["Sorry, we cannot take your call right now. Goodbye."]
    time.sleep(1.0)  # the late answer has arrived by now: nothing of it ran
    assert "too late" not in str(api.events(call_id))
    # the failed ask became an ordinary delivery: retried in the background until the app
    # has the event (the same webhook-id, its answer never read)
    deadline = time.monotonic() + 20
    while True:
        initiated = [d for d in api.ok(api.get(f"/v1/calls/{call_id}/deliveries"))["data"]
                     if d["event_type"] == "call.initiated"]
        if (initiated and initiated[0]["status"] == "delivered") or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert len(initiated) == 1 and initiated[0]["status"] == "delivered", initiated
    assert len(initiated[0]["attempts"]) == 2
    assert initiated[0]["attempts"][0]["status_code"] is None  # the timed-out ask
    copies = ivr_app.of_type("call.initiated", call_id)
    assert len(copies) == 2 and copies[0].webhook_id == copies[1].webhook_id
    assert "too late" not in str(api.events(call_id))


@pytest.mark.parametrize(("bad", "expected_reason"), [
    ((200, b"<Response><Say>TwiML?</Say></Response>"), "invalid_answer"),  # not JSON
    ((200, b'{"commands": [{"action": "answer"}, {"action": "speak"}]}'),  # speak, no text
     "invalid_command"),
    ((200, b'{"commands": [{"action": "hangup"}, {"action": "answer"}]}'),  # after the end
     "invalid_command"),
    ((500, b""), "webhook_status"),
], ids=["garbage", "invalid-command", "command-after-hangup", "http-500"])
def test_a_bad_answer_runs_nothing_of_it_and_the_fallback_url_decides(
        bad: Answer, expected_reason: str, api: Api, media_node: LocalNode, sipp: Callable[..., Sipp],
        ivr: Callable[[Script], IvrApp]) -> None:
    ivr(lambda e: bad if e["type"] == "call.initiated" else NO_COMMANDS)
    fallback = IvrApp(lambda e: commands({"action": "reject", "cause": "busy"})).start()
    try:
        number = new_number()
        api.ok(api.post("/v1/numbers", {"number": number,
                                         "command_fallback": {"url": fallback.url}}))
        caller = sipp("-sf", str(SCENARIOS / "uac_busy.xml"), "-s", number, "-mi", "127.0.0.1",
                      target=f"127.0.0.1:{media_node.sip_port}")
        assert caller.wait() == 0, caller.output()  # 486: never answered by the bad list
        call_id = api.wait_event_for_number(number)
        call = api.wait_status(call_id, {"busy"})
        assert call["answered_at"] is None
        failed = [e["details"] for e in api.events(call_id) if e["type"] == "call.command.failed"]
        assert len(failed) == 1, failed
        assert failed[0]["reason"] == expected_reason, failed
        if bad[0] == 500:
            assert failed[0]["status_code"] == 500
        elif b"speak" in bad[1]:
            assert failed[0]["index"] == 1 and failed[0]["code"] == "validation_error"
        elif b"hangup" in bad[1]:
            assert failed[0]["code"] == "command_after_end"
        assert len(fallback.of_type("call.initiated", call_id)) == 1
    finally:
        fallback.stop()


def test_an_outbound_call_is_driven_by_its_own_webhook_url_answers(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp]) -> None:
    """`webhook_commands` on the call: call.answered waits for the call's own URL."""
    app = IvrApp(lambda e: commands({"action": "speak", "text": "This is your reminder."},
                                    {"action": "hangup"})
                 if e["type"] == "call.answered" else NO_COMMANDS).start()
    try:
        app.secret = api.ok(api.get("/v1/webhooks/call-url-secret"))["secret"]
        peer = sipp("-sn", "uas")
        api.ok(api.post("/v1/trunks", {"name": "peer", "host": "127.0.0.1", "port": peer.port}))
        number = new_number()
        api.ok(api.post("/v1/numbers", {"number": number}))
        refused = api.post("/v1/calls", {"from": number, "to": "+14155550123",
                                         "webhook_commands": True})
        assert refused.status_code == 422
        assert refused.json()["error"]["code"] == "webhook_commands_without_url"
        call_id = api.ok(api.post("/v1/calls", {
            "from": number, "to": "+14155550123", "webhook_url": app.url,
            "webhook_commands": True}))["id"]
        assert peer.wait() == 0, peer.output()  # answered, then our BYE
        call = api.wait_status(call_id, {"completed"})
        assert call["end_reason"] == "hangup_by_api"
        events = api.events(call_id)
        assert [e["details"]["text"] for e in events if e["type"] == "call.speak.started"] \
            == ["This is your reminder."]
        asked = app.of_type("call.answered", call_id)
        assert len(asked) == 1 and asked[0].signed
    finally:
        app.stop()
