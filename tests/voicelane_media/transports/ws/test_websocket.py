"""Our own dialect: binary PCM16 little-endian at the session's rate, JSON control messages."""

from __future__ import annotations

import pytest
from voicelane_media.transports.ws.frames import (
    MAX_MESSAGE_BYTES,
    StreamClear,
    StreamConnected,
    StreamDtmf,
    StreamMark,
    StreamMedia,
    StreamProtocolError,
    StreamStart,
    StreamStop,
)
from voicelane_media.transports.ws.websocket import SAMPLE_RATES, WebSocketDialect, max_frame_bytes

from tests.voicelane_media.transports.ws.helpers import FIXTURES, compact, fixture, loads

PCM = (FIXTURES / "websocket" / "media_16k.pcm").read_bytes()


def test_control_and_audio_parse() -> None:
    d = WebSocketDialect(16000)
    assert d.parse(fixture("websocket", "start")) == StreamStart(
        "st_1", "call_123", "l16", 16000, ("inbound",), {"customer": "42"})
    assert d.parse(PCM) == StreamMedia(PCM)
    assert d.parse(fixture("websocket", "dtmf")) == StreamDtmf("#")
    assert d.parse(fixture("websocket", "mark")) == StreamMark("greeting-done")
    assert d.parse(fixture("websocket", "clear")) == StreamClear()
    assert d.parse(fixture("websocket", "stop")) == StreamStop("client_done")
    assert d.parse('{"event":"start"}') == StreamStart("", "", "l16", 16000)


def test_what_we_send() -> None:
    d = WebSocketDialect(16000)
    assert d.media("st_1", PCM) == PCM
    assert d.mark("st_1", "greeting-done") == compact("websocket", "mark")
    assert d.clear("st_1") == compact("websocket", "clear")
    assert d.binary_media is True


@pytest.mark.parametrize("rate", SAMPLE_RATES)
def test_frame_limits_follow_the_rate(rate: int) -> None:
    d = WebSocketDialect(rate)
    limit = max_frame_bytes(rate)
    assert limit <= MAX_MESSAGE_BYTES
    assert d.parse(b"\x00" * limit) == StreamMedia(b"\x00" * limit)
    with pytest.raises(StreamProtocolError) as err:
        d.parse(b"\x00" * (limit + 2))
    assert err.value.code == "frame_too_large"
    with pytest.raises(StreamProtocolError) as err:
        d.media("s", b"\x00" * 3)
    assert err.value.code == "bad_payload"


def test_a_start_at_another_rate_is_refused() -> None:
    with pytest.raises(StreamProtocolError) as err:
        WebSocketDialect(8000).parse(fixture("websocket", "start"))
    assert err.value.code == "wrong_codec"
    with pytest.raises(ValueError):
        WebSocketDialect(44100)


def test_provider_role_round_trips() -> None:
    d = WebSocketDialect(24000)
    start = StreamStart("st_9", "call_9", "l16", 24000, custom_parameters={"k": "v"})
    server = d.provider_side(start)
    assert loads(server.connected())["event"] == "connected"
    assert d.parse(server.start()) == start
    assert d.parse(server.media(PCM, timestamp_ms=0)) == StreamMedia(PCM)
    assert d.parse(server.dtmf("5")) == StreamDtmf("5")
    assert d.parse(server.mark("m")) == StreamMark("m")
    assert d.parse(server.stop("hangup")) == StreamStop("hangup")
    assert d.parse(server.stop()) == StreamStop()
    assert server.cleared() is None
    assert server.parse_bot(PCM) == StreamMedia(PCM)
    assert server.parse_bot(d.mark("s", "m")) == StreamMark("m")
    assert server.parse_bot(d.clear("s")) == StreamClear()
    assert isinstance(StreamConnected(), StreamConnected)


def test_the_docs_client_example_is_valid_python_speaking_this_dialect() -> None:
    import ast
    import json
    import re
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[4] / "docs" / "media-streams.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", doc, flags=re.S)
    for block in blocks:  # every Python example in the page parses
        ast.parse(block)
    # the client example is the one that streams a file into a session
    blocks = [b for b in blocks if "ws.send(json.dumps(" in b]
    assert len(blocks) == 1
    d = WebSocketDialect(16000)
    sent = re.findall(r"ws\.send\(json\.dumps\((\{.*\})\)\)", blocks[0])
    assert len(sent) == 2
    for literal in sent:  # the control messages the example sends, as literals
        assert d.parse(json.dumps(ast.literal_eval(literal))) is not None
