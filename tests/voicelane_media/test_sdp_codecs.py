"""Codec preference in offer/answer: byte-exact answers to a real baresip 1.0 offer, the
trunk's order winning over the offerer's, telephone-event at the right clock, refusals."""

from __future__ import annotations

import pytest
from voicelane_media import sdp
from voicelane_media.sdp_codecs import (
    answer_with_preference,
    event_clock,
    offer_codecs,
    pcm_rate,
    same_rate_preference,
)

# baresip 1.0.0 dialling with audio_codecs=opus/48000/2,G722 (captured on loopback)
BARESIP_OFFER = (
    b"v=0\r\no=- 2483784175 639899811 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
    b"t=0 0\r\na=tool:baresip 1.0.0\r\nm=audio 36094 RTP/AVP 96 9 101\r\n"
    b"a=rtpmap:96 opus/48000/2\r\na=fmtp:96 stereo=1;sprop-stereo=1\r\n"
    b"a=rtpmap:9 G722/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendrecv\r\na=label:1\r\n"
    b"a=rtcp-rsize\r\na=ssrc:1105925079 cname:sip:+14155550123@127.0.0.1\r\n"
    b"a=minptime:20\r\na=ptime:20\r\n"
)

ANSWER_HEAD = (b"v=0\r\no=voicelane 1 1 IN IP4 192.0.2.5\r\ns=-\r\nc=IN IP4 192.0.2.5\r\n"
               b"t=0 0\r\n")


def test_opus_answer_is_byte_exact() -> None:
    offer = sdp.SessionDescription.parse(BARESIP_OFFER)
    answer, negotiated = answer_with_preference(offer, ["opus", "G722", "PCMU"], "192.0.2.5", 40000)
    assert answer.serialize() == ANSWER_HEAD + (
        b"m=audio 40000 RTP/AVP 96 101\r\n"
        b"a=rtpmap:96 opus/48000/2\r\na=fmtp:96 minptime=10;useinbandfec=1\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"  # their events, echoed
        b"a=ptime:20\r\na=sendrecv\r\n")
    assert (negotiated.codec.name, negotiated.codec.payload_type) == ("opus", 96)
    assert negotiated.telephone_event == 101
    assert event_clock(offer, negotiated) == 8000  # baresip pairs Opus with telephone-event/8000
    assert pcm_rate(negotiated.codec.name) == 16000


def test_our_preference_wins_over_the_offer_order() -> None:
    offer = sdp.SessionDescription.parse(BARESIP_OFFER)
    answer, negotiated = answer_with_preference(offer, ["G722", "opus"], "192.0.2.5", 40000)
    assert answer.serialize() == ANSWER_HEAD + (
        b"m=audio 40000 RTP/AVP 9 101\r\n"
        b"a=rtpmap:9 G722/8000\r\n"  # RFC 3551: the G.722 RTP clock is 8000
        b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\n"
        b"a=ptime:20\r\na=sendrecv\r\n")
    assert negotiated.codec.clock_rate == 8000 and pcm_rate("G722") == 16000


def test_g711_trunk_refuses_a_wideband_only_offer() -> None:
    offer = sdp.SessionDescription.parse(BARESIP_OFFER)
    with pytest.raises(sdp.SdpError, match="no common audio codec"):
        answer_with_preference(offer, ["PCMU", "PCMA"], "192.0.2.5", 40000)


def test_offer_has_a_telephone_event_per_clock() -> None:
    offer = sdp.make_offer("192.0.2.5", 40000, offer_codecs(["opus", "G722", "PCMU"]))
    assert offer.serialize() == ANSWER_HEAD + (
        b"m=audio 40000 RTP/AVP 111 9 0 101 110\r\n"
        b"a=rtpmap:111 opus/48000/2\r\na=fmtp:111 minptime=10;useinbandfec=1\r\n"
        b"a=rtpmap:9 G722/8000\r\na=rtpmap:0 PCMU/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n"
        b"a=rtpmap:110 telephone-event/48000\r\na=fmtp:110 0-16\r\n"
        b"a=ptime:20\r\na=sendrecv\r\n")
    default = offer_codecs(["PCMU", "PCMA"])
    assert [c.rtpmap() for c in default] == ["0 PCMU/8000", "8 PCMA/8000", "101 telephone-event/8000"]


def test_answer_to_our_opus_offer_pairs_the_48k_event() -> None:
    ours = sdp.make_offer("192.0.2.5", 40000, offer_codecs(["opus", "PCMU"]))
    peer = sdp.SessionDescription.parse(
        b"v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        b"m=audio 5004 RTP/AVP 111 110\r\na=rtpmap:111 opus/48000/2\r\n"
        b"a=rtpmap:110 telephone-event/48000\r\na=sendrecv\r\n")
    negotiated = sdp.accept_answer(ours, peer)
    assert (negotiated.codec.name, negotiated.telephone_event) == ("opus", 110)
    assert event_clock(peer, negotiated) == 48000


def test_mid_call_offers_keep_the_rate() -> None:
    assert same_rate_preference("opus", ["PCMU", "opus", "G722"]) == ["opus", "G722"]
    assert same_rate_preference("PCMA", ["opus", "PCMU", "PCMA"]) == ["PCMA", "PCMU"]
