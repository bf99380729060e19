"""The demo's stream part (``voicelane_local.demo_stream``) against the session's local
platform and loopback node, with the instant fake engines."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from voicelane_local.demo import demo_agent
from voicelane_local.demo_stream import run_stream_call, short_twiml
from voicelane_local.media_node import LocalNode

from tests.interop.sipp_helpers import Api
from tests.voicelane_media.transports.ws.conftest import AGENT_REPLIES, CALLER_SAYS

pytestmark = pytest.mark.usefixtures("fake_engines")


def test_short_twiml_cuts_only_the_token() -> None:
    twiml = '<Parameter name="token" value="abcdefghijklmnopqrstuvwxyz"/>'
    assert short_twiml(twiml, "abcdefghijklmnopqrstuvwxyz") == \
        '<Parameter name="token" value="abcdefghijkl..."/>'
    assert short_twiml("<x/>", "short") == "<x/>"


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed")
def test_the_demo_streams_a_twilio_call_to_its_agent(
        api: Api, ws_node: LocalNode, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    agent = api.ok(api.post("/v1/agents", demo_agent("http://127.0.0.1:9/book")))
    call = run_stream_call(api.client, agent["id"], tmp_path, timeout_s=45)
    assert call["status"] == "completed" and call["end_reason"] == "hangup_by_caller"
    assert call["quality"]["dialect"] == "twilio" and call["quality"]["marks_acked"] >= 1
    shown = capsys.readouterr().out
    assert "<Connect><Stream url=\"ws://" in shown and "<Parameter name=\"token\"" in shown
    assert "greeting heard" in shown and "reply heard" in shown
    assert f"CALLER: {CALLER_SAYS}" in shown and f"AGENT : {AGENT_REPLIES}" in shown
    assert "end_reason hangup_by_caller" in shown
    saved = json.loads((tmp_path / "stream-transcript.json").read_text())
    assert [t["role"] for t in saved["turns"]][:3] == ["agent", "caller", "agent"]
    assert json.loads((tmp_path / "stream-call.json").read_text())["id"] == call["id"]
    events = json.loads((tmp_path / "stream-events.json").read_text())
    assert "call.completed" in [e["type"] for e in events]
