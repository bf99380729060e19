"""A number that routes every inbound call to a customer's bot: sipp calls it over SIP/RTP,
the media node answers at once and streams the call to a loopback bot in Twilio's dialect."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from voicelane_local.media_node import LocalNode

from tests.interop.sipp_helpers import SCENARIOS, Api, Sipp, new_number, requires_sipp
from tests.interop.test_sipp_inbound import _wait_inbound, _write_caller_audio
from tests.voicelane_media.transports.ws.bot_server import StreamBot

pytestmark = [pytest.mark.sipp, requires_sipp, pytest.mark.timeout(90)]


def test_a_stream_number_sends_the_caller_audio_and_digits_to_the_bot(
        api: Api, media_node: LocalNode, sipp: Callable[..., Sipp], tmp_path: Path) -> None:
    _write_caller_audio(tmp_path)
    t = np.arange(8000) / 8000
    hello = (5000 * np.sin(2 * np.pi * 300 * t)).astype(np.int16)
    number = new_number()
    with StreamBot("twilio", hello, clear_on_speech=False) as bot:
        api.ok(api.post("/v1/numbers", {"number": number, "stream": {
            "url": bot.url, "custom_parameters": {"line": "support"}}}))
        caller = sipp("-sf", str(SCENARIOS / "uac_pcma_dtmf.xml"), "-s", number,
                      "-mi", "127.0.0.1", target=f"127.0.0.1:{media_node.sip_port}")
        assert caller.wait(timeout_s=25) == 0, caller.output()
        call_id = _wait_inbound(api, number)
        call = api.wait_status(call_id, {"completed"}, 20)
        bot.wait_for(lambda: bot.connections and bot.connections[0].closed_at is not None)
    conn = bot.connections[0]
    assert conn.start is not None
    assert conn.start.call_ref == call_id and conn.start.custom_parameters == {"line": "support"}
    assert conn.loud_at is not None  # sipp's 440 Hz tone, through RTP, A-law and mu-law
    heard = conn.caller_audio()
    assert len(heard) > 8000 * 2
    assert conn.digits == ["1"]  # the RFC 4733 key, as Twilio's dtmf message
    assert conn.stop_received and "greeting" in conn.mark_echoes
    assert call["end_reason"] == "hangup_by_caller"
    types = api.event_types(call_id)
    assert types[:2] == ["call.initiated", "call.answered"], types
    assert "call.streaming.started" in types and "call.streaming.stopped" in types
