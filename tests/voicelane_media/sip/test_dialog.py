"""RFC 3261 section 12 dialog state (sip.dialog): created from byte fixtures of an INVITE and its
2xx through Record-Routing proxies, and the in-dialog requests it builds, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest
from voicelane_media.sip.dialog import DialogState, route_set_from, without_tag
from voicelane_media.sip.message import SipRequest, SipResponse, parse

DIALOG = Path(__file__).parents[1] / "fixtures" / "sip" / "dialog"
OUR_CONTACT = "<sip:voicelane@10.0.0.5:5060>"


def load(name: str) -> bytes:
    return (DIALOG / f"{name}.sip").read_bytes()


def request(name: str) -> SipRequest:
    msg = parse(load(name))
    assert isinstance(msg, SipRequest)
    return msg


def response(name: str) -> SipResponse:
    msg = parse(load(name))
    assert isinstance(msg, SipResponse)
    return msg


def uas() -> DialogState:
    return DialogState.as_uas(request("uas_invite"), "localtag1")


def uac() -> DialogState:
    return DialogState.as_uac(request("uac_invite"), response("uac_200"))


def test_uas_dialog_from_an_invite_through_two_proxies() -> None:
    d = uas()
    assert d.key == ("3848276298220188511@client.example.com", "localtag1")
    assert (d.local_tag, d.remote_tag) == ("localtag1", "9fxced76sl")
    assert d.local_uri == "<sip:+14155550100@example.net>"  # To, without a tag
    assert d.remote_uri == '"Alice" <sip:+15105550111@example.com>'
    assert d.remote_target == "sip:alice@client.example.com;transport=udp"  # the Contact
    # one comma-separated Record-Route header, kept in order by the UAS
    assert d.route_set == ["<sip:p2.example.net;lr>", "<sip:p1.example.com;lr>"]
    assert (d.local_seq, d.remote_seq) == (0, 7)
    assert d.next_hop_uri() == "sip:p2.example.net;lr"  # loose routing: the first route


def test_uas_bye_bytes() -> None:
    d = uas()
    bye = d.build_request("BYE", via="SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKbye1;rport",
                          contact=OUR_CONTACT, headers=[("Reason", "Q.850;cause=16")])
    assert bye.serialize() == load("uas_bye")
    assert d.local_seq == 1


def test_uac_dialog_from_our_invite_and_its_2xx() -> None:
    d = uac()
    assert d.key == ("out-call-1@voicelane", "loc4l")
    assert (d.local_tag, d.remote_tag) == ("loc4l", "rem0te")
    assert (d.local_uri, d.remote_uri) == ("<sip:+14155550100@voicelane.example>",
                                           "<sip:+15105550111@trunk.example.org>")
    assert d.remote_target == "sip:gw7@192.0.2.77:5080"
    # two Record-Route headers, reversed by the UAC
    assert d.route_set == ["<sip:edge1.trunk.example.org;lr>", "<sip:edge2.trunk.example.org;lr>"]
    assert (d.local_seq, d.remote_seq) == (2, 0)  # our INVITE's CSeq


def test_uac_ack_reuses_the_invite_cseq_and_bye_advances_it() -> None:
    d = uac()
    ack = d.build_request("ACK", via="SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKack1;rport",
                          contact=OUR_CONTACT, seq=2)
    assert ack.serialize() == load("uac_ack")
    assert d.local_seq == 2
    bye = d.build_request("BYE", via="SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKbye2;rport",
                          contact=OUR_CONTACT)
    assert bye.serialize() == load("uac_bye")
    assert bye.cseq.seq == 3 and d.local_seq == 3


def test_requests_carry_a_body_and_its_type() -> None:
    sdp = b"v=0\r\no=- 1 2 IN IP4 10.0.0.5\r\ns=-\r\nc=IN IP4 10.0.0.5\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
    reinvite = uac().build_request("INVITE", via="SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKre1",
                                   contact=OUR_CONTACT, body=sdp, content_type="application/sdp")
    again = parse(reinvite.serialize())
    assert again.body == sdp and again.content_type == "application/sdp"
    assert again.headers.get("Content-Length") == str(len(sdp))


def test_remote_cseq_must_increase_except_for_ack_and_cancel() -> None:
    d = uas()  # the INVITE had CSeq 7

    def peer(method: str, seq: int) -> SipRequest:
        req = request("uas_invite")
        headers = req.headers.copy()
        headers.set("CSeq", f"{seq} {method}")
        return SipRequest(method, req.uri, headers)

    assert d.accept_remote_seq(peer("ACK", 7))
    assert d.accept_remote_seq(peer("CANCEL", 7))
    assert not d.accept_remote_seq(peer("INFO", 7))  # not above the last one: 500 from the UA
    assert not d.accept_remote_seq(peer("INFO", 3))
    assert d.accept_remote_seq(peer("BYE", 8)) and d.remote_seq == 8
    fresh = uac()  # no request from the peer yet: any CSeq starts its space
    assert fresh.accept_remote_seq(peer("BYE", 1)) and fresh.remote_seq == 1


def test_a_reinvite_with_a_new_contact_refreshes_the_target() -> None:
    d = uas()
    reinvite = request("uas_invite")
    reinvite.headers.set("Contact", "<sip:alice@198.51.100.9:5062>")
    d.update_target(reinvite)
    assert d.remote_target == "sip:alice@198.51.100.9:5062"
    reinvite.headers.remove("Contact")
    d.update_target(reinvite)  # no Contact: the target stays
    assert d.remote_target == "sip:alice@198.51.100.9:5062"


def test_without_routes_the_next_hop_is_the_remote_target() -> None:
    d = uac()
    d.route_set = []
    assert d.next_hop_uri() == "sip:gw7@192.0.2.77:5080"


@pytest.mark.parametrize(("value", "expected"), [
    ("<sip:a@x>;tag=1", "<sip:a@x>"),
    ('"Bob" <sip:b@y>;TAG=2;x=1', '"Bob" <sip:b@y>;x=1'),
    ("sip:c@z", "sip:c@z"),
])
def test_without_tag(value: str, expected: str) -> None:
    assert without_tag(value) == expected


def test_route_set_order() -> None:
    rr = ["<sip:p1;lr>", "<sip:p2;lr>"]
    assert route_set_from(rr, uac=False) == rr
    assert route_set_from(rr, uac=True) == ["<sip:p2;lr>", "<sip:p1;lr>"]
