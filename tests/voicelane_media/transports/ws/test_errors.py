"""Every StreamProtocolError code, from every dialect that can raise it."""

from __future__ import annotations

import pytest
from voicelane_media.transports.ws import dialect_for
from voicelane_media.transports.ws.frames import MAX_MESSAGE_BYTES, StreamProtocolError

from tests.voicelane_media.transports.ws.helpers import fixture

JSON_DIALECTS = ("twilio", "telnyx", "plivo")
ALL = (*JSON_DIALECTS, "websocket")

CASES: list[tuple[str, str | bytes, str]] = [
    *((d, "{not json", "malformed_json") for d in ALL),
    *((d, "[1, 2]", "malformed_json") for d in ALL),
    *((d, '"event"', "malformed_json") for d in ALL),
    *((d, '{"event": "hello"}', "unknown_event") for d in ALL),
    *((d, '{"streamSid": "MZ1"}', "missing_field") for d in ALL),
    *((d, '{"event": 7}', "bad_payload") for d in ALL),
    *((d, '{"event": "dtmf"}', "missing_field") for d in JSON_DIALECTS),
    ("twilio", '{"event": "media", "media": {}}', "missing_field"),
    ("twilio", '{"event": "media", "media": {"payload": "not base64!"}}', "bad_payload"),
    ("telnyx", '{"event": "media", "media": {"payload": "QQ=", "chunk": "1"}}', "bad_payload"),
    ("plivo", '{"event": "media", "media": {"payload": 12}}', "bad_payload"),
    ("twilio", '{"event": "media", "media": {"payload": "", "chunk": "-1"}}', "bad_payload"),
    ("twilio", '{"event": "dtmf", "dtmf": {"digit": "x"}}', "bad_payload"),
    ("websocket", '{"event": "dtmf", "digit": "12"}', "bad_payload"),
    ("twilio", '{"event": "mark", "mark": "m"}', "bad_payload"),
    ("websocket", b"\x00\x01\x02", "bad_payload"),
    ("websocket", b"", "bad_payload"),
    ("twilio", fixture("twilio", "start").replace("audio/x-mulaw", "audio/x-alaw"), "wrong_codec"),
    ("twilio", fixture("twilio", "start").replace('"channels": 1', '"channels": 2'), "wrong_codec"),
    ("telnyx", fixture("telnyx", "start").replace("PCMU", "G722"), "wrong_codec"),
    ("telnyx", fixture("telnyx", "start").replace('"sample_rate": 8000', '"sample_rate": 16000'),
     "wrong_codec"),
    ("plivo", fixture("plivo", "start").replace("audio/x-mulaw", "audio/x-opus"), "wrong_codec"),
    ("websocket", '{"event": "start", "sample_rate": 8000}', "wrong_codec"),
    *((d, " " * (MAX_MESSAGE_BYTES + 1), "frame_too_large") for d in ALL),
    *((d, "é" * (MAX_MESSAGE_BYTES // 2 + 1), "frame_too_large") for d in ALL),
    ("websocket", b"\x00" * (MAX_MESSAGE_BYTES + 2), "frame_too_large"),
    *((d, fixture(d, "start").encode(), "binary_not_expected") for d in JSON_DIALECTS),
    ("websocket", '{"event": "media", "media": {"payload": "AAA="}}', "text_not_expected"),
]


@pytest.mark.parametrize(("dialect", "message", "code"), CASES)
def test_each_rejection_has_its_code(dialect: str, message: str | bytes, code: str) -> None:
    with pytest.raises(StreamProtocolError) as err:
        dialect_for(dialect, None).parse(message)
    assert err.value.code == code
    assert isinstance(err.value, ValueError) and str(err.value).startswith(code)


def test_every_code_is_covered() -> None:
    from typing import get_args

    from voicelane_media.transports.ws.frames import ErrorCode

    assert {c for _, _, c in CASES} == set(get_args(ErrorCode))


@pytest.mark.parametrize(("dialect", "kwargs"), [
    ("twilio", {"encoding": "pcma"}), ("twilio", {"sample_rate": 16000}),
    ("telnyx", {"encoding": "pcmu", "sample_rate": 16000}), ("plivo", {"encoding": "pcma"}),
    ("websocket", {"sample_rate": 8000}),
])
def test_sending_in_a_codec_the_dialect_does_not_carry(dialect: str, kwargs: dict[str, object]) -> None:
    with pytest.raises(StreamProtocolError) as err:
        dialect_for(dialect, None).media("s", b"\x00\x00", **kwargs)  # type: ignore[arg-type]
    assert err.value.code == "wrong_codec"


@pytest.mark.parametrize("dialect", ["twilio", "telnyx", "plivo", "websocket"])
def test_a_bot_that_breaks_the_protocol(dialect: str) -> None:
    from voicelane_media.transports.ws.frames import StreamStart

    d = dialect_for(dialect, None)
    encoding = "l16" if dialect == "websocket" else "pcmu"
    rate = 16000 if dialect == "websocket" else 8000
    side = d.provider_side(StreamStart("s", "c", encoding, rate))
    with pytest.raises(StreamProtocolError) as err:
        side.parse_bot('{"event": "start"}')
    assert err.value.code == "unknown_event"
    with pytest.raises(StreamProtocolError) as err:
        side.parse_bot("{")
    assert err.value.code == "malformed_json"
