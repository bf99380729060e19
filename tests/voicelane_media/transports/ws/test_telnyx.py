"""Telnyx media streaming: the docs' frames, codecs from start (L16 16 kHz), the reorder window."""

from __future__ import annotations

import base64

import numpy as np
from voicelane_media.transports.ws.frames import (
    StreamClear,
    StreamConnected,
    StreamDtmf,
    StreamMark,
    StreamMedia,
    StreamStart,
    StreamStop,
)
from voicelane_media.transports.ws.telnyx import Reorderer, TelnyxDialect

from tests.voicelane_media.transports.ws.helpers import compact, fixture, loads

SID = "32DE0DEA-53CB-4B21-89A4-9E1819C043BC"
CC = "v2:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ"


def _b64(name: str) -> bytes:
    return base64.b64decode(loads(fixture("telnyx", name))["media"]["payload"])


def test_the_docs_frames_parse() -> None:
    d = TelnyxDialect()
    assert d.parse(fixture("telnyx", "connected")) == StreamConnected()
    assert d.parse(fixture("telnyx", "start")) == StreamStart(SID, CC, "pcmu", 8000)
    assert d.parse(fixture("telnyx", "start_mime")) == StreamStart(
        "32de0dea-53cb-4b21-89a4-9e1819c043bc",
        "v3:MdI91X4lWFEs7IgbBEOT9M4AigoY08M0WWZFISt1Yw2axZ_IiE4pqg", "pcmu", 8000)
    assert d.parse(fixture("telnyx", "media")) == StreamMedia(_b64("media"), 2, 5, "inbound")
    assert d.parse(fixture("telnyx", "dtmf")) == StreamDtmf("1")
    assert d.parse(fixture("telnyx", "mark")) == StreamMark("my label")
    assert d.parse(fixture("telnyx", "error")) is None
    assert d.parse(fixture("telnyx", "stop")) == StreamStop()


def test_what_we_send_is_the_docs_bytes() -> None:
    d = TelnyxDialect()
    d.parse(fixture("telnyx", "start"))
    assert d.media(SID, _b64("media")) == compact("telnyx", "out_media")
    assert d.mark(SID, "my label") == compact("telnyx", "out_mark")
    assert d.clear(SID) == compact("telnyx", "out_clear")


def test_l16_at_16k_where_start_says_so_is_little_endian_in_frames() -> None:
    d = TelnyxDialect()
    start = d.parse(fixture("telnyx", "start_l16"))
    assert isinstance(start, StreamStart)
    assert (start.encoding, start.sample_rate) == ("l16", 16000)
    assert (d.encoding, d.sample_rate) == ("l16", 16000)
    media = d.parse(fixture("telnyx", "media_l16"))
    assert isinstance(media, StreamMedia)
    wire_samples = np.frombuffer(_b64("media_l16"), dtype=">i2")
    assert np.array_equal(np.frombuffer(media.payload, dtype="<i2"), wire_samples)
    assert len(media.payload) == 640  # 20 ms at 16 kHz
    # and back: our media goes out in network byte order
    out = loads(d.media(SID, media.payload))
    assert base64.b64decode(out["media"]["payload"]) == _b64("media_l16")


def test_playing_telnyx_round_trips() -> None:
    d = TelnyxDialect()
    start = d.parse(fixture("telnyx", "start_l16"))
    assert isinstance(start, StreamStart)
    telnyx = d.provider_side(start)
    ours = TelnyxDialect()
    assert ours.parse(telnyx.connected()) == StreamConnected()
    assert ours.parse(telnyx.start()) == start
    pcm = np.arange(320, dtype="<i2").tobytes()
    sent = telnyx.media(pcm, timestamp_ms=20)
    assert ours.parse(sent) == StreamMedia(pcm, 1, 20, "inbound")
    assert loads(sent)["media"]["payload"] == base64.b64encode(
        np.arange(320, dtype=">i2").tobytes()).decode()
    assert ours.parse(telnyx.dtmf("9")) == StreamDtmf("9")
    assert ours.parse(telnyx.mark("m1")) == StreamMark("m1")
    assert ours.parse(telnyx.stop()) == StreamStop()
    # the provider's messages keep the docs' field names and counters-as-strings
    shape = loads(fixture("telnyx", "stop"))
    assert loads(telnyx.stop())["stop"] == shape["stop"]
    assert loads(telnyx.stop())["sequence_number"] == "7"


def test_a_bot_is_understood_in_the_streams_codec() -> None:
    d = TelnyxDialect()
    start = d.parse(fixture("telnyx", "start_l16"))
    assert isinstance(start, StreamStart)
    telnyx = d.provider_side(start)
    pcm = np.arange(-160, 160, dtype="<i2").tobytes()
    assert telnyx.parse_bot(d.media(SID, pcm)) == StreamMedia(pcm)
    assert telnyx.parse_bot(fixture("telnyx", "out_mark")) == StreamMark("my label")
    assert telnyx.parse_bot(fixture("telnyx", "out_clear")) == StreamClear()


def _m(seq: int | None, track: str = "inbound") -> StreamMedia:
    return StreamMedia(b"\x00", sequence=seq, track=track)


def _seqs(items: list[StreamMedia]) -> list[int | None]:
    return [m.sequence for m in items]


def test_reorderer_puts_swapped_chunks_back_in_order() -> None:
    r = Reorderer(window=8)
    assert _seqs(r.push(_m(1))) == [1]
    assert _seqs(r.push(_m(3))) == []
    assert _seqs(r.push(_m(2))) == [2, 3]
    assert _seqs(r.push(_m(4))) == [4]


def test_reorderer_drops_duplicates_and_late_chunks() -> None:
    r = Reorderer(window=4)
    r.push(_m(1))
    r.push(_m(2))
    assert r.push(_m(2)) == [] and r.push(_m(1)) == []
    r.push(_m(4))
    assert r.push(_m(4)) == []
    assert r.dropped == 3


def test_reorderer_gives_up_a_gap_beyond_the_window() -> None:
    r = Reorderer(window=3)
    r.push(_m(1))
    assert [r.push(_m(s)) for s in (3, 4, 5)] == [[], [], []]
    assert _seqs(r.push(_m(6))) == [3, 4, 5, 6]  # 2 is lost
    assert r.push(_m(2)) == [] and r.dropped == 1


def test_reorderer_tracks_are_independent_and_flush_in_order() -> None:
    r = Reorderer()
    assert _seqs(r.push(_m(10, "inbound"))) == [10]
    assert _seqs(r.push(_m(1, "outbound"))) == [1]
    r.push(_m(13, "inbound"))
    r.push(_m(12, "inbound"))
    assert _seqs(r.flush()) == [12, 13]
    assert _seqs(r.push(_m(14, "inbound"))) == [14]
    assert _seqs(r.push(_m(None))) == [None]
