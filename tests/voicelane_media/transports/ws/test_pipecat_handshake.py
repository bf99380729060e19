"""Voicelane playing the provider: a Pipecat bot's handshake reads what it expects.

Pipecat's runner (``parse_telephony_websocket``) reads, for Twilio, the second message's
``start.streamSid``/``start.callSid``; for Telnyx, the second message's ``stream_id``,
``start.call_control_id`` and ``start.media_format.encoding`` (compared with "PCMU", "PCMA",
"L16"); for Plivo, the first message's ``start.streamId``/``start.callId``.
"""

from __future__ import annotations

import json

from voicelane_media.transports.ws import dialect_for
from voicelane_media.transports.ws.frames import StreamStart


def _opening(kind: str, start: StreamStart) -> list[str]:
    side = dialect_for(kind, None).provider_side(start)
    first = side.connected()
    return [m for m in (first, side.start()) if m is not None]


def test_twilio_bot_handshake() -> None:
    start = StreamStart("MZ" + "1" * 32, "CA" + "2" * 32, "pcmu", 8000,
                        custom_parameters={"agent": "a1"})
    _, second = _opening("twilio", start)
    call = json.loads(second)["start"]
    assert (call["streamSid"], call["callSid"], call["customParameters"]) == (
        start.stream_id, start.call_ref, {"agent": "a1"})


def test_telnyx_bot_handshake() -> None:
    for encoding, rate, name in (("pcmu", 8000, "PCMU"), ("pcma", 8000, "PCMA"),
                                 ("l16", 16000, "L16")):
        start = StreamStart("st-1", "v3:cc", encoding, rate)  # type: ignore[arg-type]
        _, second = _opening("telnyx", start)
        data = json.loads(second)
        assert data["stream_id"] == "st-1" and data["start"]["call_control_id"] == "v3:cc"
        assert data["start"]["media_format"]["encoding"] == name


def test_plivo_bot_handshake() -> None:
    start = StreamStart("87654321-4321-4321-4321-cba987654321",
                        "12345678-1234-1234-1234-123456789abc", "pcmu", 8000)
    (first,) = _opening("plivo", start)
    info = json.loads(first)["start"]
    assert (info["streamId"], info["callId"]) == (start.stream_id, start.call_ref)
