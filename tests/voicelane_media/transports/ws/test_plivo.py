"""Plivo audio streams: start/media/dtmf/playedStream/clearedAudio in, playAudio/checkpoint/
clearAudio out, mu-law 8 kHz and L16 8/16 kHz."""

from __future__ import annotations

import base64
import json

import pytest
from voicelane_media.transports.ws.frames import (
    StreamClear,
    StreamDtmf,
    StreamMark,
    StreamMedia,
    StreamProtocolError,
    StreamStart,
    StreamStop,
)
from voicelane_media.transports.ws.plivo import PlivoDialect, parse_extra_headers

from tests.voicelane_media.transports.ws.helpers import compact, fixture, loads

PS = "87654321-4321-4321-4321-cba987654321"
CK = "20170ada-f610-433b-8758-c02a2aab3662"


def _b64(name: str) -> bytes:
    return base64.b64decode(loads(fixture("plivo", name))["media"]["payload"])


def test_the_docs_events_parse() -> None:
    d = PlivoDialect()
    assert d.parse(fixture("plivo", "start")) == StreamStart(
        PS, "12345678-1234-1234-1234-123456789abc", "pcmu", 8000, ("inbound",),
        {"userId": "12345", "sessionId": "abc-xyz"})
    assert d.parse(fixture("plivo", "media")) == StreamMedia(_b64("media"), 41, 1705312200000)
    assert d.parse(fixture("plivo", "dtmf")) == StreamDtmf("5")
    assert d.parse(fixture("plivo", "played_stream")) == StreamMark("customer greeting audio")
    assert d.parse(fixture("plivo", "cleared_audio")) is None
    assert d.parse(json.dumps({"event": "stop", "streamId": PS})) == StreamStop()


def test_what_we_send_is_the_docs_bytes() -> None:
    d = PlivoDialect()
    d.parse(fixture("plivo", "start"))
    assert d.media(PS, _b64("media")) == compact("plivo", "out_play_audio")
    assert d.mark(CK, "customer greeting audio") == compact("plivo", "out_checkpoint")
    assert d.clear(CK) == compact("plivo", "out_clear_audio")


@pytest.mark.parametrize("rate", [8000, 16000])
def test_l16_at_8_and_16k(rate: int) -> None:
    d = PlivoDialect()
    start_msg = fixture("plivo", "start_l16").replace('"sampleRate": 16000', f'"sampleRate": {rate}')
    start = d.parse(start_msg)
    assert isinstance(start, StreamStart) and (start.encoding, start.sample_rate) == ("l16", rate)
    media = d.parse(fixture("plivo", "media_l16"))
    assert isinstance(media, StreamMedia) and media.payload == _b64("media_l16")
    out = loads(d.media(PS, media.payload))
    assert out["media"]["contentType"] == "audio/x-l16" and out["media"]["sampleRate"] == rate


def test_mulaw_is_8k_only() -> None:
    d = PlivoDialect()
    with pytest.raises(StreamProtocolError) as err:
        d.parse(fixture("plivo", "start").replace('"sampleRate": 8000', '"sampleRate": 16000'))
    assert err.value.code == "wrong_codec"


def test_playing_plivo_round_trips_and_reads_a_bot() -> None:
    d = PlivoDialect()
    start = d.parse(fixture("plivo", "start"))
    assert isinstance(start, StreamStart)
    plivo = d.provider_side(start, account_id="MAXXXXXXXXXXXXXXXXXX")
    assert plivo.connected() is None
    assert plivo.start() == compact("plivo", "start")
    ours = PlivoDialect()
    assert ours.parse(plivo.start()) == start
    assert ours.parse(plivo.media(b"\x7f" * 160, timestamp_ms=1705312200020)) == StreamMedia(
        b"\x7f" * 160, 1, 1705312200020)
    assert ours.parse(plivo.dtmf("*")) == StreamDtmf("*")
    assert ours.parse(plivo.mark("greeting")) == StreamMark("greeting")
    assert ours.parse(plivo.cleared()) is None
    assert ours.parse(plivo.stop()) == StreamStop()
    # a bot's playAudio / checkpoint / clearAudio, as Pipecat's PlivoFrameSerializer sends them
    assert plivo.parse_bot(fixture("plivo", "out_play_audio")) == StreamMedia(_b64("media"))
    assert plivo.parse_bot(fixture("plivo", "out_checkpoint")) == StreamMark("customer greeting audio")
    assert plivo.parse_bot(fixture("plivo", "out_clear_audio")) == StreamClear()
    assert plivo.parse_bot('{"event":"sendDTMF","dtmf":"12"}') is None
    with pytest.raises(StreamProtocolError) as err:
        plivo.parse_bot(d.media(PS, b"\x00\x00", encoding="l16", sample_rate=16000))
    assert err.value.code == "wrong_codec"


def test_extra_headers() -> None:
    assert parse_extra_headers("test1=12,test2=123") == {"test1": "12", "test2": "123"}
    assert parse_extra_headers("a=1;;b;c=") == {"a": "1", "c": ""}
