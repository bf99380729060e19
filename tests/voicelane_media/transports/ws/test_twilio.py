"""Twilio Media Streams: the docs' messages parse to frames and serialize back byte for byte."""

from __future__ import annotations

import base64
import json

from voicelane_media.transports.ws.frames import (
    StreamClear,
    StreamConnected,
    StreamDtmf,
    StreamMark,
    StreamMedia,
    StreamStart,
    StreamStop,
)
from voicelane_media.transports.ws.twilio import TwilioDialect

from tests.voicelane_media.transports.ws.helpers import compact, fixture, loads

MZ = "MZXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"
AC = "ACXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX"


def _payload() -> bytes:
    return base64.b64decode(loads(fixture("twilio", "media"))["media"]["payload"])


def test_the_docs_messages_parse_to_frames() -> None:
    d = TwilioDialect()
    assert d.parse(fixture("twilio", "connected")) == StreamConnected()
    start = d.parse(fixture("twilio", "start"))
    assert start == StreamStart(
        stream_id=MZ, call_ref="CAXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX", encoding="pcmu",
        sample_rate=8000, tracks=("inbound",),
        custom_parameters={"FirstName": "Jane", "LastName": "Doe", "RemoteParty": "Bob"})
    media = d.parse(fixture("twilio", "media"))
    assert media == StreamMedia(_payload(), sequence=1, timestamp_ms=5, track="inbound")
    assert len(_payload()) == 160  # 20 ms of mu-law
    assert d.parse(fixture("twilio", "dtmf")) == StreamDtmf("1")
    assert d.parse(fixture("twilio", "mark")) == StreamMark("my label")
    assert d.parse(fixture("twilio", "stop")) == StreamStop()


def test_what_we_send_is_the_docs_bytes() -> None:
    d = TwilioDialect()
    assert d.media(MZ, _payload()) == compact("twilio", "out_media")
    assert d.mark(MZ, "my label") == compact("twilio", "out_mark")
    assert d.clear(MZ) == compact("twilio", "out_clear")


def test_playing_twilio_replays_a_whole_stream_byte_exact() -> None:
    d = TwilioDialect()
    start = d.parse(fixture("twilio", "start"))
    assert isinstance(start, StreamStart)
    twilio = d.provider_side(start, account_sid=AC)
    assert twilio.connected() == compact("twilio", "connected")
    assert twilio.start() == compact("twilio", "start")
    assert twilio.media(_payload(), timestamp_ms=5) == compact("twilio", "media")
    assert twilio.dtmf("1") == compact("twilio", "dtmf")
    assert twilio.mark("my label") == compact("twilio", "mark")
    assert twilio.stop() == compact("twilio", "stop")
    assert twilio.cleared() is None


def test_a_media_streams_bot_is_understood() -> None:
    # what Pipecat's TwilioFrameSerializer sends: media and clear with the stream's sid, marks
    d = TwilioDialect()
    start = d.parse(fixture("twilio", "start"))
    assert isinstance(start, StreamStart)
    twilio = d.provider_side(start)
    assert twilio.parse_bot(fixture("twilio", "out_media")) == StreamMedia(_payload())
    assert twilio.parse_bot(fixture("twilio", "out_mark")) == StreamMark("my label")
    assert twilio.parse_bot(fixture("twilio", "out_clear")) == StreamClear()


def test_parse_then_serialize_is_stable() -> None:
    d = TwilioDialect()
    start = d.parse(fixture("twilio", "start"))
    assert isinstance(start, StreamStart)
    first = d.provider_side(start, account_sid=AC)
    again = d.provider_side(start, account_sid=AC)
    for out in (first.start(), first.media(b"\xff" * 160, timestamp_ms=20), first.dtmf("#")):
        frame = d.parse(out)
        if isinstance(frame, StreamStart):
            assert again.start() == out
        elif isinstance(frame, StreamMedia):
            assert frame.timestamp_ms is not None
            assert again.media(frame.payload, timestamp_ms=frame.timestamp_ms) == out
        elif isinstance(frame, StreamDtmf):
            assert again.dtmf(frame.digit) == out


def test_dtmf_letters_and_symbols() -> None:
    d = TwilioDialect()
    for key in "0123456789*#ABCD":
        msg = json.dumps({"event": "dtmf", "streamSid": "MZ1", "sequenceNumber": "3",
                          "dtmf": {"track": "inbound_track", "digit": key}})
        assert d.parse(msg) == StreamDtmf(key)


def test_a_pipecat_bot_unchanged() -> None:
    # TwilioFrameSerializer writes json.dumps(...) with default separators: media, clear
    d = TwilioDialect()
    start = d.parse(fixture("twilio", "start"))
    assert isinstance(start, StreamStart)
    twilio = d.provider_side(start)
    payload = base64.b64encode(_payload()).decode("utf-8")
    sent = json.dumps({"event": "media", "streamSid": MZ, "media": {"payload": payload}})
    assert twilio.parse_bot(sent) == StreamMedia(_payload())
    assert twilio.parse_bot(json.dumps({"event": "clear", "streamSid": MZ})) == StreamClear()
    # and what it reads from us: start.streamSid / callSid / customParameters, dtmf.digit
    first = loads(twilio.start())
    assert first["start"]["streamSid"] == MZ and first["start"]["callSid"] == start.call_ref
    assert first["start"]["customParameters"] == start.custom_parameters
    assert loads(twilio.dtmf("7"))["dtmf"]["digit"] == "7"
    assert hash(start)  # frames are hashable values
