"""RFC 4566 SDP round trip and RFC 3264 offer/answer."""

from __future__ import annotations

from pathlib import Path

import pytest
from voicelane_media.sdp import (
    G722,
    OPUS,
    PCMA,
    PCMU,
    TELEPHONE_EVENT,
    SdpError,
    SessionDescription,
    accept_answer,
    answer,
    make_offer,
)
from voicelane_media.sip.message import parse

FIXTURES = Path(__file__).parent / "fixtures" / "sip"

# A typical carrier offer (Twilio/Telnyx style): PCMU, PCMA, telephone-event, rtcp attribute
CARRIER_OFFER = (
    b"v=0\r\n"
    b"o=root 1904637292 1904637292 IN IP4 203.0.113.10\r\n"
    b"s=Twilio Media Gateway\r\n"
    b"c=IN IP4 203.0.113.10\r\n"
    b"t=0 0\r\n"
    b"m=audio 14236 RTP/AVP 0 8 101\r\n"
    b"a=rtpmap:0 PCMU/8000\r\n"
    b"a=rtpmap:8 PCMA/8000\r\n"
    b"a=rtpmap:101 telephone-event/8000\r\n"
    b"a=fmtp:101 0-16\r\n"
    b"a=ptime:20\r\n"
    b"a=maxptime:150\r\n"
    b"a=rtcp:14237 IN IP4 203.0.113.10\r\n"
    b"a=sendrecv\r\n"
)

WEBRTC_LIKE = (
    b"v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    b"m=audio 9 UDP/TLS/RTP/SAVPF 111 9 0 8 126\r\nc=IN IP4 198.51.100.7\r\n"
    b"a=rtcp:9 IN IP4 0.0.0.0\r\na=rtpmap:111 opus/48000/2\r\n"
    b"a=fmtp:111 minptime=10;useinbandfec=1\r\na=rtpmap:9 G722/8000\r\n"
    b"a=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:126 telephone-event/8000\r\n"
    b"a=sendonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n"
)


@pytest.mark.parametrize("data", [CARRIER_OFFER, WEBRTC_LIKE])
def test_round_trip_byte_exact(data: bytes) -> None:
    assert SessionDescription.parse(data).serialize() == data


def test_parse_fields() -> None:
    sdp = SessionDescription.parse(CARRIER_OFFER)
    (m,) = sdp.media
    assert (m.media, m.port, m.proto, m.formats) == ("audio", 14236, "RTP/AVP", ["0", "8", "101"])
    assert [c.name for c in m.codecs()] == ["PCMU", "PCMA", "telephone-event"]
    assert m.codecs()[2].fmtp == "0-16"
    assert m.ptime == 20 and m.rtcp_port == 14237 and m.direction == "sendrecv"
    assert sdp.media_address(m) == "203.0.113.10" and sdp.session_version == 1904637292


def test_sip_invite_bodies_parse() -> None:
    for name in ["flow/01_invite", "flow/sipp_uac_invite"]:
        body = parse((FIXTURES / f"{name}.sip").read_bytes()).body
        sdp = SessionDescription.parse(body)
        assert sdp.serialize() == body
        assert [c.name for c in sdp.media[0].codecs()] == ["PCMU"]


def test_answer_carrier_offer() -> None:
    offer = SessionDescription.parse(CARRIER_OFFER)
    sdp, neg = answer(offer, [PCMA, PCMU, TELEPHONE_EVENT], "192.0.2.50", 30000, session_id=7)
    assert neg.codec.name == "PCMU" and neg.codec.payload_type == 0  # offerer's preference
    assert neg.telephone_event == 101
    assert (neg.remote_address, neg.remote_port, neg.remote_rtcp_port) == ("203.0.113.10", 14236, 14237)
    assert neg.direction == "sendrecv"
    assert sdp.serialize() == (
        b"v=0\r\no=voicelane 7 1 IN IP4 192.0.2.50\r\ns=-\r\nc=IN IP4 192.0.2.50\r\nt=0 0\r\n"
        b"m=audio 30000 RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    )
    # the offerer reads our answer back
    assert accept_answer(offer, SessionDescription.parse(sdp.serialize())).codec.name == "PCMU"


def test_wideband_only_when_both_sides_offer() -> None:
    offer = SessionDescription.parse(WEBRTC_LIKE)
    _, neg = answer(offer, [OPUS, G722, PCMU, TELEPHONE_EVENT], "192.0.2.50", 30000)
    assert (neg.codec.name, neg.codec.payload_type, neg.codec.channels) == ("opus", 111, 2)
    assert neg.telephone_event == 126
    _, neg = answer(offer, [G722, PCMU], "192.0.2.50", 30000)
    assert neg.codec.name == "G722" and neg.telephone_event is None
    _, neg = answer(offer, [PCMA], "192.0.2.50", 30000)
    assert neg.codec.name == "PCMA"
    sdp, _ = answer(offer, [PCMU], "192.0.2.50", 30000)
    assert [m.port for m in sdp.media] == [30000, 0]  # video rejected


@pytest.mark.parametrize(
    ("offered", "local", "expected"),
    [
        ("sendrecv", "sendrecv", "sendrecv"),
        ("sendonly", "sendrecv", "recvonly"),
        ("recvonly", "sendrecv", "sendonly"),
        ("inactive", "sendrecv", "inactive"),
        ("sendrecv", "sendonly", "sendonly"),
        ("sendonly", "sendonly", "inactive"),
    ],
)
def test_hold_direction_mapping(offered: str, local: str, expected: str) -> None:
    offer = make_offer("198.51.100.1", 4000, [PCMU], direction=offered)
    sdp, neg = answer(offer, [PCMU], "192.0.2.1", 5000, direction=local)
    assert neg.direction == expected and sdp.media[0].direction == expected
    assert accept_answer(offer, sdp).direction == {
        "sendrecv": "sendrecv", "recvonly": "sendonly", "sendonly": "recvonly", "inactive": "inactive",
    }[expected]


def test_no_common_codec_is_sdp_error() -> None:
    offer = make_offer("198.51.100.1", 4000, [G722, TELEPHONE_EVENT])
    with pytest.raises(SdpError, match="no common audio codec"):
        answer(offer, [PCMU, PCMA, TELEPHONE_EVENT], "192.0.2.1", 5000)
    video_only = SessionDescription.parse(b"v=0\r\no=- 1 1 IN IP4 1.2.3.4\r\ns=-\r\nt=0 0\r\nm=video 5 RTP/AVP 96\r\n")
    with pytest.raises(SdpError):
        answer(video_only, [PCMU], "192.0.2.1", 5000)


def test_make_offer_serialises() -> None:
    offer = make_offer("192.0.2.1", 40000, session_id=42, version=3)
    assert offer.serialize() == (
        b"v=0\r\no=voicelane 42 3 IN IP4 192.0.2.1\r\ns=-\r\nc=IN IP4 192.0.2.1\r\nt=0 0\r\n"
        b"m=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"
        b"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=ptime:20\r\na=sendrecv\r\n"
    )


@pytest.mark.parametrize(
    "bad",
    [b"", b"o=x\r\n", b"v=0\r\nbogus\r\n", b"v=0\r\ns=-\r\n", b"v=0\r\no=a 1 1 IN IP4 h\r\nm=audio x RTP/AVP 0\r\n",
     b"v=0\r\no=a 1 1 IN IP4 h\r\nm=audio\r\n", b"\xff\xfe"],
)
def test_malformed_sdp(bad: bytes) -> None:
    with pytest.raises(SdpError):
        SessionDescription.parse(bad)
